/**
 * Max- and average-pooling on channels-last data, vectorised over channels (4 at a time).
 *
 * Forward kernels split output rows (n, oh) between threads; backward kernels split samples,
 * since a sample's windows only touch that sample's input, and each sample's scatter runs in
 * the reference order. Max-pool follows the reference exactly: the first valid tap starts the
 * maximum, a strictly greater value replaces it, and with tieSeed ≥ 0 ties are broken by the
 * reference's reservoir rule on hash32(tieSeed, out·64 + ties).
 *
 * Parameter words: Pool in src/engine/kernel-params.ts.
 */
import { hash32 } from './hash';
import { pf, pi, pp, reluBackwardInPlace, shareStart } from './common';
import { Pool } from '../src/engine/kernel-params';

/**
 * One output of max-pool, scalar, exactly the reference's loop (first valid tap, then strictly
 * greater values or a NaN; ties by reservoir sampling on the hash when tieSeed ≥ 0).
 */
function maxScalar(x: usize, yo: usize, ao: usize, out: i32, c: i32, C: i32, rowBase: i32, W: i32,
  kh0: i32, kh1: i32, kw0: i32, kw1: i32, tieSeed: i32): void {
  const first = (rowBase + kh0 * W + kw0) * C + c;
  let best = load<f32>(x + (<usize>first << 2));
  let bestIndex = first, ties = 1;
  for (let kh = kh0; kh < kh1; kh++) {
    for (let kw = kw0; kw < kw1; kw++) {
      if (kh == kh0 && kw == kw0) continue;
      const i = (rowBase + kh * W + kw) * C + c;
      const v = load<f32>(x + (<usize>i << 2));
      if (v > best || v != v) {
        best = v; bestIndex = i; ties = 1;
      } else if (v == best && tieSeed >= 0) {
        ties++;
        if (hash32(<u32>tieSeed, <u32>(out + c) * 64 + <u32>ties) % <u32>ties == 0) bestIndex = i;
      }
    }
  }
  store<f32>(yo + (<usize>c << 2), best);
  store<i32>(ao + (<usize>c << 2), bestIndex);
}

/** The mixing steps of hash32 (hash.ts) after its first (seed ^ index·φ), on four lanes. */
@inline function fmix32x4(h: v128): v128 {
  h = i32x4.mul(v128.xor(h, i32x4.shr_u(h, 16)), i32x4.splat(<i32>0x85ebca6b));
  h = i32x4.mul(v128.xor(h, i32x4.shr_u(h, 13)), i32x4.splat(<i32>0xc2b2ae35));
  return v128.xor(h, i32x4.shr_u(h, 16));
}

/** hash32 (hash.ts) on four lanes. */
@inline function hash32x4(seed: v128, index: v128): v128 {
  return fmix32x4(v128.xor(seed, i32x4.mul(index, i32x4.splat(PHI))));
}

/** hash32's multiplier of the index (as i32: the products wrap as uint32 ones do). */
const PHI = <i32>0x9e3779b1;

/** Lanes where the uint32 h is a multiple of the (small, positive) t: exact in float64. */
@inline function divisible(h: v128, t: v128): v128 {
  const h0 = f64x2.convert_low_i32x4_u(h), t0 = f64x2.convert_low_i32x4_u(t);
  const h1 = f64x2.convert_low_i32x4_u(v128.shuffle<i32>(h, h, 2, 3, 0, 1));
  const t1 = f64x2.convert_low_i32x4_u(v128.shuffle<i32>(t, t, 2, 3, 0, 1));
  const e0 = f64x2.eq(f64x2.mul(f64x2.floor(f64x2.div(h0, t0)), t0), h0);
  const e1 = f64x2.eq(f64x2.mul(f64x2.floor(f64x2.div(h1, t1)), t1), h1);
  return v128.shuffle<i32>(e0, e1, 0, 2, 4, 6);
}

