/**
 * Old build against this one, in one process: a copy of an earlier build's dist/ (`--base`) and this
 * dist/ are both imported (each with its own WebAssembly module and workers), and
 *   - the training steps of NET-A / NET-B (batch 64, SGD momentum, as engine-step.ts) run in
 *     interleaved short windows, so a shared machine's load falls on both alike: each round's ratio
 *     new/base, median and range; after one step the two gradients must be bitwise equal;
 *   - with --kernels, single kernel calls on the networks' shapes alternate call by call (--pairs, 300):
 *     the median of (base time / new time), outputs checked bitwise equal (--only <text> picks cases;
 *     --cpu, with --threads 1, times by this process's CPU time, steadier on a busy machine).
 *
 *   cp -r dist /tmp/base && ln -s $PWD/node_modules /tmp/base/node_modules   (before the change)
 *   node dist/bench/step-ab.js --base /tmp/base/dist [--threads 2] [--nets NET-A,NET-B] [--rounds 8] [--window 0.5]
 *     [--kernels [--only <text>] [--pairs 300] [--cpu]]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Conv2dGeometry, Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import type { Sequential } from '../src/network/sequential.js';
import type { createOptimizer as CreateOptimizer } from '../src/train/optimizers/index.js';
import type { NETWORKS as Networks } from './networks.js';

const BATCH = 64;
function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const base = arg('base', '');
if (!base) throw new Error('--base <an earlier build\'s dist directory> is required');
const threads = Number(arg('threads', '2'));
const nets = arg('nets', 'NET-A,NET-B').split(',') as (keyof typeof Networks)[];
const rounds = Number(arg('rounds', '8'));
const windowMs = Number(arg('window', '0.5')) * 1000;
const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1];

interface Build {
  label: string;
  engine: WasmEngine;
  Sequential: typeof Sequential;
  createOptimizer: typeof CreateOptimizer;
  NETWORKS: typeof Networks;
}

async function load(label: string, dist: string): Promise<Build> {
  const at = (p: string) => import(pathToFileURL(resolve(dist, p)).href);
  const { createWasmEngine } = await at('src/engine/node-loader.js');
  return {
    label, engine: await createWasmEngine({ threads }), Sequential: (await at('src/network/sequential.js')).Sequential,
    createOptimizer: (await at('src/train/optimizers/index.js')).createOptimizer, NETWORKS: (await at('bench/networks.js')).NETWORKS,
  };
}

/** Seeded uniform values (the same on both builds). */
function fill(a: Float32Array, seed: number): Float32Array {
  let s = seed >>> 0;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 4294967296 - 0.5;
  }
  return a;
}

function stepOf(b: Build, name: keyof typeof Networks) {
  const net = b.Sequential.fromConfig({ inputShape: [28, 28, 1], layers: b.NETWORKS[name] },
    { seed: 1, arena: b.engine.arena, kernels: b.engine.kernels });
  const opt = b.createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9 }, net.parameterCount, b.engine.arena, b.engine.kernels);
  const input = fill(net.inputBuffer(BATCH) as Float32Array, 7);
  for (let i = 0; i < input.length; i++) input[i] += 0.5;
  const labels = Int32Array.from({ length: BATCH }, (_, i) => (i * 7) % 10);
  net.gradient(input, { labels }, BATCH);
  const g = Float32Array.from(net.g as Float32Array);
  return { g, step: () => { net.gradient(input, { labels }, BATCH); opt.step(net.w, net.g); } };
}

