/** Checks that a saved model and a dataset belong together, and the model's input preprocessing. */
import { DescentError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import { applyStandardization, type Dataset, type Standardization } from '../data/dataset.js';
import type { Sequential } from '../network/sequential.js';

export function checkDataFits(net: Sequential, data: Dataset, source: string): void {
  if (data.shape.join() !== net.inputShape.join()) {
    throw new DescentError(`${source} has images [${data.shape.join(', ')}], the model takes [${net.inputShape.join(', ')}]`);
  }
  if (data.classes > sizeOf(net.outputShape)) {
    throw new DescentError(`${source} has ${data.classes} classes, the model outputs ${sizeOf(net.outputShape)}`);
  }
}

/**
 * The mean/std normalisation a model was trained with, if any (kept in the model file), checked:
 * one finite mean and one positive finite std per input channel (std 0 would turn every input
 * into ±Infinity or NaN).
 */
export function standardizationOf(preprocessing: unknown, net: Sequential, source: string): Standardization | undefined {
  const p = preprocessing as Partial<Standardization> | undefined;
  if (!p || (p.mean === undefined && p.std === undefined)) return undefined;
  const channels = net.inputShape[net.inputShape.length - 1];
  const ok = (v: unknown, positive: boolean) => Array.isArray(v) && v.length === channels &&
    v.every((x) => typeof x === 'number' && Number.isFinite(x) && (!positive || x > 0));
  if (!ok(p.mean, false) || !ok(p.std, true)) {
    throw new DescentError(`${source}: preprocessing needs ${channels} finite means and ${channels} positive finite standard deviations, ` +
      `got mean ${JSON.stringify(p.mean)?.slice(0, 60)} and std ${JSON.stringify(p.std)?.slice(0, 60)}`);
  }
  return { mean: p.mean as number[], std: p.std as number[] };
}

/** The [height, width] a model's training images were resized to (--image-size), if they were. */
export function resizeOf(preprocessing: unknown): [number, number] | undefined {
  const r = (preprocessing as { resize?: unknown } | undefined)?.resize;
  return Array.isArray(r) && r.length === 2 && r.every((d) => Number.isInteger(d) && d > 0) ? [r[0], r[1]] : undefined;
}

/**
 * Bring images read as pixels/255 (every loader's [0, 1]) to what a saved model takes, in place.
 * Its preprocessing (x·scale − mean)/std applies to raw 0-255 pixels, as in every export of it; a
 * model that records none takes the raw pixels (import with --scale to change that).
 */
export function modelInput(preprocessing: unknown, net: Sequential, source: string): (x: Float32Array) => void {
  const stats = standardizationOf(preprocessing, net, source);
  const scale = (preprocessing as { scale?: unknown } | undefined)?.scale ?? 1;
  if (!(typeof scale === 'number' && Number.isFinite(scale) && scale !== 0)) {
    throw new DescentError(`${source}: preprocessing scale must be a finite non-zero number, got ${JSON.stringify(scale)?.slice(0, 60)}`);
  }
  // Descent's own models record 1/255: their [0, 1] input is used exactly as it was in training.
  const factor = Math.abs(scale * 255 - 1) < 1e-12 ? 1 : scale * 255;
  return (x) => {
    if (factor !== 1) for (let i = 0; i < x.length; i++) x[i] *= factor;
    if (stats) applyStandardization(x, stats);
  };
}
