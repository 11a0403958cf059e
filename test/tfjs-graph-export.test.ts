/**
 * TensorFlow.js export of graph networks: a Keras functional model ("Model", layers with
 * inbound_nodes) that `tf.loadLayersModel` loads and @tensorflow/tfjs runs to Descent's outputs
 * within 1e-5 on raw pixels, on the reference and WebAssembly engines, for the joins (Add,
 * Concatenate), depthwise convolutions, asymmetric padding and the resnet20 and mobilenet presets.
 * A broken mapping (Concatenate's inputs reordered, an Add input dropped) misses them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyStandardization } from '../src/data/dataset.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { exportTfjs, type TfjsExport } from '../src/io/tfjs.js';
import type { KerasLayer } from '../src/io/tfjs-builder.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { preset } from '../src/models/presets.js';
import { Sequential } from '../src/network/sequential.js';
import { assertWithin, maxAbsDiff, unit } from './interchange-helpers.js';
import { caseNet, COLOUR_PREPROCESSING, GRAPH_CASES, GRAPH_INPUT, randomPixels } from './interchange-nets.js';
import { predictTfjs } from './tfjs-run.js';
import { host } from './helpers.js';

const N = 3;
let engine: WasmEngine;
before(async () => (engine = await createWasmEngine({ threads: 2 })));
after(() => engine.dispose());

/** The network of `layers` on the reference engine, then with the same weights on WebAssembly. */
function bothEngines(layers: LayerConfig[], inputShape: number[]): Sequential[] {
  const net = caseNet(layers, 1, inputShape);
  const wasm = Sequential.fromConfig(net.config(), { arena: engine.arena, kernels: engine.kernels });
  wasm.setWeights(net.getWeights());
  wasm.setBuffers(net.getBuffers());
  return [net, wasm];
}

function descentOutput(net: Sequential, pixels: Uint8Array): Float32Array {
  const x = unit(pixels);
  applyStandardization(x, COLOUR_PREPROCESSING);
  return Float32Array.from(host(net.forward(x, N)).subarray(0, N * net.outputShape.reduce((a, b) => a * b, 1)));
}

const layerNamed = (files: TfjsExport, name: string) => files.modelJson.modelTopology.config.layers.find((l) => l.name === name)!;
/** A copy of the export with one layer's inbound layers replaced. */
function rewired(files: TfjsExport, name: string, rewire: (inbound: string[]) => string[]): TfjsExport {
  const copy = structuredClone(files), layer = layerNamed(copy, name) as KerasLayer;
  layer.inbound_nodes = [rewire(layer.inbound_nodes![0].map((n) => n[0])).map((n) => [n, 0, 0, {}])];
  return copy;
}

describe('TensorFlow.js export of graph networks, run by @tensorflow/tfjs', () => {
  const cases: [string, LayerConfig[], number[]][] = [
    ...Object.entries(GRAPH_CASES).map(([name, layers]): [string, LayerConfig[], number[]] => [name, layers, GRAPH_INPUT]),
    ['resnet20 preset', preset('resnet20').layers, [32, 32, 3]],
    ['mobilenet preset', preset('mobilenet').layers, [32, 32, 3]],
  ];
  for (const [name, layers, shape] of cases) {
    it(`${name}: tfjs gives Descent's outputs within 1e-5 (reference and WebAssembly engines)`, async () => {
      const pixels = randomPixels(N, shape);
      const nets = bothEngines(layers, shape);
      const files = exportTfjs(nets[0], { preprocessing: COLOUR_PREPROCESSING });
      assert.equal(files.modelJson.modelTopology.class_name, nets[0].isChain ? 'Sequential' : 'Model');
      const got = await predictTfjs(files, Float32Array.from(pixels), shape);
      for (const [i, net] of nets.entries()) assertWithin(got, descentOutput(net, pixels), 1e-5, `${name}, ${['reference', 'WebAssembly'][i]}`);
    });
  }

  it('the functional topology: an InputLayer, nodes by name with their inbound layers, Add and Concatenate in input order', () => {
    const files = exportTfjs(caseNet(GRAPH_CASES['three-way joins, depthwise, asymmetric padding'], 1, GRAPH_INPUT));
    const config = files.modelJson.modelTopology.config;
    assert.deepEqual([config.input_layers, config.output_layers], [[['input', 0, 0]], [['softmax', 0, 0]]]);
    const inbound = (name: string) => layerNamed(files, name).inbound_nodes![0].map((n) => n[0]);
    assert.deepEqual(inbound('cat'), ['b', 'a', 'c']);
    assert.deepEqual(inbound('sum'), ['down', 'dw', 'gap']);
    assert.deepEqual([layerNamed(files, 'down_pad').config.padding, inbound('down')], [[[0, 1], [0, 1]], ['down_pad']]);
    assert.equal(layerNamed(files, 'dw2').class_name, 'DepthwiseConv2D');
    assert.equal(layerNamed(files, 'dw2').config.depth_multiplier, 2);
  });

  it('a broken mapping misses Descent\'s outputs: Concatenate\'s inputs reordered, an Add input dropped', async () => {
    const layers = GRAPH_CASES['three-way joins, depthwise, asymmetric padding'], pixels = randomPixels(N, GRAPH_INPUT);
    const net = caseNet(layers, 1, GRAPH_INPUT), files = exportTfjs(net, { preprocessing: COLOUR_PREPROCESSING });
    const want = descentOutput(net, pixels), input = Float32Array.from(pixels);
    assertWithin(await predictTfjs(files, input, GRAPH_INPUT), want, 1e-5, 'as exported');
    for (const broken of [rewired(files, 'cat', ([b, a, c]) => [a, b, c]), rewired(files, 'sum', (ins) => ins.slice(0, 2))]) {
      assert.ok(maxAbsDiff(await predictTfjs(broken, input, GRAPH_INPUT), want) > 1e-3);
    }
  });

  it('refuses a grouped convolution that is not depthwise, and a dilated depthwise one, naming the node', () => {
    const net = (conv: LayerConfig) => caseNet([{ name: 'stem', type: 'Conv2d', outChannels: 4, kernelSize: 1 }, { name: 'g', ...conv },
      { name: 'out', type: 'Add', inputs: ['g', 'stem'] }], 1, GRAPH_INPUT);
    assert.throws(() => exportTfjs(net({ type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1, groups: 2 })),
      /node "g" \(Conv2d\) has no TensorFlow.js form: grouped convolutions \(groups 2 of 4 channels\)/);
    assert.throws(() => exportTfjs(net({ type: 'DepthwiseConv2d', kernelSize: 3, padding: 2, dilation: 2 })),
      /node "g" \(DepthwiseConv2d\) has no TensorFlow.js form: TensorFlow.js's DepthwiseConv2D ignores dilation/);
  });
});