function steps(builds: Build[]): void {
  for (const name of nets) {
    const s = builds.map((b) => stepOf(b, name));
    const same = s[0].g.every((v, i) => Object.is(v, s[1].g[i]));
    const rate = (step: () => void) => {
      const t0 = performance.now();
      let n = 0;
      do { step(); n++; } while (performance.now() - t0 < windowMs);
      return (n * BATCH * 1000) / (performance.now() - t0);
    };
    for (const x of s) rate(x.step);
    const got: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [1, 0] : [0, 1];
      for (const i of order) got[i][r] = rate(s[i].step);
    }
    const ratios = got[1].map((v, r) => v / got[0][r]);
    console.log(`${name}, ${threads} threads, ${rounds} rounds of ${windowMs / 1000} s: base ${median(got[0]).toFixed(0)} img/s, ` +
      `new ${median(got[1]).toFixed(0)}: new/base ×${median(ratios).toFixed(3)} (${Math.min(...ratios).toFixed(2)}–` +
      `${Math.max(...ratios).toFixed(2)}); first gradient bitwise equal: ${same}`);
  }
}

/** One kernel call on a build: its outputs (to compare) and the call. */
type Case = (k: Kernels, floats: (n: number, seed: number) => Float32Array, ints: (n: number) => Int32Array) =>
  { run: () => void; outputs: ArrayLike<number>[] };

function pool(N: number, H: number, C: number): Pool2dGeometry {
  return { N, H, W: H, C, OH: H >> 1, OW: H >> 1, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 };
}

function conv(H: number, C: number, O: number, K: number, P: number, S = 1): Conv2dGeometry {
  const OH = Math.floor((H + 2 * P - K) / S) + 1;
  return { N: BATCH, H, W: H, C, O, OH, OW: OH, KH: K, KW: K, SH: S, SW: S, PH: P, PW: P, DH: 1, DW: 1 };
}

/** ReLU outputs (half zeros, as in training) of n values. */
function reluFloats(floats: (n: number, seed: number) => Float32Array, n: number, seed: number): Float32Array {
  const a = floats(n, seed);
  for (let i = 0; i < n; i++) a[i] = Math.max(0, a[i]);
  return a;
}

const maxPool = (g: Pool2dGeometry): Case => (k, floats, ints) => {
  const x = reluFloats(floats, g.N * g.H * g.W * g.C, 1), out = g.N * g.OH * g.OW * g.C;
  const y = floats(out, 2), am = ints(out);
  return { run: () => k.maxPool2dForward(x, y, am, g, 12345), outputs: [y, am] };
};

/** maxPool2dReluBackward after the forward (the arg-maxes), on a ReLU's input that is half negative. */
const maxPoolBack = (g: Pool2dGeometry): Case => (k, floats, ints) => {
  const nIn = g.N * g.H * g.W * g.C, out = g.N * g.OH * g.OW * g.C;
  const z = floats(nIn, 1), x = reluFloats(floats, nIn, 1), y = floats(out, 2), am = ints(out);
  const gy = floats(out, 3), gx = floats(nIn, 4);
  k.maxPool2dForward(x, y, am, g, 12345);
  return { run: () => k.maxPool2dReluBackward!(gy, am, z, gx, g), outputs: [gx] };
};

const convCase = (pass: 'fwd' | 'bwdData' | 'bwdFilter', g: Conv2dGeometry): Case => (k, floats) => {
  const nx = g.N * g.H * g.W * g.C, ny = g.N * g.OH * g.OW * g.O, nw = g.O * g.KH * g.KW * g.C;
  const x = floats(nx, 1), w = floats(nw, 2), b = floats(g.O, 3), y = floats(ny, 4), gw = floats(nw, 5), gb = floats(g.O, 6);
  const relu = floats(ny, 7), gx = floats(nx, 8);
  const run = pass === 'fwd' ? () => k.conv2dForward(x, w, b, y, g, relu)
    : pass === 'bwdData' ? () => k.conv2dBackwardData(y, w, gx, g)
    : () => { gw.fill(0); gb.fill(0); k.conv2dBackwardFilter(x, y, gw, gb, g); };
  return { run, outputs: pass === 'fwd' ? [y, relu] : pass === 'bwdData' ? [gx] : [gw, gb] };
};

/** A case run with Winograd off (the direct kernels, which a 3×3 stride-1 layer otherwise skips). */
const direct = (c: Case): Case => (k, floats, ints) => {
  const made = c(k, floats, ints), kk = k as Kernels & { convAlgorithm: string };
  return {
    run: () => {
      const was = kk.convAlgorithm;
      kk.convAlgorithm = 'direct';
      try { made.run(); } finally { kk.convAlgorithm = was; }
    },
    outputs: made.outputs,
  };
};

