/**
 * Recipes: the library's FitOptions and the CLI's flags say the same thing for every recipe, and a
 * flag given beside a recipe overrides that part of it (an explicit --optimizer also drops its lr).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { applyRecipe, recipeFlags, scheduleFlag } from '../src/cli/recipe-flags.js';
import { optimizerConfig, scheduleConfig } from '../src/cli/options.js';
import type { TrainFlags } from '../src/cli/train.js';
import { DescentError } from '../src/core/errors.js';
import { encodeIdx } from '../src/data/idx.js';
import { preset } from '../src/models/presets.js';
import { DEFAULT_RECIPE, recipe, recipeFitOptions, recipeNames, recipeStepsPerEpoch } from '../src/train/recipes.js';
import { createSchedule } from '../src/train/schedules/index.js';
import { assertOneLineError, cliIn } from './cli-run.js';
import { patches } from './synthetic.js';

/** The flags as the train command holds them after parsing `--recipe name` and the given flags. */
function resolve(name: string, given: Partial<TrainFlags> = {}): TrainFlags {
  const flags = { recipe: name, ...given } as TrainFlags;
  applyRecipe(flags, new Set(Object.keys(given)));
  return flags;
}

describe('recipes', () => {
  it('the default is fast; every recipe names a preset and a schedule that builds', () => {
    assert.equal(DEFAULT_RECIPE, 'fast');
    assert.deepEqual(recipeNames, ['fast', 'thorough']);
    for (const name of recipeNames) {
      const r = recipe(name);
      assert.ok(preset(r.model).layers.length > 0, name);
      const o = recipeFitOptions(r, 60_000, 1);
      createSchedule(o.schedule!);
      assert.equal((o.schedule as { totalSteps: number }).totalSteps, r.epochs * recipeStepsPerEpoch(r, 60_000));
    }
  });

  it('fast and thorough train on all 60,000 images; a recipe with a validation split holds it out and stops early', () => {
    for (const name of ['fast', 'thorough']) {
      const o = recipeFitOptions(recipe(name), 60_000, 1);
      assert.equal(o.validationSplit, undefined, name);
      assert.equal(o.earlyStopping, undefined, name);
    }
    const held = recipeFitOptions({ ...recipe('fast'), validationSplit: 1 / 12, patience: 4 }, 60_000, 1);
    assert.equal(Math.round(held.validationSplit! * 60_000), 5000);
    assert.deepEqual(held.earlyStopping, { monitor: 'val_error', patience: 4 });
  });

  it('recipe() hands out copies, and names the known ones when asked for another', () => {
    recipe('fast').epochs = 99;
    assert.notEqual(recipe('fast').epochs, 99);
    assert.throws(() => recipe('quick'), (e: unknown) => e instanceof DescentError && /unknown recipe "quick" \(known: fast, thorough\)/.test(e.message));
  });

  for (const name of recipeNames) {
    it(`${name}: the CLI's flags resolve to the library's FitOptions`, () => {
      const r = recipe(name), flags = resolve(name), lib = recipeFitOptions(r, 60_000, 1);
      assert.equal(flags.model, r.model);
      assert.equal(flags.epochs, lib.epochs);
      assert.equal(flags.batchSize, lib.batchSize);
      assert.equal(flags.augment, lib.augment?.shift ?? 0);
      assert.equal(flags.validationSplit > 0 ? flags.validationSplit : undefined, lib.validationSplit);
      assert.equal(flags.patience, r.patience);
      assert.deepEqual(optimizerConfig(flags.optimizer, flags.lr, flags.momentum, flags.weightDecay), lib.optimizer);
      // The schedule as the CLI builds it: the same config once the defaults are filled in.
      const totalSteps = flags.epochs * Math.ceil(60_000 * (1 - flags.validationSplit) / flags.batchSize);
      assert.deepEqual(createSchedule(scheduleConfig(flags.schedule, totalSteps)).config(), createSchedule(lib.schedule!).config());
    });
  }

  it('flags given on the command line override the recipe, the others stay', () => {
    const flags = resolve('fast', { epochs: 2, batchSize: 32, schedule: 'cosine', lr: 0.01 });
    assert.deepEqual([flags.epochs, flags.batchSize, flags.schedule, flags.lr], [2, 32, 'cosine', 0.01]);
    const r = recipeFlags(recipe('fast'));
    assert.deepEqual([flags.model, flags.optimizer, flags.augment, flags.validationSplit], [r.model, r.optimizer, r.augment, r.validationSplit]);
    const thorough = resolve('thorough', { augment: 0 });
    assert.ok(recipe('thorough').augment > 0);
    assert.equal(thorough.augment, 0, 'an explicit 0 is kept, not taken for "unset"');
    assert.equal(thorough.epochs, recipe('thorough').epochs);
  });

  it('an explicit --optimizer drops the recipe\'s lr, momentum and weight decay (chosen for its optimizer)', () => {
    const sgd = resolve('fast', { optimizer: 'sgd' });
    assert.equal(sgd.lr, undefined);
    assert.deepEqual(optimizerConfig(sgd.optimizer, sgd.lr, sgd.momentum, sgd.weightDecay), { kind: 'sgd', lr: 0.01, momentum: 0.9 });
    assert.equal(resolve('fast', { optimizer: 'sgd', lr: 0.05 }).lr, 0.05);
    assert.equal(resolve('fast', { optimizer: 'adam' }).lr, undefined, 'even the recipe\'s own kind: the flag asks for its defaults');
  });

  it('schedules a recipe cannot say on the command line are refused, not changed', () => {
    assert.equal(scheduleFlag({ kind: 'onecycle', pctStart: 0.2 }), 'onecycle:0.2,25,10000');
    assert.throws(() => scheduleFlag({ kind: 'onecycle', annealStrategy: 'linear' }), /two cosine phases/);
    assert.throws(() => scheduleFlag({ kind: 'cosine', minLr: 1e-5 }), /must end at 0/);
  });
});

describe('descent train --recipe', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-recipe-'));
  const descent = cliIn(dir);

  it('an unknown recipe, or one beside --resume, is refused in one line', () => {
    assertOneLineError(descent('train', '--recipe', 'quick'), /--recipe.*'quick' is invalid.*fast, thorough/);
    assertOneLineError(descent('train', '--recipe', 'thorough', '--resume', 'nope.ckpt'), /drop --recipe thorough/);
  });

  it('a run records the flags its recipe resolved to, with the overrides', () => {
    // Tiny: one step of a small network on 8×8 patches; the run's info keeps the resolved flags.
    const data = patches(48, 1);
    const images = Uint8Array.from(data.x, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
    writeFileSync(join(dir, 'images.idx'), encodeIdx({ type: 'ubyte', dims: [48, 8, 8], data: images }));
    writeFileSync(join(dir, 'labels.idx'), encodeIdx({ type: 'ubyte', dims: [48], data: data.labels }));
    const r = descent('train', '--recipe', 'thorough', '--model', 'mlp', '--data', 'idx:images.idx,labels.idx', '--epochs', '1',
      '--max-steps', '1', '--engine', 'reference', '--out', 'run', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /training mlp \(recipe thorough\)/);
    const info = JSON.parse(readFileSync(join(dir, 'run', 'run.json'), 'utf8')) as { flags: TrainFlags };
    const t = recipe('thorough');
    assert.deepEqual([info.flags.recipe, info.flags.model, info.flags.epochs], ['thorough', 'mlp', 1]);
    assert.deepEqual([info.flags.batchSize, info.flags.augment, info.flags.validationSplit], [t.batchSize, t.augment, t.validationSplit]);
  });
});
