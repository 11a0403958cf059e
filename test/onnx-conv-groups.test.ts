/**
 * ONNX export of grouped and depthwise convolutions and of 'same' / asymmetric padding: ONNX
 * Runtime gives Descent's outputs (the exporter reads the built layer's groups and resolved
 * [top, bottom, left, right] padding); PyTorch's model.py refuses asymmetric padding clearly; a grouped
 * network with symmetric padding comes back from ONNX with bitwise the same weights, and a group that
 * does not divide the channels is refused.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exportOnnx } from '../src/io/onnx/export.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { decodeModelProto, encodeModelProto } from '../src/io/onnx/proto.js';
import { exportPytorchModel } from '../src/io/pytorch-module.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';
import { randomFloats, host } from './helpers.js';
import { assertWithin, runOnnx } from './interchange-helpers.js';

const layers: LayerConfig[] = [
  { type: 'Conv2d', outChannels: 6, kernelSize: 4, stride: 2, padding: 'same' }, { type: 'ReLU' },
  { type: 'DepthwiseConv2d', kernelSize: 3, depthMultiplier: 2, padding: [0, 2, 1, 0] }, { type: 'Tanh' },
  { type: 'Conv2d', outChannels: 9, kernelSize: 2, groups: 3, padding: 'same' },
  { type: 'MaxPool2d', kernelSize: 2, stride: 2, padding: 'same' },
  { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 },
];

describe('ONNX export of grouped, depthwise and asymmetrically padded convolutions', () => {
  it("ONNX Runtime gives Descent's outputs within 1e-5", async () => {
    const net = Sequential.fromConfig({ inputShape: [9, 7, 3], layers }, { seed: 4 });
    const N = 2, x = Float32Array.from(randomFloats(N * 9 * 7 * 3, 8));
    const expected = Float32Array.from(host(net.forward(x, N)).subarray(0, N * 4));
    const { data } = await runOnnx(exportOnnx(net), x, [N, 9, 7, 3]);
    assertWithin(data, expected, 1e-5, 'ONNX Runtime');
  });

  it('model.py refuses asymmetric padding with one clear line, and writes symmetric same padding as (h, w)', () => {
    const net = Sequential.fromConfig({ inputShape: [9, 7, 3], layers }, { seed: 4 });
    assert.throws(() => exportPytorchModel(net), /layer 0 \(Conv2d\) pads \[top 1, bottom 2, left 1, right 2\]: nn\.Conv2d and the pools pad both sides alike/);
    const sym = Sequential.fromConfig({ inputShape: [8, 8, 4], layers: [
      { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 'same', groups: 2 },
      { type: 'DepthwiseConv2d', kernelSize: 3, padding: 'same' }] }, { seed: 1 });
    const { modelPy } = exportPytorchModel(sym);
    assert.match(modelPy, /nn\.Conv2d\(4, 4, \(3, 3\), stride=\(1, 1\), padding=\(1, 1\), dilation=\(1, 1\), groups=2, bias=True\)/);
    assert.match(modelPy, /nn\.Conv2d\(4, 4, \(3, 3\), stride=\(1, 1\), padding=\(1, 1\), dilation=\(1, 1\), groups=4, bias=True\)/);
  });

  it('a grouped and depthwise network comes back from ONNX with its groups and bitwise the same weights', () => {
    const net = Sequential.fromConfig({ inputShape: [8, 8, 4], layers: [
      { type: 'Conv2d', outChannels: 6, kernelSize: 3, padding: 1, groups: 2 }, { type: 'ReLU' },
      { type: 'DepthwiseConv2d', kernelSize: 3, depthMultiplier: 2, padding: 1 },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }] }, { seed: 2 });
    const back = importOnnx(exportOnnx(net)).net;
    assert.deepEqual(back.layers.map((l) => (l as { groups?: number }).groups), [2, undefined, 6, undefined, undefined]);
    assert.deepEqual(new Uint32Array(Float32Array.from(back.w).buffer), new Uint32Array(Float32Array.from(net.w).buffer));
  });

  it('refuses a group that does not divide the input channels, naming the node', () => {
    const net = Sequential.fromConfig({ inputShape: [8, 8, 4], layers: [
      { type: 'Conv2d', outChannels: 4, kernelSize: 3, groups: 2 }] }, { seed: 2 });
    const model = decodeModelProto(exportOnnx(net), 'test');
    model.graph!.node.find((n) => n.opType === 'Conv')!.attribute.find((a) => a.name === 'group')!.i = 3n;
    assert.throws(() => importOnnx(encodeModelProto(model)), /\(Conv\): weight \[4, 2, 3, 3\] with group=3 expects 6 input channels/);
  });
});
