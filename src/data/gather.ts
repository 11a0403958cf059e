/**
 * A training step's batch: the images of the shuffled epoch order copied into the network's input,
 * augmented on the way. Shifts and flips (without crops) are applied during the copy (a shift is one
 * native copy of the image, offset, and zeros at its edges) instead of a copy, then a translation
 * through a scratch image and back; the random draws are
 * augmentBatch's, in its order (per image: the flip coin, then the shift dy, dx), so the batch and
 * the generator's state are bitwise what copying and then calling augmentBatch gives.
 */
import type { Floats } from '../core/floats.js';
import type { Rng } from '../core/rng.js';
import { augmentBatch, type AugmentOptions } from './augment.js';
import type { ImageShape } from './dataset.js';

/**
 * dst[i] = image order[first + i] of src (images of `shape`, NHWC), i < count, then augmented as
 * `augmentBatch(dst, count, shape, augment, rng)` would (nothing drawn without `augment`).
 */
export function gatherBatch(src: Float32Array, order: Int32Array, first: number, count: number, dst: Floats,
  shape: ImageShape, augment: AugmentOptions | undefined, rng: Rng): void {
  const [h, w, c] = shape, d = h * w * c;
  const shift = augment?.shift ?? 0, flip = augment?.flip ?? false;
  if (!augment || (augment.crop?.padding ?? 0) > 0 || !(Number.isInteger(shift) && shift >= 0)) {
    // Crops (and options augmentBatch refuses) take the general path.
    for (let i = 0; i < count; i++) {
      const s = order[first + i];
      dst.set(src.subarray(s * d, (s + 1) * d), i * d);
    }
    if (augment) augmentBatch(dst as Float32Array, count, shape, augment, rng);
    return;
  }
  for (let i = 0; i < count; i++) {
    const s = order[first + i];
    const mirrored = flip && rng.uniform() < 0.5;
    const dy = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    const dx = shift > 0 ? rng.int(2 * shift + 1) - shift : 0;
    if (!mirrored && dy === 0 && dx === 0) dst.set(src.subarray(s * d, (s + 1) * d), i * d);
    else shiftedCopy(src, s * d, dst, i * d, shape, dy, dx, mirrored);
  }
}

/**
 * The image at src[from ..] (mirrored left-right first when `mirrored`), moved down by dy and right
 * by dx pixels, written to dst[to ..]; the pixels moved in from outside are zeros.
 */
function shiftedCopy(src: Float32Array, from: number, dst: Floats, to: number, shape: ImageShape,
  dy: number, dx: number, mirrored: boolean): void {
  const [h, w, c] = shape, d = h * w * c;
  const y0 = Math.max(0, dy), y1 = Math.min(h, h + dy), x0 = Math.max(0, dx), x1 = Math.min(w, w + dx);
  if (y1 <= y0 || x1 <= x0) {
    dst.fill(0, to, to + d); // shifted out entirely
    return;
  }
  if (!mirrored) {
    // A shift is a shift of the whole image by (dy·w + dx)·c values: one native copy; then zeros
    // where the rows and columns came from outside (the copy wrapped them in from the next row).
    const off = (dy * w + dx) * c;
    if (off >= 0) dst.set(src.subarray(from, from + d - off), to + off);
    else dst.set(src.subarray(from - off, from + d), to);
    zeroOutside(dst, to, shape, y0, y1, x0, x1);
    return;
  }
  dst.fill(0, to, to + d);
  for (let y = y0; y < y1; y++) {
    const row = to + y * w * c, srcRow = from + (y - dy) * w * c;
    for (let x = x0; x < x1; x++) {
      // Column x comes from column x - dx of the mirrored source, i.e. w - 1 - (x - dx) of the source.
      const a = row + x * c, b = srcRow + (w - 1 - x + dx) * c;
      for (let k = 0; k < c; k++) dst[a + k] = src[b + k];
    }
  }
}

/** Zeros every pixel of the image at dst[to ..] outside rows [y0, y1) × columns [x0, x1) (neither empty). */
function zeroOutside(dst: Floats, to: number, shape: ImageShape, y0: number, y1: number, x0: number, x1: number): void {
  const [h, w, c] = shape, rowSize = w * c;
  dst.fill(0, to, to + y0 * rowSize);
  dst.fill(0, to + y1 * rowSize, to + h * rowSize);
  const left = x0 * c, right = x1 * c;
  for (let y = y0; y < y1; y++) {
    const row = to + y * rowSize;
    for (let k = 0; k < left; k++) dst[row + k] = 0;
    for (let k = right; k < rowSize; k++) dst[row + k] = 0;
  }
}
