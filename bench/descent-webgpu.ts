/**
 * Descent's side of the WebGPU benchmark: a network on the webgpu engine, the bench protocol (SGD
 * momentum 0.9, a fresh batch uploaded each step). A training step records forward, risk,
 * back-propagation and the optimizer's update, and ends when its loss is back on the host (one wait
 * per step); an inference step ends when the outputs are back.
 */
import { Rng } from '../src/core/rng.js';
import type { Engine } from '../src/engine/engine.js';
import { Sequential } from '../src/network/sequential.js';
import { createOptimizer } from '../src/train/optimizers/index.js';
import type { ImagePool } from './image-pool.js';
import type { Contender } from './measure.js';
import { BENCH_NETWORKS, type BenchNetwork } from './networks.js';

/** The network `name` on `engine` (its arena and kernels). */
export function descentNetwork(name: BenchNetwork, engine: Engine): Sequential {
  return Sequential.fromConfig(BENCH_NETWORKS[name], { seed: 1, arena: engine.arena, kernels: engine.kernels });
}

export function descentContender(net: Sequential, engine: Engine, pool: ImagePool, batch: number): Contender {
  const device = engine.kernels.device;
  if (!device) throw new Error(`the ${engine.name} engine keeps its tensors on the host: this benchmark is for the webgpu engine`);
  const optimizer = createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9 }, net.parameterCount, engine.arena, engine.kernels);
  const rng = new Rng(7), labels = new Int32Array(batch), input = net.inputBuffer(batch);
  return {
    async train() {
      pool.gather(rng, input, labels, batch);
      net.recordGradient(input, { labels }, batch);
      optimizer.step(net.wTensor, net.gTensor);
      await device.read(device.loss);
    },
    async infer() {
      pool.gather(rng, input, labels, batch);
      net.forward(input, batch, false);
      await net.readOutput(batch);
    },
    dispose() {},
  };
}