/** divisible(h, t) for t in {2, 3, 4} (windows of at most four taps), without division. */
@inline function divisibleSmall(h: v128, t: v128): v128 {
  const zero = i32x4.splat(0);
  const d2 = i32x4.eq(v128.and(h, i32x4.splat(1)), zero), d4 = i32x4.eq(v128.and(h, i32x4.splat(3)), zero);
  // h·3⁻¹ mod 2³² ≤ ⌊(2³² - 1)/3⌋ exactly when 3 divides h.
  const d3 = i32x4.le_u(i32x4.mul(h, i32x4.splat(<i32>0xaaaaaaab)), i32x4.splat(0x55555555));
  return v128.or(v128.or(v128.and(i32x4.eq(t, i32x4.splat(2)), d2), v128.and(i32x4.eq(t, i32x4.splat(3)), d3)),
    v128.and(i32x4.eq(t, i32x4.splat(4)), d4));
}

/**
 * Four channels c..c+3 of one output, vectorised, with the reference's rule lane by lane: the
 * first valid tap starts the maximum; a strictly greater value or a NaN replaces it (count of
 * ties back to 1); a value equal to the maximum is a tie: the count goes up and, when tieSeed ≥ 0,
 * the arg-max moves there if hash32(tieSeed, out·64 + ties) % ties == 0 (reservoir sampling).
 */
@inline function maxVector(x: usize, yo: usize, ao: usize, out: i32, c: i32, C: i32, rowBase: i32, W: i32,
  kh0: i32, kh1: i32, kw0: i32, kw1: i32, tieSeed: i32): void {
  const lanes = i32x4(0, 1, 2, 3), one = i32x4.splat(1);
  const first = (rowBase + kh0 * W + kw0) * C + c;
  let best = v128.load(x + (<usize>first << 2));
  let idx = i32x4.add(i32x4.splat(first), lanes);
  let ties = one;
  const small = (kh1 - kh0) * (kw1 - kw0) <= 4;
  const seed = i32x4.splat(tieSeed), key = i32x4.shl(i32x4.add(i32x4.splat(out + c), lanes), 6);
  for (let kh = kh0; kh < kh1; kh++) {
    let j = (rowBase + kh * W + kw0) * C + c;
    for (let kw = kw0; kw < kw1; kw++) {
      if (j != first) {
        const v = v128.load(x + (<usize>j << 2));
        const jv = i32x4.add(i32x4.splat(j), lanes);
        const up = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
        const tie = f32x4.eq(v, best);
        if (tieSeed >= 0 && v128.any_true(tie)) {
          ties = i32x4.sub(ties, tie);
          const h = hash32x4(seed, i32x4.add(key, ties));
          const take = v128.and(tie, small ? divisibleSmall(h, ties) : divisible(h, ties));
          idx = v128.bitselect(jv, idx, take);
        }
        ties = v128.bitselect(one, ties, up);
        best = v128.bitselect(v, best, up);
        idx = v128.bitselect(jv, idx, up);
      }
      j += C;
    }
  }
  v128.store(yo + (<usize>c << 2), best);
  v128.store(ao + (<usize>c << 2), idx);
}

/**
 * The reference's maximum of a 2×2 window: the first tap, then each strictly greater value or NaN
 * replaces it. pmax keeps its first operand unless the second is greater (so -0 then +0 stays -0,
 * as in the reference), which is the whole rule while no tap is a NaN; the sum of the taps is a
 * NaN if one is (or for +∞ and -∞), and only then does the select put the NaN taps in.
 */
@inline function max4(x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const best = f32x4.pmax(f32x4.pmax(f32x4.pmax(x0, x1), x2), x3);
  const sum = f32x4.add(f32x4.add(x0, x1), f32x4.add(x2, x3));
  if (!v128.any_true(f32x4.ne(sum, sum))) return best;
  let m = v128.bitselect(x1, f32x4.pmax(x0, x1), f32x4.ne(x1, x1));
  m = v128.bitselect(x2, f32x4.pmax(m, x2), f32x4.ne(x2, x2));
  return v128.bitselect(x3, f32x4.pmax(m, x3), f32x4.ne(x3, x3));
}

