import { tile } from './gemm';

/**
 * Machine probes for the benchmark (built to dist/wasm/probe.wasm; not part of the engine): what
 * this CPU gives WebAssembly right now, so that kernel speeds can be read against a ceiling.
 */

/**
 * A dependent chain of 2-cycle steps (shift, then xor with the other shift): 16 steps per
 * iteration, so cycles ≈ 32·iters and the clock is 32·iters / time.
 */
export function clockChain(iters: i32, seed: i32): i32 {
  let x = seed;
  for (let i = 0; i < iters; i++) {
    x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3);
    x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3);
    x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3);
    x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3); x = (x << 1) ^ (x >>> 3);
  }
  return x;
}

/**
 * The engine's own 4×8 f32x4 register tile (gemm.ts) over panels that stay in L1 (a[kc][4] at
 * base, b[kc][8] 16 KiB further, the 4×8 result 48 KiB further): 64 flops per k. `reps` tiles.
 */
export function tilePeak(base: usize, kc: i32, reps: i32): void {
  const c = base + 49152, tmp = c + 128;
  for (let r = 0; r < reps; r++) tile(base, base + 16384, kc, c, 32, 4, 8, 0, 0, tmp);
}
