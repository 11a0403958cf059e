/**
 * Max- and average-pooling on channels-last data, vectorised over channels (4 at a time).
 *
 * Forward kernels split output rows (n, oh) between threads; backward kernels split samples,
 * since a sample's windows only touch that sample's input, and each sample's scatter runs in
 * the reference order. Max-pool follows the reference exactly: the first valid tap starts the
 * maximum, a strictly greater value replaces it, and with tieSeed ≥ 0 ties are broken by the
 * reference's reservoir rule on hash32(tieSeed, out·64 + ties).
 *
 * Parameter block: 0 in, 1 out, 2 argmax (int32) or unused, 3 N, 4 H, 5 W, 6 C, 7 OH, 8 OW,
 * 9 KH, 10 KW, 11 SH, 12 SW, 13 PH, 14 PW, 15 tieSeed (max) or scale as float32 (average).
 */
import { hash32 } from './hash';
import { pf, pi, pp, shareStart } from './common';

/**
 * One output of max-pool, scalar, exactly the reference's loop (first valid tap, then strictly
 * greater values; ties by reservoir sampling on the hash when tieSeed ≥ 0).
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
      if (v > best) {
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

export function maxPool2dForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), y = pp(params, 1), am = pp(params, 2);
  const N = pi(params, 3), H = pi(params, 4), W = pi(params, 5), C = pi(params, 6);
  const OH = pi(params, 7), OW = pi(params, 8), KH = pi(params, 9), KW = pi(params, 10);
  const SH = pi(params, 11), SW = pi(params, 12), PH = pi(params, 13), PW = pi(params, 14);
  const tieSeed = pi(params, 15);
  const rows = N * OH;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  const C4 = C & ~3;
  const lanes = i32x4(0, 1, 2, 3);
  const noTies = i32x4.splat(0); // all-false mask
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
      const first = (rowBase + kh0 * W + kw0) * C;
      for (let c = 0; c < C4; c += 4) {
        let best = v128.load(x + (<usize>(first + c) << 2));
        let idx = i32x4.add(i32x4.splat(first + c), lanes);
        let tied = noTies;
        for (let kh = kh0; kh < kh1; kh++) {
          for (let kw = kw0; kw < kw1; kw++) {
            if (kh == kh0 && kw == kw0) continue;
            const i = (rowBase + kh * W + kw) * C + c;
            const v = v128.load(x + (<usize>i << 2));
            if (tieSeed >= 0) tied = v128.or(tied, f32x4.eq(v, best));
            const m = f32x4.gt(v, best);
            best = v128.bitselect(v, best, m);
            idx = v128.bitselect(i32x4.add(i32x4.splat(i), lanes), idx, m);
          }
        }
        if (tieSeed >= 0 && v128.any_true(tied)) {
          // Some lane met a tie on the way: replay these four channels with the reservoir rule.
          for (let k = 0; k < 4; k++) maxScalar(x, yo, ao, out, c + k, C, rowBase, W, kh0, kh1, kw0, kw1, tieSeed);
        } else {
          v128.store(yo + (<usize>c << 2), best);
          v128.store(ao + (<usize>c << 2), idx);
        }
      }
      for (let c = C4; c < C; c++) maxScalar(x, yo, ao, out, c, C, rowBase, W, kh0, kh1, kw0, kw1, tieSeed);
    }
  }
}

/** gx = 0, then gx[argmax[i]] += gy[i] for the outputs of each sample, in order. */
export function maxPool2dBackward(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, 0), gx = pp(params, 1), am = pp(params, 2);
  const N = pi(params, 3), H = pi(params, 4), W = pi(params, 5), C = pi(params, 6);
  const OH = pi(params, 7), OW = pi(params, 8);
  const inPer = H * W * C, outPer = OH * OW * C, total = N * inPer;
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  memory.fill(gx + (<usize>(n0 * inPer) << 2), 0, <usize>((n1 - n0) * inPer) << 2);
  const e = n1 * outPer;
  for (let i = n0 * outPer; i < e; i++) {
    const j = load<i32>(am + (<usize>i << 2));
    if (<u32>j >= <u32>total) continue;
    const at = gx + (<usize>j << 2);
    store<f32>(at, load<f32>(at) + load<f32>(gy + (<usize>i << 2)));
  }
}

/** y = (Σ_window x)·scale, padding counting as zeros. */
export function avgPool2dForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), y = pp(params, 1);
  const N = pi(params, 3), H = pi(params, 4), W = pi(params, 5), C = pi(params, 6);
  const OH = pi(params, 7), OW = pi(params, 8), KH = pi(params, 9), KW = pi(params, 10);
  const SH = pi(params, 11), SW = pi(params, 12), PH = pi(params, 13), PW = pi(params, 14);
  const scale = pf(params, 15), vscale = f32x4.splat(scale);
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
  const gy = pp(params, 0), gx = pp(params, 1);
  const N = pi(params, 3), H = pi(params, 4), W = pi(params, 5), C = pi(params, 6);
  const OH = pi(params, 7), OW = pi(params, 8), KH = pi(params, 9), KW = pi(params, 10);
  const SH = pi(params, 11), SW = pi(params, 12), PH = pi(params, 13), PW = pi(params, 14);
  const scale = pf(params, 15), vscale = f32x4.splat(scale);
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
