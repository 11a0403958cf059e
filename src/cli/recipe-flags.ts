/**
 * `--recipe <name>`: a recipe (src/train/recipes.ts) as the train command's flags. The recipe fills in
 * every flag not given on the command line; a flag given there overrides that part of the recipe. An
 * explicit --optimizer also drops the recipe's lr, momentum and weight decay (they were chosen for its
 * optimizer), so the named optimizer starts from its own defaults.
 */
import { DescentError } from '../core/errors.js';
import { recipe, type Recipe, type RecipeSchedule } from '../train/recipes.js';
import type { TrainFlags } from './train.js';

/** The train flags a recipe sets. */
export type RecipeFlags = Pick<TrainFlags, 'model' | 'optimizer' | 'lr' | 'momentum' | 'weightDecay' | 'schedule' | 'epochs'
  | 'batchSize' | 'augment' | 'validationSplit' | 'patience'>;

const OPTIMIZER_FLAGS = ['lr', 'momentum', 'weightDecay'] as const;

/** The --schedule value of a recipe's schedule. */
export function scheduleFlag(s: RecipeSchedule): string {
  if (s.kind === 'onecycle') {
    if ((s.annealStrategy ?? 'cos') !== 'cos' || s.threePhase) throw new DescentError('a recipe\'s one-cycle must be two cosine phases (the CLI\'s onecycle)');
    return `onecycle:${s.pctStart ?? 0.3},${s.divFactor ?? 25},${s.finalDivFactor ?? 1e4}`;
  }
  if (s.minLr) throw new DescentError('a recipe\'s cosine must end at 0 (the CLI\'s cosine)');
  return `cosine:${s.warmupSteps ?? 0}`;
}

/** A recipe as the train command's flags. */
export function recipeFlags(r: Recipe): RecipeFlags {
  const o = r.optimizer as { kind: string; lr?: number; momentum?: number; weightDecay?: number };
  return {
    model: r.model, optimizer: o.kind, lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay, schedule: scheduleFlag(r.schedule),
    epochs: r.epochs, batchSize: r.batchSize, augment: r.augment, validationSplit: r.validationSplit, patience: r.patience,
  };
}

/** Fills in, from the recipe `flags.recipe`, every recipe flag the command line did not give (`explicit`). */
export function applyRecipe(flags: TrainFlags, explicit: Set<string>): void {
  const given = recipeFlags(recipe(flags.recipe)) as unknown as Record<string, unknown>;
  const target = flags as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(given)) {
    if (explicit.has(key)) continue;
    if (explicit.has('optimizer') && (OPTIMIZER_FLAGS as readonly string[]).includes(key)) continue;
    target[key] = value;
  }
}
