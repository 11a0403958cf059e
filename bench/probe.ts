/**
 * Machine probe (dist/wasm/probe.wasm, from assembly/probe.ts): the clock this core runs at now,
 * and what the engine's 4×8 f32x4 register tile reaches on L1-resident data on one thread. A
 * 128-bit SIMD core retires at most 2 vector multiplies and 2 vector adds per cycle, 16 flop/cycle,
 * so clock·16 is the ceiling and the tile probe what WebAssembly gets of it; the kernels' speeds
 * are read against these (a shared machine's numbers move from run to run).
 */
import { readFileSync } from 'node:fs';

export interface Probe {
  /** Estimated clock (GHz) from a chain of dependent 1-cycle integer operations. */
  clockGHz: number;
  /** 16 flop/cycle × clock. */
  simdCeilingGflops: number;
  /** The 4×8 register tile on L1 data, one thread: best of several runs. */
  tileGflops: number;
}

export async function probe(): Promise<Probe> {
  const bytes = readFileSync(new URL('../wasm/probe.wasm', import.meta.url));
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(bytes, { env: { memory } });
  const { clockChain, tilePeak } = instance.exports as { clockChain(i: number, s: number): number; tilePeak(b: number, k: number, r: number): number };
  new Float32Array(memory.buffer).fill(0.5);
  const best = (runs: number, f: () => number): number => Math.max(...Array.from({ length: runs }, f));
  const clockIters = 10_000_000;
  const clockGHz = best(7, () => {
    const t = performance.now();
    clockChain(clockIters, 12345);
    return (clockIters * 32) / ((performance.now() - t) * 1e6);
  });
  const kc = 256, reps = 50_000;
  const tileGflops = best(9, () => {
    const t = performance.now();
    tilePeak(0, kc, reps);
    return (kc * reps * 64) / ((performance.now() - t) * 1e6);
  });
  return { clockGHz, simdCeilingGflops: 16 * clockGHz, tileGflops };
}
