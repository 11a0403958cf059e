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
 * exponential, cosine, onecycle) are pure functions of (step, epoch, base rate) and keep no state; 'plateau' and
 * 'adam-then-sgd' keep what the metric told them (their level, the phase) in state().
 */
import { check } from '../../core/errors.js';
import { checkNumber, type SgdConfig } from '../optimizers/optimizer.js';

/** The rate stays where the optimizer (or a user) set it. */
export interface ConstantConfig {
  /** Selects the constant schedule. */
  kind: 'constant';
}
/** MultiStepLR: multiply by gamma at each milestone epoch. */
export interface MultiStepConfig {
  /** Selects MultiStepLR. */
  kind: 'multistep';
  /** Epochs (0-based) at whose start the rate is multiplied by gamma. */
  milestones: number[];
  /** The factor (default 0.1: the notes' "divide by 10"). */
  gamma?: number;
}
/** StepLR: multiply by gamma every stepSize epochs. */
export interface StepConfig {
  /** Selects StepLR. */
  kind: 'step';
  /** Epochs between reductions. */
  stepSize: number;
  /** The factor (default 0.1). */
  gamma?: number;
}
/** ExponentialLR: multiply by gamma every epoch. */
export interface ExponentialConfig {
  /** Selects ExponentialLR. */
  kind: 'exponential';
  /** The factor per epoch. */
  gamma: number;
}
/** Linear warm-up over warmupSteps, then a half cosine from the base rate down to minLr at totalSteps. */
export interface CosineConfig {
  /** Selects the cosine schedule. */
  kind: 'cosine';
  /** Steps until the rate reaches minLr (usually epochs × steps per epoch). */
  totalSteps: number;
  /** Steps of linear warm-up from 0 to the base rate (default 0). */
  warmupSteps?: number;
  /** The rate at the end (default 0). */
  minLr?: number;
}
/** PyTorch's OneCycleLR (rate only): up from α₀/divFactor to α₀, then down to α₀/(divFactor·finalDivFactor). */
export interface OneCycleConfig {
  /** Selects the one-cycle schedule. */
  kind: 'onecycle';
  /** Steps of the whole cycle (usually epochs × steps per epoch). */
  totalSteps: number;
  /** The fraction of the steps spent rising (default 0.3). */
  pctStart?: number;
  /** The first rate is α₀/divFactor (default 25). */
  divFactor?: number;
  /** The last rate is α₀/(divFactor·finalDivFactor) (default 1e4). */
  finalDivFactor?: number;
  /** 'cos' (the default) or 'linear' phases. */
  annealStrategy?: 'cos' | 'linear';
  /** Three phases: up, back down to the first rate, then to the last (default false). */
  threePhase?: boolean;
}
/** What counts as progress of the watched metric (ReduceLROnPlateau's names and defaults). */
export interface PlateauOptions {
  /** 'min': lower is better (losses, errors; the default); 'max': higher is better. */
  mode?: 'min' | 'max';
  /** Epochs without progress before acting (default 10). */
  patience?: number;
  /** Progress must exceed this (default 1e-4). */
  threshold?: number;
  /** 'rel' (the default): threshold is relative to the best value; 'abs': absolute. */
  thresholdMode?: 'rel' | 'abs';
}
/** ReduceLROnPlateau: multiply the rate by factor when the watched metric stops improving. */
export interface PlateauConfig extends PlateauOptions {
  /** Selects ReduceLROnPlateau. */
  kind: 'plateau';
  /** The factor of each reduction (default 0.1). */
  factor?: number;
  /** Epochs to wait after a reduction before watching again (default 0). */
  cooldown?: number;
  /** The rate never goes below this (default 0). */
  minLr?: number;
  /** A reduction smaller than eps is skipped. */
  eps?: number;
}
/** Adam until the metric plateaus, then plain SGD with the fixed step sgdLr. */
export interface AdamThenSgdConfig extends PlateauOptions {
  /** Selects the Adam → SGD switch. */
  kind: 'adam-then-sgd';
  /** SGD's fixed rate after the switch (default 1e-3). */
  sgdLr?: number;
}

/** A learning-rate schedule as JSON, as FitOptions, the CLI and checkpoints carry it. */
export type ScheduleConfig = ConstantConfig | MultiStepConfig | StepConfig | ExponentialConfig | CosineConfig | OneCycleConfig
  | PlateauConfig | AdamThenSgdConfig;
/** The schedule names. */
export type ScheduleKind = ScheduleConfig['kind'];
/** A schedule's JSON state, for checkpoints. */
export type ScheduleState = Record<string, number | string | null>;

/** What a schedule decided at an epoch end: its new s(t), and for 'adam-then-sgd' the optimizer to switch to. */
export interface ScheduleDecision {
  /** The rate from now on. */
  lr: number;
  /** What happened, in words (for the event log). */
  message: string;
  /** Replace the optimizer by this one (its lr is the rate to use from now on), keeping w. */
  switchTo?: Required<Pick<SgdConfig, 'kind' | 'lr'>>;
}

/** A learning-rate schedule: the rate for each step, decisions at epoch ends, and its state for checkpoints. */
export interface Schedule {
  /** Which schedule. */
  readonly kind: ScheduleKind;
  /** s(t): the schedule's rate for the step about to be taken, from the base rate α₀. Changes no state. */
  rateAt(step: number, epoch: number, baseLr: number): number;
  /** Called at each epoch end with the watched metric (validation loss or error); may change the level. */
  endEpoch(epoch: number, metric: number | undefined, baseLr: number): ScheduleDecision | undefined;
  /** The config with every default filled in. */
  config(): Required<ScheduleConfig>;
  /** Its state, for checkpoints. */
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
