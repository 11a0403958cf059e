/** The learning-rate schedules, and a factory from a JSON config (as a CLI flag or a checkpoint carries it). */
import { DescentError } from '../../core/errors.js';
import { AdamThenSgd, ReduceOnPlateau } from './plateau.js';
import type { Schedule, ScheduleConfig } from './schedule.js';
import { oneCycle } from './one-cycle.js';
import { constant, cosine, exponential, multiStep, stepDecay } from './shaped.js';

export type {
  AdamThenSgdConfig, ConstantConfig, CosineConfig, ExponentialConfig, MultiStepConfig, OneCycleConfig, PlateauConfig, PlateauOptions,
  Schedule, ScheduleConfig, ScheduleDecision, ScheduleKind, ScheduleState, StepConfig,
} from './schedule.js';
export { AdamThenSgd, ReduceOnPlateau } from './plateau.js';
export { oneCycle } from './one-cycle.js';
export { ShapedSchedule, constant, cosine, exponential, multiStep, stepDecay } from './shaped.js';

/** Builds the schedule a config names, validating every option. */
export function createSchedule(config: ScheduleConfig): Schedule {
  switch (config.kind) {
    case 'constant': return constant();
    case 'multistep': return multiStep(config.milestones, config.gamma);
    case 'step': return stepDecay(config.stepSize, config.gamma);
    case 'exponential': return exponential(config.gamma);
    case 'cosine': return cosine(config.totalSteps, config.warmupSteps, config.minLr);
    case 'onecycle': return oneCycle(config);
    case 'plateau': return new ReduceOnPlateau(config);
    case 'adam-then-sgd': return new AdamThenSgd(config);
    default:
      throw new DescentError(`unknown schedule kind ${JSON.stringify((config as { kind: unknown }).kind)}; expected ` +
        'constant, multistep, step, exponential, cosine, onecycle, plateau or adam-then-sgd');
  }
}
