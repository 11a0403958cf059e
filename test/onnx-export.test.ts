/**
 * ONNX export: for every layer type and for LeNet-5, the Keras MNIST CNN and a network with batch
 * norm and dropout, ONNX Runtime (its WebAssembly build) running the exported model on raw MNIST
 * pixels gives Descent's outputs within 1e-5 — the preprocessing is in the graph — and importing
 * the file gives back bitwise the same weights, statistics and architecture.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyStandardization } from '../src/data/dataset.js';
import { DescentError } from '../src/core/errors.js';
import { exportOnnx } from '../src/io/onnx/export.js';
import { importOnnx } from '../src/io/onnx/import.js';
import type { Sequential } from '../src/network/sequential.js';
import { ALL_CASES, caseNet, MNIST_PREPROCESSING } from './interchange-nets.js';
import { assertWithin, maxAbsDiff, mnistPixels, runOnnx, unit } from './interchange-helpers.js';
import { randomFloats, host } from './helpers.js';

const N = 8;
const pixels = mnistPixels(N);
const raw = Float32Array.from(pixels);

/** Descent's output on the digits, preprocessed as `descent predict` does. */
function descentOutput(net: Sequential): Float32Array {
  const x = unit(pixels);
  applyStandardization(x, MNIST_PREPROCESSING);
  const size = net.outputShape.reduce((a, b) => a * b, 1);
  return Float32Array.from(host(net.forward(x, N)).subarray(0, N * size));
}

const bytesOf = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

describe('ONNX export, run by ONNX Runtime', () => {
  for (const [name, layers] of Object.entries(ALL_CASES)) {
    it(`${name}: ONNX Runtime on raw pixels gives Descent's outputs within 1e-5; import gives the same weights bitwise`, async () => {
      const net = caseNet(layers);
      const model = exportOnnx(net, { preprocessing: MNIST_PREPROCESSING });
      const { data, dims } = await runOnnx(model, raw, [N, 28, 28, 1]);
      assert.deepEqual(dims, [N, ...net.outputShape], 'the output keeps Descent\'s (channels-last) shape');
      assertWithin(data, descentOutput(net), 1e-5, name);

      const back = importOnnx(model);
      assert.deepEqual(bytesOf(back.net.w), bytesOf(net.w), 'weights bitwise');
      assert.deepEqual(bytesOf(back.net.buffers), bytesOf(net.buffers), 'running statistics bitwise');
      assert.deepEqual(back.net.config(), net.config(), 'architecture');
      assert.deepEqual(back.preprocessing, MNIST_PREPROCESSING);
    });
  }

  it('the comparison can fail: a model exported from other weights misses Descent\'s outputs', async () => {
    const net = caseNet(ALL_CASES['LeNet-5']);
    const other = caseNet(ALL_CASES['LeNet-5'], 2);
    const { data } = await runOnnx(exportOnnx(other, { preprocessing: MNIST_PREPROCESSING }), raw, [N, 28, 28, 1]);
    assert.ok(maxAbsDiff(data, descentOutput(net)) > 1e-3);
  });

  it('without the preprocessing nodes the model takes preprocessed input, and says so in its metadata', async () => {
    const net = caseNet(ALL_CASES['LeNet-5']);
    const model = exportOnnx(net, { preprocessing: MNIST_PREPROCESSING, includePreprocessing: false });
    const x = unit(pixels);
    applyStandardization(x, MNIST_PREPROCESSING);
    assertWithin((await runOnnx(model, x, [N, 28, 28, 1])).data, descentOutput(net), 1e-5, 'no preprocessing nodes');
    const withNodes = (await runOnnx(exportOnnx(net, { preprocessing: MNIST_PREPROCESSING }), x, [N, 28, 28, 1])).data;
    assert.ok(maxAbsDiff(withNodes, descentOutput(net)) > 1e-3, 'preprocessing twice changes the outputs');
    assert.deepEqual(importOnnx(model).preprocessing, MNIST_PREPROCESSING, 'the metadata still records it');
  });

  it('three channels, per-channel mean and std, channels-last and channels-first inputs', async () => {
    const layers = ALL_CASES['batch norm and dropout'].map((l) => (l.type === 'Dense' && l.outFeatures === 32 ? { ...l, outFeatures: 12 } : l));
    const net = caseNet(layers, 3, [9, 7, 3]);
    const preprocessing = { scale: 0.5, mean: [0.1, -0.2, 0.3], std: [0.5, 2, 1.5] };
    const M = 3, xRaw = Float32Array.from(randomFloats(M * 9 * 7 * 3, 5, 'uniform'), (v) => 255 * v);
    const x = Float32Array.from(xRaw, (v) => v * 0.5);
    applyStandardization(x, preprocessing);
    const want = host(net.forward(x, M)).subarray(0, M * 10);
    const nhwc = await runOnnx(exportOnnx(net, { preprocessing }), xRaw, [M, 9, 7, 3]);
    assertWithin(nhwc.data, want, 1e-5, 'NHWC input');
    const nchwInput = new Float32Array(xRaw.length);
    for (let n = 0; n < M; n++) for (let h = 0; h < 9; h++) for (let w = 0; w < 7; w++) for (let c = 0; c < 3; c++) {
      nchwInput[((n * 3 + c) * 9 + h) * 7 + w] = xRaw[((n * 9 + h) * 7 + w) * 3 + c];
    }
    const nchwModel = exportOnnx(net, { preprocessing, inputLayout: 'nchw' });
    assertWithin((await runOnnx(nchwModel, nchwInput, [M, 3, 9, 7])).data, want, 1e-5, 'NCHW input');
    const back = importOnnx(nchwModel);
    assert.equal(back.inputLayout, 'nchw');
    assert.deepEqual(bytesOf(back.net.w), bytesOf(net.w));
    assert.deepEqual(back.preprocessing, preprocessing);
  });

  it('class names travel in the metadata; bad preprocessing and non-finite weights are refused', () => {
    const net = caseNet(ALL_CASES.Softmax);
    const names = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
    assert.deepEqual(importOnnx(exportOnnx(net, { classNames: names })).classNames, names);
    assert.throws(() => exportOnnx(net, { preprocessing: { std: [0] } }), /preprocessing std must not be 0/);
    assert.throws(() => exportOnnx(net, { preprocessing: { mean: [1, 2] } }), /preprocessing mean must be 1 or 1 finite numbers/);
    net.w[3] = NaN;
    assert.throws(() => exportOnnx(net), (e) => e instanceof DescentError && /weight of layer 1 \(Dense\) holds NaN at index 3/.test(e.message));
  });
});
