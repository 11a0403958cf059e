/** The optimizers, and a factory from a JSON config (as a CLI flag or a checkpoint carries it). */
import type { Arena } from '../../core/arena.js';
import type { Kernels } from '../../kernels/kernels.js';
import { DescentError } from '../../core/errors.js';
import { Adagrad } from './adagrad.js';
import { Adam, AdamW } from './adam.js';
import type { Optimizer, OptimizerConfig } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

export * from './optimizer.js';
export { Adagrad, Adam, AdamW, RMSprop, SGD };

/** Option names before 0.2 (PyTorch's snake_case), still found in older checkpoints, and their names now. */
const LEGACY_NAMES: Record<string, string> = {
  weight_decay: 'weightDecay', lr_decay: 'lrDecay', initial_accumulator_value: 'initialAccumulatorValue',
};

/** A config with pre-0.2 snake_case names renamed, so that old checkpoints still load; both spellings at once are refused. */
export function fromLegacyNames(config: OptimizerConfig): OptimizerConfig {
  const renamed: Record<string, unknown> = { ...config };
  for (const [old, now] of Object.entries(LEGACY_NAMES)) {
    if (!(old in renamed)) continue;
    if (now in renamed) throw new DescentError(`optimizer config has both "${old}" and "${now}": use "${now}" only`);
    renamed[now] = renamed[old];
    delete renamed[old];
  }
  return renamed as unknown as OptimizerConfig;
}

/** Builds the optimizer a config names, with state buffers from the arena and updates run by the engine's kernels. */
export function createOptimizer(config: OptimizerConfig, paramCount: number, arena?: Arena, kernels?: Kernels): Optimizer {
  config = fromLegacyNames(config);
  switch (config.kind) {
    case 'sgd': return new SGD(config, paramCount, arena, kernels);
    case 'adam': return new Adam(config, paramCount, arena, 'adam', kernels);
    case 'adamw': return new AdamW(config, paramCount, arena, kernels);
    case 'rmsprop': return new RMSprop(config, paramCount, arena, kernels);
    case 'adagrad': return new Adagrad(config, paramCount, arena, kernels);
    default:
      throw new DescentError(`unknown optimizer kind ${JSON.stringify((config as { kind: unknown }).kind)}; ` +
        `expected sgd, adam, adamw, rmsprop or adagrad`);
  }
}
