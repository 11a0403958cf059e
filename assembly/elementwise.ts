/**
 * Bias broadcast and its gradient (column sums), and inverted dropout.
 *
 * Parameter words: BiasRows (addBias, sumRows) and Dropout in src/engine/kernel-params.ts.
 * addBias: threads split rows. sumRows: threads split columns in groups of four; each column is
 * summed from its current value over rows in increasing order, whatever the split.
 * dropoutForward / dropoutBackward: unit i is dropped when hash32(seed, i) < threshold, as in the
 * reference, and kept units are scaled in float64 exactly like the reference.
 */
import { hash32 } from './hash';
import { pd, pi, pp, shareStart } from './common';
import { BiasRows, Dropout } from '../src/engine/kernel-params';

export function addBias(params: usize, part: i32, parts: i32): void {
  const y = pp(params, BiasRows.Rows), b = pp(params, BiasRows.Bias), R = pi(params, BiasRows.R);
  const C = pi(params, BiasRows.C);
  const r0 = shareStart(R, part, parts), r1 = shareStart(R, part + 1, parts);
  const C4 = C & ~3;
  for (let r = r0; r < r1; r++) {
    const row = y + (<usize>r * <usize>C << 2);
    let c = 0;
    for (; c < C4; c += 4) {
      const at = row + (<usize>c << 2);
      v128.store(at, f32x4.add(v128.load(at), v128.load(b + (<usize>c << 2))));
    }
    for (; c < C; c++) {
      const at = row + (<usize>c << 2);
      store<f32>(at, load<f32>(at) + load<f32>(b + (<usize>c << 2)));
    }
  }
}

/** bo[0..16) (or [0..32) when `wide`, a compile-time constant) += Σ over R rows of src (rows ldy bytes apart). */
@inline function sumColumns(wide: bool, src: usize, bo: usize, ldy: usize, R: i32): void {
  const z = f32x4.splat(0);
  let s0 = v128.load(bo), s1 = v128.load(bo, 16), s2 = v128.load(bo, 32), s3 = v128.load(bo, 48);
  let s4 = wide ? v128.load(bo, 64) : z, s5 = wide ? v128.load(bo, 80) : z;
  let s6 = wide ? v128.load(bo, 96) : z, s7 = wide ? v128.load(bo, 112) : z;
  for (let r = 0; r < R; r++) {
    s0 = f32x4.add(s0, v128.load(src));
    s1 = f32x4.add(s1, v128.load(src, 16));
    s2 = f32x4.add(s2, v128.load(src, 32));
    s3 = f32x4.add(s3, v128.load(src, 48));
    if (wide) {
      s4 = f32x4.add(s4, v128.load(src, 64));
      s5 = f32x4.add(s5, v128.load(src, 80));
      s6 = f32x4.add(s6, v128.load(src, 96));
      s7 = f32x4.add(s7, v128.load(src, 112));
    }
    src += ldy;
  }
  v128.store(bo, s0); v128.store(bo, s1, 16); v128.store(bo, s2, 32); v128.store(bo, s3, 48);
  if (wide) { v128.store(bo, s4, 64); v128.store(bo, s5, 80); v128.store(bo, s6, 96); v128.store(bo, s7, 112); }
}

