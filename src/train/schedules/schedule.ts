/**
 * Learning-rate schedules: the α_t of the notes' eq. (6), w_{t+1} = w_t − α_t ∇L_T(w_t), as a function of
 * the step and epoch. The notes' advice, in order: start with a relatively large constant rate; reduce it
 * when progress flattens, by a fixed schedule or by hand ("divided by 10"); and, after an adaptive method
 * such as Adam has done the early work, switch to a fixed, small step ('adam-then-sgd').
 *
 * Counting: `step` is the number of optimizer steps already taken (0 for the first), `epoch` the 0-based
 * index of the epoch being trained. Epoch-based schedules follow PyTorch's MultiStepLR / StepLR /
 * ExponentialLR stepped once per epoch; 'plateau' is ReduceLROnPlateau, fed one metric per epoch.
 *
 * A schedule is the shape s(t) of the rate, never its home: it does not store α and knows nothing of a
 * person's commands. The one home is the trainer's LearningRate (src/train/learning-rate.ts), which
 * combines s(t) with the commands by the rule written there. Fixed shapes (constant, multistep, step,
 * exponential, cosine) are pure functions of (step, epoch, base rate) and keep no state; 'plateau' and
 * 'adam-then-sgd' keep what the metric told them (their level, the phase) in state().
 */
import { check } from '../../core/errors.js';
import { checkNumber, type SgdConfig } from '../optimizers/optimizer.js';

export interface ConstantConfig { kind: 'constant' }
/** MultiStepLR: multiply by gamma at each milestone epoch. */
export interface MultiStepConfig { kind: 'multistep'; milestones: number[]; gamma?: number }
/** StepLR: multiply by gamma every stepSize epochs. */
export interface StepConfig { kind: 'step'; stepSize: number; gamma?: number }
/** ExponentialLR: multiply by gamma every epoch. */
export interface ExponentialConfig { kind: 'exponential'; gamma: number }
/** Linear warm-up over warmupSteps, then a half cosine from the base rate down to minLr at totalSteps. */
export interface CosineConfig { kind: 'cosine'; totalSteps: number; warmupSteps?: number; minLr?: number }
/** What counts as progress of the watched metric (ReduceLROnPlateau's names and defaults). */
export interface PlateauOptions {
  mode?: 'min' | 'max';
  patience?: number;
  threshold?: number;
  thresholdMode?: 'rel' | 'abs';
}
export interface PlateauConfig extends PlateauOptions {
  kind: 'plateau';
  factor?: number;
  cooldown?: number;
  minLr?: number;
  /** A reduction smaller than eps is skipped. */
  eps?: number;
}
/** Adam until the metric plateaus, then plain SGD with the fixed step sgdLr. */
export interface AdamThenSgdConfig extends PlateauOptions { kind: 'adam-then-sgd'; sgdLr?: number }

export type ScheduleConfig = ConstantConfig | MultiStepConfig | StepConfig | ExponentialConfig | CosineConfig
  | PlateauConfig | AdamThenSgdConfig;
export type ScheduleKind = ScheduleConfig['kind'];
/** A schedule's JSON state, for checkpoints. */
export type ScheduleState = Record<string, number | string | null>;

/** What a schedule decided at an epoch end: its new s(t), and for 'adam-then-sgd' the optimizer to switch to. */
export interface ScheduleDecision {
  lr: number;
  message: string;
  /** Replace the optimizer by this one (its lr is the rate to use from now on), keeping w. */
  switchTo?: Required<Pick<SgdConfig, 'kind' | 'lr'>>;
}

export interface Schedule {
  readonly kind: ScheduleKind;
  /** s(t): the schedule's rate for the step about to be taken, from the base rate α₀. Changes no state. */
  rateAt(step: number, epoch: number, baseLr: number): number;
  /** Called at each epoch end with the watched metric (validation loss or error); may change the level. */
  endEpoch(epoch: number, metric: number | undefined, baseLr: number): ScheduleDecision | undefined;
  /** The config with every default filled in. */
  config(): Required<ScheduleConfig>;
  state(): ScheduleState;
  /** Restores state(); throws a DescentError on a state of another kind or a malformed one. */
  loadState(s: unknown): void;
}

export function checkInt(value: unknown, name: string, min: number): number {
  check(typeof value === 'number' && Number.isInteger(value) && value >= min,
    () => `${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return value;
}

/** A number, or null where the field is unset. */
export function checkNullable(value: unknown, name: string, min: number): number | null {
  return value === null ? null : checkNumber(value, name, min);
}

/** Narrows a loaded state to a JSON object of this schedule's kind. */
export function stateOf(s: unknown, kind: ScheduleKind): ScheduleState {
  const o = s as ScheduleState | null;
  check(o !== null && typeof o === 'object' && o.kind === kind,
    () => `schedule state is for ${JSON.stringify(o?.kind)}, this schedule is ${JSON.stringify(kind)}`);
  return o;
}
