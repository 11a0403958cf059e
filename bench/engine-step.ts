/**
 * Training-step throughput and per-kernel profile of NET-A and NET-B on the WebAssembly engine.
 *
 *   node dist/bench/engine-step.js [--threads 1,2] [--nets NET-A,NET-B] [--seconds 3] [--profile] [--fuse-relu false]
 *
 * Throughput: a step is `net.gradient(x, {labels}, 64)` then `optimizer.step(w, g)` (SGD, momentum
 * 0.9), as the Trainer does it. Reports images/s by wall clock and by this process's CPU time
 * (CPU seconds / threads), median of several windows: on a shared machine the CPU-time figure says
 * what the code costs, the wall figure what it gets.
 *
 * Profile (--profile): every kernel call of a step, in order, with its share count, the time in
 * the call (wall), the time of the calling thread's own share, and the rest (waiting for the
 * workers, i.e. hand-off plus imbalance); then the optimizer, g.fill and what is left (JS glue).
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { Sequential } from '../src/network/sequential.js';
import { createOptimizer, type Optimizer } from '../src/train/optimizers/index.js';
import { NETWORKS } from './networks.js';

const BATCH = 64;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const threadList = arg('threads', '1,2').split(',').map(Number);
const nets = arg('nets', 'NET-A,NET-B').split(',') as (keyof typeof NETWORKS)[];
const seconds = Number(arg('seconds', '3'));
const profile = process.argv.includes('--profile');
const optKind = arg('optimizer', 'sgd');
const fuseRelu = arg('fuse-relu', 'true') !== 'false';

interface Setup {
  net: Sequential;
  opt: Optimizer;
  input: Float32Array;
  labels: Int32Array;
  step: () => void;
}

function setup(name: keyof typeof NETWORKS, engine: WasmEngine): Setup {
  const net = Sequential.fromConfig({ inputShape: [28, 28, 1], layers: NETWORKS[name] },
    { seed: 1, arena: engine.arena, kernels: engine.kernels, fuseRelu });
  const opt = optKind === 'adam'
    ? createOptimizer({ kind: 'adam', lr: 1e-3 }, net.parameterCount, engine.arena, engine.kernels)
    : createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9 }, net.parameterCount, engine.arena, engine.kernels);
  const rng = new Rng(7);
  const input = net.inputBuffer(BATCH) as Float32Array;
  for (let i = 0; i < BATCH * 784; i++) input[i] = rng.uniform();
  const labels = Int32Array.from({ length: BATCH }, () => rng.int(10));
  return {
    net, opt, input, labels, step: () => {
      net.gradient(input, { labels }, BATCH);
      opt.step(net.w, net.g);
    },
  };
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Images/s (wall, and by CPU time divided by threads): median over windows of ~0.5 s. */
function throughput(s: Setup, threads: number): { wall: number; cpu: number; best: number; steps: number } {
  const warm = performance.now() + 700;
  do s.step(); while (performance.now() < warm);
  const walls: number[] = [], cpus: number[] = [];
  const end = performance.now() + seconds * 1000;
  let steps = 0;
  while (performance.now() < end || walls.length < 3) {
    const t0 = performance.now(), c0 = cpuMs();
    let n = 0;
    do { s.step(); n++; } while (performance.now() - t0 < 500);
    const wall = performance.now() - t0, cpu = cpuMs() - c0;
    walls.push((n * BATCH) / (wall / 1000));
    cpus.push((n * BATCH) / (cpu / threads / 1000));
    steps += n;
  }
  return { wall: median(walls), cpu: median(cpus), best: Math.max(...walls), steps };
}

interface Rec { label: string; parts: number; wall: number; own: number; calls: number }

