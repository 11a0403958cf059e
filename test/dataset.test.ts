import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../src/core/rng.js';
import {
  applyStandardization,
  createDataset,
  scaleToUnit,
  splitTrainValidation,
  standardize,
  subset,
  type Dataset,
} from '../src/data/dataset.js';

/** n 1×1 single-channel samples whose value is their index, labelled index % 3. */
function counting(n: number): Dataset {
  return createDataset({
    x: Float32Array.from({ length: n }, (_, i) => i),
    labels: Int32Array.from({ length: n }, (_, i) => i % 3),
    shape: [1, 1, 1],
  });
}

test('createDataset checks that its parts agree', () => {
  assert.throws(() => createDataset({ x: new Float32Array(5), labels: new Int32Array(2), shape: [1, 2, 1] }), /2 labels of \[1, 2, 1\] images need 4 values, x has 5/);
  assert.throws(() => createDataset({ x: new Float32Array(2), labels: Int32Array.from([0, 4]), shape: [1, 1, 1], classes: 3 }), /label 4 is out of range for 3 classes/);
  assert.equal(counting(7).classes, 3);
});

test('subset copies the chosen samples in order', () => {
  const s = subset(counting(10), [7, 2, 2]);
  assert.deepEqual([...s.x], [7, 2, 2]);
  assert.deepEqual([...s.labels], [1, 2, 2]);
  assert.equal(s.classes, 3);
  assert.throws(() => subset(counting(3), [3]), /index 3 is outside 0\.\.2/);
});

test('the train/validation split is seeded, disjoint and complete', () => {
  const ds = counting(100);
  const a = splitTrainValidation(ds, 0.2, new Rng(42));
  const b = splitTrainValidation(ds, 0.2, new Rng(42));
  const c = splitTrainValidation(ds, 0.2, new Rng(43));
  assert.equal(a.validation.count, 20);
  assert.equal(a.train.count, 80);
  assert.deepEqual(a.validation.x, b.validation.x);
  assert.notDeepEqual(a.validation.x, c.validation.x);
  const seen = new Set([...a.train.x, ...a.validation.x]);
  assert.equal(seen.size, 100); // disjoint and together every sample
  // Labels travel with their samples.
  for (const part of [a.train, a.validation]) part.x.forEach((v, i) => assert.equal(part.labels[i], v % 3));
  assert.throws(() => splitTrainValidation(ds, 1, new Rng(0)), /fraction must be in \[0, 1\)/);
});

test('standardize fits on the training set and applies the same statistics to others', () => {
  // Two channels: channel 0 is 1, 3 (mean 2, std 1); channel 1 is constant 5 (std taken as 1).
  const train = createDataset({ x: Float32Array.from([1, 5, 3, 5]), labels: Int32Array.from([0, 1]), shape: [1, 1, 2] });
  const test_ = createDataset({ x: Float32Array.from([2, 6]), labels: Int32Array.from([0]), shape: [1, 1, 2] });
  const stats = standardize(train, [test_]);
  assert.deepEqual(stats, { mean: [2, 5], std: [1, 1] });
  assert.deepEqual([...train.x], [-1, 0, 1, 0]);
  assert.deepEqual([...test_.x], [0, 1]);
  const single = Float32Array.from([4, 5]);
  applyStandardization(single, stats);
  assert.deepEqual([...single], [2, 0]);
});

test('scaleToUnit maps bytes to [0, 1]', () => {
  assert.deepEqual([...scaleToUnit(Uint8Array.from([0, 255]))], [0, 1]);
});

test('core data and io modules import no Node-only module, so they run in a browser', () => {
  const src = fileURLToPath(new URL('../../src/', import.meta.url));
  const nodeOnly = /from\s+['"](node:|fs['"]|path['"]|zlib['"]|os['"]|crypto['"]|module['"])|\brequire\(|\bBuffer\.|\bprocess\./;
  for (const folder of ['data', 'io']) {
    for (const name of fs.readdirSync(path.join(src, folder)).filter((f) => f.endsWith('.ts'))) {
      const code = fs.readFileSync(path.join(src, folder, name), 'utf8');
      assert.doesNotMatch(code, nodeOnly, `src/${folder}/${name}`);
    }
  }
});
