/**
 * The fixed-shape schedules, pure functions s(step, epoch, α₀): Constant, MultiStepLR, StepLR and
 * ExponentialLR (per epoch, as PyTorch steps them), and cosine annealing with linear warm-up (per step):
 * after warm-up, α = minLr + (α₀ − minLr)(1 + cos πp)/2 with p the fraction of the rest done.
 * They keep no state: a resumed run recomputes s(t) from the step and epoch in its checkpoint.
 */
import { check } from '../../core/errors.js';
import { checkNumber } from '../optimizers/optimizer.js';
import { checkInt, stateOf, type Schedule, type ScheduleConfig, type ScheduleKind, type ScheduleState } from './schedule.js';

type Shape = (step: number, epoch: number, baseLr: number) => number;

/** A schedule whose rate is a fixed function of the step and epoch (constant, multistep, step, exponential, cosine). */
export class ShapedSchedule implements Schedule {
  constructor(private readonly cfg: Required<ScheduleConfig>, private readonly shape: Shape) {}

  get kind(): ScheduleKind {
    return this.cfg.kind;
  }
  rateAt(step: number, epoch: number, baseLr: number): number {
    return this.shape(step, epoch, baseLr);
  }
  endEpoch(): undefined {
    return undefined;
  }
  config(): Required<ScheduleConfig> {
    return structuredClone(this.cfg);
  }
  state(): ScheduleState {
    return { kind: this.kind };
  }
  loadState(s: unknown): void {
    stateOf(s, this.kind);
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
