/** `descent export` and `descent import`, run as subprocesses: files written, read back, and one-line errors. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PNG } from 'pngjs';
import { decodeModelProto, encodeModelProto } from '../src/io/onnx/proto.js';
import { exportPytorchStateDict } from '../src/io/pytorch.js';
import { loadModel, saveModel } from '../src/node/model-io.js';
import * as tf from '@tensorflow/tfjs';
import { preset } from '../src/models/presets.js';
import { ALL_CASES, caseNet, COLOUR_PREPROCESSING, MNIST_PREPROCESSING, randomPixels } from './interchange-nets.js';
import { findTorchPython, mnistPixels, runOnnx } from './interchange-helpers.js';
import { loadTfjs } from './tfjs-run.js';
import { cliIn, assertOneLineError } from './cli-run.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-interchange-'));
const model = join(dir, 'model.safetensors');
const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

const descent = cliIn(dir);

const bits = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

before(() => saveModel(model, caseNet(ALL_CASES['LeNet-5']), { classNames: names, preprocessing: MNIST_PREPROCESSING }));

/** A ResNet-20 model file, a colour PNG, and a check against `descent predict`'s probabilities for it: made once. */
let resnet: { graph: string; pixels: Uint8Array; predictedJson: string; near: (data: ArrayLike<number>, what: string) => void } | undefined;
function resnetModel(): NonNullable<typeof resnet> {
  if (resnet) return resnet;
  const graph = join(dir, 'resnet20.safetensors');
  saveModel(graph, caseNet(preset('resnet20').layers, 1, [32, 32, 3]), { classNames: names, preprocessing: COLOUR_PREPROCESSING });
  const pixels = randomPixels(1, [32, 32, 3]), png = new PNG({ width: 32, height: 32 });
  for (let i = 0; i < 32 * 32; i++) png.data.set([...pixels.subarray(3 * i, 3 * i + 3), 255], 4 * i);
  writeFileSync(join(dir, 'colour.png'), PNG.sync.write(png));
  const predictedJson = descent('predict', graph, 'colour.png', '--json').stdout;
  const predicted = JSON.parse(predictedJson) as { top: { class: string; p: number }[] };
  const near = (data: ArrayLike<number>, what: string) => {
    for (const t of predicted.top) assert.ok(Math.abs(data[names.indexOf(t.class)] - t.p) <= 1e-5, `${what}, ${t.class}: ${data[names.indexOf(t.class)]} vs ${t.p}`);
  };
  return (resnet = { graph, pixels, predictedJson, near });
}