/** Dense N→O on a batch: forward with bias and fused ReLU, or backward writing gw (as Sequential asks) with gx and gb. */
const denseCase = (pass: 'fwd' | 'bwd', I: number, O: number): Case => (k, floats) => {
  const x = reluFloats(floats, BATCH * I, 1), w = floats(O * I, 2), b = floats(O, 3), y = floats(BATCH * O, 4);
  const relu = floats(BATCH * O, 5), gy = floats(BATCH * O, 6), gx = floats(BATCH * I, 7), gw = floats(O * I, 8), gb = floats(O, 9);
  return pass === 'fwd' ? { run: () => k.denseForward(x, w, b, y, BATCH, I, O, relu), outputs: [y, relu] }
    : { run: () => k.denseBackward(x, w, gy, gx, gw, gb, BATCH, I, O, true), outputs: [gx, gw, gb] };
};

/** The three products of Dense I→O alone: y = x·Wᵀ, gx = gy·W, gw = gyᵀ·x. */
const productCase = (which: 'xWt' | 'gyW' | 'gytx', I: number, O: number): Case => (k, floats) => {
  const x = reluFloats(floats, BATCH * I, 1), w = floats(O * I, 2), gy = floats(BATCH * O, 6);
  const c = floats(which === 'xWt' ? BATCH * O : which === 'gyW' ? BATCH * I : O * I, 4);
  const run = which === 'xWt' ? () => k.matmul(x, w, c, BATCH, O, I, false, true, false)
    : which === 'gyW' ? () => k.matmul(gy, w, c, BATCH, I, O, false, false, false)
    : () => k.matmul(gy, x, c, O, I, BATCH, true, false, false);
  return { run, outputs: [c] };
};

const CASES: Record<string, Case> = {
  'NET-A pool1 28×28×6 (ReLU input)': maxPool(pool(BATCH, 28, 6)),
  'NET-A pool2 10×10×16': maxPool(pool(BATCH, 10, 16)),
  'NET-B pool 24×24×64': maxPool(pool(BATCH, 24, 64)),
  'NET-A pool1 backward + ReLU': maxPoolBack(pool(BATCH, 28, 6)),
  'NET-A pool2 backward + ReLU': maxPoolBack(pool(BATCH, 10, 16)),
  'NET-A conv1 fwd 28×28×1→6 k5 p2': convCase('fwd', conv(28, 1, 6, 5, 2)),
  'NET-A conv1 bwd-filter 28×28×1→6 k5 p2': convCase('bwdFilter', conv(28, 1, 6, 5, 2)),
  'NET-B conv1 fwd 28×28×1→32 k3': convCase('fwd', conv(28, 1, 32, 3, 0)),
  'NET-B conv1 bwd-filter 28×28×1→32 k3': convCase('bwdFilter', conv(28, 1, 32, 3, 0)),
  'first layer fwd 28×28×1→12 k5 p2 (directTile)': convCase('fwd', conv(28, 1, 12, 5, 2)),
  'first layer fwd 32×32×3→12 k3 p1 (directTile)': convCase('fwd', conv(32, 3, 12, 3, 1)),
  'NET-A conv2 fwd 14×14×6→16 k5': convCase('fwd', conv(14, 6, 16, 5, 0)),
  'NET-A conv2 bwd-data': convCase('bwdData', conv(14, 6, 16, 5, 0)),
  'NET-A conv2 bwd-filter': convCase('bwdFilter', conv(14, 6, 16, 5, 0)),
  'NET-B conv2 direct fwd 26×26×32→64 k3': direct(convCase('fwd', conv(26, 32, 64, 3, 0))),
  'NET-B conv2 direct bwd-filter': direct(convCase('bwdFilter', conv(26, 32, 64, 3, 0))),
  'NET-B conv2 direct bwd-data': direct(convCase('bwdData', conv(26, 32, 64, 3, 0))),
  'ResNet-20 conv direct bwd-data 32×32×16→16 k3 p1': direct(convCase('bwdData', conv(32, 16, 16, 3, 1))),
  'ResNet-20 conv fwd 32×32×16→32 k3 s2 p1': convCase('fwd', conv(32, 16, 32, 3, 1, 2)),
  'ResNet-20 conv bwd-filter 32×32×16→32 k3 s2 p1': convCase('bwdFilter', conv(32, 16, 32, 3, 1, 2)),
  'ResNet-20 conv fwd 32×32×16→32 k1 s2': convCase('fwd', conv(32, 16, 32, 1, 0, 2)),
  'ResNet-20 conv bwd-filter 32×32×16→32 k1 s2': convCase('bwdFilter', conv(32, 16, 32, 1, 0, 2)),
  'NET-A dense 400→120 fwd': denseCase('fwd', 400, 120),
  'NET-A dense 400→120 bwd': denseCase('bwd', 400, 120),
  'NET-A dense 120→84 fwd': denseCase('fwd', 120, 84),
  'NET-A dense 120→84 bwd': denseCase('bwd', 120, 84),
  'NET-B dense 9216→128 fwd': denseCase('fwd', 9216, 128),
  'NET-B dense 9216→128 bwd': denseCase('bwd', 9216, 128),
  'NET-B dense y = x·Wᵀ 64×128 K9216': productCase('xWt', 9216, 128),
  'NET-B dense gx = gy·W 64×9216 K128': productCase('gyW', 9216, 128),
  'NET-B dense gw = gyᵀ·x 128×9216 K64': productCase('gytx', 9216, 128),
};

