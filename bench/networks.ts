/** The benchmark's networks (NET-A and NET-B on MNIST-shaped input, ResNet-20 on 32×32×3; 10 classes) and their arithmetic per image. */
import type { LayerConfig } from '../src/layers/layer.js';
import { preset } from '../src/models/presets.js';
import type { ArchitectureConfig, Sequential } from '../src/network/sequential.js';
import { sizeOf } from '../src/core/shape.js';

const relu: LayerConfig = { type: 'ReLU' };

export const NETWORKS: Record<'NET-A' | 'NET-B', LayerConfig[]> = {
  // conv 5×5×6 pad 2 → ReLU → maxpool 2 → conv 5×5×16 → ReLU → maxpool 2 → dense 120 → ReLU → dense 84 → ReLU → dense 10
  'NET-A': [
    { type: 'Conv2d', outChannels: 6, kernelSize: 5, padding: 2 }, relu, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Conv2d', outChannels: 16, kernelSize: 5 }, relu, { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' },
    { type: 'Dense', outFeatures: 120 }, relu, { type: 'Dense', outFeatures: 84 }, relu, { type: 'Dense', outFeatures: 10 },
    { type: 'Softmax' },
  ],
  // conv 3×3×32 → ReLU → conv 3×3×64 → ReLU → maxpool 2 → dense 128 → ReLU → dense 10
  'NET-B': [
    { type: 'Conv2d', outChannels: 32, kernelSize: 3 }, relu, { type: 'Conv2d', outChannels: 64, kernelSize: 3 }, relu,
    { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 128 }, relu,
    { type: 'Dense', outFeatures: 10 }, { type: 'Softmax' },
  ],
};

/** Every network `npm run bench` measures, with its input shape; ResNet-20 is the preset (1×1-projection shortcuts). */
export const BENCH_NETWORKS = {
  'NET-A': { inputShape: [28, 28, 1], layers: NETWORKS['NET-A'] },
  'NET-B': { inputShape: [28, 28, 1], layers: NETWORKS['NET-B'] },
  'ResNet-20': preset('resnet20'),
} satisfies Record<string, ArchitectureConfig>;
export type BenchNetwork = keyof typeof BENCH_NETWORKS;

/**
 * Multiply-adds ×2 of the forward pass of one image (convolutions and dense layers). Training costs
 * three times that: the forward, the input gradient and the weight gradient (NET-A 2.50 M, NET-B 71.95 M,
 * ResNet-20 244.9 M: batch norm, ReLU and the joins are left out of the count).
 */
export function forwardFlops(net: Sequential): number {
  let flops = 0;
  for (const layer of net.layers) {
    const w = layer.params.weight;
    if (!w) continue;
    if (layer.type === 'Conv2d') flops += 2 * w.length * (sizeOf(layer.outputShape) / layer.outputShape[2]);
    if (layer.type === 'Dense') flops += 2 * w.length;
  }
  return flops;
}
