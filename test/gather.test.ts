/** gatherBatch: the trainer's one-pass copy and augmentation is bitwise a copy followed by augmentBatch. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { augmentBatch, type AugmentOptions } from '../src/data/augment.js';
import type { ImageShape } from '../src/data/dataset.js';
import { gatherBatch } from '../src/data/gather.js';

const SHAPES: ImageShape[] = [[5, 7, 1], [6, 6, 3], [28, 28, 1], [1, 4, 2], [3, 1, 1]];
const OPTIONS: (AugmentOptions | undefined)[] = [
  undefined, {}, { shift: 0 }, { shift: 1 }, { shift: 2 }, { shift: 9 }, { flip: true }, { shift: 1, flip: true },
  { crop: { padding: 2 } }, { shift: 1, crop: { padding: 1 }, flip: true },
];

/** Images with distinct values (a NaN and an ∞ among them), so that any misplaced pixel shows. */
function images(count: number, d: number): Float32Array {
  const x = Float32Array.from({ length: count * d }, (_, i) => i + 1);
  x[3] = NaN;
  x[d + 1] = -Infinity;
  return x;
}

/** What the trainer did before: copy image by image, then augmentBatch. */
function copyThenAugment(src: Float32Array, order: Int32Array, first: number, count: number, dst: Float32Array,
  shape: ImageShape, augment: AugmentOptions | undefined, rng: Rng): void {
  const d = shape[0] * shape[1] * shape[2];
  for (let i = 0; i < count; i++) dst.set(src.subarray(order[first + i] * d, (order[first + i] + 1) * d), i * d);
  if (augment) augmentBatch(dst, count, shape, augment, rng);
}

describe('gatherBatch', () => {
  it('gives bitwise the batch and the generator state of a copy followed by augmentBatch', () => {
    for (const shape of SHAPES) {
      const d = shape[0] * shape[1] * shape[2], pool = 11, count = 7;
      const src = images(pool, d);
      const order = Int32Array.from({ length: pool }, (_, i) => (i * 4 + 3) % pool);
      for (const augment of OPTIONS) {
        const a = new Float32Array(count * d + 5).fill(-1), b = new Float32Array(count * d + 5).fill(-1);
        const ra = new Rng(42), rb = new Rng(42);
        gatherBatch(src, order, 2, count, a, shape, augment, ra);
        copyThenAugment(src, order, 2, count, b, shape, augment, rb);
        const what = `${shape.join('×')} ${JSON.stringify(augment)}`;
        assert.deepEqual(a, b, what);
        assert.deepEqual(ra.state(), rb.state(), `${what}: the generator`);
      }
    }
  });

  it('moves pixels (the comparison above would see a wrong shift or flip)', () => {
    const shape: ImageShape = [6, 6, 3], d = 108;
    const src = images(4, d), order = Int32Array.from([0, 1, 2, 3]);
    const plain = new Float32Array(4 * d), moved = new Float32Array(4 * d);
    gatherBatch(src, order, 0, 4, plain, shape, undefined, new Rng(1));
    gatherBatch(src, order, 0, 4, moved, shape, { shift: 2, flip: true }, new Rng(1));
    assert.deepEqual(plain, src);
    assert.notDeepEqual(moved, plain);
    // The negative: another seed draws other shifts, and the bitwise comparison tells them apart.
    const other = new Float32Array(4 * d);
    gatherBatch(src, order, 0, 4, other, shape, { shift: 2, flip: true }, new Rng(2));
    assert.notDeepEqual(other, moved);
  });

  it('refuses bad options as augmentBatch does', () => {
    const dst = new Float32Array(4);
    assert.throws(() => gatherBatch(new Float32Array(4), Int32Array.from([0]), 0, 1, dst, [2, 2, 1], { shift: -1 }, new Rng(1)),
      /shift must be a non-negative integer/);
    assert.throws(() => gatherBatch(new Float32Array(4), Int32Array.from([0]), 0, 1, dst, [2, 2, 1], { shift: 0.5 }, new Rng(1)),
      /shift must be a non-negative integer/);
  });
});