/**
 * The 2×2, stride 2, unpadded window (four taps, all inside) on channels c..c+3 of one output.
 * The maximum is max4's; with q_j = (tap j == maximum), the reference's arg-max before ties is the
 * first tap with q_j (a tap before it cannot equal the final maximum), or, where the maximum is a
 * NaN (q all false), the last NaN tap. Tap j > first is then the k-th occurrence of the maximum
 * (e_j = q_j and some earlier q; k = 1 + the earlier q's) and takes the arg-max when
 * hash32(tieSeed, out·64 + k) % k == 0 (reservoir sampling), the last such tap winning. As k is
 * 2, 3 or 4, the three draws D_k are made once per lane, sharing (out·64)·φ (`keyPhi`), and each tap
 * picks its own. x0..x3 are the taps, `j0` tap 0's input index on each lane; tc, tw, twc the other taps' offsets
 * (C, W·C, W·C + C); `keyPhi` is (out·64)·φ on each lane, out the lane's output index.
 */
@inline function max2x2(x0: v128, x1: v128, x2: v128, x3: v128, yo: usize, ao: usize, j0: v128, tc: v128, tw: v128,
  twc: v128, keyPhi: v128, seed: v128, ties: bool): void {
  const best = max4(x0, x1, x2, x3);
  const q0 = f32x4.eq(x0, best), q1 = f32x4.eq(x1, best), q2 = f32x4.eq(x2, best), q3 = f32x4.eq(x3, best);
  // First q: tap 0, else 1 (offset C), 2 (W·C) or 3 (both); the row offset where neither q0 nor q1.
  const q01 = v128.or(q0, q1);
  let off = i32x4.add(v128.andnot(tw, q01), v128.and(tc, v128.andnot(v128.or(q1, v128.not(q2)), q0)));
  const nan = f32x4.ne(best, best);
  if (v128.any_true(nan)) {
    // The last NaN tap (a NaN replaces any maximum, and nothing replaces a NaN but another).
    const last = v128.bitselect(twc, v128.bitselect(tw, v128.bitselect(tc, i32x4.splat(0), f32x4.ne(x1, x1)),
      f32x4.ne(x2, x2)), f32x4.ne(x3, x3));
    off = v128.bitselect(last, off, nan);
  }
  if (ties) {
    const e1 = v128.and(q1, q0);
    const e2 = v128.and(q2, q01), e3 = v128.and(q3, v128.or(q01, q2));
    if (v128.any_true(v128.or(v128.or(e1, e2), e3))) {
      // Occurrence counts: k2 ∈ {2, 3} where e2, k3 ∈ {2, 3, 4} where e3 (and k1 = 2 where e1).
      const k2 = i32x4.sub(i32x4.sub(i32x4.splat(1), e1), e2), k3 = i32x4.sub(k2, e3);
      const zero = i32x4.splat(0);
      const d2 = i32x4.eq(v128.and(fmix32x4(v128.xor(seed, i32x4.add(keyPhi, i32x4.splat(2 * PHI)))), i32x4.splat(1)), zero);
      // h·3⁻¹ mod 2³² ≤ ⌊(2³² - 1)/3⌋ exactly when 3 divides h.
      const h3 = fmix32x4(v128.xor(seed, i32x4.add(keyPhi, i32x4.splat(3 * PHI))));
      const d3 = i32x4.le_u(i32x4.mul(h3, i32x4.splat(<i32>0xaaaaaaab)), i32x4.splat(0x55555555));
      const d4 = i32x4.eq(v128.and(fmix32x4(v128.xor(seed, i32x4.add(keyPhi, i32x4.splat(4 * PHI)))), i32x4.splat(3)), zero);
      const k3is3 = i32x4.eq(k3, i32x4.splat(3));
      off = v128.bitselect(tc, off, v128.and(e1, d2));
      off = v128.bitselect(tw, off, v128.and(e2, v128.bitselect(d3, d2, i32x4.eq(k2, i32x4.splat(3)))));
      off = v128.bitselect(twc, off, v128.and(e3, v128.bitselect(d4, v128.bitselect(d3, d2, k3is3), i32x4.eq(k3, i32x4.splat(4)))));
    }
  }
  v128.store(yo, best);
  v128.store(ao, i32x4.add(j0, off));
}

