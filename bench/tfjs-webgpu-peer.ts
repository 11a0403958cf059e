/// <reference types="@webgpu/types" />
/**
 * The WebGPU benchmark's peer: TensorFlow.js 4.22 with `@tensorflow/tfjs-backend-webgpu` 4.22 in
 * Node, on Dawn (the `webgpu` package) and so on the same adapter as Descent's webgpu engine.
 * The backend looks for `navigator.gpu` when it is imported (Node 20 has no `navigator`), so it is
 * given Dawn's `GPU` object there first, then imported.
 * A step follows the bench protocol (SGD momentum 0.9, a fresh batch uploaded each step) and ends
 * when its loss (training) or its logits (inference) are back on the host, as Descent's steps do.
 *
 * What works and what does not, found on Dawn/SwiftShader (webgpu 0.6.2, Node 20):
 * - Works: NET-A, NET-B and ResNet-20 (batch norm in training mode) train and infer; the backend
 *   takes Dawn's `GPU` as `navigator.gpu`, names the adapter from `adapter.info` ("google
 *   swiftshader"), and is the CommonJS build that shares @tensorflow/tfjs's tfjs-core instance.
 * - Does not: `dataSync()`/`arraySync()` (the synchronous read goes through OffscreenCanvas, which
 *   Node lacks: "OffscreenCanvas is not defined"), so every read here is `await data()`; and the
 *   backend registers only if `navigator.gpu` exists when it is imported (a static import, before
 *   Dawn is loaded, leaves TF.js without it).
 * - Its defaults stay as they are: tensors under 1,000 elements run on TF.js's CPU backend
 *   (WEBGPU_CPU_HANDOFF_SIZE_THRESHOLD), and it submits every 15 dispatches
 *   (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE), as a TF.js user gets it.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/core/rng.js';
import type { ImagePool } from './image-pool.js';
import type { Contender } from './measure.js';
import { model } from './tfjs-peer.js';
import { resnet20 } from './tfjs-resnet20.js';
import type { BenchNetwork } from './networks.js';

/** TF.js's WebGPU backend on `gpu` (Dawn's GPU object in Node): its adapter ("vendor architecture") and TF.js's version. */
export async function startTfjsWebgpu(gpu: GPU): Promise<{ adapter: string; version: string }> {
  const g = globalThis as { navigator?: { gpu?: GPU } };
  if (!g.navigator) Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
  else if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('TF.js could not start its webgpu backend');
  const info = (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } }).adapterInfo;
  return { adapter: [info?.vendor, info?.architecture].filter((s) => s).join(' ') || 'unnamed adapter', version: tf.version_core };
}

/** `name` on TF.js's current backend (startTfjsWebgpu first), fed batches of `batch` images from `pool`. */
export function tfjsContender(name: BenchNetwork, pool: ImagePool, batch: number): Contender {
  const m = name === 'ResNet-20' ? resnet20() : model(name);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const rng = new Rng(7), input = new Float32Array(batch * pool.size), labels = new Int32Array(batch);
  const upload = () => {
    pool.gather(rng, input, labels, batch);
    return tf.tidy(() => ({ x: tf.tensor(input, [batch, ...pool.shape]), y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) }));
  };
  return {
    async train() {
      const { x, y } = upload();
      // training: true, so that batch norm normalises with the batch's statistics, as Descent's does.
      const cost = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, true)!;
      await cost.data();
      tf.dispose([x, y, cost]);
    },
    async infer() {
      const { x, y } = upload();
      const logits = m.predict(x) as tf.Tensor;
      await logits.data();
      tf.dispose([x, y, logits]);
    },
    dispose() {
      optimizer.dispose();
      m.dispose();
    },
  };
}
