/**
 * Checks `descent train` makes before any work starts: the flags a checkpoint carries, the output
 * directory of an earlier run, and a validation split that holds out at least one image.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { DescentError } from '../core/errors.js';
import { removeStaleTemporaries } from '../node/files.js';
import { RUN_FILES } from '../ui/run-recorder.js';
import { fraction, nonNegativeInt, optimizerKinds, positiveInt, positiveNumber } from './options.js';
import type { TrainFlags } from './train.js';

const isString = (v: unknown) => {
  if (typeof v !== 'string') throw new InvalidArgumentError('expected a string.');
  return v;
};
const isBoolean = (v: unknown) => {
  if (typeof v !== 'boolean') throw new InvalidArgumentError('expected true or false.');
  return v;
};
const numeric = (parse: (s: string) => number) => (v: unknown) => {
  if (typeof v !== 'number') throw new InvalidArgumentError('expected a number.');
  return parse(String(v));
};

const oneOf = (choices: string[]) => (v: unknown) => {
  if (!choices.includes(v as string)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}.`);
  return v;
};

/** How each flag a checkpoint keeps is checked: the command line's own parsers. */
const SAVED: Partial<Record<keyof TrainFlags, (v: unknown) => unknown>> = {
  data: isString, schedule: isString, earlyStopping: isBoolean, normalize: isBoolean,
  optimizer: (v) => {
    if (!optimizerKinds.includes(v as (typeof optimizerKinds)[number])) throw new InvalidArgumentError(`expected one of ${optimizerKinds.join(', ')}.`);
    return v;
  },
  epochs: numeric(positiveInt), batchSize: numeric(positiveInt), limit: numeric(positiveInt),
  patience: numeric(nonNegativeInt), augment: numeric(nonNegativeInt), seed: numeric(nonNegativeInt),
  lr: numeric(positiveNumber), momentum: numeric(positiveNumber), weightDecay: numeric(positiveNumber),
  validationSplit: numeric(fraction),
  engine: oneOf(['auto', 'wasm', 'webgpu', 'reference']), gpuAdapter: oneOf(['system', 'swiftshader']),
};

/** The flags saved in a checkpoint's meta, each checked as if given on the command line. */
export function savedFlags(value: unknown, source: string): Partial<TrainFlags> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new DescentError(`${source}: its saved flags are not an object`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const parse = SAVED[key as keyof TrainFlags];
    if (!parse || v === undefined || v === null) continue;
    try {
      out[key] = parse(v);
    } catch (e) {
      throw new DescentError(`${source}: its saved flag ${key} is ${JSON.stringify(v).slice(0, 40)}: ${(e as Error).message}`);
    }
  }
  return out as Partial<TrainFlags>;
}

/**
 * A new run may use a directory whose earlier run was killed before its first checkpoint (it has
 * run.json but nothing to resume): those files are removed, with a line saying so. A directory
 * with a checkpoint or a model is refused, saying how to continue.
 */
export function reuseUnstartedRun(out: string, log: (line: string) => void): void {
  removeStaleTemporaries(out);
  if (!existsSync(join(out, RUN_FILES.run))) return;
  const checkpoint = join(out, RUN_FILES.checkpoint);
  if (existsSync(checkpoint)) {
    throw new DescentError(`${out} already holds a run: continue it with --resume ${checkpoint}, or choose another --out`);
  }
  if (existsSync(join(out, 'model.safetensors'))) throw new DescentError(`${out} already holds a finished run: choose another --out`);
  for (const name of [RUN_FILES.run, RUN_FILES.metrics, RUN_FILES.events, RUN_FILES.snapshot, 'history.json']) rmSync(join(out, name), { force: true });
  log(`reusing ${out}: the run there stopped before its first checkpoint`);
}

/** --validation-split must hold out at least one image and leave at least one to train on. */
export function checkValidationSplit(split: number, count: number): void {
  if (split <= 0) return;
  const held = Math.round(split * count);
  if (held === 0) {
    throw new DescentError(`--validation-split ${split} of ${count} image${count === 1 ? '' : 's'} holds out none: ` +
      'give more data, a larger split, or --validation-split 0 (no early stopping)');
  }
  if (held >= count) throw new DescentError(`--validation-split ${split} of ${count} images leaves none to train on`);
}

/** Stale temporaries next to a checkpoint being resumed, from a run killed while writing. */
export function cleanBeside(file: string): void {
  removeStaleTemporaries(dirname(file));
}