/** Wraps the kernels (per call) and the runtime's kernel functions (the calling thread's share). */
function profiled(engine: WasmEngine, s: Setup, steps: number): void {
  type Run = (name: string, shares: number, threads: number) => void;
  const rt = (engine.kernels as unknown as { rt: { kernels: ((p: number, a: number, b: number) => void)[]; run: Run } }).rt;
  const origFns = rt.kernels.slice();
  let own = 0, parts = 1;
  // A kernel method may make several WebAssembly calls (denseBackward: gx, gw, then the bias sum).
  const run = rt.run.bind(rt);
  rt.run = (name, shares, threads) => { parts = Math.max(parts, threads); run(name, shares, threads); };
  rt.kernels = origFns.map((f) => (p: number, a: number, b: number) => {
    const t0 = performance.now();
    try { f(p, a, b); } finally { own += performance.now() - t0; }
  });
  const recs: Rec[] = [];
  let seq = 0;
  const wrapper: Record<string, unknown> = {};
  const proto = Object.getPrototypeOf(engine.kernels) as Record<string, unknown>;
  for (const key of Object.getOwnPropertyNames(proto)) {
    const fn = proto[key];
    if (key === 'constructor' || typeof fn !== 'function') continue;
    wrapper[key] = (...args: unknown[]) => {
      const k = seq++;
      parts = 1;
      own = 0;
      const t0 = performance.now();
      const r = (fn as (...a: unknown[]) => unknown).apply(engine.kernels, args);
      const dt = performance.now() - t0;
      const rec = recs[k] ??= { label: `${key} ${describe(key, args)}`, parts: 0, wall: 0, own: 0, calls: 0 };
      rec.parts = Math.max(rec.parts, parts);
      rec.wall += dt; rec.own += own; rec.calls++;
      return r;
    };
  }
  const net = s.net;
  const saved = net.kernels;
  net.kernels = Object.assign(Object.create(engine.kernels as object) as Kernels, wrapper);
  let opt = 0, fill = 0, total = 0;
  const gfill = net.g.fill.bind(net.g);
  const gArr = net.g as Float32Array & { fill: (v: number, start?: number, end?: number) => Float32Array };
  // gradient() zeroes only the ranges no layer writes outright (Layer.writesGradients).
  gArr.fill = (v: number, start?: number, end?: number) => {
    const t0 = performance.now(); gfill(v, start, end); fill += performance.now() - t0; return gArr;
  };
  for (let i = 0; i < steps; i++) {
    seq = 0;
    const t0 = performance.now();
    net.gradient(s.input, { labels: s.labels }, BATCH);
    const t1 = performance.now();
    s.opt.step(net.w, net.g);
    const t2 = performance.now();
    opt += t2 - t1; total += t2 - t0;
  }
  net.kernels = saved;
  delete (gArr as { fill?: unknown }).fill;
  rt.kernels = origFns;
  delete (rt as { run?: Run }).run;
  const per = (v: number) => (v / steps).toFixed(3).padStart(8);
  let sumWall = 0, sumOwn = 0;
  console.log(`  ${'call'.padEnd(70)} parts  wall ms   own ms  wait ms`);
  for (const r of recs) {
    sumWall += r.wall; sumOwn += r.own;
    console.log(`  ${r.label.padEnd(70)} ${String(r.parts).padStart(5)} ${per(r.wall)} ${per(r.own)} ${per(r.wall - r.own)}`);
  }
  console.log(`  ${'kernels total'.padEnd(70)}       ${per(sumWall)} ${per(sumOwn)} ${per(sumWall - sumOwn)}`);
  console.log(`  ${'optimizer.step'.padEnd(70)}       ${per(opt)}`);
  console.log(`  ${'g.fill(0)'.padEnd(70)}       ${per(fill)}`);
  console.log(`  ${'rest (JS glue in Sequential/layers, profiler)'.padEnd(70)}       ${per(total - sumWall - opt - fill)}`);
  console.log(`  ${'step total'.padEnd(70)}       ${per(total)}   → ${(BATCH * 1000 / (total / steps)).toFixed(0)} img/s`);
}

function describe(key: string, args: unknown[]): string {
  const g = args.find((a) => a !== null && typeof a === 'object' && 'N' in (a as object) && 'KH' in (a as object)) as
    Record<string, number> | undefined;
  if (g) return `N${g.N} ${g.H}×${g.W}×${g.C}→${'O' in g ? g.O : g.C} k${g.KH}`;
  const nums = args.filter((a) => typeof a === 'number') as number[];
  if (key.startsWith('dense')) return `N${nums[0]} ${nums[1]}→${nums[2]}`;
  return nums.slice(0, 3).join('×');
}

for (const threads of threadList) {
  const engine = await createWasmEngine({ threads });
  try {
    for (const name of nets) {
      const s = setup(name, engine);
      const t = throughput(s, threads);
      console.log(`${name} ${threads}T: ${t.wall.toFixed(0)} img/s wall (best window ${t.best.toFixed(0)}), ` +
        `${t.cpu.toFixed(0)} img/s by CPU time/threads, ${(BATCH * 1000 / t.wall).toFixed(2)} ms/step, ${t.steps} steps`);
      if (profile) profiled(engine, s, Math.max(20, Math.round(t.steps / 4)));
    }
  } finally {
    await engine.dispose();
  }
}
