/**
 * Ready architectures for 28×28 grey images and 10 classes (MNIST-shaped), by name:
 * - `lenet5`: LeNet-5 with ReLU and max-pooling (the benchmark's NET-A), 61,706 parameters.
 * - `cnn`: the classic Keras MNIST CNN (NET-B plus its two dropouts), 1.2 M parameters.
 * - `mlp`: two hidden layers of 256 and 128 units.
 * Each ends in Softmax: the network maps an input onto the simplex P (notes, section 1).
 */
import { DescentError } from '../core/errors.js';
import type { LayerConfig } from '../layers/layer.js';
import type { ArchitectureConfig } from '../network/sequential.js';

const relu: LayerConfig = { type: 'ReLU' };

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
};

/** The preset models: lenet5, cnn (Keras' MNIST CNN), mlp. */
export const presetNames = Object.keys(presets);

/** Is `name` a preset? */
export function isPreset(name: string): boolean {
  return name in presets;
}

/** A preset model's architecture for images of `inputShape` and `classes` classes (build it with Sequential.fromConfig). */
export function preset(name: string, inputShape: number[] = [28, 28, 1], classes = 10): ArchitectureConfig {
  const make = presets[name];
  if (!make) throw new DescentError(`unknown model preset "${name}" (known: ${presetNames.join(', ')})`);
  return { inputShape, layers: make(inputShape, classes) };
}
