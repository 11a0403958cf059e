/**
 * The peer: TensorFlow.js 4.22 with its pure-JavaScript CPU backend, on the same networks, batch and
 * optimizer. It is slow here (~25 images/s on NET-A, ~1 on NET-B), so its windows are time-bounded.
 */
import * as tf from '@tensorflow/tfjs';
import { timeSteps, type Timing } from './measure.js';

/** NET-A or NET-B as a TF.js model (logits: the loss applies the soft-max). */
export function model(name: 'NET-A' | 'NET-B'): tf.Sequential {
  const m = tf.sequential();
  if (name === 'NET-A') {
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 120, activation: 'relu' }));
    m.add(tf.layers.dense({ units: 84, activation: 'relu' }));
  } else {
    m.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 32, kernelSize: 3, activation: 'relu' }));
    m.add(tf.layers.conv2d({ filters: 64, kernelSize: 3, activation: 'relu' }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  }
  m.add(tf.layers.dense({ units: 10 }));
  return m;
}

export async function tfjsPeer(name: 'NET-A' | 'NET-B', batch: number): Promise<{ train: Timing; infer: Timing; memoryMiB: number }> {
  await tf.setBackend('cpu');
  const rss0 = process.memoryUsage().rss;
  const m = model(name);
  const optimizer = tf.train.momentum(0.01, 0.9);
  const x = tf.randomUniform([batch, 28, 28, 1]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 10, 'int32') as tf.Tensor1D, 10);
  const budget = { windows: 5, windowSeconds: 1, warmupSeconds: 0, budgetSeconds: name === 'NET-A' ? 15 : 5 };
  const train = await timeSteps(() => tf.tidy(() => {
    optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor) as tf.Scalar);
  }), batch, budget);
  const infer = await timeSteps(() => tf.tidy(() => void (m.predict(x) as tf.Tensor).dataSync()), batch, budget);
  const memoryMiB = Math.max(0, process.memoryUsage().rss - rss0) / 2 ** 20;
  tf.disposeVariables();
  x.dispose();
  y.dispose();
  return { train, infer, memoryMiB };
}
