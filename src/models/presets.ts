/**
 * Ready architectures by name; the first three are for 28×28 grey images and 10 classes (MNIST-shaped):
 * - `lenet5`: LeNet-5 with ReLU and max-pooling (the benchmark's NET-A), 61,706 parameters.
 * - `cnn`: the classic Keras MNIST CNN (NET-B plus its two dropouts), 1.2 M parameters.
 * - `mlp`: two hidden layers of 256 and 128 units.
 * - `resnet20`: ResNet-20 for 32×32×3 images (He et al. 2016, the CIFAR variant): a 3×3 stem of 16
 *   channels, 3 stages of 3 basic blocks with 16, 32 and 64 channels, global average pooling, dense.
 *   Shortcuts where the shape changes are 1×1 projections (convolution with stride 2, then batch
 *   norm: the paper's option B), since they need no layer beyond the graph's; 272,474 parameters
 *   (option A, zero-padded identity shortcuts, would have 270 k).
 * - `mobilenet`: a small depthwise-separable (MobileNet-style) chain for 32×32×3: a 3×3 stem of 16
 *   channels, then five blocks of a 3×3 depthwise convolution (groups = channels) and a 1×1
 *   pointwise one, each followed by batch norm and ReLU (32, 64, 64, 128, 128 channels; stride 2
 *   in the second and fourth), global average pooling, dense.
 * Each ends in Softmax: the network maps an input onto the simplex P (notes, section 1).
 */
import { DescentError } from '../core/errors.js';
import type { LayerConfig } from '../layers/layer.js';
import { residualBlockConfig } from '../network/graph.js';
import type { ArchitectureConfig } from '../network/sequential.js';

const relu: LayerConfig = { type: 'ReLU' };

/** ResNet-20 (CIFAR): 6n + 2 layers with n = 3, as a graph. */
function resnet20(classes: number): LayerConfig[] {
  const nodes: LayerConfig[] = [
    { name: 'stem.conv', type: 'Conv2d', outChannels: 16, kernelSize: 3, padding: 1, bias: false },
    { name: 'stem.bn', type: 'BatchNorm2d' }, { name: 'stem.relu', type: 'ReLU' },
  ];
  let input = 'stem.relu';
  [16, 32, 64].forEach((channels, stage) => {
    for (let b = 0; b < 3; b++) {
      const name = `stage${stage + 1}.block${b + 1}`;
      nodes.push(...residualBlockConfig(name, { input, outChannels: channels, stride: stage > 0 && b === 0 ? 2 : 1 }));
      input = `${name}.relu2`;
    }
  });
  nodes.push({ name: 'pool', type: 'GlobalAvgPool' }, { name: 'fc', type: 'Dense', outFeatures: classes }, { name: 'softmax', type: 'Softmax' });
  return nodes;
}

/** A MobileNet-style stack: depthwise 3×3 then pointwise 1×1 convolutions, each with BN and ReLU. */
function mobilenet(classes: number): LayerConfig[] {
  const bnRelu: LayerConfig[] = [{ type: 'BatchNorm2d' }, relu];
  const layers: LayerConfig[] = [{ type: 'Conv2d', outChannels: 16, kernelSize: 3, padding: 1, bias: false }, ...bnRelu];
  let channels = 16;
  for (const [out, stride] of [[32, 1], [64, 2], [64, 1], [128, 2], [128, 1]]) {
    layers.push({ type: 'Conv2d', outChannels: channels, kernelSize: 3, stride, padding: 1, groups: channels, bias: false }, ...bnRelu,
      { type: 'Conv2d', outChannels: out, kernelSize: 1, bias: false }, ...bnRelu);
    channels = out;
  }
  layers.push({ type: 'GlobalAvgPool' }, { type: 'Dense', outFeatures: classes }, { type: 'Softmax' });
  return layers;
}

/** The input shape each preset is made for (`descent summary <preset>` shows it there). */
const defaultInputs: Record<string, number[]> = { resnet20: [32, 32, 3], mobilenet: [32, 32, 3] };

const presets: Record<string, (inputShape: number[], classes: number) => LayerConfig[]> = {
  lenet5: (_s, classes) => [
    { type: 'Conv2d', outChannels: 6, kernelSize: 5, padding: 2 }, relu, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Conv2d', outChannels: 16, kernelSize: 5 }, relu, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 120 }, relu, { type: 'Dense', outFeatures: 84 }, relu,
    { type: 'Dense', outFeatures: classes }, { type: 'Softmax' },
  ],
  cnn: (_s, classes) => [
    { type: 'Conv2d', outChannels: 32, kernelSize: 3 }, relu, { type: 'Conv2d', outChannels: 64, kernelSize: 3 }, relu,
    { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Dropout', p: 0.25 }, { type: 'Flatten' },
    { type: 'Dense', outFeatures: 128 }, relu, { type: 'Dropout', p: 0.5 }, { type: 'Dense', outFeatures: classes }, { type: 'Softmax' },
  ],
  mlp: (_s, classes) => [
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 256 }, relu, { type: 'Dense', outFeatures: 128 }, relu,
    { type: 'Dense', outFeatures: classes }, { type: 'Softmax' },
  ],
  resnet20: (_s, classes) => resnet20(classes),
  mobilenet: (_s, classes) => mobilenet(classes),
};

/** The preset models: lenet5, cnn (Keras' MNIST CNN), mlp, resnet20, mobilenet. */
export const presetNames = Object.keys(presets);

/** Is `name` a preset? */
export function isPreset(name: string): boolean {
  return name in presets;
}

/**
 * A preset model's architecture for images of `inputShape` (without one, the shape the preset is
 * made for: [28, 28, 1] for most) and `classes` classes (build it with Sequential.fromConfig).
 */
export function preset(name: string, inputShape?: number[], classes = 10): ArchitectureConfig {
  const make = presets[name];
  if (!make) throw new DescentError(`unknown model preset "${name}" (known: ${presetNames.join(', ')})`);
  const shape = inputShape ?? defaultInputs[name] ?? [28, 28, 1];
  return { inputShape: shape, layers: make(shape, classes) };
}
