/** The `descent` command on graph networks: a JSON spec with names and inputs, trained, saved, evaluated, summarised. */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { encodeIdx } from '../src/data/idx.js';
import { patches } from './synthetic.js';
import { cliIn } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-graph-cli-'));

const descent = cliIn(dir);

const images = join(dir, 'images.idx'), labels = join(dir, 'labels.idx');
const data = () => `idx:${images},${labels}`;

before(() => {
  const d = patches(120, 1);
  writeFileSync(images, encodeIdx({ type: 'ubyte', dims: [120, 8, 8], data: Uint8Array.from(d.x, (v) => Math.max(0, Math.min(255, Math.round(v * 255)))) }));
  writeFileSync(labels, encodeIdx({ type: 'ubyte', dims: [120], data: d.labels }));
  // A residual block (batch norm, identity shortcut), a concatenation with the stem, a dropout.
  writeFileSync(join(dir, 'graph.json'), JSON.stringify({ layers: [
    { name: 'stem', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { name: 'stem.relu', type: 'ReLU' },
    { name: 'conv', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1, bias: false }, { name: 'bn', type: 'BatchNorm2d' },
    { name: 'add', type: 'Add', inputs: ['bn', 'stem.relu'] }, { name: 'relu', type: 'ReLU' },
    { name: 'cat', type: 'Concat', inputs: ['relu', 'stem.relu'] }, { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' },
    { type: 'Dropout', p: 0.1 }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
  ] }));
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ layers: [
    { name: 'wide', type: 'Conv2d', outChannels: 5, kernelSize: 1 }, { name: 'sum', type: 'Add', inputs: ['wide', 'input'] },
  ] }));
  const png = new PNG({ width: 8, height: 8 });
  for (let i = 0; i < 64; i++) {
    const v = i % 8 < 4 && i < 32 ? 230 : 20; // class 0 lights the top-left patch
    png.data.set([v, v, v, 255], i * 4);
  }
  writeFileSync(join(dir, 'digit.png'), PNG.sync.write(png));
});

describe('descent CLI on graph networks', () => {
  it('trains a graph spec, then eval, predict and summary work on the saved model', () => {
    const r = descent('train', '--model', 'graph.json', '--data', data(), '--test', data(), '--epochs', '4', '--batch-size', '8',
      '--lr', '0.01', '--out', 'run', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout.trim().split('\n').at(-1)!).test.accuracy > 0.9);
    const model = join('run', 'model.safetensors');
    const ev = descent('eval', model, '--data', data(), '--json');
    assert.equal(ev.status, 0, ev.stderr);
    assert.ok(JSON.parse(ev.stdout).accuracy > 0.9);
    const pr = descent('predict', model, 'digit.png', '--json');
    assert.equal(pr.status, 0, pr.stderr);
    assert.equal(JSON.parse(pr.stdout).class, '0');
    const sm = descent('summary', model);
    assert.match(sm.stdout, /cat\s+Concat\s+relu, stem\.relu\s+\[8, 8, 8\]/);
    assert.match(sm.stdout, /add\s+Add\s+bn, stem\.relu/);
    // ONNX carries graphs both ways (TF.js and PyTorch exports of graphs: cli-interchange.test.ts).
    const onnx = descent('export', model, '--format', 'onnx', '--out', 'exported.onnx');
    assert.equal(onnx.status, 0, onnx.stderr);
    const back = descent('import', 'exported.onnx', '--out', 'imported.safetensors');
    assert.equal(back.status, 0, back.stderr);
  });

  it('summary shows ResNet-20 with its structure and parameter count; a bad graph is one line naming the node', () => {
    const sm = descent('summary', 'resnet20');
    assert.equal(sm.status, 0, sm.stderr);
    assert.match(sm.stdout, /stage2\.block1\.add\s+Add\s+stage2\.block1\.bn2, stage2\.block1\.shortcut\.bn\s+\[16, 16, 32\]/);
    assert.match(sm.stdout, /total parameters: 272,474/);
    const bad = descent('summary', 'bad.json');
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr.trim(), /^descent: .*node "sum" \(Add\) with inputs wide \[28, 28, 5\], input \[28, 28, 1\]: cannot add/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  it('a graph network stopped mid-run resumes from its checkpoint', () => {
    const first = descent('train', '--model', 'graph.json', '--data', data(), '--epochs', '3', '--batch-size', '8', '--out', 'stopped',
      '--max-steps', '20', '--checkpoint-every', '5', '--engine', 'reference', '--json');
    assert.equal(first.status, 0, first.stderr);
    const r = descent('train', '--resume', join('stopped', 'checkpoint.safetensors'), '--test', data(), '--out', 'stopped',
      '--engine', 'reference', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout.trim().split('\n').at(-1)!).stopReason, 'epochs');
  });
});
