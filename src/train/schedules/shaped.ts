/**
 * The fixed-shape schedules: rate = shape(step, epoch, baseLr) × the manual ratio. Constant, MultiStepLR,
 * StepLR and ExponentialLR (per epoch, as PyTorch steps them), and cosine annealing with linear warm-up
 * (per step): after warm-up, α = minLr + (α₀ − minLr)(1 + cos πp)/2 with p the fraction of the rest done.
 */
import { check } from '../../core/errors.js';
import { checkNumber } from '../optimizers/optimizer.js';
import {
  checkInt, checkNullable, stateOf, type Schedule, type ScheduleConfig, type ScheduleKind, type ScheduleState,
} from './schedule.js';

type Shape = (step: number, epoch: number, baseLr: number) => number;

/** A schedule whose rate is a fixed function of the step and epoch (constant, multistep, step, exponential, cosine). */
export class ShapedSchedule implements Schedule {
  private ratio = 1; // manual rate / the schedule's value when it was set
  private pinned: number | null = null; // a manual rate set where the schedule's value was 0
  private lastShape: number | null = null; // the schedule's own value at the last rateAt

  constructor(private readonly cfg: Required<ScheduleConfig>, private readonly shape: Shape) {}

  get kind(): ScheduleKind {
    return this.cfg.kind;
  }
  rateAt(step: number, epoch: number, baseLr: number): number {
    this.lastShape = this.shape(step, epoch, baseLr);
    return this.pinned ?? this.ratio * this.lastShape;
  }
  endEpoch(): undefined {
    return undefined;
  }
  setManual(lr: number): void {
    checkNumber(lr, 'manual lr', 0);
    if (this.lastShape !== null && this.lastShape > 0) {
      this.ratio = lr / this.lastShape;
      this.pinned = null;
    } else {
      this.pinned = lr;
    }
  }
  config(): Required<ScheduleConfig> {
    return structuredClone(this.cfg);
  }
  state(): ScheduleState {
    return { kind: this.kind, ratio: this.ratio, pinned: this.pinned, lastShape: this.lastShape };
  }
  loadState(s: unknown): void {
    const o = stateOf(s, this.kind);
    this.ratio = checkNumber(o.ratio, `${this.kind} state ratio`, 0);
    this.pinned = checkNullable(o.pinned, `${this.kind} state pinned`, 0);
    this.lastShape = checkNullable(o.lastShape, `${this.kind} state lastShape`, 0);
  }
}

/** The constant schedule. */
export function constant(): ShapedSchedule {
  return new ShapedSchedule({ kind: 'constant' }, (_s, _e, base) => base);
}

/** MultiStepLR: the rate times gamma at each milestone epoch. */
export function multiStep(milestones: number[], gamma = 0.1): ShapedSchedule {
  check(Array.isArray(milestones), 'multistep milestones must be an array of epochs');
  // A repeated milestone multiplies by gamma again, as in PyTorch.
  const ms = milestones.map((m, i) => checkInt(m, `multistep milestones[${i}]`, 0));
  checkNumber(gamma, 'multistep gamma', Number.MIN_VALUE);
  return new ShapedSchedule({ kind: 'multistep', milestones: ms, gamma },
    (_s, epoch, base) => base * gamma ** ms.filter((m) => m <= epoch).length);
}

/** StepLR: the rate times gamma every stepSize epochs. */
export function stepDecay(stepSize: number, gamma = 0.1): ShapedSchedule {
  checkInt(stepSize, 'step stepSize', 1);
  checkNumber(gamma, 'step gamma', Number.MIN_VALUE);
  return new ShapedSchedule({ kind: 'step', stepSize, gamma }, (_s, epoch, base) => base * gamma ** Math.floor(epoch / stepSize));
}

/** ExponentialLR: the rate times gamma every epoch. */
export function exponential(gamma: number): ShapedSchedule {
  checkNumber(gamma, 'exponential gamma', Number.MIN_VALUE);
  return new ShapedSchedule({ kind: 'exponential', gamma }, (_s, epoch, base) => base * gamma ** epoch);
}

/** Linear warm-up, then a half cosine down to minLr at totalSteps. */
export function cosine(totalSteps: number, warmupSteps = 0, minLr = 0): ShapedSchedule {
  checkInt(warmupSteps, 'cosine warmupSteps', 0);
  checkInt(totalSteps, 'cosine totalSteps', warmupSteps + 1);
  checkNumber(minLr, 'cosine minLr', 0);
  return new ShapedSchedule({ kind: 'cosine', totalSteps, warmupSteps, minLr }, (step, _e, base) => {
    // (step + 1): the first step already moves, and the last warm-up step reaches the base rate.
    if (step < warmupSteps) return (base * (step + 1)) / warmupSteps;
    const p = Math.min(1, (step - warmupSteps) / (totalSteps - warmupSteps));
    return minLr + ((base - minLr) * (1 + Math.cos(Math.PI * p))) / 2;
  });
}
