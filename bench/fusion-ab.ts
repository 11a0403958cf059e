/**
 * The ReLU backward fusion of src/network/fusion-plan.ts (max-pool + ReLU), A/B in one process: NET-A
 * and NET-B training steps (batch 64, SGD momentum, as engine-step.ts) with it and without (the ReLU's
 * forward fusion stays on in both), in interleaved short windows, so that a shared machine's load
 * falls on both alike. Prints each
 * variant's median images/s (by wall clock, and per second of the process's CPU time) and the
 * median of its per-round ratios to "unfused", with their range.
 *
 *   node dist/bench/fusion-ab.js [--threads 2] [--nets NET-A,NET-B] [--rounds 8] [--window 0.5]
 *
 * With --kernels, the fused calls alone against the unfused ones on the networks' shapes (batch 64),
 * alternating call by call (each a fraction of a millisecond, so load changes hit both alike):
 * the median over pairs of (unfused time / fused time).
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { Conv2dGeometry, Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
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

/** The convolution + ReLU + 2×2 pool of a network layer, at batch 64. */
function layer(H: number, C: number, O: number, K: number, P: number): { g: Conv2dGeometry; pg: Pool2dGeometry } {
  const OH = H + 2 * P - K + 1;
  return {
    g: { N: BATCH, H, W: H, C, O, OH, OW: OH, KH: K, KW: K, SH: 1, SW: 1, PH: P, PW: P, DH: 1, DW: 1 },
    pg: { N: BATCH, H: OH, W: OH, C: O, OH: OH >> 1, OW: OH >> 1, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 },
  };
}

function kernelPairs(engine: WasmEngine): void {
  const k = engine.kernels, a = engine.arena, rng = new Rng(3);
  const floats = (n: number) => {
    const t = a.floats(n) as Float32Array;
    for (let i = 0; i < n; i++) t[i] = rng.normal();
    return t;
  };
  const time = (f: () => void) => { const t0 = performance.now(); f(); return performance.now() - t0; };
  const pairs = (label: string, unfused: () => void, fused: () => void) => {
    for (let i = 0; i < 20; i++) { unfused(); fused(); }
    const ratios: number[] = [], us: number[] = [], fs: number[] = [];
    for (let i = 0; i < 300; i++) {
      const first = i % 2 ? time(unfused) : time(fused), second = i % 2 ? time(fused) : time(unfused);
      const [u, f] = i % 2 ? [first, second] : [second, first];
      ratios.push(u / f); us.push(u); fs.push(f);
    }
    console.log(`  ${label.padEnd(44)} unfused ${(median(us) * 1000).toFixed(0).padStart(5)} µs, fused ${(median(fs) * 1000).toFixed(0).padStart(5)} µs: ×${median(ratios).toFixed(3)}`);
  };
  console.log(`fused kernels, ${threads} threads, batch ${BATCH} (300 alternating pairs):`);
  for (const [name, { g, pg }] of [['NET-A conv1 28×28×1→6 k5 p2', layer(28, 1, 6, 5, 2)], ['NET-A conv2 14×14×6→16 k5', layer(14, 6, 16, 5, 0)],
    ['NET-B conv2 26×26×32→64 k3', layer(26, 32, 64, 3, 0)]] as const) {
    const x = floats(g.N * g.H * g.W * g.C), w = floats(g.O * g.KH * g.KW * g.C), b = floats(g.O);
    const out = g.N * g.OH * g.OW * g.O, pooled = pg.N * pg.OH * pg.OW * pg.C;
    const y = floats(out), relu = floats(out), p = floats(pooled), argmax = a.ints(pooled), gy = floats(pooled), gx = floats(out);
    k.conv2dForward(x, w, b, y, g, relu);
    k.maxPool2dForward(relu, p, argmax, pg, 7);
    pairs(`${name} pool + ReLU backward`, () => { k.maxPool2dBackward(gy, argmax, relu, pg); k.activationBackward('relu', y, relu, relu, gx, out, 0); },
      () => k.maxPool2dReluBackward!(gy, argmax, y, gx, pg));
  }
}

const engine = await createWasmEngine({ threads });
try {
  if (process.argv.includes('--kernels')) {
    kernelPairs(engine);
    process.exit(0);
  }
  const k = engine.kernels;
  const variants: Record<string, Kernels> = { unfused: without(k, 'maxPool2dReluBackward'), fused: k };
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
