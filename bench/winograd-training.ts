/**
 * Does Winograd change training? NET-B on MNIST (SGD momentum 0.9, lr 0.01, batch 64), the same
 * initialisation and batches with the direct kernels and with Winograd forced on both 3×3
 * layers, and the direct kernels on a different batch order as the yardstick of noise: mean
 * loss per window of steps and test accuracy at the end.
 * `node dist/bench/winograd-training.js [steps] [window]`; bench/results/winograd-training.txt.
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { ConvAlgorithm } from '../src/engine/winograd.js';
import { Sequential } from '../src/network/sequential.js';
import { loadMnist } from '../src/node/mnist.js';
import { createOptimizer } from '../src/train/optimizers/index.js';
import { NETWORKS } from './networks.js';
import { hostFloats } from '../src/core/tensor.js';

const steps = Number(process.argv[2] ?? 200), window = Number(process.argv[3] ?? 20), B = 64;
const train = loadMnist({ split: 'train' }), test = loadMnist({ split: 'test' });

async function run(alg: ConvAlgorithm, orderSeed: number): Promise<{ losses: number[]; accuracy: number }> {
  const engine = await createWasmEngine({ convAlgorithm: alg });
  try {
    const net = Sequential.fromConfig({ inputShape: [28, 28, 1], layers: NETWORKS['NET-B'] },
      { seed: 1, arena: engine.arena, kernels: engine.kernels });
    const opt = createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9 }, net.parameterCount, engine.arena, engine.kernels);
    const rng = new Rng(orderSeed), input = net.inputBuffer(B), labels = new Int32Array(B);
    const losses: number[] = [];
    for (let s = 0; s < steps; s++) {
      for (let i = 0; i < B; i++) {
        const j = rng.int(train.count);
        input.set(train.x.subarray(j * 784, (j + 1) * 784), i * 784);
        labels[i] = train.labels[j];
      }
      losses.push(net.gradient(input, { labels }, B));
      opt.step(net.w, net.g);
    }
    let right = 0;
    const T = 2000;
    for (let s = 0; s < T; s += B) {
      const n = Math.min(B, T - s);
      const p = hostFloats(net.forward(test.x.subarray(s * 784, (s + n) * 784), n, false), 'bench');
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let c = 1; c < 10; c++) if (p[i * 10 + c] > p[i * 10 + best]) best = c;
        if (best === test.labels[s + i]) right++;
      }
    }
    return { losses, accuracy: right / T };
  } finally {
    await engine.dispose();
  }
}

const runs = { 'direct': await run('direct', 1), 'winograd': await run('winograd', 1), 'direct, other order': await run('direct', 2) };
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
console.log(`NET-B on MNIST, SGD momentum 0.9, lr 0.01, batch ${B}, ${steps} steps; mean loss per ${window} steps`);
console.log(`| steps | ${Object.keys(runs).join(' | ')} | winograd − direct | other order − direct |`);
console.log(`|---|${Object.keys(runs).map(() => '---:').join('|')}|---:|---:|`);
for (let s = 0; s < steps; s += window) {
  const m = Object.values(runs).map((r) => mean(r.losses.slice(s, s + window)));
  console.log(`| ${s + 1}–${Math.min(steps, s + window)} | ${m.map((v) => v.toFixed(4)).join(' | ')} | ${(m[1] - m[0]).toFixed(4)} | ${(m[2] - m[0]).toFixed(4)} |`);
}
console.log(`| test accuracy (2000 images) | ${Object.values(runs).map((r) => (100 * r.accuracy).toFixed(2) + '%').join(' | ')} | | |`);
