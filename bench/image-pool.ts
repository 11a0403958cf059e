/**
 * The benchmarks' input: a pool of images with labels, from which every step gathers a random
 * batch (so each step uploads fresh pixels, as training does). MNIST digits for the 28×28×1
 * networks; uniform noise for ResNet-20's 32×32×3 (no CIFAR-10 here: the speed does not depend on it).
 */
import { Rng } from '../src/core/rng.js';
import { loadMnist } from '../src/node/mnist.js';

export class ImagePool {
  readonly size: number;
  constructor(readonly x: Float32Array, readonly labels: Int32Array, readonly shape: readonly [number, number, number]) {
    this.size = labels.length;
  }

  /** Fills input and labels with n random images of the pool. */
  gather(rng: Rng, input: Float32Array | Float64Array, labels: Int32Array, n: number): void {
    const d = this.shape[0] * this.shape[1] * this.shape[2];
    for (let i = 0; i < n; i++) {
      const j = rng.int(this.size);
      input.set(this.x.subarray(j * d, (j + 1) * d), i * d);
      labels[i] = this.labels[j];
    }
  }
}

/** The first `size` MNIST training digits. */
export function mnistPool(size: number): ImagePool {
  const mnist = loadMnist({ split: 'train' });
  return new ImagePool(mnist.x.slice(0, size * 784), mnist.labels.slice(0, size), [28, 28, 1]);
}

/** `size` images of uniform noise in [0, 1) with random labels below `classes`. */
export function noisePool(size: number, shape: readonly [number, number, number], classes: number, seed = 5): ImagePool {
  const rng = new Rng(seed), d = shape[0] * shape[1] * shape[2];
  const x = Float32Array.from({ length: size * d }, () => rng.uniform());
  return new ImagePool(x, Int32Array.from({ length: size }, () => rng.int(classes)), shape);
}
