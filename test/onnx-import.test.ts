/**
 * ONNX import of files written by torch.onnx.export (test/fixtures/onnx, made by its committed
 * make_onnx_fixtures.py with python3-torch): on real MNIST digits the imported networks give
 * PyTorch's outputs within 1e-5 on both engines, and a fine-tuning step runs and lowers the loss.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { applyStandardization } from '../src/data/dataset.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { exportOnnx } from '../src/io/onnx/export.js';
import { decodeModelProto, encodeModelProto, readFloats } from '../src/io/onnx/proto.js';
import { fixture, host } from './helpers.js';
import { assertWithin, maxAbsDiff, mnistLabels, mnistPixels, runOnnx, unit } from './interchange-helpers.js';

interface Expected { models: Record<string, { rawPixels: boolean; outputShape: number[]; output: number[] }> }
const expected = fixture<Expected>('onnx/expected.json');
const N = 8;
const file = (name: string) => new URL(`../../test/fixtures/onnx/${name}.onnx`, import.meta.url);
const read = (name: string) => new Uint8Array(readFileSync(file(name)));

let engine: WasmEngine;
before(async () => (engine = await createWasmEngine({ threads: 2 })));
after(() => engine.dispose());

/** What the model takes: raw pixels through its recorded preprocessing, or pixels / 255. */
function input(name: string, preprocessing: { scale?: number; mean?: number[]; std?: number[] } | undefined): Float32Array {
  if (!expected.models[name].rawPixels) return unit(mnistPixels(N));
  assert.ok(preprocessing?.mean && preprocessing.std && preprocessing.scale, 'the preprocessing nodes were recognised');
  const x = Float32Array.from(mnistPixels(N), (b) => b * preprocessing.scale!);
  applyStandardization(x, { mean: preprocessing.mean, std: preprocessing.std });
  return x;
}

describe('ONNX import of PyTorch-exported files', () => {
  for (const name of Object.keys(expected.models)) {
    it(`${name}: the imported network gives PyTorch's outputs within 1e-5 (reference and WebAssembly engines)`, () => {
      for (const options of [{}, { arena: engine.arena, kernels: engine.kernels }]) {
        const { net, preprocessing } = importOnnx(read(name), { source: `${name}.onnx`, ...options });
        const y = host(net.forward(input(name, preprocessing), N));
        assertWithin(y.subarray(0, N * 10), expected.models[name].output, 1e-5, name);
      }
    });
  }

  it('the comparison can fail: LeNet-5 with its first Dense weights left in (c, h, w) order misses PyTorch\'s outputs', () => {
    const { net } = importOnnx(read('lenet5'));
    const gemm = decodeModelProto(read('lenet5'), 'lenet5').graph!.initializer.find((t) => t.name === '7.weight')!;
    host(net.layers[7].params.weight).set(readFloats(gemm, '7.weight').data);
    const y = host(net.forward(unit(mnistPixels(N)), N));
    assert.ok(maxAbsDiff(y.subarray(0, N * 10), expected.models.lenet5.output) > 1e-3);
  });

  it('the layers PyTorch wrote come back as Descent layers, BatchNormalization and Pad included', () => {
    const types = (name: string) => importOnnx(read(name)).net.layers.map((l) => l.type).join(' ');
    assert.equal(types('bn_dropout'), 'Conv2d BatchNorm2d ReLU MaxPool2d Conv2d BatchNorm2d LeakyReLU AvgPool2d Flatten Dense BatchNorm1d Tanh Dense');
    assert.equal(types('conv_variants'), 'Conv2d Sigmoid Conv2d Softplus MaxPool2d GlobalAvgPool Dense Softmax');
    assert.equal(types('normalized_matmul'), 'Flatten Dense ReLU Dense');
    const bn = importOnnx(read('bn_dropout')).net.config().layers[1];
    assert.deepEqual(bn, { type: 'BatchNorm2d', eps: 1e-5, momentum: 0.1 }, 'eps and momentum read back as PyTorch wrote them');
    const pool = importOnnx(read('bn_dropout')).net.config().layers[7];
    assert.deepEqual(pool.padding, [1, 1], 'the Pad before AveragePool became its padding');
    const pre = importOnnx(read('normalized_matmul')).preprocessing;
    assert.deepEqual(pre, { scale: 0.003921569, mean: [0.1307], std: [0.3081] });
    // Without the Sub, the mean is 0: Descent applies mean and std together.
    const model = decodeModelProto(read('normalized_matmul'), 'normalized_matmul');
    const nodes = model.graph!.node, sub = nodes.find((n) => n.opType === 'Sub')!;
    nodes.find((n) => n.opType === 'Div')!.input[0] = sub.input[0];
    model.graph!.node = nodes.filter((n) => n !== sub);
    assert.deepEqual(importOnnx(encodeModelProto(model)).preprocessing, { scale: 0.003921569, mean: [0], std: [0.3081] });
  });

  it('one fine-tuning step on imported LeNet-5 runs and lowers the loss of its batch', () => {
    const { net } = importOnnx(read('lenet5'));
    const x = unit(mnistPixels(N)), labels = mnistLabels(N);
    const before = net.gradient(x, { labels }, N, 'cross_entropy');
    assert.ok(Number.isFinite(before));
    const w0 = net.getWeights();
    for (let i = 0; i < net.w.length; i++) net.w[i] -= 0.01 * net.g[i];
    assert.notDeepEqual(net.getWeights(), w0);
    const afterStep = net.gradient(x, { labels }, N, 'cross_entropy');
    assert.ok(afterStep < before, `loss ${afterStep} after one step, ${before} before`);
  });

  it('an imported network exports to ONNX that ONNX Runtime runs to the same outputs', async () => {
    const { net } = importOnnx(read('bn_dropout'));
    const x = unit(mnistPixels(N));
    const { data } = await runOnnx(exportOnnx(net), x, [N, 28, 28, 1]);
    assertWithin(data, host(net.forward(x, N)).subarray(0, N * 10), 1e-5, 'bn_dropout re-exported');
  });
});
