/**
 * The `descent` command, run as a subprocess on tiny data the test makes. Training runs on both
 * engines, and accuracy is measured on held-out images drawn apart from the training file.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { encodeIdx } from '../src/data/idx.js';
import { patches } from './synthetic.js';
import { cliIn, assertOneLineError } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-cli-'));

const descent = cliIn(dir);

const spec = join(dir, 'tiny.json');
const images = join(dir, 'images.idx.gz'), labels = join(dir, 'labels.idx');
const heldOutImages = join(dir, 'held-out-images.idx'), heldOutLabels = join(dir, 'held-out-labels.idx');
const heldOut = `idx:${heldOutImages},${heldOutLabels}`;
const engines = ['reference', 'wasm'] as const;

/** Patches as 8-bit IDX images (gzip or not) and labels. */
function writeIdx(count: number, seed: number, imagesPath: string, labelsPath: string, gzip: boolean): Uint8Array {
  const data = patches(count, seed);
  const bytes = Uint8Array.from(data.x, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
  const idx = encodeIdx({ type: 'ubyte', dims: [count, 8, 8], data: bytes });
  writeFileSync(imagesPath, gzip ? gzipSync(idx) : idx);
  writeFileSync(labelsPath, encodeIdx({ type: 'ubyte', dims: [count], data: data.labels }));
  return bytes;
}

before(() => {
  const bytes = writeIdx(120, 1, images, labels, true);
  writeIdx(90, 2, heldOutImages, heldOutLabels, false); // another seed: images the model never sees
  writeFileSync(spec, JSON.stringify({ layers: [
    { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' }] }));
  writeFileSync(join(dir, 'corrupt.idx'), encodeIdx({ type: 'ubyte', dims: [120, 8, 8], data: bytes }).subarray(0, 500));
  writeFileSync(join(dir, 'not-a-dir'), 'x');
  const png = new PNG({ width: 8, height: 8 });
  for (let i = 0; i < 64; i++) {
    const v = i % 8 < 4 && i < 32 ? 230 : 20; // class 0 lights the top-left patch
    png.data.set([v, v, v, 255], i * 4);
  }
  writeFileSync(join(dir, 'digit.png'), PNG.sync.write(png));
});

const tiny = (engine: (typeof engines)[number] = 'wasm') => ['--model', spec, '--data', `idx:${images},${labels}`, '--test', heldOut, '--engine', engine];

describe('descent CLI', () => {
  it('--version prints the package version; help shows readable defaults', () => {
    const r = descent('--version');
    assert.equal(r.status, 0);
    assert.equal(r.stdout.trim(), JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    const help = descent('train', '--help').stdout;
    assert.match(help, /--recipe <name>.*fast \(LeNet-5/s);
    assert.match(help, /default: "fast"/);
    assert.doesNotMatch(help, /\d\.\d{6,}/);
  });

  it('--help works on every command', () => {
    for (const cmd of [[], ['train'], ['eval'], ['predict'], ['summary'], ['gradcheck']]) {
      const r = descent(...cmd, '--help');
      assert.equal(r.status, 0, cmd.join(' '));
      assert.match(r.stdout, /Usage: descent/);
    }
  });

  for (const engine of engines) {
    it(`trains on tiny IDX data (gzip images) on the ${engine} engine, saves model and checkpoint, reports held-out accuracy as JSON`, () => {
      const out = `run1-${engine}`;
      const r = descent('train', ...tiny(engine), '--epochs', '4', '--batch-size', '8', '--lr', '0.01', '--out', out, '--json');
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`engine ${engine}`));
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const epochs = lines.filter((l) => l.type === 'epoch');
      assert.equal(epochs.length, 4);
      const result = lines.at(-1);
      assert.equal(result.test.count, 90, 'the test set is the held-out file');
      assert.ok(result.test.accuracy > 0.9, `held-out accuracy ${result.test.accuracy}`);
      assert.ok(existsSync(join(dir, out, 'model.safetensors')));
      assert.ok(existsSync(join(dir, out, 'checkpoint.safetensors')));
    });
  }

  it('prints a progress summary per epoch, the test accuracy and a confusion matrix', () => {
    const r = descent('train', ...tiny(), '--epochs', '2', '--out', 'run2');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /epoch 1\/2 \| loss \d\.\d{4} acc/);
    assert.match(r.stdout, /test accuracy \d+\.\d\d%/);
    assert.match(r.stdout, /true\\pred/);
  });

  it('eval, predict and summary work on the saved model', () => {
    for (const engine of engines) {
      const ev = descent('eval', join(`run1-${engine}`, 'model.safetensors'), '--data', heldOut, '--engine', engine, '--json');
      assert.equal(ev.status, 0, ev.stderr);
      const result = JSON.parse(ev.stdout);
      assert.equal(result.count, 90);
      assert.ok(result.accuracy > 0.9, `${engine}: held-out accuracy ${result.accuracy}`);
    }
    const pr = descent('predict', join('run1-wasm', 'model.safetensors'), 'digit.png', '--json');
    assert.equal(pr.status, 0, pr.stderr);
    const out = JSON.parse(pr.stdout);
    assert.equal(out.class, '0');
    assert.equal(out.top.length, 3);
    const sm = descent('summary', join('run1-wasm', 'model.safetensors'));
    assert.match(sm.stdout, /Conv2d\s+\[8, 8, 4\]/);
    assert.match(descent('summary', 'lenet5').stdout, /total parameters: 61,706/);
  });

  it('gradcheck passes on a spec file', () => {
    const r = descent('gradcheck', spec, '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).ok, true);
  });

  it('resumes from a checkpoint', () => {
    const first = descent('train', ...tiny(), '--epochs', '3', '--batch-size', '8', '--out', 'run3', '--max-steps', '20', '--checkpoint-every', '5', '--json');
    assert.equal(first.status, 0, first.stderr);
    const r = descent('train', '--resume', join('run3', 'checkpoint.safetensors'), '--test', heldOut, '--out', 'run3', '--engine', 'wasm', '--json');
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(result.stopReason, 'epochs');
  });

  it('bad flags and missing files give one line and a non-zero exit', () => {
    assertOneLineError(descent('train', '--epochs', 'abc'), /--epochs.*positive integer/);
    assertOneLineError(descent('train', '--optimizer', 'sgdd'), /sgdd/);
    assertOneLineError(descent('train', '--bogus'), /unknown option '--bogus'/);
    assertOneLineError(descent('train', '--data', 'idx:nope.idx,labels.idx', '--out', 'r'), /nope\.idx/);
    assertOneLineError(descent('train', '--data', 'parquet:x'), /unknown data source "parquet:x"/);
    assertOneLineError(descent('train', '--model', 'resnet9', '--data', `idx:${images},${labels}`, '--out', 'r'), /"resnet9" is neither a preset/);
    assertOneLineError(descent('eval', 'missing.safetensors'), /missing\.safetensors/);
    assertOneLineError(descent('predict', join('run1-wasm', 'model.safetensors'), 'nothing.png'), /nothing\.png/);
    assertOneLineError(descent('train', '--resume', 'nope.ckpt'), /no checkpoint at .*nope\.ckpt/);
  });

  it('a corrupt dataset or an unwritable output directory fails before training starts', () => {
    mkdirSync(join(dir, 'run4'), { recursive: true });
    const r = descent('train', '--model', spec, '--data', `idx:corrupt.idx,${labels}`, '--out', 'run4');
    assertOneLineError(r, /corrupt\.idx is truncated/);
    assert.ok(!existsSync(join(dir, 'run4', 'checkpoint.safetensors')));
    const w = descent('train', ...tiny(), '--out', join('not-a-dir', 'run'));
    assertOneLineError(w, /cannot write to the output directory .*not-a-dir/);
    assert.ok(!readFileSync(join(dir, 'not-a-dir'), 'utf8').includes('{'));
  });
});
