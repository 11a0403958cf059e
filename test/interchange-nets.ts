/**
 * The networks every exporter is checked on: one per layer type (each on 28×28 MNIST digits, with
 * a convolution in front where the layer needs channels) and the whole LeNet-5, the Keras MNIST CNN
 * and a network with batch norm and dropout. Batch-norm statistics are drawn away from 0 and 1 so
 * that a wrong export shows.
 */
import type { LayerConfig } from '../src/layers/layer.js';
import { preset } from '../src/models/presets.js';
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
