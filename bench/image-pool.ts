/**
 * The benchmarks' input: a pool of images with labels, from which every step gathers a random
 * batch (so each step uploads fresh pixels, as training does). MNIST digits (the first 6,400
 * training images) for the 28×28×1 networks; generated CIFAR-format images (cifar-pool.ts) for
 * ResNet-20's 32×32×3.
 */
import { sizeOf } from '../src/core/shape.js';
import type { Rng } from '../src/core/rng.js';
import { loadMnist } from '../src/node/mnist.js';
import { cifarPool } from './cifar-pool.js';
import { BENCH_NETWORKS, type BenchNetwork } from './networks.js';

const MNIST_POOL = 6400, CIFAR_POOL = 1024;

export class ImagePool {
  /** Numbers per image. */
  readonly size: number;
  constructor(readonly x: Float32Array, readonly labels: Int32Array, readonly shape: readonly number[]) {
    this.size = sizeOf(shape);
  }

  /** Fills input and labels with n random images of the pool. */
  gather(rng: Rng, input: Float32Array | Float64Array, labels: Int32Array, n: number): void {
    const d = this.size;
    for (let i = 0; i < n; i++) {
      const j = rng.int(this.labels.length);
      input.set(this.x.subarray(j * d, (j + 1) * d), i * d);
      labels[i] = this.labels[j];
    }
  }
}

const pools = new Map<string, ImagePool>();

/** The pool a network's batches come from (made once per input shape). */
export function poolFor(name: BenchNetwork): ImagePool {
  const shape = BENCH_NETWORKS[name].inputShape, key = shape.join('x');
  if (!pools.has(key)) {
    if (key === '28x28x1') {
      const mnist = loadMnist({ split: 'train' });
      pools.set(key, new ImagePool(mnist.x.slice(0, MNIST_POOL * 784), mnist.labels.slice(0, MNIST_POOL), shape));
    } else {
      const cifar = cifarPool(CIFAR_POOL, 5);
      pools.set(key, new ImagePool(cifar.x, cifar.labels, shape));
    }
  }
  return pools.get(key)!;
}
