/**
 * The networks every exporter is checked on: one per layer type (each on 28×28 MNIST digits, with
 * a convolution in front where the layer needs channels) and the whole LeNet-5, the Keras MNIST CNN
 * and a network with batch norm and dropout. Batch-norm statistics are drawn away from 0 and 1 so
 * that a wrong export shows.
 */
import type { LayerConfig } from '../src/layers/layer.js';
import { preset } from '../src/models/presets.js';
import { residualBlockConfig } from '../src/network/graph.js';
import { Sequential, type ArchitectureConfig } from '../src/network/sequential.js';
import { Rng } from '../src/core/rng.js';
import { host } from './helpers.js';

const conv = (outChannels = 3, extra: Partial<LayerConfig> = {}): LayerConfig => ({ type: 'Conv2d', outChannels, kernelSize: 3, ...extra });
const flat = (...layers: LayerConfig[]): LayerConfig[] => [{ type: 'Flatten' }, ...layers];

export const LAYER_CASES: Record<string, LayerConfig[]> = {
  Conv2d: [conv(4, { stride: 2, padding: 1, dilation: 2 })],
  'Conv2d (no bias, 3×5 kernel, stride 1×2)': [conv(5, { kernelSize: [3, 5], stride: [1, 2], padding: [1, 0], bias: false })],
  MaxPool2d: [conv(), { type: 'MaxPool2d', kernelSize: 3, stride: 2, padding: 1 }],
  AvgPool2d: [conv(), { type: 'AvgPool2d', kernelSize: 2, padding: 1 }],
  GlobalAvgPool: [conv(), { type: 'GlobalAvgPool' }],
  ReLU: [conv(), { type: 'ReLU' }],
  LeakyReLU: [conv(), { type: 'LeakyReLU', negativeSlope: 0.2 }],
  Sigmoid: [conv(), { type: 'Sigmoid' }],
  Tanh: [conv(), { type: 'Tanh' }],
  Softplus: [conv(), { type: 'Softplus' }],
  Flatten: [conv(), { type: 'Flatten' }],
  Dense: flat({ type: 'Dense', outFeatures: 7, bias: false }),
  Softmax: flat({ type: 'Dense', outFeatures: 10 }, { type: 'Softmax' }),
  Dropout: [conv(), { type: 'Dropout', p: 0.3 }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 10 }],
  BatchNorm2d: [conv(), { type: 'BatchNorm2d', eps: 1e-3, momentum: 0.2 }],
  BatchNorm1d: flat({ type: 'Dense', outFeatures: 16 }, { type: 'BatchNorm1d' }),
};

export const NETWORK_CASES: Record<string, LayerConfig[]> = {
  'LeNet-5': preset('lenet5').layers,
  'Keras MNIST CNN': preset('cnn').layers,
  'batch norm and dropout': [
    conv(8, { padding: 1 }), { type: 'BatchNorm2d' }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Dropout', p: 0.25 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 32 }, { type: 'BatchNorm1d' }, { type: 'ReLU' }, { type: 'Dropout', p: 0.5 },
    { type: 'Dense', outFeatures: 10 }, { type: 'Softmax' },
  ],
};

export const ALL_CASES = { ...LAYER_CASES, ...NETWORK_CASES };

/** MNIST's preprocessing as `descent train` records it. */
export const MNIST_PREPROCESSING = { scale: 1 / 255, mean: [0.1307], std: [0.3081] };

/** A network of the case, seeded, with batch-norm parameters and statistics drawn at random. */
export function caseNet(layers: LayerConfig[], seed = 1, inputShape = [28, 28, 1]): Sequential {
  const architecture: ArchitectureConfig = { inputShape, layers };
  const net = Sequential.fromConfig(architecture, { seed });
  const rng = new Rng(seed + 100);
  net.layers.forEach((layer) => {
    if (!layer.type.startsWith('BatchNorm')) return;
    const [weight, bias] = [host(layer.params.weight), host(layer.params.bias)];
    const [mean, variance] = [host(layer.buffers.running_mean), host(layer.buffers.running_var)];
    for (let i = 0; i < weight.length; i++) {
      weight[i] = 0.5 + rng.uniform();
      bias[i] = 0.1 * rng.normal();
      mean[i] = 0.3 * rng.normal();
      variance[i] = 0.5 + rng.uniform();
    }
  });
  return net;
}

