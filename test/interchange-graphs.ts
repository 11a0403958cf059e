/**
 * Graph networks the ONNX graph tests export and import beside the exporters' shared GRAPH_CASES
 * (interchange-nets.ts, on [12, 12, 3]): the resnet20 and mobilenet presets,
 * and `branches`, a small graph with every join there is — fan-out of the input and of inner
 * nodes, Add of three inputs and Add broadcasting a vector [C] and a [1, 1, C] image per channel,
 * Concat of images and of vectors along channels, Identity, grouped and depthwise convolutions
 * with 'same' (asymmetric) padding, batch norm and dropout; and `pools`, pooling branches with an
 * image as the output.
 */
import type { LayerConfig } from '../src/layers/layer.js';
import { preset } from '../src/models/presets.js';
import type { ArchitectureConfig } from '../src/network/sequential.js';

const branches: LayerConfig[] = [
  { name: 'stem', type: 'Conv2d', outChannels: 6, kernelSize: 4, stride: 2, padding: 'same' },
  { name: 'side', type: 'Conv2d', outChannels: 6, kernelSize: 1, stride: 2, inputs: ['input'] },
  { name: 'dw', type: 'DepthwiseConv2d', kernelSize: 2, padding: 'same', inputs: ['stem'] },
  { name: 'dw.bn', type: 'BatchNorm2d' },
  { name: 'grouped', type: 'Conv2d', outChannels: 6, kernelSize: 3, groups: 3, padding: [0, 2, 1, 1], inputs: ['stem'] },
  { name: 'shortcut', type: 'Identity', inputs: ['side'] },
  { name: 'sum3', type: 'Add', inputs: ['dw.bn', 'grouped', 'shortcut'] },
  { name: 'gap', type: 'GlobalAvgPool' },
  { name: 'gate', type: 'Dense', outFeatures: 6 },
  { name: 'pooled', type: 'AvgPool2d', kernelSize: [5, 4], inputs: ['stem'] },
  { name: 'broadcast', type: 'Add', inputs: ['sum3', 'gate', 'pooled'] },
  { name: 'cat', type: 'Concat', inputs: ['broadcast', 'stem', 'side'] },
  { name: 'relu', type: 'ReLU' },
  { name: 'drop', type: 'Dropout', p: 0.3 },
  { name: 'gap2', type: 'GlobalAvgPool' },
  { name: 'fc1', type: 'Dense', outFeatures: 5, inputs: ['gap2'] },
  { name: 'fc2', type: 'Dense', outFeatures: 3, inputs: ['gap2'] },
  { name: 'vcat', type: 'Concat', inputs: ['fc1', 'fc2'] },
  { name: 'fc3', type: 'Dense', outFeatures: 8, inputs: ['gap2'] },
  { name: 'vsum', type: 'Add', inputs: ['vcat', 'fc3'] },
  { name: 'bn1d', type: 'BatchNorm1d' },
  { name: 'out', type: 'Dense', outFeatures: 10 },
  { name: 'softmax', type: 'Softmax' },
];

/** Pooling branches ('same' max pooling, asymmetric on one side) concatenated; an image output through an Identity. */
const pools: LayerConfig[] = [
  { name: 'conv', type: 'Conv2d', outChannels: 6, kernelSize: 4, stride: 2, padding: 'same' },
  { name: 'max.same', type: 'MaxPool2d', kernelSize: 2, stride: 2, padding: 'same' },
  { name: 'max', type: 'MaxPool2d', kernelSize: 3, stride: 1, padding: 1, inputs: ['conv'] },
  { name: 'avg', type: 'AvgPool2d', kernelSize: 2, stride: 2, padding: [1, 0] },
  { name: 'cat', type: 'Concat', inputs: ['max.same', 'avg'] },
  { name: 'last', type: 'Identity' },
];

export const ONNX_GRAPH_CASES: Record<string, ArchitectureConfig> = {
  resnet20: preset('resnet20'),
  mobilenet: preset('mobilenet'),
  branches: { inputShape: [9, 8, 4], layers: branches },
  pools: { inputShape: [9, 7, 3], layers: pools },
};
