/**
 * The CLI on colour data: CIFAR-10 binary files the test writes, trained end to end with a
 * depthwise-separable net ('same' padding, groups), crops and flips; eval, predict and summary on
 * the saved model; an RGB image folder of mixed sizes resized by --image-size; one-line errors.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { Rng } from '../src/core/rng.js';
import { CIFAR10_PIXELS, encodeCifar10 } from '../src/data/cifar10.js';
import { cliIn, assertOneLineError } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-cli-colour-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

const descent = cliIn(dir);

/** Images whose class shows in the colour of a square: learnable in an epoch or two. */
function colouredSquares(N: number, seed: number): { images: Uint8Array; labels: number[] } {
  const rng = new Rng(seed);
  const images = new Uint8Array(N * CIFAR10_PIXELS), labels: number[] = [];
  for (let n = 0; n < N; n++) {
    const label = rng.int(10);
    labels.push(label);
    const colour = [(label & 1) * 255, ((label >> 1) & 1) * 255, ((label >> 2) & 1) * 255];
    const y0 = rng.int(16), x0 = rng.int(16), big = label >= 8;
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) {
      const inside = y >= y0 && y < y0 + (big ? 16 : 8) && x >= x0 && x < x0 + (big ? 16 : 8);
      images[n * CIFAR10_PIXELS + (y * 32 + x) * 3 + c] = inside ? colour[c] : 40 + rng.int(20);
    }
  }
  return { images, labels };
}

function writePng(file: string, w: number, h: number, rgb: number[]): void {
  const png = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h; i++) png.data.set([...rgb, 255], i * 4);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, PNG.sync.write(png));
}

const cifar = join(dir, 'cifar-10-batches-bin');
const spec = join(dir, 'separable.json');

before(() => {
  mkdirSync(cifar, { recursive: true });
  for (let i = 1; i <= 5; i++) {
    const { images, labels } = colouredSquares(40, i);
    writeFileSync(join(cifar, `data_batch_${i}.bin`), encodeCifar10(images, labels));
  }
  const test = colouredSquares(30, 9);
  writeFileSync(join(cifar, 'test_batch.bin'), encodeCifar10(test.images, test.labels));
  writeFileSync(join(dir, 'broken.bin'), new Uint8Array(3073 * 2 + 5));
  writeFileSync(spec, JSON.stringify({ layers: [
    { type: 'Conv2d', outChannels: 8, kernelSize: 3, stride: 2, padding: 'same' }, { type: 'BatchNorm2d' }, { type: 'ReLU' },
    { type: 'DepthwiseConv2d', kernelSize: 3, padding: 'same' }, { type: 'ReLU' },
    { type: 'Conv2d', outChannels: 12, kernelSize: 1, groups: 2 }, { type: 'ReLU' },
    { type: 'MaxPool2d', kernelSize: 2, padding: 'same' },
    { type: 'GlobalAvgPool' }, { type: 'Dense', outFeatures: 10 }, { type: 'Softmax' }] }));
  writePng(join(dir, 'cat.png'), 32, 32, [0, 255, 0]);
  writePng(join(dir, 'shapes', 'red', 'a.png'), 12, 9, [255, 0, 0]);
  writePng(join(dir, 'shapes', 'red', 'b.png'), 7, 7, [250, 10, 0]);
  writePng(join(dir, 'shapes', 'green', 'c.png'), 20, 16, [0, 255, 0]);
  writePng(join(dir, 'shapes', 'green', 'd.png'), 8, 8, [5, 240, 5]);
  writePng(join(dir, 'odd.png'), 13, 5, [255, 0, 0]);
});

describe('descent CLI on colour data', () => {
  it('trains on CIFAR-10 files with crops and flips, then eval, predict and summary work on the model', () => {
    const r = descent('train', '--model', spec, '--data', `cifar10:${dir}`, '--epochs', '2', '--batch-size', '16',
      '--augment', '0', '--crop', '4', '--flip', '--validation-split', '0.1', '--out', 'cifar-run', '--json');
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(result.test.count, 30, 'the folder\'s test_batch.bin is the test set');
    const model = join(dir, 'cifar-run', 'model.safetensors');
    const ev = descent('eval', model, '--data', `cifar10:${cifar}`, '--json');
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).count, 30);
    const p = descent('predict', model, join(dir, 'cat.png'), '--json');
    assert.equal(p.status, 0, p.stderr);
    assert.ok(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'].includes(JSON.parse(p.stdout).class));
    const s = descent('summary', model);
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /DepthwiseConv2d/);
    assert.match(s.stdout, /pad same \(0,1,0,1\)/);
    assert.match(s.stdout, /groups 2/);
  });

  it('reads an RGB folder of mixed sizes with --image-size, and predict resizes like training did', () => {
    const r = descent('train', '--model', 'mlp', '--data', `folder:${join(dir, 'shapes')}`, '--color', 'rgb', '--image-size', '6x5',
      '--epochs', '1', '--batch-size', '2', '--validation-split', '0', '--out', 'folder-run', '--json');
    assert.equal(r.status, 0, r.stderr);
    const model = join(dir, 'folder-run', 'model.safetensors');
    const p = descent('predict', model, join(dir, 'odd.png'), '--json');
    assert.equal(p.status, 0, p.stderr);
    assert.ok(['green', 'red'].includes(JSON.parse(p.stdout).class));
    const ev = descent('eval', model, '--data', `folder:${join(dir, 'shapes')}`, '--json');
    assert.equal(ev.status, 0, ev.stderr);
    assert.equal(JSON.parse(ev.stdout).count, 4);
  });

  it('bad colour data and misapplied flags give one line and a non-zero exit', () => {
    assertOneLineError(descent('train', '--data', `cifar10:${join(dir, 'broken.bin')}`, '--out', 'x'),
      /broken\.bin: 6,151 bytes are not a whole number of 3,073-byte CIFAR-10 records/);
    assertOneLineError(descent('train', '--data', `cifar10:${join(dir, 'shapes')}`, '--out', 'x'), /lacks data_batch_1\.bin/);
    assertOneLineError(descent('train', '--data', `cifar10:${dir}`, '--image-size', '16', '--out', 'x'),
      /--image-size applies to folder: data only/);
    assertOneLineError(descent('train', '--data', `folder:${join(dir, 'shapes')}`, '--image-size', '0x4', '--out', 'x'),
      /--image-size/);
    assertOneLineError(descent('train', '--data', `folder:${join(dir, 'shapes')}`, '--color', 'rgb', '--out', 'x'),
      /all images must have one size/);
  });
});
