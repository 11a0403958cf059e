/**
 * Generated CIFAR-format images for the ResNet-20 row (the real set cannot be downloaded here):
 * each image a noisy background with a square whose colour is its class, written as CIFAR-10
 * binary records and read back by the data set's own parser, so the benchmark feeds the network
 * what `--data cifar10:` would.
 */
import { Rng } from '../src/core/rng.js';
import { CIFAR10_PIXELS, cifar10ToDataset, encodeCifar10 } from '../src/data/cifar10.js';

export function cifarPool(count: number, seed: number): { x: Float32Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const images = new Uint8Array(count * CIFAR10_PIXELS), labels: number[] = [];
  for (let n = 0; n < count; n++) {
    const label = rng.int(10), y0 = rng.int(20), x0 = rng.int(20);
    labels.push(label);
    const colour = [(label & 1) * 255, ((label >> 1) & 1) * 255, (label >> 2) * 85];
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) {
      const inside = y >= y0 && y < y0 + 12 && x >= x0 && x < x0 + 12;
      images[n * CIFAR10_PIXELS + (y * 32 + x) * 3 + c] = inside ? colour[c] : rng.int(256);
    }
  }
  const ds = cifar10ToDataset([{ bytes: encodeCifar10(images, labels), source: 'generated' }]);
  return { x: ds.x, labels: ds.labels };
}