/** The four channels from input index i (tap 0) to output index o, whose taps are contiguous vectors. */
@inline function maxAt(x: usize, y: usize, am: usize, i: i32, o: i32, cb: usize, rowBytes: usize, tc: v128, tw: v128,
  twc: v128, seed: v128, ties: bool): void {
  const p = x + (<usize>i << 2), lanes = i32x4(0, 1, 2, 3);
  const keyPhi = i32x4.mul(i32x4.shl(i32x4.add(i32x4.splat(o), lanes), 6), i32x4.splat(PHI));
  max2x2(v128.load(p), v128.load(p + cb), v128.load(p + rowBytes), v128.load(p + rowBytes + cb), y + (<usize>o << 2),
    am + (<usize>o << 2), i32x4.add(i32x4.splat(i), lanes), tc, tw, twc, keyPhi, seed, ties);
}

/**
 * Output o..o+3 across two neighbouring outputs: the last two channels of one (tap 0 at input i)
 * and the first two of the next (tap 0 at input i + C + 2), each half one 64-bit load per tap.
 */
@inline function maxAcross(x: usize, y: usize, am: usize, i: i32, o: i32, C: i32, cb: usize, rowBytes: usize, tc: v128,
  tw: v128, twc: v128, seed: v128, ties: bool): void {
  const p = x + (<usize>i << 2), q = p + (<usize>(C + 2) << 2);
  const keyPhi = i32x4.mul(i32x4.shl(i32x4.add(i32x4.splat(o), i32x4(0, 1, 2, 3)), 6), i32x4.splat(PHI));
  max2x2(v128.load64_lane(q, v128.load64_zero(p), 1), v128.load64_lane(q + cb, v128.load64_zero(p + cb), 1),
    v128.load64_lane(q + rowBytes, v128.load64_zero(p + rowBytes), 1),
    v128.load64_lane(q + rowBytes + cb, v128.load64_zero(p + rowBytes + cb), 1), y + (<usize>o << 2), am + (<usize>o << 2),
    i32x4(i, i + 1, i + C + 2, i + C + 3), tc, tw, twc, keyPhi, seed, ties);
}

/**
 * maxPool2dForward for 2×2 windows, stride 2, no padding, C ≥ 4: rows r0..r1 of the output. A last
 * partial group of channels is done as the overlapping vector C-4..C-1 (writing the same values again
 * for the channels it shares), except that where C = 4m + 2, two neighbouring outputs' 2C channels
 * are whole vectors, one of them across the two (maxAcross).
 */
function maxPool2x2(x: usize, y: usize, am: usize, H: i32, W: i32, C: i32, OH: i32, OW: i32, r0: i32, r1: i32,
  tieSeed: i32): void {
  const cb = <usize>C << 2, rowBytes = <usize>(W * C) << 2, ties = tieSeed >= 0;
  const seed = i32x4.splat(tieSeed);
  const tc = i32x4.splat(C), tw = i32x4.splat(W * C), twc = i32x4.splat(W * C + C);
  const across = (C & 3) == 2;
  for (let row = r0; row < r1; row++) {
    const n = row / OH, oh = row - n * OH;
    const base = (n * H + 2 * oh) * W * C;
    let ow = 0;
    if (across) {
      for (; ow + 2 <= OW; ow += 2) {
        // Flat channel c < 2C of the pair: output out + c, input i0 + c (first output) or i0 + C + c (second).
        const i0 = base + 2 * ow * C, out = (row * OW + ow) * C;
        for (let c = 0; c < C - 2; c += 4) maxAt(x, y, am, i0 + c, out + c, cb, rowBytes, tc, tw, twc, seed, ties);
        maxAcross(x, y, am, i0 + C - 2, out + C - 2, C, cb, rowBytes, tc, tw, twc, seed, ties);
        for (let c = C + 2; c < 2 * C; c += 4) maxAt(x, y, am, i0 + C + c, out + c, cb, rowBytes, tc, tw, twc, seed, ties);
      }
    }
    for (; ow < OW; ow++) {
      const i0 = base + 2 * ow * C, out = (row * OW + ow) * C;
      for (let c = 0; c < C; c += 4) {
        const cc = c + 4 <= C ? c : C - 4;
        maxAt(x, y, am, i0 + cc, out + cc, cb, rowBytes, tc, tw, twc, seed, ties);
      }
    }
  }
}