/** A small ResNet: test/fixtures/make_graph_parity.py's network, node for node (graph-parity.test.ts). */
export const smallResNet: LayerConfig[] = [
  { name: 'stem.conv', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 },
  { name: 'stem.bn', type: 'BatchNorm2d' }, { name: 'stem.relu', type: 'ReLU' },
  ...residualBlockConfig('b1', { input: 'stem.relu', outChannels: 4 }),
  ...residualBlockConfig('b2', { input: 'b1.relu2', outChannels: 8, stride: 2 }),
  { name: 'b1.pool', type: 'AvgPool2d', kernelSize: 2, inputs: ['b1.relu2'] },
  { name: 'cat', type: 'Concat', inputs: ['b2.relu2', 'b1.pool'] },
  { name: 'gap', type: 'GlobalAvgPool' }, { name: 'fc', type: 'Dense', outFeatures: 5 }, { name: 'softmax', type: 'Softmax' },
];

/** Graph networks for the exporters, on [12, 12, 3]: every join, with the awkward cases each exporter must rewrite. */
export const GRAPH_CASES: Record<string, LayerConfig[]> = {
  // Two residual blocks (identity and 1×1-projection shortcuts) and a concatenation of branches of different widths.
  'residual blocks and a concatenation': smallResNet,
  // A three-way Concat out of input order, an Identity, 'same' padding that is asymmetric (3×3, stride 2 on 12),
  // depthwise convolutions (one ×2 per channel), a three-input Add with a per-channel input, padded max pooling after ReLU.
  'three-way joins, depthwise, asymmetric padding': [
    { name: 'a', type: 'Conv2d', outChannels: 2, kernelSize: 3, padding: 'same', inputs: ['input'] },
    { name: 'b', type: 'Conv2d', outChannels: 3, kernelSize: 1, inputs: ['input'] },
    { name: 'c', type: 'Identity', inputs: ['input'] },
    { name: 'cat', type: 'Concat', inputs: ['b', 'a', 'c'] },
    { name: 'down', type: 'Conv2d', outChannels: 8, kernelSize: 3, stride: 2, padding: 'same' },
    { name: 'dw', type: 'DepthwiseConv2d', kernelSize: 3, stride: 2, padding: 1, inputs: ['cat'] },
    { name: 'gap', type: 'GlobalAvgPool', inputs: ['dw'] },
    { name: 'sum', type: 'Add', inputs: ['down', 'dw', 'gap'] },
    { name: 'relu', type: 'ReLU' },
    { name: 'pool', type: 'MaxPool2d', kernelSize: 3, stride: 2, padding: 1 },
    { name: 'dw2', type: 'DepthwiseConv2d', kernelSize: 3, depthMultiplier: 2, padding: 1, bias: false },
    { name: 'flat', type: 'Flatten' }, { name: 'fc', type: 'Dense', outFeatures: 10 }, { name: 'softmax', type: 'Softmax' },
  ],
  // A flattened image joined with a dense branch, then a Dense: feature order matters across the join.
  'flattened image in a join': [
    { name: 'conv', type: 'Conv2d', outChannels: 2, kernelSize: 3, stride: 2 },
    { name: 'flat', type: 'Flatten' },
    { name: 'gap', type: 'GlobalAvgPool', inputs: ['conv'] },
    { name: 'fc1', type: 'Dense', outFeatures: 4 },
    { name: 'cat', type: 'Concat', inputs: ['flat', 'fc1'] },
    { name: 'fc2', type: 'Dense', outFeatures: 6 },
  ],
  // Names Keras cannot take as they are or that clash with the exporter's own layers, unnamed nodes, a [1, 1, C] input to Add.
  'odd names, a [1, 1, C] per-channel Add': [
    { name: 'preprocessing', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 },
    { name: 'a/b c', type: 'AvgPool2d', kernelSize: 12 },
    { name: 'preprocessing_pad', type: 'Add', inputs: ['preprocessing', 'a/b c'] },
    { type: 'GlobalAvgPool' }, { type: 'Dense', outFeatures: 3 },
  ],
};

/** The input shape of GRAPH_CASES, and a colour preprocessing (per channel). */
export const GRAPH_INPUT = [12, 12, 3];
export const COLOUR_PREPROCESSING = { scale: 1 / 255, mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] };

/** n seeded random "pixels" 0..255 of the given shape. */
export function randomPixels(n: number, shape: number[], seed = 7): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n * shape.reduce((a, b) => a * b, 1) }, () => rng.int(256));
}
