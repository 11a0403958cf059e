import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { loadImageFile, loadImageFolder } from '../src/node/image-folder.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-images-'));
process.on('exit', () => fs.rmSync(root, { recursive: true, force: true }));

/** RGBA bytes of a w×h image whose every pixel is `rgba`. */
function solid(w: number, h: number, rgba: number[]): Buffer {
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set(rgba, 4 * i);
  return data;
}

function writePng(file: string, w: number, h: number, data: Buffer): void {
  const png = new PNG({ width: w, height: h });
  data.copy(png.data);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, PNG.sync.write(png));
}

function writeJpeg(file: string, w: number, h: number, data: Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ width: w, height: h, data }, 100).data);
}

function folder(name: string): string {
  const dir = path.join(root, name);
  // Classes 'b' and 'a' written out of order: labels follow the sorted names.
  writePng(path.join(dir, 'b', '1.png'), 3, 2, solid(3, 2, [255, 255, 255, 255]));
  writeJpeg(path.join(dir, 'b', '0.jpg'), 3, 2, solid(3, 2, [0, 0, 0, 255]));
  writePng(path.join(dir, 'a', 'red.png'), 3, 2, solid(3, 2, [255, 0, 0, 255]));
  fs.writeFileSync(path.join(dir, 'a', 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(dir, 'a', '.DS_Store'), 'junk');
  return dir;
}

test('a class-per-folder tree loads as grayscale, classes in sorted order', () => {
  const ds = loadImageFolder(folder('gray'));
  assert.deepEqual(ds.classNames, ['a', 'b']);
  assert.equal(ds.classes, 2);
  assert.deepEqual(ds.shape, [2, 3, 1]);
  assert.equal(ds.count, 3);
  assert.deepEqual([...ds.labels], [0, 1, 1]);
  const pixel = (n: number) => ds.x[n * 6];
  assert.ok(Math.abs(pixel(0) - 0.299) < 1e-6, `red is luma 0.299, got ${pixel(0)}`);
  assert.ok(pixel(1) < 0.02, 'b/0.jpg (black JPEG) comes first in b');
  assert.ok(Math.abs(pixel(2) - 1) < 1e-6, 'b/1.png is white');
});

test('rgb keeps three channels', () => {
  const ds = loadImageFolder(folder('rgb'), { color: 'rgb' });
  assert.deepEqual(ds.shape, [2, 3, 3]);
  assert.deepEqual([...ds.x.subarray(0, 6)], [1, 0, 0, 1, 0, 0]);
});

test('transparency is composited over black', () => {
  const file = path.join(root, 'half.png');
  writePng(file, 1, 1, solid(1, 1, [255, 255, 255, 51]));
  assert.ok(Math.abs(loadImageFile(file, { shape: [1, 1, 1] })[0] - 0.2) < 1e-6);
});

test('images of different sizes are an error naming both files', () => {
  const dir = folder('mixed');
  const odd = path.join(dir, 'b', '2.png');
  writePng(odd, 4, 2, solid(4, 2, [0, 0, 0, 255]));
  assert.throws(() => loadImageFolder(dir), (e: Error) => e.message.includes(`${odd} is 2×4 (H×W) but`) && e.message.includes('red.png is 2×3'));
});

test('empty or broken folders and files are clear errors', () => {
  const empty = path.join(root, 'empty');
  fs.mkdirSync(path.join(empty, 'cat'), { recursive: true });
  assert.throws(() => loadImageFolder(empty), /class folder .*cat has no \.png, \.jpg or \.jpeg files/);
  assert.throws(() => loadImageFolder(path.join(root, 'none')), /cannot read folder .*none/);
  const flat = path.join(root, 'flat');
  writePng(path.join(flat, 'x.png'), 1, 1, solid(1, 1, [0, 0, 0, 255]));
  assert.throws(() => loadImageFolder(flat), /has no class sub-folders/);
  const fake = path.join(root, 'fake.png');
  fs.writeFileSync(fake, 'hello');
  assert.throws(() => loadImageFile(fake, { shape: [1, 1, 1] }), /fake\.png is neither a PNG nor a JPEG/);
  const cut = path.join(root, 'cut.png');
  fs.writeFileSync(cut, fs.readFileSync(path.join(root, 'half.png')).subarray(0, 30));
  assert.throws(() => loadImageFile(cut, { shape: [1, 1, 1] }), /cannot decode .*cut\.png as PNG/);
});

test('a single image loads for prediction, and must have the expected size', () => {
  const file = path.join(root, 'digit.jpg');
  writeJpeg(file, 3, 2, solid(3, 2, [255, 255, 255, 255]));
  const x = loadImageFile(file, { shape: [2, 3, 1] });
  assert.equal(x.length, 6);
  assert.ok(x.every((v) => v > 0.98));
  assert.throws(() => loadImageFile(file, { shape: [28, 28, 1] }), /digit\.jpg is 2×3 \(H×W\) but the model expects \[28, 28, 1\]/);
  assert.throws(() => loadImageFile(file, { shape: [2, 3, 2] }), /needs 1 \(grayscale\) or 3 \(RGB\) channels/);
});
