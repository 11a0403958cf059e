/**
 * A labelled image dataset held in memory, in the layout the network consumes: sample n of x
 * occupies [n * H*W*C, (n + 1) * H*W*C), channels-last, so a batch is a contiguous slice of x.
 * Core code: no Node-only module, so it runs in a browser too.
 */
import { check, DescentError } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { fmt, sizeOf } from '../core/shape.js';

/** One image sample: [H, W, C]. */
export type ImageShape = [number, number, number];

/** Labelled images (or vectors) in one Float32Array: what training, evaluation and the loaders use. */
export interface Dataset {
  /** count * H*W*C values, N-major, channels-last (NHWC). */
  x: Float32Array;
  /** count labels in [0, classes). */
  labels: Int32Array;
  /** Shape of one sample, [H, W, C]. */
  shape: ImageShape;
  /** Number of samples. */
  count: number;
  /** Number of classes E. */
  classes: number;
  /** Name of each class, indexed by label (e.g. the sub-folder names of an image folder). */
  classNames?: string[];
}

/**
 * Build a dataset after checking that its parts agree; `classes` defaults to the largest label
 * plus one. `source` names where the data came from, for the error messages.
 */
export function createDataset(
  parts: { x: Float32Array; labels: Int32Array; shape: ImageShape; classes?: number; classNames?: string[] },
  source = 'dataset',
): Dataset {
  const { x, labels, shape } = parts;
  check(
    shape.length === 3 && shape.every((d) => Number.isInteger(d) && d > 0),
    () => `${source}: image shape ${fmt(shape)} must be three positive integers [H, W, C]`,
  );
  const count = labels.length;
  const size = sizeOf(shape);
  check(
    x.length === count * size,
    () => `${source}: ${count} labels of ${fmt(shape)} images need ${count * size} values, x has ${x.length}`,
  );
  let maxLabel = -1;
  for (let i = 0; i < count; i++) {
    check(labels[i] >= 0, () => `${source}: label ${labels[i]} of sample ${i} is negative`);
    if (labels[i] > maxLabel) maxLabel = labels[i];
  }
  const classes = parts.classes ?? parts.classNames?.length ?? maxLabel + 1;
  check(
    maxLabel < classes,
    () => `${source}: label ${maxLabel} is out of range for ${classes} classes (labels are 0..${classes - 1})`,
  );
  check(
    parts.classNames === undefined || parts.classNames.length === classes,
    () => `${source}: ${parts.classNames!.length} class names for ${classes} classes`,
  );
  const ds: Dataset = { x, labels, shape: [shape[0], shape[1], shape[2]], count, classes };
  if (parts.classNames) ds.classNames = parts.classNames;
  return ds;
}

/** The samples at `indices`, in that order, copied into a new dataset with the same classes. */
export function subset(ds: Dataset, indices: ArrayLike<number>): Dataset {
  const size = sizeOf(ds.shape);
  const x = new Float32Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let i = 0; i < indices.length; i++) {
    const j = indices[i];
    if (!(Number.isInteger(j) && j >= 0 && j < ds.count)) throw new DescentError(`subset: index ${j} is outside 0..${ds.count - 1}`);
    x.set(ds.x.subarray(j * size, (j + 1) * size), i * size);
    labels[i] = ds.labels[j];
  }
  const out: Dataset = { x, labels, shape: [...ds.shape], count: indices.length, classes: ds.classes };
  if (ds.classNames) out.classNames = ds.classNames;
  return out;
}

/**
 * Hold out round(fraction * count) samples, chosen by `rng`, as a validation set. The two parts
 * are disjoint and together hold every sample; each keeps the original order of its samples,
 * so the split depends on the seed only.
 */
