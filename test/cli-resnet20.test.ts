/**
 * ResNet-20 trained by the `descent` command end to end, on a tiny CIFAR-10 set the test writes in
 * the binary format (data_batch_1.bin … data_batch_5.bin, test_batch.bin): four classes, each a
 * noisy image with a square of its own colour somewhere. Train two short epochs, then check that
 * it learned (held-out test_batch accuracy well above the 1/4 of chance), that the files are
 * written, that `eval` and `predict` agree with the trained network, and that `descent export` to
 * TensorFlow.js, ONNX and PyTorch (state_dict + model.py) gives its probabilities (model.py where
 * python3-torch is installed) and the ONNX file and state_dict come back through `descent import` unchanged.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { PNG } from 'pngjs';
import { Rng } from '../src/core/rng.js';
import { CIFAR10_CLASSES, CIFAR10_PIXELS, encodeCifar10 } from '../src/data/cifar10.js';
import { applyStandardization } from '../src/data/dataset.js';
import { loadCifar10 } from '../src/node/cifar10.js';
import { loadModel } from '../src/node/model-io.js';
import { standardizationOf } from '../src/cli/model-data.js';
import { cliIn } from './cli-run.js';
import { findTorchPython, runOnnx } from './interchange-helpers.js';
import { predictTfjs } from './tfjs-run.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-resnet20-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const descent = cliIn(dir);
const cifar = join(dir, 'cifar');

/** Red, green, blue, yellow: the class is the colour of a 12×12 square on a noisy background. */
const COLOURS = [[230, 30, 30], [30, 230, 30], [30, 30, 230], [230, 230, 30]];

function colourSquares(count: number, seed: number): { images: Uint8Array; labels: number[] } {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * CIFAR10_PIXELS), labels: number[] = [];
  for (let n = 0; n < count; n++) {
    const label = rng.int(COLOURS.length), y0 = rng.int(20), x0 = rng.int(20);
    labels.push(label);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) {
      const inside = y >= y0 && y < y0 + 12 && x >= x0 && x < x0 + 12;
      images[n * CIFAR10_PIXELS + (y * 32 + x) * 3 + c] = inside ? COLOURS[label][c] : 60 + rng.int(80);
    }
  }
  return { images, labels };
}

/** Image n of a CIFAR-format set as an RGB PNG (what `descent predict` reads). */
function writePng(file: string, images: Uint8Array, n: number): void {
  const png = new PNG({ width: 32, height: 32 });
  for (let p = 0; p < 1024; p++) png.data.set([...images.subarray(n * CIFAR10_PIXELS + 3 * p, n * CIFAR10_PIXELS + 3 * p + 3), 255], 4 * p);
  writeFileSync(file, PNG.sync.write(png));
}

const test = colourSquares(80, 99);

before(() => {
  mkdirSync(cifar, { recursive: true });
  for (let i = 1; i <= 5; i++) {
    const { images, labels } = colourSquares(32, i);
    writeFileSync(join(cifar, `data_batch_${i}.bin`), encodeCifar10(images, labels));
  }
  writeFileSync(join(cifar, 'test_batch.bin'), encodeCifar10(test.images, test.labels));
  writePng(join(dir, 'test0.png'), test.images, 0);
});

const lastJson = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);

