import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { encodeIdx, idxToDataset, parseIdx, type IdxType } from '../src/data/idx.js';
import { loadIdxPair } from '../src/node/mnist.js';
import { readFileMaybeGzip } from '../src/node/files.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-idx-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, bytes);
  return file;
}

/** Two 2×3 images with pixels 0, 51, 102, ... and labels [3, 1]. */
const images = encodeIdx({ type: 'ubyte', dims: [2, 2, 3], data: [0, 51, 102, 153, 204, 255, 255, 204, 153, 102, 51, 0] });
const labels = encodeIdx({ type: 'ubyte', dims: [2], data: [3, 1] });

test('the writer produces the documented header bytes', () => {
  assert.deepEqual([...labels], [0, 0, 0x08, 1, 0, 0, 0, 2, 3, 1]);
  const int16 = encodeIdx({ type: 'int16', dims: [1], data: [-2] });
  assert.deepEqual([...int16], [0, 0, 0x0b, 1, 0, 0, 0, 1, 0xff, 0xfe]); // big-endian
});

test('every element type round-trips through the writer and the parser', () => {
  const cases: [IdxType, number[]][] = [
    ['ubyte', [0, 1, 128, 255]],
    ['sbyte', [-128, -1, 0, 127]],
    ['int16', [-32768, -2, 300, 32767]],
    ['int32', [-2147483648, -70000, 0, 2147483647]],
    ['float32', [-1.5, 0, 0.25, 2 ** 100]],
    ['float64', [-Math.PI, 0, 1e-300, 1e300]],
  ];
  for (const [type, values] of cases) {
    const parsed = parseIdx(encodeIdx({ type, dims: [2, 2], data: values }), `${type}.idx`);
    assert.equal(parsed.type, type);
    assert.deepEqual(parsed.dims, [2, 2]);
    assert.deepEqual([...parsed.data], values, type);
  }
});

test('plain and gzipped files load as the same dataset', () => {
  const plain = loadIdxPair(write('img', images), write('lab', labels));
  const gz = loadIdxPair(write('img.gz', gzipSync(images)), write('lab.gz', gzipSync(labels)));
  for (const ds of [plain, gz]) {
    assert.deepEqual(ds.shape, [2, 3, 1]);
    assert.equal(ds.count, 2);
    assert.equal(ds.classes, 4);
    assert.deepEqual([...ds.labels], [3, 1]);
    assert.equal(ds.x[0], 0);
    assert.ok(Math.abs(ds.x[1] - 0.2) < 1e-7);
    assert.equal(ds.x[5], 1);
  }
  assert.deepEqual(gz.x, plain.x);
});

test('4-dimensional images keep their channels', () => {
  const rgb = encodeIdx({ type: 'ubyte', dims: [1, 1, 2, 3], data: [255, 0, 0, 0, 0, 255] });
  const ds = idxToDataset(rgb, encodeIdx({ type: 'ubyte', dims: [1], data: [0] }));
  assert.deepEqual(ds.shape, [1, 2, 3]);
});

test('malformed files are errors that name the file and what is wrong', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['bad-magic', Uint8Array.from([0x12, 0x34, 0x08, 1, 0, 0, 0, 0]), /bad magic number 0x1234 in .*bad-magic: expected 0x0000 followed by a type byte/],
    ['unknown-type', Uint8Array.from([0, 0, 0x0a, 1, 0, 0, 0, 0]), /unknown IDX element type 0x0a in .*unknown-type/],
    ['short', Uint8Array.from([0, 0]), /short is truncated/],
    ['short-header', Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 1]), /short-header is truncated: its header declares 3 dimensions \(16 bytes\), file has 8 bytes/],
    ['truncated', images.subarray(0, images.length - 2), /truncated is truncated: header says 12 bytes of data \(\[2, 2, 3\] ubyte\), file has 10/],
    ['trailing', Uint8Array.from([...labels, 9, 9, 9]), /trailing has 3 trailing bytes: header says 2 bytes of data/],
  ];
  for (const [name, bytes, message] of cases) {
    const file = write(name, bytes);
    assert.throws(() => parseIdx(readFileMaybeGzip(file), file), message, name);
  }
  // The core parser, given gzip bytes (files.ts would have gunzipped them), says what they look like.
  assert.throws(() => parseIdx(gzipSync(labels), 'labels.gz'), /bad magic number 0x1f8b in labels\.gz: .*gzip-compressed/);
  // A truncated gzip member is caught by the gunzip, with the path.
  const cut = write('cut.gz', gzipSync(images).subarray(0, 20));
  assert.throws(() => readFileMaybeGzip(cut), /cannot decompress .*cut\.gz/);
  assert.throws(() => readFileMaybeGzip(path.join(dir, 'missing')), /cannot read .*missing: no such file or directory/);
});

test('an image/label count mismatch names both files and both counts', () => {
  const imagesFile = write('three-images', encodeIdx({ type: 'ubyte', dims: [3, 2, 2], data: new Uint8Array(12) }));
  const labelsFile = write('two-labels', labels);
  assert.throws(
    () => loadIdxPair(imagesFile, labelsFile),
    (e: Error) =>
      e.message.includes(`${imagesFile} has 3 images`) && e.message.includes(`${labelsFile} has 2 labels`),
  );
});

test('labels and images with wrong dims or types are rejected', () => {
  const oneDim = encodeIdx({ type: 'ubyte', dims: [2], data: [0, 0] });
  assert.throws(() => idxToDataset(oneDim, labels, { images: 'img.idx', labels: 'lab.idx' }), /img\.idx: images must have dims \[N, H, W\]/);
  const floatLabels = encodeIdx({ type: 'float32', dims: [2], data: [0, 1] });
  assert.throws(() => idxToDataset(images, floatLabels, { images: 'img.idx', labels: 'lab.idx' }), /lab\.idx: labels must be integers/);
  const negative = encodeIdx({ type: 'sbyte', dims: [2], data: [0, -1] });
  assert.throws(() => idxToDataset(images, negative, { images: 'img.idx', labels: 'lab.idx' }), /lab\.idx: label -1 of sample 1 is negative/);
});

test('the writer checks dims against the data', () => {
  assert.throws(() => encodeIdx({ type: 'ubyte', dims: [2, 2], data: [1, 2, 3] }), /dims \[2, 2\] need 4 values, data has 3/);
});