export function splitTrainValidation(ds: Dataset, fraction: number, rng: Rng): { train: Dataset; validation: Dataset } {
  check(fraction >= 0 && fraction < 1, () => `validation fraction must be in [0, 1), got ${fraction}`);
  const order = new Int32Array(ds.count);
  for (let i = 0; i < ds.count; i++) order[i] = i;
  rng.shuffle(order);
  const nValidation = Math.round(fraction * ds.count);
  check(fraction === 0 || nValidation > 0,
    () => `a validation split of ${fraction} of ${ds.count} samples holds out none: use more data or a larger split (or none)`);
  check(nValidation < ds.count, () => `a validation split of ${fraction} of ${ds.count} samples leaves none to train on`);
  const validation = order.slice(0, nValidation).sort();
  const train = order.slice(nValidation).sort();
  return { train: subset(ds, train), validation: subset(ds, validation) };
}

/** Per-channel statistics used to standardise inputs: x' = (x - mean[c]) / std[c]. */
export interface Standardization {
  /** Mean of each channel. */
  mean: number[];
  /** Standard deviation of each channel. */
  std: number[];
}

/**
 * Per-channel mean and standard deviation of `ds`. A constant channel gets std 1 rather than 0,
 * so that standardising it yields zeros instead of NaN. NaN and ±∞ values are left out of the
 * statistics (which stay finite, so a model can be saved with them); they stay in the data, and
 * training stops at the step that meets them.
 */
export function fitStandardization(ds: Dataset): Standardization {
  const c = ds.shape[2];
  const sum = new Float64Array(c);
  const sumSq = new Float64Array(c);
  const count = new Float64Array(c);
  // Two passes (mean first) rather than E[x²] - E[x]², which cancels badly in float arithmetic.
  // Channel by channel, each a strided loop, so that the sums are the same and no index is divided.
  const x = ds.x;
  for (let ch = 0; ch < c; ch++) {
    let s = 0, n = 0;
    for (let i = ch; i < x.length; i += c) {
      if (x[i] - x[i] !== 0) continue; // NaN or ±∞
      s += x[i];
      n++;
    }
    sum[ch] = s;
    count[ch] = n;
  }
  const mean = Array.from(sum, (s, ch) => (count[ch] > 0 ? s / count[ch] : 0));
  for (let ch = 0; ch < c; ch++) {
    const m = mean[ch];
    let s = 0;
    for (let i = ch; i < x.length; i += c) {
      const d = x[i] - m;
      if (d - d === 0) s += d * d;
    }
    sumSq[ch] = s;
  }
  const std = Array.from(sumSq, (s, ch) => {
    const sd = count[ch] > 0 ? Math.sqrt(s / count[ch]) : 0;
    return sd > 1e-12 ? sd : 1;
  });
  return { mean, std };
}

/**
 * Standardise channels-last values in place with given statistics: a dataset's x, a batch, or
 * one image to predict on (with the statistics saved from training).
 */
export function applyStandardization(x: Float32Array, stats: Standardization): void {
  const c = stats.mean.length;
  check(stats.std.length === c, 'standardization: mean and std have different lengths');
  check(x.length % c === 0, () => `standardization: ${x.length} values are not a whole number of ${c}-channel pixels`);
  for (let ch = 0; ch < c; ch++) {
    const m = stats.mean[ch], sd = stats.std[ch];
    for (let i = ch; i < x.length; i += c) x[i] = (x[i] - m) / sd;
  }
}

/**
 * Compute the statistics on `train` only (the validation and test sets must not leak into
 * them), standardise `train` and every one of `others` in place, and return the statistics.
 */
export function standardize(train: Dataset, others: Dataset[] = []): Standardization {
  const stats = fitStandardization(train);
  for (const ds of [train, ...others]) {
    check(
      ds.shape[2] === train.shape[2],
      () => `standardize: a ${ds.shape[2]}-channel dataset cannot use statistics of ${train.shape[2]} channels`,
    );
    applyStandardization(ds.x, stats);
  }
  return stats;
}

/** Bytes 0..255 as floats in [0, 1]. */
export function scaleToUnit(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[i] / 255;
  return out;
}