export function maxPool2dForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Pool.In), y = pp(params, Pool.Out), am = pp(params, Pool.Argmax);
  const N = pi(params, Pool.N), H = pi(params, Pool.H), W = pi(params, Pool.W), C = pi(params, Pool.C);
  const OH = pi(params, Pool.OH), OW = pi(params, Pool.OW), KH = pi(params, Pool.KH), KW = pi(params, Pool.KW);
  const SH = pi(params, Pool.SH), SW = pi(params, Pool.SW), PH = pi(params, Pool.PH), PW = pi(params, Pool.PW);
  const tieSeed = pi(params, Pool.TieSeed);
  const rows = N * OH;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  // The 2×2 path reads whole windows: not where bottom/right padding ('same' on odd sizes) cuts the last.
  if (KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0 && 2 * OH <= H && 2 * OW <= W && C >= 4) {
    maxPool2x2(x, y, am, H, W, C, OH, OW, r0, r1, tieSeed);
    return;
  }
  for (let row = r0; row < r1; row++) {
    const n = row / OH, oh = row - n * OH;
    const ihb = oh * SH - PH;
    const kh0 = ihb < 0 ? -ihb : 0, kh1 = H - ihb < KH ? H - ihb : KH;
    // Input index of (kh, kw, c) is ((rowBase + kh·W + kw)·C + c), rowBase = (n·H + ihb)·W + iwb.
    for (let ow = 0; ow < OW; ow++) {
      const iwb = ow * SW - PW;
      const kw0 = iwb < 0 ? -iwb : 0, kw1 = W - iwb < KW ? W - iwb : KW;
      const out = (row * OW + ow) * C;
      const yo = y + (<usize>out << 2), ao = am + (<usize>out << 2);
      if (kh0 >= kh1 || kw0 >= kw1) {
        // The window lies entirely in the padding.
        for (let c = 0; c < C; c++) {
          store<f32>(yo + (<usize>c << 2), -Infinity);
          store<i32>(ao + (<usize>c << 2), -1);
        }
        continue;
      }
      const rowBase = (n * H + ihb) * W + iwb;
      if (C >= 4) {
        // Whole vectors; a last partial group is done as the overlapping vector C-4..C-1, which
        // writes the same values again for the channels it shares with the previous one.
        for (let c = 0; c < C; c += 4) {
          maxVector(x, yo, ao, out, c + 4 <= C ? c : C - 4, C, rowBase, W, kh0, kh1, kw0, kw1, tieSeed);
        }
      } else {
        for (let c = 0; c < C; c++) maxScalar(x, yo, ao, out, c, C, rowBase, W, kh0, kh1, kw0, kw1, tieSeed);
      }
    }
  }
}

/**
 * gx = 0, then gx[argmax[i]] += gy[i] for the outputs of each sample, in order. When windows do
 * not overlap (stride = kernel, no padding) and every arg-max lies in its own window, each input
 * is covered by at most one window, so gx is written once: gy where the arg-max points, else 0
 * (same values: 0 + gy[i] is gy[i]); a sample whose arg-max leaves its windows is scattered.
 * With Pool.ReluX (the ReLU before the pool, fused), each sample's gx then goes through the ReLU
 * backward as activationBackward computes it, while it is in cache.
 */
