/** The optimizers, and a factory from a JSON config (as a CLI flag or a checkpoint carries it). */
import type { Arena } from '../../core/arena.js';
import { DescentError } from '../../core/errors.js';
import { Adagrad } from './adagrad.js';
import { Adam, AdamW } from './adam.js';
import type { Optimizer, OptimizerConfig } from './optimizer.js';
import { RMSprop } from './rmsprop.js';
import { SGD } from './sgd.js';

export * from './optimizer.js';
export { Adagrad, Adam, AdamW, RMSprop, SGD };

/** Builds the optimizer a config names, with state buffers for paramCount parameters from the arena. */
export function createOptimizer(config: OptimizerConfig, paramCount: number, arena?: Arena): Optimizer {
  switch (config.kind) {
    case 'sgd': return new SGD(config, paramCount, arena);
    case 'adam': return new Adam(config, paramCount, arena);
    case 'adamw': return new AdamW(config, paramCount, arena);
    case 'rmsprop': return new RMSprop(config, paramCount, arena);
    case 'adagrad': return new Adagrad(config, paramCount, arena);
    default:
      throw new DescentError(`unknown optimizer kind ${JSON.stringify((config as { kind: unknown }).kind)}; ` +
        `expected sgd, adam, adamw, rmsprop or adagrad`);
  }
}
