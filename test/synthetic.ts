/** A small, seeded, separable image task for training tests: each class lights its own patch. */
import { Rng } from '../src/core/rng.js';
import { createDataset, type Dataset } from '../src/data/dataset.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';

/** `ds` with Gaussian pixel noise of deviation sigma, so that some samples stay uncertain or wrong. */
export function noisy(ds: Dataset, sigma: number, seed: number): Dataset {
  const rng = new Rng(seed);
  return { ...ds, x: ds.x.map((v) => v + sigma * rng.normal()) };
}

export function patches(count: number, seed: number, classes = 3, size = 8): Dataset {
  const rng = new Rng(seed);
  const x = new Float32Array(count * size * size), labels = new Int32Array(count);
  for (let n = 0; n < count; n++) {
    const c = rng.int(classes);
    labels[n] = c;
    const top = c % 2 === 0 ? 0 : size / 2, left = c < 2 ? 0 : size / 2;
    for (let i = 0; i < size * size; i++) x[n * size * size + i] = 0.3 * rng.uniform();
    for (let h = 0; h < size / 2; h++)
      for (let w = 0; w < size / 2; w++) x[n * size * size + (top + h) * size + left + w] += 0.6 + 0.2 * rng.normal();
  }
  return createDataset({ x, labels, shape: [size, size, 1], classes }, 'patches');
}

export const smallCnn: LayerConfig[] = [
  { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
  { type: 'Flatten' }, { type: 'Dropout', p: 0.2 }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
];

/** The small CNN; without dropout its gradient is a deterministic function of w and the batch. */
export function smallNet(seed: number, dropout = true): Sequential {
  const layers = dropout ? smallCnn : smallCnn.filter((l) => l.type !== 'Dropout');
  return Sequential.fromConfig({ inputShape: [8, 8, 1], layers }, { seed });
}