export function sumRows(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, BiasRows.Rows), gb = pp(params, BiasRows.Bias), R = pi(params, BiasRows.R);
  const C = pi(params, BiasRows.C);
  const units = (C + 3) >> 2;
  let c0 = shareStart(units, part, parts) << 2, c1 = shareStart(units, part + 1, parts) << 2;
  if (c1 > C) c1 = C;
  if (c0 >= c1) return;
  const ldy = <usize>C << 2;
  let c = c0;
  // Blocks of 32 columns, then 16, stay in registers across all rows: one pass over rows of 32
  // or more reads each cache line once (two passes of 16 bring each line in twice).
  for (; c + 32 <= c1; c += 32) sumColumns(true, gy + (<usize>c << 2), gb + (<usize>c << 2), ldy, R);
  for (; c + 16 <= c1; c += 16) sumColumns(false, gy + (<usize>c << 2), gb + (<usize>c << 2), ldy, R);
  for (; c + 4 <= c1; c += 4) {
    const t = c1 - c - 4;
    if (t > 0 && t < 4) {
      // The last 1-3 columns ride along with the four before them: two independent sums per row
      // overlap, where one after the other each waits on its own additions.
      if (t == 1) sumFourAndPart(gy, gb, c, ldy, R, 1);
      else if (t == 2) sumFourAndPart(gy, gb, c, ldy, R, 2);
      else sumFourAndPart(gy, gb, c, ldy, R, 3);
      return;
    }
    const bo = gb + (<usize>c << 2);
    let s = v128.load(bo);
    let src = gy + (<usize>c << 2);
    for (let r = 0; r < R; r++) {
      s = f32x4.add(s, v128.load(src));
      src += ldy;
    }
    v128.store(bo, s);
  }
  if (c == c1) return;
  const t = c1 - c;
  if (t == 1) sumPart(gy, gb, c, ldy, R, 1);
  else if (t == 2) sumPart(gy, gb, c, ldy, R, 2);
  else sumPart(gy, gb, c, ldy, R, 3);
}

/** Lanes 0..t-1 of the floats at p (t = 1, 2 or 3: never a float past them), the rest zero. */
@inline function loadPart(p: usize, t: i32): v128 {
  if (t == 1) return v128.load32_zero(p);
  const v = v128.load64_zero(p);
  return t == 2 ? v : v128.load32_lane(p, v, 2, 8);
}

@inline function storePart(p: usize, v: v128, t: i32): void {
  if (t == 1) {
    v128.store32_lane(p, v, 0);
    return;
  }
  v128.store64_lane(p, v, 0);
  if (t == 3) v128.store32_lane(p, v, 2, 8);
}

/** Columns c..c+3 and the t after them, each summed over the rows in order from gb's value. */
@inline function sumFourAndPart(gy: usize, gb: usize, c: i32, ldy: usize, R: i32, t: i32): void {
  const bo = gb + (<usize>c << 2);
  let s = v128.load(bo), u = loadPart(bo + 16, t);
  let src = gy + (<usize>c << 2);
  for (let r = 0; r < R; r++) {
    s = f32x4.add(s, v128.load(src));
    u = f32x4.add(u, loadPart(src + 16, t));
    src += ldy;
  }
  v128.store(bo, s);
  storePart(bo + 16, u, t);
}

/** Columns c..c+t-1 (t < 4) alone: one vector of sums. */
@inline function sumPart(gy: usize, gb: usize, c: i32, ldy: usize, R: i32, t: i32): void {
  const bo = gb + (<usize>c << 2);
  let u = loadPart(bo, t);
  let src = gy + (<usize>c << 2);
  for (let r = 0; r < R; r++) {
    u = f32x4.add(u, loadPart(src, t));
    src += ldy;
  }
  storePart(bo, u, t);
}

function dropout(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Dropout.In), y = pp(params, Dropout.Out), n = pi(params, Dropout.Count);
  const seed = <u32>pi(params, Dropout.Seed);
  const scale = pd(params, Dropout.Scale), threshold = pd(params, Dropout.Threshold);
  const s = shareStart(n, part, parts), e = shareStart(n, part + 1, parts);
  for (let i = s; i < e; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, <f64>hash32(seed, <u32>i) < threshold ? 0 : <f32>(<f64>load<f32>(x + o) * scale));
  }
}

export function dropoutForward(params: usize, part: i32, parts: i32): void {
  dropout(params, part, parts);
}

export function dropoutBackward(params: usize, part: i32, parts: i32): void {
  dropout(params, part, parts);
}