function kernels(builds: Build[]): void {
  const only = arg('only', '');
  const pairs = Number(arg('pairs', '300'));
  // On one thread, this process's CPU time is the call's own time, whatever else the machine runs.
  const cpu = process.argv.includes('--cpu');
  if (cpu && threads !== 1) throw new Error('--cpu times calls by this process\'s CPU time: use it with --threads 1');
  console.log(`kernel calls, ${threads} threads, batch ${BATCH}: base/new ${cpu ? 'CPU' : 'wall'} time, median of ${pairs} alternating pairs`);
  for (const [label, c] of Object.entries(CASES)) {
    if (only && !label.includes(only)) continue;
    const made = builds.map((b) => c(b.engine.kernels, (n, seed) => fill(b.engine.arena.floats(n), seed),
      (n) => b.engine.arena.ints(n)));
    for (const m of made) m.run();
    const same = made[0].outputs.every((o, i) => Array.prototype.every.call(o,
      (v: number, j: number) => Object.is(v, made[1].outputs[i][j])));
    const time = cpu ? (f: () => void) => { const c0 = process.cpuUsage(); f(); const c = process.cpuUsage(c0); return (c.user + c.system) / 1000; }
      : (f: () => void) => { const t0 = performance.now(); f(); return performance.now() - t0; };
    for (let i = 0; i < 20; i++) { made[0].run(); made[1].run(); }
    const ratios: number[] = [], t: number[][] = [[], []];
    for (let i = 0; i < pairs; i++) {
      const order = i % 2 ? [1, 0] : [0, 1];
      const got = [0, 0];
      for (const j of order) got[j] = time(made[j].run);
      t[0].push(got[0]); t[1].push(got[1]); ratios.push(got[0] / got[1]);
    }
    console.log(`  ${label.padEnd(38)} base ${(median(t[0]) * 1000).toFixed(0).padStart(5)} µs, new ` +
      `${(median(t[1]) * 1000).toFixed(0).padStart(5)} µs: ×${median(ratios).toFixed(3)}; outputs bitwise equal: ${same}`);
  }
}

const builds = [await load('base', base), await load('new', resolve(new URL('..', import.meta.url).pathname))];
try {
  if (process.argv.includes('--kernels')) kernels(builds);
  else steps(builds);
} finally {
  for (const b of builds) await b.engine.dispose();
}
