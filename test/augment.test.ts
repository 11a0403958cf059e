import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/core/rng.js';
import { augmentBatch, flipHorizontal, translate } from '../src/data/augment.js';

/** A 3×3 image with values 1..9, row-major. */
const grid = () => Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);

test('translate moves pixels by (dy, dx) and fills with zeros', () => {
  const down = grid();
  translate(down, [3, 3, 1], 1, 0);
  assert.deepEqual([...down], [0, 0, 0, 1, 2, 3, 4, 5, 6]);
  const upLeft = grid();
  translate(upLeft, [3, 3, 1], -1, -1);
  assert.deepEqual([...upLeft], [5, 6, 0, 8, 9, 0, 0, 0, 0]);
  const away = grid();
  translate(away, [3, 3, 1], 0, 5);
  assert.deepEqual([...away], new Array(9).fill(0));
});

test('translate and flip keep the channels of a pixel together', () => {
  const rgb = Float32Array.from([1, 2, 3, 4, 5, 6]); // a 1×2 image of two RGB pixels
  translate(rgb, [1, 2, 3], 0, 1);
  assert.deepEqual([...rgb], [0, 0, 0, 1, 2, 3]);
  const f = Float32Array.from([1, 2, 3, 4, 5, 6]);
  flipHorizontal(f, [1, 2, 3]);
  assert.deepEqual([...f], [4, 5, 6, 1, 2, 3]);
});

test('augmentation is deterministic given the seed', () => {
  const batch = () => Float32Array.from({ length: 8 * 5 * 5 }, (_, i) => i % 7);
  const opts = { shift: 2, crop: { padding: 1 }, flip: true };
  const a = batch();
  const b = batch();
  const c = batch();
  augmentBatch(a, 8, [5, 5, 1], opts, new Rng(7));
  augmentBatch(b, 8, [5, 5, 1], opts, new Rng(7));
  augmentBatch(c, 8, [5, 5, 1], opts, new Rng(8));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('a shift draws (dy, dx) from the rng, sample by sample', () => {
  const shape: [number, number, number] = [4, 4, 1];
  const x = Float32Array.from({ length: 2 * 16 }, (_, i) => 1 + (i % 16));
  const expected = x.slice();
  const rng = new Rng(3);
  const draws = new Rng(3);
  augmentBatch(x, 2, shape, { shift: 1 }, rng);
  for (let n = 0; n < 2; n++) {
    const dy = draws.int(3) - 1;
    const dx = draws.int(3) - 1;
    translate(expected.subarray(n * 16, (n + 1) * 16), shape, dy, dx);
  }
  assert.deepEqual(x, expected);
  assert.deepEqual(rng.state(), draws.state());
});

test('no option, no change; flips are off by default', () => {
  const x = grid();
  augmentBatch(x, 1, [3, 3, 1], {}, new Rng(1));
  assert.deepEqual(x, grid());
  assert.throws(() => augmentBatch(x, 2, [3, 3, 1], {}, new Rng(1)), /2 images of \[3, 3, 1\] need 18 values, the batch has 9/);
});
