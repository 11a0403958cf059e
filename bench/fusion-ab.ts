/**
 * The kernel fusions of src/network/fusion-plan.ts, A/B in one process: NET-A and NET-B training
 * steps (batch 64, SGD momentum, as engine-step.ts) with every fusion, with the pool's forward
 * fusion only, its backward fusion only, and neither (the ReLU fusion stays on throughout), in
 * interleaved short windows, so that a shared machine's load falls on all alike. Prints each
 * variant's median images/s (by wall clock, and per second of the process's CPU time) and the
 * median of its per-round ratios to "neither", with their range.
 *
 *   node dist/bench/fusion-ab.js [--threads 2] [--nets NET-A,NET-B] [--rounds 8] [--window 0.5]
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { Sequential } from '../src/network/sequential.js';
import { createOptimizer } from '../src/train/optimizers/index.js';
import { NETWORKS } from './networks.js';

const BATCH = 64;
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const threads = Number(arg('threads', '2'));
const nets = arg('nets', 'NET-A,NET-B').split(',') as (keyof typeof NETWORKS)[];
const rounds = Number(arg('rounds', '8'));
const windowMs = Number(arg('window', '0.5')) * 1000;

/** The engine's kernels with some of the optional fused kernels hidden. */
function without(kernels: Kernels, ...hidden: (keyof Kernels)[]): Kernels {
  const k = Object.create(kernels) as Record<string, unknown>;
  for (const name of hidden) k[name] = undefined;
  return k as unknown as Kernels;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

const engine = await createWasmEngine({ threads });
try {
  const k = engine.kernels;
  const variants: Record<string, Kernels> = {
    neither: without(k, 'conv2dReluMaxPoolForward', 'maxPool2dReluBackward'),
    'forward only': without(k, 'maxPool2dReluBackward'),
    'backward only': without(k, 'conv2dReluMaxPoolForward'),
    both: k,
  };
  for (const name of nets) {
    const steps = Object.entries(variants).map(([label, kernels]) => {
      const net = Sequential.fromConfig({ inputShape: [28, 28, 1], layers: NETWORKS[name] },
        { seed: 1, arena: engine.arena, kernels });
      const opt = createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9 }, net.parameterCount, engine.arena, k);
      const rng = new Rng(7), input = net.inputBuffer(BATCH) as Float32Array;
      for (let i = 0; i < BATCH * 784; i++) input[i] = rng.uniform();
      const labels = Int32Array.from({ length: BATCH }, () => rng.int(10));
      return { label, step: () => { net.gradient(input, { labels }, BATCH); opt.step(net.w, net.g); } };
    });
    const cpuMs = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
    // Images/s by wall clock, and by the process's CPU time (all threads; spinning workers count).
    const rate = (step: () => void) => {
      const t0 = performance.now(), c0 = cpuMs();
      let n = 0;
      do { step(); n++; } while (performance.now() - t0 < windowMs);
      return { wall: (n * BATCH * 1000) / (performance.now() - t0), cpu: (n * BATCH * 1000) / (cpuMs() - c0) };
    };
    for (const s of steps) rate(s.step); // warm-up
    const got: { wall: number; cpu: number }[][] = steps.map(() => []);
    for (let r = 0; r < rounds; r++) {
      // Alternate the order, so no variant always follows the same one.
      const order = steps.map((_, i) => i);
      if (r % 2) order.reverse();
      for (const i of order) got[i][r] = rate(steps[i].step);
    }
    console.log(`${name}, ${threads} threads, ${rounds} rounds of ${windowMs / 1000} s windows:`);
    steps.forEach((s, i) => {
      const show = (key: 'wall' | 'cpu') => {
        const ratios = got[i].map((v, r) => v[key] / got[0][r][key]);
        return `${median(got[i].map((v) => v[key])).toFixed(0).padStart(6)} ×${median(ratios).toFixed(3)} ` +
          `(${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
      };
      console.log(`  ${s.label.padEnd(14)} wall img/s ${show('wall')}   per CPU-s ${show('cpu')}`);
    });
  }
} finally {
  await engine.dispose();
}
