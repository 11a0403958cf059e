/**
 * Machine probe (dist/wasm/probe.wasm, from assembly/probe.ts): the clock this core runs at now,
 * and what the engine's 4×8 f32x4 register tile reaches on L1-resident data, on one thread and
 * on every core at once. A 128-bit SIMD core retires at most 2 vector multiplies and 2 vector
 * adds per cycle, 16 flop/cycle, so clock·16 is the ceiling and the tile probe what WebAssembly
 * gets of it; the kernels' speeds are read against these (a shared machine's numbers move from
 * run to run, and one core may be slower than another while a neighbour runs).
 */
import { readFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

export interface Probe {
  /** Estimated clock (GHz) from a chain of dependent 1-cycle integer operations. */
  clockGHz: number;
  /** 16 flop/cycle × clock. */
  simdCeilingGflops: number;
  /** The 4×8 register tile on L1 data, one thread: best of 20 runs. */
  tileGflops: number;
  /** The same tile on every core at once, best of 6 runs each: GFLOP/s per thread (their sum bounds a multi-threaded kernel). */
  tileAllCores: number[];
}

interface ProbeExports {
  clockChain(iters: number, seed: number): number;
  tilePeak(base: number, kc: number, reps: number): void;
}

const KC = 256;

async function instantiate(): Promise<ProbeExports> {
  const bytes = readFileSync(new URL('../wasm/probe.wasm', import.meta.url));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  new Float32Array(memory.buffer).fill(0.5);
  return instance.exports as unknown as ProbeExports;
}

function tileRate(p: ProbeExports, reps: number): number {
  const t = performance.now();
  p.tilePeak(0, KC, reps);
  return (KC * reps * 64) / ((performance.now() - t) * 1e6);
}

/**
 * Short calls for ~200 ms: V8 first runs WebAssembly on its baseline compiler and swaps in the
 * optimised code between calls, never inside a running one.
 */
function warmUp(p: ProbeExports): void {
  const end = performance.now() + 200;
  while (performance.now() < end) tileRate(p, 1000);
}

/** All cores at once: each worker warms up, waits at a barrier, then runs the tile. */
async function tileOnAllCores(cores: number, reps: number): Promise<number[]> {
  const barrier = new Int32Array(new SharedArrayBuffer(4));
  const workers = Array.from({ length: cores }, () => new Worker(new URL(import.meta.url), { workerData: { barrier, cores, reps } }));
  try {
    return await Promise.all(workers.map((w) => new Promise<number>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    })));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

if (!isMainThread && workerData?.barrier) {
  const { barrier, cores, reps } = workerData as { barrier: Int32Array; cores: number; reps: number };
  const p = await instantiate();
  warmUp(p);
  if (Atomics.add(barrier, 0, 1) === cores - 1) Atomics.notify(barrier, 0);
  while (Atomics.load(barrier, 0) < cores) Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 100);
  parentPort?.postMessage(Math.max(...Array.from({ length: 6 }, () => tileRate(p, reps))));
}

export async function probe(cores = 1): Promise<Probe> {
  const p = await instantiate();
  warmUp(p);
  const best = (runs: number, f: () => number): number => Math.max(...Array.from({ length: runs }, f));
  const clockIters = 10_000_000;
  const clockGHz = best(7, () => {
    const t = performance.now();
    p.clockChain(clockIters, 12345);
    return (clockIters * 32) / ((performance.now() - t) * 1e6);
  });
  // Best of 20 runs of ~70 ms: a core shared with a neighbour for a moment is not the ceiling.
  const tileGflops = best(20, () => tileRate(p, 50_000));
  const tileAllCores = cores > 1 ? await tileOnAllCores(cores, 100_000) : [tileGflops];
  return { clockGHz, simdCeilingGflops: 16 * clockGHz, tileGflops, tileAllCores };
}