describe('descent export / descent import', () => {
  it('ONNX: export, then import gives the same model file contents; predict and ONNX Runtime agree on a PNG digit', async () => {
    const r = descent('export', model, '--format', 'onnx', '--out', 'lenet.onnx');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote lenet\.onnx \(onnx, input \[N, 28, 28, 1\]\)\nthe model takes raw input and applies its preprocessing/);
    const back = descent('import', 'lenet.onnx', '--out', 'back.safetensors', '--json');
    assert.equal(back.status, 0, back.stderr);
    assert.equal(JSON.parse(back.stdout).parameters, 61706);
    const a = loadModel(model), b = loadModel(join(dir, 'back.safetensors'));
    assert.deepEqual(bits(b.net.getWeights()), bits(a.net.getWeights()));
    assert.deepEqual(b.net.config(), a.net.config());
    assert.deepEqual([b.classNames, b.preprocessing], [a.classNames, a.preprocessing]);

    // The exported model takes what `descent predict` takes: the image's pixel values.
    const pixels = mnistPixels(1), png = new PNG({ width: 28, height: 28 });
    pixels.forEach((v, i) => png.data.set([v, v, v, 255], 4 * i));
    writeFileSync(join(dir, 'digit.png'), PNG.sync.write(png));
    const predicted = JSON.parse(descent('predict', model, 'digit.png', '--json').stdout);
    const { data } = await runOnnx(new Uint8Array(readFileSync(join(dir, 'lenet.onnx'))), Float32Array.from(pixels), [1, 28, 28, 1]);
    for (const t of predicted.top) assert.ok(Math.abs(data[names.indexOf(t.class)] - t.p) <= 1e-5, `${t.class}: ${data[names.indexOf(t.class)]} vs ${t.p}`);
  });

  it('TensorFlow.js and PyTorch: folders with their files; the PyTorch state_dict imports back without an architecture', () => {
    const t = descent('export', model, '--format', 'tfjs', '--out', 'tfjs', '--json');
    assert.equal(t.status, 0, t.stderr);
    assert.deepEqual(JSON.parse(t.stdout).files.map((f: string) => f.split('/').pop()), ['weights.bin', 'model.json', 'README.md']);
    assert.equal(JSON.parse(readFileSync(join(dir, 'tfjs', 'model.json'), 'utf8')).format, 'layers-model');
    const p = descent('export', model, '--format', 'pytorch', '--out', 'torch', '--no-preprocessing');
    assert.equal(p.status, 0, p.stderr);
    assert.match(p.stdout, /the model takes preprocessed input/);
    assert.ok(existsSync(join(dir, 'torch', 'model.py')));
    const i = descent('import', join('torch', 'model.safetensors'), '--out', 'from-torch.safetensors');
    assert.equal(i.status, 0, i.stderr);
    assert.deepEqual(loadModel(join(dir, 'from-torch.safetensors')).net.getWeights(), loadModel(model).net.getWeights());
  });

  it('a graph network (resnet20): --format tfjs and --format pytorch; tfjs on the files and model.py give `descent predict`\'s probabilities', async () => {
    const { graph, pixels, near } = resnetModel();

    const t = descent('export', graph, '--format', 'tfjs', '--out', 'tfjs-graph');
    assert.equal(t.status, 0, t.stderr);
    const modelJson = JSON.parse(readFileSync(join(dir, 'tfjs-graph', 'model.json'), 'utf8'));
    assert.equal(modelJson.modelTopology.class_name, 'Model');
    const weights = new Uint8Array(readFileSync(join(dir, 'tfjs-graph', 'weights.bin')));
    const model = await loadTfjs({ modelJson, weights, readme: '' });
    const y = model.predict(tf.tensor(Float32Array.from(pixels), [1, 32, 32, 3])) as tf.Tensor;
    near(await y.data(), 'tfjs');
    tf.dispose(y);
    model.dispose();

    const p = descent('export', graph, '--format', 'pytorch', '--out', 'torch-graph');
    assert.equal(p.status, 0, p.stderr);
    const i = descent('import', join('torch-graph', 'model.safetensors'), '--out', 'graph-from-torch.safetensors');
    assert.equal(i.status, 0, i.stderr);
    assert.deepEqual(loadModel(join(dir, 'graph-from-torch.safetensors')).net.getWeights(), loadModel(graph).net.getWeights());
    const python = findTorchPython().command;
    if (!python) return; // model.py itself is checked without torch through golden files (pytorch-graph-export.test.ts)
    writeFileSync(join(dir, 'colour.json'), JSON.stringify({ shape: [1, 32, 32, 3], data: Array.from(pixels) }));
    const out = execFileSync(python, [join(dir, 'torch-graph', 'model.py'), '--input', join(dir, 'colour.json')], { encoding: 'utf8', timeout: 120_000 });
    near(JSON.parse(out).data, 'model.py');
  });

  it('a PyTorch-exported ONNX file with the preprocessing given by flags', () => {
    const fixture = fileURLToPath(new URL('../../test/fixtures/onnx/lenet5.onnx', import.meta.url));
    const r = descent('import', fixture, '--out', 'torch-lenet.safetensors', '--scale', String(1 / 255), '--mean', '0.1307', '--std', '0.3081');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(loadModel(join(dir, 'torch-lenet.safetensors')).preprocessing, MNIST_PREPROCESSING);
  });

  it('a graph network (resnet20) through ONNX: import gives bitwise the same weights, nodes and predictions; ONNX Runtime gives `descent predict`\'s probabilities', async () => {
    const { graph, pixels, predictedJson, near } = resnetModel();
    const r = descent('export', graph, '--format', 'onnx', '--out', 'resnet20.onnx');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /wrote resnet20\.onnx \(onnx, input \[N, 32, 32, 3\]\)/);
    near((await runOnnx(new Uint8Array(readFileSync(join(dir, 'resnet20.onnx'))), Float32Array.from(pixels), [1, 32, 32, 3])).data, 'ONNX Runtime');
    const back = descent('import', 'resnet20.onnx', '--out', 'resnet20-back.safetensors', '--json');
    assert.equal(back.status, 0, back.stderr);
    assert.equal(JSON.parse(back.stdout).parameters, 272474);
    const a = loadModel(graph), b = loadModel(join(dir, 'resnet20-back.safetensors'));
    assert.deepEqual(bits(b.net.getWeights()), bits(a.net.getWeights()));
    assert.deepEqual(bits(b.net.getBuffers()), bits(a.net.getBuffers()));
    assert.deepEqual([b.net.topology.names, b.net.topology.inputs], [a.net.topology.names, a.net.topology.inputs]);
    assert.deepEqual([b.classNames, b.preprocessing], [names, COLOUR_PREPROCESSING]);
    assert.equal(descent('predict', 'resnet20-back.safetensors', 'colour.png', '--json').stdout, predictedJson);
  });

  it('a ResNet written by torch.onnx.export imports; a join it cannot map is one line naming the node', () => {
    const fixture = fileURLToPath(new URL('../../test/fixtures/onnx/resnet_small.onnx', import.meta.url));
    const r = descent('import', fixture, '--out', 'torch-resnet.safetensors', '--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).layers.filter((t: string) => t === 'Add' || t === 'Concat'), ['Add', 'Add', 'Concat']);
    const model = decodeModelProto(new Uint8Array(readFileSync(fixture)), 'fixture');
    model.graph!.node.find((n) => n.opType === 'Concat')!.attribute[0].i = 2n;
    writeFileSync(join(dir, 'bad-concat.onnx'), encodeModelProto(model));
    assertOneLineError(descent('import', 'bad-concat.onnx', '--out', 'bad.safetensors'),
      /^descent: bad-concat\.onnx: node ".*" \(Concat\): axis=2 is not the channel axis of NCHW values \(1\)/);
    assert.ok(!existsSync(join(dir, 'bad.safetensors')));
  });

  it('bad input: one line naming what was wrong', () => {
    writeFileSync(join(dir, 'truncated.onnx'), readFileSync(join(dir, 'lenet.onnx')).subarray(0, 5000));
    writeFileSync(join(dir, 'bare.safetensors'), exportPytorchStateDict(loadModel(model).net));
    assertOneLineError(descent('export', model, '--format', 'keras', '--out', 'x'), /argument 'keras' is invalid. Allowed choices are onnx, tfjs, pytorch/);
    assertOneLineError(descent('export', model, '--format', 'onnx'), /required option '-o, --out <path>' not specified/);
    assertOneLineError(descent('export', model, '--format', 'tfjs', '--out', 'x', '--layout', 'nchw'), /--layout applies to --format onnx only/);
    assertOneLineError(descent('export', 'missing.safetensors', '--format', 'onnx', '--out', 'x.onnx'), /cannot read missing\.safetensors: no such file/);
    assertOneLineError(descent('import', 'truncated.onnx', '--out', 'y.safetensors'), /truncated\.onnx/);
    assertOneLineError(descent('import', 'bare.safetensors', '--out', 'y.safetensors'), /without an architecture: pass --architecture/);
    assertOneLineError(descent('import', 'lenet.onnx', '--out', 'y.onnx'), /a Descent model file ends in \.safetensors/);
    assertOneLineError(descent('import', 'lenet.onnx', '--out', 'y.safetensors', '--std', '0'), /preprocessing std must not be 0/);
    assertOneLineError(descent('import', 'lenet.onnx', '--out', 'y.safetensors', '--mean', 'a,b'), /expected numbers separated by commas/);
    assert.ok(!existsSync(join(dir, 'y.safetensors')), 'nothing written on failure');
    const ok = descent('import', 'bare.safetensors', '--out', 'y.safetensors', '--architecture', 'lenet5');
    assert.equal(ok.status, 0, ok.stderr);
  });

  it('--help describes both commands', () => {
    assert.match(descent('export', '--help').stdout, /--format <format>[\s\S]*--no-preprocessing[\s\S]*--layout/);
    assert.match(descent('import', '--help').stdout, /--architecture <model>[\s\S]*--mean <list>/);
  });
});
