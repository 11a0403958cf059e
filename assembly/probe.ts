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
 * The engine's own 4×8 f32x4 register tile (tile.ts, through gemm.ts's `tile`) over panels that
 * stay in L1 (a[kc][4] at base, b[kc][8] 16 KiB further, the 4×8 result 48 KiB further): 64
 * flops per k. `reps` tiles.
 */
export function tilePeak(base: usize, kc: i32, reps: i32): void {
  const c = base + 49152, tmp = c + 128;
  for (let r = 0; r < reps; r++) tile(base, base + 16384, kc, c, 32, 4, 8, 0, 0, tmp);
}

/**
 * Variants of the tile for bench/tile-variants.ts (same additions per accumulator, same order, so
 * bitwise the same results): unrolled by two k steps, and one loop counter instead of two pointers.
 */
function tileUnrolled(ap: usize, bp: usize, kc: i32, c: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const aEnd = ap + (<usize>(kc & ~1) << 4);
  while (ap < aEnd) {
    let b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    b0 = v128.load(bp, 32); b1 = v128.load(bp, 48);
    a = v128.load32_splat(ap, 16);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 20);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 24);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 28);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 32;
    bp += 64;
  }
  storeTile(c, c00, c01, c10, c11, c20, c21, c30, c31);
}

function tileCounter(ap: usize, bp: usize, kc: i32, c: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let k = 0; k < kc; k++) {
    const a4 = ap + (<usize>k << 4), b8 = bp + (<usize>k << 5);
    const b0 = v128.load(b8), b1 = v128.load(b8, 16);
    let a = v128.load32_splat(a4);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(a4, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(a4, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(a4, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
  }
  storeTile(c, c00, c01, c10, c11, c20, c21, c30, c31);
}

@inline function storeTile(c: usize, c00: v128, c01: v128, c10: v128, c11: v128, c20: v128, c21: v128, c30: v128, c31: v128): void {
  v128.store(c, c00); v128.store(c, c01, 16); v128.store(c, c10, 32); v128.store(c, c11, 48);
  v128.store(c, c20, 64); v128.store(c, c21, 80); v128.store(c, c30, 96); v128.store(c, c31, 112);
}

/** tilePeak with a variant: 1 unrolled by two, 2 one counter. */
export function tilePeakVariant(variant: i32, base: usize, kc: i32, reps: i32): void {
  const c = base + 49152;
  if (variant == 1) for (let r = 0; r < reps; r++) tileUnrolled(base, base + 16384, kc, c);
  else for (let r = 0; r < reps; r++) tileCounter(base, base + 16384, kc, c);
}