export function maxPool2dBackward(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, Pool.In), gx = pp(params, Pool.Out), am = pp(params, Pool.Argmax), rx = pp(params, Pool.ReluX);
  const N = pi(params, Pool.N), H = pi(params, Pool.H), W = pi(params, Pool.W), C = pi(params, Pool.C);
  const OH = pi(params, Pool.OH), OW = pi(params, Pool.OW), KH = pi(params, Pool.KH), KW = pi(params, Pool.KW);
  const SH = pi(params, Pool.SH), SW = pi(params, Pool.SW), PH = pi(params, Pool.PH), PW = pi(params, Pool.PW);
  const inPer = H * W * C, outPer = OH * OW * C, total = N * inPer;
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  const gather = KH == 2 && KW == 2 && SH == 2 && SW == 2 && PH == 0 && PW == 0 && 2 * OH <= H && 2 * OW <= W && C >= 4;
  // First every sample is gathered or zeroed, then the samples that could not be gathered scatter.
  let scatter = false;
  for (let n = n0; n < n1; n++) {
    if (gather && gather2x2(gy, gx, am, rx, n, H, W, C, OH, OW)) continue;
    memory.fill(gx + (<usize>(n * inPer) << 2), 0, <usize>inPer << 2);
    scatter = true;
  }
  if (!scatter) return;
  for (let n = n0; n < n1; n++) {
    if (gather && gathered(am, n, H, W, C, OH, OW)) continue;
    const e = (n + 1) * outPer;
    for (let i = n * outPer; i < e; i++) {
      const j = load<i32>(am + (<usize>i << 2));
      if (<u32>j >= <u32>total) continue;
      const at = gx + (<usize>j << 2);
      store<f32>(at, load<f32>(at) + load<f32>(gy + (<usize>i << 2)));
    }
    if (rx != 0) reluBackwardInPlace(gx, rx, n * inPer, inPer);
  }
}

/**
 * Stores v, or 0 where the ReLU input rx is negative (no ReLU when rx is 0), at byte offset p of gx
 * (and of rx); with `split`, lanes 0-1 at p and lanes 2-3 at q.
 */
@inline function putTap(gx: usize, rx: usize, p: usize, q: usize, split: bool, v: v128): void {
  if (rx != 0) {
    const r = split ? v128.load64_lane(rx + q, v128.load64_zero(rx + p), 1) : v128.load(rx + p);
    v = v128.bitselect(f32x4.splat(0), v, f32x4.lt(r, f32x4.splat(0)));
  }
  if (split) {
    v128.store64_lane(gx + p, v, 0);
    v128.store64_lane(gx + q, v, 1);
  } else {
    v128.store(gx + p, v);
  }
}

/**
 * gx at the taps of outputs o..o+3 (tap 0 of lane l at input j0[l], the others tc, tw, twc further,
 * tap 0's byte offsets p, or p and q with `split` as in putTap): gy where the arg-max points, else 0;
 * false (nothing written) if an arg-max lies elsewhere.
 */
@inline function gatherAt(gy: usize, gx: usize, am: usize, rx: usize, o: i32, j0: v128, p: usize, q: usize, split: bool,
  tc: v128, tw: v128, twc: v128, cb: usize, rowBytes: usize): bool {
  const a = v128.load(am + (<usize>o << 2)), g = v128.load(gy + (<usize>o << 2));
  const m0 = i32x4.eq(a, j0), m1 = i32x4.eq(a, i32x4.add(j0, tc));
  const m2 = i32x4.eq(a, i32x4.add(j0, tw)), m3 = i32x4.eq(a, i32x4.add(j0, twc));
  if (!i32x4.all_true(v128.or(v128.or(m0, m1), v128.or(m2, m3)))) return false;
  putTap(gx, rx, p, q, split, v128.and(g, m0));
  putTap(gx, rx, p + cb, q + cb, split, v128.and(g, m1));
  putTap(gx, rx, p + rowBytes, q + rowBytes, split, v128.and(g, m2));
  putTap(gx, rx, p + rowBytes + cb, q + rowBytes + cb, split, v128.and(g, m3));
  return true;
}

