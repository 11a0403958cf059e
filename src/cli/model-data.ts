/** Checks that a saved model and a dataset belong together, and the model's input preprocessing. */
import { DescentError } from '../core/errors.js';
import { sizeOf } from '../core/shape.js';
import type { Dataset, Standardization } from '../data/dataset.js';
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
