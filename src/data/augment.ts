/**
 * Seeded data augmentation, applied to a batch in place before the forward pass. Every random
 * draw comes from the given Rng, sample by sample in a fixed order, so a seed fixes the result.
 */
import { check } from '../core/errors.js';
import type { Rng } from '../core/rng.js';
import { fmt } from '../core/shape.js';
import type { ImageShape } from './dataset.js';

/** Random changes to the training images on every step, drawn from the run's seeded generator. */
export interface AugmentOptions {
  /** Translate each image by a random whole number of pixels in [-shift, shift] on each axis, filling with zeros. */
  shift?: number;
  /**
   * Pad each image with `padding` zeros on every side, then crop a random H×W window. With zero
   * padding this draws exactly the translations of `shift = padding`; it is offered under the
   * name the literature uses (e.g. CIFAR's "pad 4, random crop 32").
   */
  crop?: {
    /** Zeros added on every side before the random crop. */
    padding: number;
  };
  /** Mirror half of the images left-right. Off by default: a mirrored digit is not that digit. */
  flip?: boolean;
}

/**
 * Augment `count` images of `shape` held NHWC in `x`, in place. Per sample the draws are, in
 * order: the flip coin, the shift (dy, dx), the crop offset (dy, dx), each only if enabled.
 */
export function augmentBatch(x: Float32Array, count: number, shape: ImageShape, options: AugmentOptions, rng: Rng): void {
  const [h, w, c] = shape;
  const size = h * w * c;
  check(
    x.length >= count * size,
    () => `augment: ${count} images of ${fmt(shape)} need ${count * size} values, the batch has ${x.length}`,
  );
  const shift = options.shift ?? 0;
  const pad = options.crop?.padding ?? 0;
  check(Number.isInteger(shift) && shift >= 0, () => `augment: shift must be a non-negative integer, got ${shift}`);
  check(Number.isInteger(pad) && pad >= 0, () => `augment: crop padding must be a non-negative integer, got ${pad}`);
  const scratch = new Float32Array(size);
  for (let n = 0; n < count; n++) {
    const img = x.subarray(n * size, (n + 1) * size);
    if (options.flip && rng.uniform() < 0.5) flipHorizontal(img, shape);
    if (shift > 0) translate(img, shape, rng.int(2 * shift + 1) - shift, rng.int(2 * shift + 1) - shift, scratch);
    // Cropping the window at (oy, ox) of the padded image moves the content by (pad - oy, pad - ox).
    if (pad > 0) translate(img, shape, pad - rng.int(2 * pad + 1), pad - rng.int(2 * pad + 1), scratch);
  }
}

/** Move the content of one image down by dy and right by dx pixels (negative: up, left); zeros fill in. */
export function translate(
  img: Float32Array,
  shape: ImageShape,
  dy: number,
  dx: number,
  scratch = new Float32Array(img.length),
): void {
  if (dy === 0 && dx === 0) return;
  const [h, w, c] = shape;
  scratch.fill(0, 0, img.length);
  const x0 = Math.max(0, dx);
  const x1 = Math.min(w, w + dx);
  const run = (x1 - x0) * c;
  for (let y = Math.max(0, dy); y < Math.min(h, h + dy) && x1 > x0; y++) {
    // Row y of the result is row y - dy of the source, its columns shifted by dx: one run.
    // (A plain loop: a subarray per row would cost more than the copy of a short row.)
    const src = ((y - dy) * w + (x0 - dx)) * c, dst = (y * w + x0) * c;
    for (let i = 0; i < run; i++) scratch[dst + i] = img[src + i];
  }
  img.set(scratch.length === img.length ? scratch : scratch.subarray(0, img.length));
}

/** Mirror one image left-right, keeping each pixel's channels together. */
export function flipHorizontal(img: Float32Array, shape: ImageShape): void {
  const [h, w, c] = shape;
  for (let y = 0; y < h; y++) {
    for (let a = 0, b = w - 1; a < b; a++, b--) {
      for (let k = 0; k < c; k++) {
        const i = (y * w + a) * c + k;
        const j = (y * w + b) * c + k;
        const t = img[i];
        img[i] = img[j];
        img[j] = t;
      }
    }
  }
}
