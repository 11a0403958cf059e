/**
 * `descent train` meeting non-finite numbers: a NaN pixel in a float32 IDX file (on both engines)
 * and a learning rate that makes w overflow end with one line `descent: …` and a non-zero exit;
 * every file left behind is finite, and the JSON result names only files that exist.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { encodeIdx } from '../src/data/idx.js';
import { decodeModel } from '../src/io/model-file.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { patches } from './synthetic.js';
import { cliIn, type CliResult } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-cli-nonfinite-'));

const descent = cliIn(dir);

const spec = join(dir, 'tiny.json');
const nanImages = join(dir, 'nan-images.idx'), images = join(dir, 'images.idx'), labels = join(dir, 'labels.idx');

before(() => {
  const data = patches(120, 1);
  writeFileSync(images, encodeIdx({ type: 'float32', dims: [120, 8, 8], data: data.x }));
  const x = Float32Array.from(data.x);
  x[25 * 64 + 4 * 8 + 4] = Number.NaN; // one pixel of image 25, central: no shift of up to 2 pixels (--augment) moves it out
  writeFileSync(nanImages, encodeIdx({ type: 'float32', dims: [120, 8, 8], data: x }));
  writeFileSync(labels, encodeIdx({ type: 'ubyte', dims: [120], data: data.labels }));
  writeFileSync(spec, JSON.stringify({ layers: [
    { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' }] }));
});

/** The failure is one line on stderr, and stdout's last line is the JSON result. */
function failed(r: CliResult, pattern: RegExp): Record<string, unknown> {
  assert.notEqual(r.status, 0, `expected failure, got ${r.status}: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('Descent: '));
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], pattern);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

/** Every safetensors file of a run directory loads, so it is finite (loading refuses NaN and ∞). */
function assertFiniteFiles(out: string): Float32Array {
  let w: Float32Array | null = null;
  for (const name of readdirSync(out).filter((n) => n.endsWith('.safetensors'))) {
    const bytes = new Uint8Array(readFileSync(join(out, name)));
    if (name.startsWith('checkpoint')) decodeCheckpoint(bytes, name);
    else w = decodeModel(bytes, name).net.getWeights();
  }
  assert.ok(w, 'the model was saved');
  return w;
}

describe('descent train with non-finite numbers', () => {
  for (const engine of ['reference', 'wasm']) {
    it(`a NaN pixel stops training: one line, a non-zero exit, the first weights saved, no checkpoint named (${engine})`, () => {
      const out = join(dir, `nan-${engine}`);
      const r = descent('train', '--model', spec, '--data', `idx:${nanImages},${labels}`, '--engine', engine, '--epochs', '3',
        '--batch-size', '8', '--validation-split', '0', '--out', out, '--json');
      const result = failed(r, /^descent: the loss became NaN at step \d+ \(epoch 1\); training stopped and the weights of step 0 \(the start of epoch 1\) were restored/);
      assert.equal(result.stopReason, 'non_finite');
      assert.equal(result.checkpoint, null, 'no checkpoint was taken before the NaN');
      assert.ok(!existsSync(join(out, 'checkpoint.safetensors')));
      assertFiniteFiles(out);
    });
  }

  it('sgd with lr 1e6: a non-zero exit, only finite files, and the JSON result names only a checkpoint that exists', () => {
    const out = join(dir, 'lr1e6');
    const r = descent('train', '--model', spec, '--data', `idx:${images},${labels}`, '--engine', 'reference', '--epochs', '4',
      '--batch-size', '8', '--optimizer', 'sgd', '--lr', '1e6', '--out', out, '--json');
    const result = failed(r, /^descent: the (loss|weights) became (NaN|-?Infinity).* at step \d+ \(epoch \d\); training stopped and the weights of step \d+ \(the start of epoch \d\) were restored/);
    assert.equal(result.stopReason, 'non_finite');
    assert.ok(result.checkpoint === null || existsSync(result.checkpoint as string), `named ${result.checkpoint}`);
    const w = assertFiniteFiles(out);
    assert.ok(w.every((v) => Math.abs(v) < 1e3), 'the restored weights are not the diverged ones');
  });

  it('a diverging but finite run warns, on the terminal and in --json', () => {
    const r = descent('train', '--model', spec, '--data', `idx:${images},${labels}`, '--engine', 'reference', '--epochs', '2',
      '--batch-size', '8', '--optimizer', 'adam', '--lr', '1000', '--schedule', 'constant', '--out', join(dir, 'adam'), '--json');
    assert.equal(r.status, 0, r.stderr);
    const warnings = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.type === 'warning');
    assert.equal(warnings.length, 1, r.stdout);
    assert.match(warnings[0].message, /^training is diverging: the loss of epoch 1/);
  });
});
