/**
 * Colour data: the CIFAR-10 binary format (parsed from bytes, and from files the test writes in
 * that format), resizing, RGB image folders of mixed sizes, CIFAR-style crops and flips, and
 * per-channel normalisation.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { Rng } from '../src/core/rng.js';
import { augmentBatch } from '../src/data/augment.js';
import { CIFAR10_CLASSES, CIFAR10_PIXELS, CIFAR10_RECORD, cifar10ToDataset, encodeCifar10 } from '../src/data/cifar10.js';
import { applyStandardization, fitStandardization } from '../src/data/dataset.js';
import { axisWeights, resizeImage } from '../src/data/resize.js';
import { loadCifar10 } from '../src/node/cifar10.js';
import { loadImageFile, loadImageFolder } from '../src/node/image-folder.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-colour-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

/** N random channels-last images as bytes, and labels 0..9. */
function randomImages(N: number, seed: number): { images: Uint8Array; labels: number[] } {
  const rng = new Rng(seed);
  return { images: Uint8Array.from({ length: N * CIFAR10_PIXELS }, () => rng.int(256)), labels: Array.from({ length: N }, () => rng.int(10)) };
}

describe('CIFAR-10 binary format', () => {
  it('reads records of 1 label byte + R, G, B planes into channels-last images in [0, 1]', () => {
    const bytes = new Uint8Array(2 * CIFAR10_RECORD);
    bytes[0] = 3; bytes[CIFAR10_RECORD] = 9;
    // Image 0, pixel (row 1, column 2): red 10, green 20, blue 30; image 1, last pixel: blue 255.
    const p = 1 * 32 + 2;
    bytes[1 + p] = 10; bytes[1 + 1024 + p] = 20; bytes[1 + 2048 + p] = 30;
    bytes[2 * CIFAR10_RECORD - 1] = 255;
    const ds = cifar10ToDataset([{ bytes, source: 'x.bin' }]);
    assert.deepEqual(ds.shape, [32, 32, 3]);
    assert.deepEqual([...ds.labels], [3, 9]);
    assert.deepEqual(ds.classNames, CIFAR10_CLASSES);
    assert.deepEqual([...ds.x.subarray(3 * p, 3 * p + 3)].map((v) => Math.round(v * 255)), [10, 20, 30]);
    assert.equal(ds.x[2 * CIFAR10_PIXELS - 1], 1);
    assert.equal(ds.x[2 * CIFAR10_PIXELS - 2], 0);
  });

  it('round-trips through encodeCifar10', () => {
    const { images, labels } = randomImages(3, 1);
    const ds = cifar10ToDataset([{ bytes: encodeCifar10(images, labels), source: 'a' }]);
    assert.deepEqual([...ds.labels], labels);
    assert.deepEqual(Uint8Array.from(ds.x, (v) => Math.round(v * 255)), images);
  });

  it('refuses a size that is not whole records, an empty file and a label above 9, naming the file', () => {
    const good = encodeCifar10(...Object.values(randomImages(2, 2)) as [Uint8Array, number[]]);
    assert.throws(() => cifar10ToDataset([{ bytes: good.subarray(0, 6000), source: 'cut.bin' }]),
      /^DescentError: cut\.bin: 6,000 bytes are not a whole number of 3,073-byte CIFAR-10 records .*: 1 records and 2927 bytes over$/);
    assert.throws(() => cifar10ToDataset([{ bytes: new Uint8Array(0), source: 'empty.bin' }]), /empty\.bin is empty/);
    const bad = good.slice();
    bad[CIFAR10_RECORD] = 10;
    assert.throws(() => cifar10ToDataset([{ bytes: good, source: 'ok.bin' }, { bytes: bad, source: 'bad.bin' }]),
      /bad\.bin: record 1 \(byte 3073\) has label 10; CIFAR-10 labels are 0–9/);
  });

  it('loads the five training batches in order, the test batch, a nested folder, one file, gzip; names what is missing', () => {
    const dir = path.join(root, 'cifar', 'cifar-10-batches-bin');
    fs.mkdirSync(dir, { recursive: true });
    const all: number[] = [];
    for (let i = 1; i <= 5; i++) {
      const { images, labels } = randomImages(i, 10 + i);
      all.push(...labels);
      const bytes = encodeCifar10(images, labels);
      fs.writeFileSync(path.join(dir, `data_batch_${i}.bin`), i === 2 ? gzipSync(bytes) : bytes);
    }
    const test = randomImages(4, 20);
    fs.writeFileSync(path.join(dir, 'test_batch.bin'), encodeCifar10(test.images, test.labels));
    const train = loadCifar10(path.join(root, 'cifar'), 'train');
    assert.equal(train.count, 15);
    assert.deepEqual([...train.labels], all);
    assert.deepEqual([...loadCifar10(dir, 'test').labels], test.labels);
    assert.equal(loadCifar10(path.join(dir, 'data_batch_3.bin'), 'train').count, 3);
    fs.rmSync(path.join(dir, 'data_batch_4.bin'));
    assert.throws(() => loadCifar10(dir, 'train'), /lacks data_batch_4\.bin \(the train split needs data_batch_1\.bin, /);
    assert.throws(() => loadCifar10(path.join(root, 'nowhere'), 'train'), /nowhere is neither a folder of CIFAR-10 \.bin files nor such a file/);
  });
});

describe('resizing', () => {
  it('shrinking averages areas exactly; enlarging is bilinear with half-pixel centres; the same size copies', () => {
    const img = Float32Array.from([1, 3, 5, 7, 2, 4, 6, 8]); // 2×4, one channel
    assert.deepEqual([...resizeImage(img, 2, 4, 1, 1, 2)], [2.5, 6.5]);
    assert.deepEqual([...resizeImage(Float32Array.from([0, 4]), 1, 2, 1, 1, 4)], [0, 1, 3, 4]);
    assert.deepEqual([...resizeImage(img, 2, 4, 1, 2, 4)], [...img]);
    // 3 → 2: output 0 covers input [0, 1.5): all of pixel 0 and half of pixel 1.
    const w = axisWeights(3, 2);
    assert.deepEqual([...w.index], [0, 1, 1, 2]);
    assert.deepEqual([...w.weight].map((v) => +v.toFixed(6)), [0.666667, 0.333333, 0.333333, 0.666667]);
  });

  it('keeps a constant image constant and the channels of a pixel apart', () => {
    const rgb = new Float32Array(5 * 7 * 3);
    for (let i = 0; i < rgb.length; i += 3) rgb.set([0.25, 0.5, 1], i);
    for (const [H, W] of [[3, 4], [11, 13], [5, 7], [1, 1]]) {
      const out = resizeImage(rgb, 5, 7, 3, H, W);
      for (let i = 0; i < out.length; i += 3) {
        assert.ok(Math.abs(out[i] - 0.25) < 1e-6 && Math.abs(out[i + 1] - 0.5) < 1e-6 && Math.abs(out[i + 2] - 1) < 1e-6, `${H}×${W}`);
      }
    }
  });
});

function writePng(file: string, w: number, h: number, rgb: (x: number, y: number) => number[]): void {
  const png = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) png.data.set([...rgb(x, y), 255], (y * w + x) * 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

describe('RGB image folders of any size', () => {
  it('are resized to the given size; without one, mixed sizes are an error that says how to resize', () => {
    const dir = path.join(root, 'mixed');
    writePng(path.join(dir, 'red', 'a.png'), 10, 6, () => [255, 0, 0]);
    writePng(path.join(dir, 'blue', 'b.png'), 3, 5, () => [0, 0, 255]);
    writePng(path.join(dir, 'blue', 'c.png'), 8, 8, (x) => (x < 4 ? [0, 0, 255] : [0, 0, 0]));
    const ds = loadImageFolder(dir, { color: 'rgb', size: [4, 4] });
    assert.deepEqual(ds.shape, [4, 4, 3]);
    assert.deepEqual(ds.classNames, ['blue', 'red']);
    assert.deepEqual([...ds.x.subarray(0, 3)], [0, 0, 1]);
    assert.deepEqual([...ds.x.subarray(2 * 48, 2 * 48 + 3)], [1, 0, 0]);
    // 8 → 4 columns: the left two output columns are blue, the right two black.
    assert.deepEqual([...ds.x.subarray(48, 48 + 12)], [0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    assert.throws(() => loadImageFolder(dir, { color: 'rgb' }), /all images must have one size \(or give one to resize them to: --image-size\)/);
    assert.throws(() => loadImageFolder(dir, { size: [0, 4] }), /image size must be two positive integers/);
    const one = loadImageFile(path.join(dir, 'red', 'a.png'), { shape: [4, 4, 3], resize: true });
    assert.deepEqual([...one.subarray(0, 3)], [1, 0, 0]);
    assert.throws(() => loadImageFile(path.join(dir, 'red', 'a.png'), { shape: [4, 4, 3] }), /resize the image first/);
  });
});

describe('CIFAR-style augmentation and per-channel normalisation', () => {
  it('pad 4 and crop 32 is a window of the zero-padded image at a seeded offset; flips mirror whole pixels', () => {
    const { images } = randomImages(2, 30);
    const x = Float32Array.from(images, (v) => v / 255), before = x.slice();
    augmentBatch(x, 2, [32, 32, 3], { crop: { padding: 4 } }, new Rng(5));
    const draws = new Rng(5);
    for (let n = 0; n < 2; n++) {
      const oy = draws.int(9), ox = draws.int(9);
      for (let y = 0; y < 32; y++) for (let c = 0; c < 32; c++) for (let k = 0; k < 3; k++) {
        const sy = y + oy - 4, sx = c + ox - 4;
        const inside = sy >= 0 && sy < 32 && sx >= 0 && sx < 32;
        const expected = inside ? before[n * CIFAR10_PIXELS + (sy * 32 + sx) * 3 + k] : 0;
        assert.equal(x[n * CIFAR10_PIXELS + (y * 32 + c) * 3 + k], expected);
      }
    }
    const f = before.slice(0, CIFAR10_PIXELS);
    let flips = 0;
    for (let seed = 0; seed < 8; seed++) {
      const g = f.slice();
      augmentBatch(g, 1, [32, 32, 3], { flip: true }, new Rng(seed));
      if (g[0] !== f[0]) {
        flips++;
        assert.deepEqual([...g.subarray(0, 3)], [...f.subarray(31 * 3, 32 * 3)], 'pixel (0, 0) is pixel (0, 31), channels in order');
      }
    }
    assert.ok(flips > 0 && flips < 8, `${flips} of 8 seeds flipped`);
  });

  it('normalisation fits one mean and std per channel and gives each channel mean 0, std 1', () => {
    const { images, labels } = randomImages(6, 40);
    const ds = cifar10ToDataset([{ bytes: encodeCifar10(images.map((v, i) => (i % 3 === 0 ? v >> 2 : v)), labels), source: 'n' }]);
    const stats = fitStandardization(ds);
    assert.equal(stats.mean.length, 3);
    assert.ok(stats.mean[0] < stats.mean[1] / 2, 'the darkened red channel has its own mean');
    applyStandardization(ds.x, stats);
    const again = fitStandardization(ds);
    again.mean.forEach((m) => assert.ok(Math.abs(m) < 1e-5));
    again.std.forEach((s) => assert.ok(Math.abs(s - 1) < 1e-4));
  });
});