/** gatherAt for four channels from input i, output o, whose taps are contiguous vectors. */
@inline function gatherVector(gy: usize, gx: usize, am: usize, rx: usize, i: i32, o: i32, tc: v128, tw: v128,
  twc: v128, cb: usize, rowBytes: usize): bool {
  const p = <usize>i << 2;
  return gatherAt(gy, gx, am, rx, o, i32x4.add(i32x4.splat(i), i32x4(0, 1, 2, 3)), p, p, false, tc, tw, twc, cb, rowBytes);
}

/** Whether every arg-max of sample n lies in its own 2×2 window (gather2x2 then wrote the sample). */
function gathered(am: usize, n: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32): bool {
  for (let oh = 0; oh < OH; oh++) {
    for (let ow = 0; ow < OW; ow++) {
      const i0 = (n * H + 2 * oh) * W * C + 2 * ow * C, i2 = i0 + W * C;
      const out = ((n * OH + oh) * OW + ow) * C;
      for (let c = 0; c < C; c++) {
        const j = load<i32>(am + (<usize>(out + c) << 2));
        if (j != i0 + c && j != i0 + C + c && j != i2 + c && j != i2 + C + c) return false;
      }
    }
  }
  return true;
}

/**
 * The gather form of maxPool2dBackward for sample n (2×2, stride 2), gated by the ReLU input rx
 * when it is not 0: false if an arg-max is elsewhere. Channels go in vectors as in maxPool2x2
 * (across two outputs where C = 4m + 2).
 */
function gather2x2(gy: usize, gx: usize, am: usize, rx: usize, n: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32): bool {
  const cb = <usize>C << 2, rowBytes = <usize>(W * C) << 2;
  const tc = i32x4.splat(C), tw = i32x4.splat(W * C), twc = i32x4.splat(W * C + C);
  const across = (C & 3) == 2;
  for (let oh = 0; oh < OH; oh++) {
    const base = (n * H + 2 * oh) * W * C;
    let ow = 0;
    if (across) {
      for (; ow + 2 <= OW; ow += 2) {
        const i0 = base + 2 * ow * C, out = ((n * OH + oh) * OW + ow) * C, i = i0 + C - 2;
        for (let c = 0; c < C - 2; c += 4) {
          if (!gatherVector(gy, gx, am, rx, i0 + c, out + c, tc, tw, twc, cb, rowBytes)) return false;
        }
        if (!gatherAt(gy, gx, am, rx, out + C - 2, i32x4(i, i + 1, i + C + 2, i + C + 3), <usize>i << 2,
          <usize>(i + C + 2) << 2, true, tc, tw, twc, cb, rowBytes)) return false;
        for (let c = C + 2; c < 2 * C; c += 4) {
          if (!gatherVector(gy, gx, am, rx, i0 + C + c, out + c, tc, tw, twc, cb, rowBytes)) return false;
        }
      }
    }
    for (; ow < OW; ow++) {
      const i0 = base + 2 * ow * C, out = ((n * OH + oh) * OW + ow) * C;
      for (let c = 0; c < C; c += 4) {
        const cc = c + 4 <= C ? c : C - 4;
        if (!gatherVector(gy, gx, am, rx, i0 + cc, out + cc, tc, tw, twc, cb, rowBytes)) return false;
      }
    }
  }
  // Inputs no window covers (an odd last row or column).
  const img = gx + (<usize>(n * H * W * C) << 2);
  for (let ih = 0; ih < H; ih++) {
    const row = img + <usize>ih * rowBytes;
    if (ih >= 2 * OH) {
      memory.fill(row, 0, rowBytes);
    } else if (2 * OW < W) {
      memory.fill(row + (<usize>(2 * OW * C) << 2), 0, <usize>((W - 2 * OW) * C) << 2);
    }
  }
  return true;
}

