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

/** The mean/std normalisation a model was trained with, if any (kept in the model file). */
export function standardizationOf(preprocessing: unknown): Standardization | undefined {
  const p = preprocessing as Partial<Standardization> | undefined;
  return p && Array.isArray(p.mean) && Array.isArray(p.std) ? { mean: p.mean, std: p.std } : undefined;
}

/** The [height, width] a model's training images were resized to (--image-size), if they were. */
export function resizeOf(preprocessing: unknown): [number, number] | undefined {
  const r = (preprocessing as { resize?: unknown } | undefined)?.resize;
  return Array.isArray(r) && r.length === 2 && r.every((d) => Number.isInteger(d) && d > 0) ? [r[0], r[1]] : undefined;
}
