/** Parsing of the CLI's option values: each bad value gets a one-line reason naming the flag. */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from 'commander';
import { MAX_CLASSES } from '../core/limits.js';
import type { OptimizerConfig } from '../train/optimizers/index.js';
import type { OneCycleConfig, ScheduleConfig } from '../train/schedules/index.js';

/**
 * A decimal number as people write it (12, 0.5, .5, 1e-3): no hex, octal or binary, no Infinity,
 * no empty string or spaces, which Number() would take (Number('0x10') is 16, Number('') is 0).
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function decimal(value: string): number {
  if (!DECIMAL.test(value)) throw new InvalidArgumentError(`expected a decimal number, got '${value}'.`);
  return Number(value);
}

function integer(value: string, min: number, what: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected ${what}.`);
  return n;
}

export function positiveInt(value: string): number {
  return integer(value, 1, 'a positive integer');
}

export function nonNegativeInt(value: string): number {
  return integer(value, 0, 'an integer >= 0');
}

export function positiveNumber(value: string): number {
  const n = decimal(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = decimal(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number >= 0.');
  return n;
}

export function fraction(value: string): number {
  const n = decimal(value);
  if (!(n >= 0 && n < 1)) throw new InvalidArgumentError('expected a number in [0, 1).');
  return n;
}

/** --port: a TCP port, 0 for any free one. */
export function port(value: string): number {
  const n = nonNegativeInt(value);
  if (n > 65535) throw new InvalidArgumentError('expected a port in 0..65535.');
  return n;
}

/** --classes: 2 to MAX_CLASSES. */
export function classCount(value: string): number {
  const n = positiveInt(value);
  if (n < 2 || n > MAX_CLASSES) throw new InvalidArgumentError(`expected 2 to ${MAX_CLASSES} classes.`);
  return n;
}

/** --threads: at most the machine's cores (more only slows every step down). */
export function threadCount(value: string): number {
  const n = positiveInt(value), cores = availableParallelism();
  if (n > cores) throw new InvalidArgumentError(`this machine has ${cores} core${cores > 1 ? 's' : ''}: use at most --threads ${cores}.`);
  return n;
}

export const optimizerKinds = ['sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'] as const;

export function optimizerConfig(kind: string, lr: number | undefined, momentum: number | undefined, weightDecay: number | undefined): OptimizerConfig {
  const extra = { ...(lr !== undefined ? { lr } : {}), ...(weightDecay !== undefined ? { weightDecay } : {}) };
  switch (kind) {
    case 'sgd': return { kind, lr: 0.01, ...extra, momentum: momentum ?? 0.9 };
    case 'rmsprop': return { kind, ...extra, ...(momentum !== undefined ? { momentum } : {}) };
    case 'adam': case 'adamw': case 'adagrad': return { kind, ...extra };
    default: throw new InvalidArgumentError(`--optimizer: unknown optimizer "${kind}" (use ${optimizerKinds.join(', ')}).`);
  }
}

/**
 * --schedule values: constant | step:<epoch>,<epoch>,... (÷10 at those epochs) | exponential:<gamma> |
 * cosine[:<warmup steps>] | onecycle[:<pct_start>[,<div_factor>[,<final_div_factor>]]] (PyTorch's OneCycleLR, max_lr = --lr) |
 * plateau[:<patience>] | adam-then-sgd[:<sgd lr>].
 */
export function scheduleConfig(value: string, totalSteps: number): ScheduleConfig {
  const [kind, arg] = value.split(':');
  const num = (s: string | undefined, what: string) => {
    const n = s !== undefined && DECIMAL.test(s) ? Number(s) : NaN;
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`--schedule ${kind} needs ${what}, got "${value}".`);
    return n;
  };
  switch (kind) {
    case 'constant': return { kind: 'constant' };
    case 'step': return { kind: 'multistep', milestones: (arg ?? '').split(',').map((s) => num(s, 'epochs like step:5,10')), gamma: 0.1 };
    case 'exponential': return { kind: 'exponential', gamma: num(arg, 'a factor like exponential:0.9') };
    case 'cosine': return { kind: 'cosine', totalSteps, warmupSteps: arg ? num(arg, 'warm-up steps like cosine:200') : 0 };
    case 'onecycle': return oneCycleConfig(value, arg, totalSteps);
    case 'plateau': return { kind: 'plateau', patience: arg ? num(arg, 'a patience like plateau:2') : 2, mode: 'min' };
    case 'adam-then-sgd': return { kind: 'adam-then-sgd', patience: 1, sgdLr: arg ? num(arg, 'an SGD rate like adam-then-sgd:0.01') : 0.01 };
    default: throw new InvalidArgumentError(`--schedule: unknown schedule "${value}" (use constant, step:<epochs>, exponential:<gamma>, cosine[:warmup], onecycle[:pct_start,div,final_div], plateau[:patience], adam-then-sgd[:lr]).`);
  }
}

/** onecycle[:<pct_start>[,<div_factor>[,<final_div_factor>]]]: omitted values are OneCycleLR's defaults. */
function oneCycleConfig(value: string, arg: string | undefined, totalSteps: number): OneCycleConfig {
  const parts = arg === undefined ? [] : arg.split(',');
  const [pctStart, divFactor, finalDivFactor] = parts.map((s) => (DECIMAL.test(s) ? Number(s) : NaN));
  const bad = parts.length > 3 || !(pctStart === undefined || (pctStart > 0 && pctStart < 1))
    || [divFactor, finalDivFactor].some((f) => f !== undefined && !(f >= 1 && Number.isFinite(f)));
  if (bad) {
    throw new InvalidArgumentError(`--schedule onecycle takes onecycle[:<pct_start>[,<div_factor>[,<final_div_factor>]]] with pct_start in (0, 1) ` +
      `and factors >= 1 (like onecycle:0.3,25,10000), got "${value}".`);
  }
  return { kind: 'onecycle', totalSteps, ...(pctStart !== undefined ? { pctStart } : {}),
    ...(divFactor !== undefined ? { divFactor } : {}), ...(finalDivFactor !== undefined ? { finalDivFactor } : {}) };
}

/** --image-size: <n> (n×n) or <height>x<width>. */
export function imageSize(value: string): [number, number] {
  const m = /^(\d+)(?:[x×](\d+))?$/.exec(value.trim());
  const size: [number, number] | null = m ? [Number(m[1]), Number(m[2] ?? m[1])] : null;
  if (!size || !size.every((d) => d >= 1 && d <= 4096)) {
    throw new InvalidArgumentError('expected <n> or <height>x<width>, each from 1 to 4096.');
  }
  return size;
}