/** y = (Σ_window x)·scale, padding counting as zeros. */
export function avgPool2dForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Pool.In), y = pp(params, Pool.Out);
  const N = pi(params, Pool.N), H = pi(params, Pool.H), W = pi(params, Pool.W), C = pi(params, Pool.C);
  const OH = pi(params, Pool.OH), OW = pi(params, Pool.OW), KH = pi(params, Pool.KH), KW = pi(params, Pool.KW);
  const SH = pi(params, Pool.SH), SW = pi(params, Pool.SW), PH = pi(params, Pool.PH), PW = pi(params, Pool.PW);
  const scale = pf(params, Pool.Scale), vscale = f32x4.splat(scale);
  const rows = N * OH;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  const C4 = C & ~3;
  for (let row = r0; row < r1; row++) {
    const n = row / OH, oh = row - n * OH;
    const ihb = oh * SH - PH;
    const kh0 = ihb < 0 ? -ihb : 0, kh1 = H - ihb < KH ? H - ihb : KH;
    for (let ow = 0; ow < OW; ow++) {
      const iwb = ow * SW - PW;
      const kw0 = iwb < 0 ? -iwb : 0, kw1 = W - iwb < KW ? W - iwb : KW;
      const yo = y + (<usize>((row * OW + ow) * C) << 2);
      for (let c = 0; c < C4; c += 4) {
        let s = f32x4.splat(0);
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            s = f32x4.add(s, v128.load(x + (<usize>(((n * H + ihb + kh) * W + iwb + kw) * C + c) << 2)));
          }
        }
        v128.store(yo + (<usize>c << 2), f32x4.mul(s, vscale));
      }
      for (let c = C4; c < C; c++) {
        let s: f32 = 0;
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            s += load<f32>(x + (<usize>(((n * H + ihb + kh) * W + iwb + kw) * C + c) << 2));
          }
        }
        store<f32>(yo + (<usize>c << 2), s * scale);
      }
    }
  }
}

/** gx = 0, then every window adds gy·scale to the inputs it covers, sample by sample. */
export function avgPool2dBackward(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, Pool.In), gx = pp(params, Pool.Out);
  const N = pi(params, Pool.N), H = pi(params, Pool.H), W = pi(params, Pool.W), C = pi(params, Pool.C);
  const OH = pi(params, Pool.OH), OW = pi(params, Pool.OW), KH = pi(params, Pool.KH), KW = pi(params, Pool.KW);
  const SH = pi(params, Pool.SH), SW = pi(params, Pool.SW), PH = pi(params, Pool.PH), PW = pi(params, Pool.PW);
  const scale = pf(params, Pool.Scale), vscale = f32x4.splat(scale);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  const inPer = H * W * C;
  memory.fill(gx + (<usize>(n0 * inPer) << 2), 0, <usize>((n1 - n0) * inPer) << 2);
  const C4 = C & ~3;
  for (let n = n0; n < n1; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const ihb = oh * SH - PH;
      const kh0 = ihb < 0 ? -ihb : 0, kh1 = H - ihb < KH ? H - ihb : KH;
      for (let ow = 0; ow < OW; ow++) {
        const iwb = ow * SW - PW;
        const kw0 = iwb < 0 ? -iwb : 0, kw1 = W - iwb < KW ? W - iwb : KW;
        const go = gy + (<usize>(((n * OH + oh) * OW + ow) * C) << 2);
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            const gi = gx + (<usize>(((n * H + ihb + kh) * W + iwb + kw) * C) << 2);
            for (let c = 0; c < C4; c += 4) {
              const at = gi + (<usize>c << 2);
              v128.store(at, f32x4.add(v128.load(at), f32x4.mul(v128.load(go + (<usize>c << 2)), vscale)));
            }
            for (let c = C4; c < C; c++) {
              const at = gi + (<usize>c << 2);
              store<f32>(at, load<f32>(at) + load<f32>(go + (<usize>c << 2)) * scale);
            }
          }
        }
      }
    }
  }
}
