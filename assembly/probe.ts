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
 * The engine's 4×8 f32x4 register tile (gemm.ts) over panels that stay in L1 (a[kc][4] at base,
 * b[kc][8] 16 KiB further): 64 flops per k, no stores. `reps` tiles of kc steps each.
 */
export function tilePeak(base: usize, kc: i32, reps: i32): f32 {
  let s = f32x4.splat(0);
  for (let r = 0; r < reps; r++) {
    let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    let ap = base, bp = base + 16384;
    const aEnd = ap + (<usize>kc << 4);
    while (ap < aEnd) {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
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
      ap += 16;
      bp += 32;
    }
    s = f32x4.add(s, f32x4.add(f32x4.add(f32x4.add(c00, c01), f32x4.add(c10, c11)),
      f32x4.add(f32x4.add(c20, c21), f32x4.add(c30, c31))));
  }
  return f32x4.extract_lane(s, 0);
}