describe('ResNet-20 through the descent command, on generated CIFAR-10 files', () => {
  it('trains, learns the colours, and eval, predict and the PyTorch state_dict agree with the trained network', { timeout: 240_000 }, async (t) => {
    // 160 training images, 2 epochs of batch 32: 10 steps.
    const r = descent('train', '--model', 'resnet20', '--data', `cifar10:${cifar}`, '--epochs', '2', '--batch-size', '32',
      '--lr', '0.003', '--augment', '0', '--validation-split', '0', '--out', 'run', '--json');
    assert.equal(r.status, 0, r.stderr);
    const trained = lastJson(r.stdout);
    t.diagnostic(`test accuracy after ${trained.epochs ?? '?'} epochs: ${trained.test.accuracy}`);
    assert.equal(trained.test.count, 80, 'test_batch.bin is the test set');
    assert.ok(trained.test.accuracy >= 0.6, `test accuracy ${trained.test.accuracy} (chance: 0.25)`);
    for (const f of ['model.safetensors', 'checkpoint.safetensors', 'metrics.jsonl', 'run.json']) {
      assert.ok(existsSync(join(dir, 'run', f)), `run/${f} written`);
    }
    const model = join(dir, 'run', 'model.safetensors');

    // eval (whose activations share memory) gives bitwise the numbers train reported on the same test set.
    const ev = descent('eval', model, '--data', `cifar10:${cifar}`, '--json');
    assert.equal(ev.status, 0, ev.stderr);
    const evaluated = JSON.parse(ev.stdout);
    assert.equal(evaluated.count, 80);
    assert.equal(evaluated.accuracy, trained.test.accuracy);
    assert.equal(evaluated.loss, trained.test.loss);
    assert.deepEqual(evaluated.confusion, trained.test.confusion);

    // predict on a PNG of test image 0 gives what the saved network gives on that record of test_batch.bin.
    const { net, preprocessing } = loadModel(model);
    const data = loadCifar10(cifar, 'test');
    const x = data.x.slice(0, CIFAR10_PIXELS);
    const stats = standardizationOf(preprocessing, net, model);
    assert.ok(stats, 'the model keeps its per-channel normalisation');
    applyStandardization(x, stats);
    const expected = net.predict(x, 1);
    const pr = descent('predict', model, join(dir, 'test0.png'), '--json');
    assert.equal(pr.status, 0, pr.stderr);
    const predicted = JSON.parse(pr.stdout);
    assert.equal(predicted.class, CIFAR10_CLASSES[expected.classes[0]]);
    assert.ok(Math.abs(predicted.top[0].p - expected.p[expected.classes[0]]) <= 1e-6, `${predicted.top[0].p} vs ${expected.p[expected.classes[0]]}`);

    // The exports take raw pixels (the preprocessing inside) and give the trained network's p.
    const pixels = test.images.subarray(0, CIFAR10_PIXELS);
    const near = (data: ArrayLike<number>, what: string) => {
      for (let c = 0; c < 10; c++) assert.ok(Math.abs(data[c] - expected.p[c]) <= 1e-5, `${what}, class ${c}: ${data[c]} vs ${expected.p[c]}`);
    };

    // TensorFlow.js: a Keras functional model, run by @tensorflow/tfjs from the files written.
    const tj = descent('export', model, '--format', 'tfjs', '--out', 'tfjs');
    assert.equal(tj.status, 0, tj.stderr);
    const modelJson = JSON.parse(readFileSync(join(dir, 'tfjs', 'model.json'), 'utf8'));
    assert.equal(modelJson.modelTopology.class_name, 'Model');
    near(await predictTfjs({ modelJson, weights: new Uint8Array(readFileSync(join(dir, 'tfjs', 'weights.bin'))), readme: '' },
      Float32Array.from(pixels), [32, 32, 3]), 'tfjs');

    // PyTorch: a state_dict that `descent import` turns back into the same model, and model.py, run
    // where python3-torch is installed.
    const pt = descent('export', model, '--format', 'pytorch', '--out', 'torch');
    assert.equal(pt.status, 0, pt.stderr);
    const stateDict = join(dir, 'torch', 'model.safetensors');
    const header = readFileSync(stateDict);
    const tensors = JSON.parse(header.subarray(8, 8 + header.readUInt32LE(0)).toString());
    const module = (node: string) => `layers.${net.topology.names.indexOf(node)}`; // model.py's nn.ModuleList
    assert.deepEqual(tensors[`${module('stage2.block1.shortcut.conv')}.weight`].shape, [32, 16, 1, 1]);
    assert.deepEqual(tensors[`${module('stage3.block3.bn2')}.running_var`].shape, [64]);
    const im = descent('import', stateDict, '--out', 'back.safetensors');
    assert.equal(im.status, 0, im.stderr);
    const again = descent('eval', 'back.safetensors', '--data', `cifar10:${cifar}`, '--json');
    assert.equal(again.status, 0, again.stderr);
    const back = JSON.parse(again.stdout);
    assert.deepEqual([back.accuracy, back.loss, back.confusion], [evaluated.accuracy, evaluated.loss, evaluated.confusion]);
    const python = findTorchPython().command;
    if (python) {
      writeFileSync(join(dir, 'test0.json'), JSON.stringify({ shape: [1, 32, 32, 3], data: Array.from(pixels) }));
      const out = execFileSync(python, [join(dir, 'torch', 'model.py'), '--input', join(dir, 'test0.json')], { encoding: 'utf8', timeout: 120_000 });
      near(JSON.parse(out).data, 'model.py');
    } else t.diagnostic(`model.py not run: ${findTorchPython().reason}`);

    // ONNX: a graph run by ONNX Runtime from the file written, and `descent import` of it evaluates as the trained model.
    const ox = descent('export', model, '--format', 'onnx', '--out', 'resnet20.onnx');
    assert.equal(ox.status, 0, ox.stderr);
    near((await runOnnx(new Uint8Array(readFileSync(join(dir, 'resnet20.onnx'))), Float32Array.from(pixels), [1, 32, 32, 3])).data, 'onnx');
    const oi = descent('import', 'resnet20.onnx', '--out', 'from-onnx.safetensors');
    assert.equal(oi.status, 0, oi.stderr);
    const fromOnnx = descent('eval', 'from-onnx.safetensors', '--data', `cifar10:${cifar}`, '--json');
    assert.equal(fromOnnx.status, 0, fromOnnx.stderr);
    const o = JSON.parse(fromOnnx.stdout);
    assert.deepEqual([o.accuracy, o.loss, o.confusion], [evaluated.accuracy, evaluated.loss, evaluated.confusion]);
  });
});
