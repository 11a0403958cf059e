/**
 * Batch normalisation over x[R, C], in float64 like the reference and in the same order (rows
 * ascending for every per-channel sum), so results are the reference's to the last bit.
 * Pairs of channels go through f64x2 lanes; each pass streams the rows once. Threads split the
 * channels in groups of 8.
 *
 * Parameter words: BatchNorm in src/engine/kernel-params.ts (scratch: float64[4·C]).
 */
import { pd, pi, pp, shareStart } from './common';
import { BatchNorm } from '../src/engine/kernel-params';

@inline function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

@inline function st2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0);
}

@inline function lf(p: usize, c: i32): f64 {
  return <f64>load<f32>(p + (<usize>c << 2));
}

@inline function sf(p: usize, c: i32, v: f64): void {
  store<f32>(p + (<usize>c << 2), <f32>v);
}

@inline function ld(p: usize, c: i32): f64 {
  return load<f64>(p + (<usize>c << 3));
}

@inline function sd(p: usize, c: i32, v: f64): void {
  store<f64>(p + (<usize>c << 3), v);
}

/** Channel range [c0, c1) of this share, packed into an i64. */
@inline function channels(C: i32, part: i32, parts: i32): i64 {
  const units = (C + 7) >> 3;
  let c0 = shareStart(units, part, parts) << 3, c1 = shareStart(units, part + 1, parts) << 3;
  if (c1 > C) c1 = C;
  if (c0 > C) c0 = C;
  return (<i64>c0 << 32) | <i64>c1;
}

/** acc[c] += Σ_r x[r, c] (rows in order), for c in [c0, c1). */
function sumColumns(x: usize, R: i32, C: i32, c0: i32, c1: i32, acc: usize): void {
  const ldx = <usize>C << 2;
  for (let r = 0; r < R; r++) {
    const row = x + <usize>r * ldx;
    let c = c0;
    for (; c + 2 <= c1; c += 2) {
      const a = acc + (<usize>c << 3);
      v128.store(a, f64x2.add(v128.load(a), ld2(row + (<usize>c << 2))));
    }
    if (c < c1) sd(acc, c, ld(acc, c) + lf(row, c));
  }
}

export function batchNormForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, BatchNorm.X), gamma = pp(params, BatchNorm.Gamma), beta = pp(params, BatchNorm.Beta);
  const y = pp(params, BatchNorm.Y);
  const R = pi(params, BatchNorm.R), C = pi(params, BatchNorm.C), training = pi(params, BatchNorm.Training) != 0;
  const runningMean = pp(params, BatchNorm.RunningMean), runningVar = pp(params, BatchNorm.RunningVar);
  const saveMean = pp(params, BatchNorm.SaveMean), saveInvStd = pp(params, BatchNorm.SaveInvStd);
  const scratch = pp(params, BatchNorm.Scratch);
  const eps = pd(params, BatchNorm.Eps), momentum = pd(params, BatchNorm.Momentum);
  const range = channels(C, part, parts);
  const c0 = <i32>(range >> 32), c1 = <i32>(range & 0xffffffff);
  if (c0 >= c1) return;
  const sum = scratch, sq = scratch + (<usize>C << 3), A = sq + (<usize>C << 3), B = A + (<usize>C << 3);
  const ldx = <usize>C << 2;
  if (training) {
    for (let c = c0; c < c1; c++) { sd(sum, c, 0); sd(sq, c, 0); }
    sumColumns(x, R, C, c0, c1, sum);
    for (let c = c0; c < c1; c++) sd(sum, c, ld(sum, c) / <f64>R); // the means
    for (let r = 0; r < R; r++) {
      const row = x + <usize>r * ldx;
      let c = c0;
      for (; c + 2 <= c1; c += 2) {
        const d = f64x2.sub(ld2(row + (<usize>c << 2)), v128.load(sum + (<usize>c << 3)));
        const a = sq + (<usize>c << 3);
        v128.store(a, f64x2.add(v128.load(a), f64x2.mul(d, d)));
      }
      if (c < c1) {
        const d = lf(row, c) - ld(sum, c);
        sd(sq, c, ld(sq, c) + d * d);
      }
    }
  }
  for (let c = c0; c < c1; c++) {
    let mean: f64, invStd: f64;
    if (training) {
      mean = ld(sum, c);
      const v = ld(sq, c);
      const variance = v / <f64>R;
      invStd = 1 / Math.sqrt(variance + eps);
      sf(runningMean, c, (1 - momentum) * lf(runningMean, c) + momentum * mean);
      sf(runningVar, c, (1 - momentum) * lf(runningVar, c) + momentum * (R > 1 ? v / <f64>(R - 1) : variance));
    } else {
      mean = lf(runningMean, c);
      invStd = 1 / Math.sqrt(lf(runningVar, c) + eps);
    }
    sf(saveMean, c, mean);
    sf(saveInvStd, c, invStd);
    const a = lf(gamma, c) * invStd;
    sd(A, c, a);
    sd(B, c, lf(beta, c) - mean * a);
  }
  for (let r = 0; r < R; r++) {
    const off = <usize>r * ldx;
    let c = c0;
    for (; c + 2 <= c1; c += 2) {
      const o = off + (<usize>c << 2);
      st2(y + o, f64x2.add(f64x2.mul(ld2(x + o), v128.load(A + (<usize>c << 3))), v128.load(B + (<usize>c << 3))));
    }
    if (c < c1) sf(y + off, c, lf(x + off, c) * ld(A, c) + ld(B, c));
  }
}

export function batchNormBackward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, BatchNorm.X), gamma = pp(params, BatchNorm.Gamma), gy = pp(params, BatchNorm.Gy);
  const gx = pp(params, BatchNorm.Gx);
  const R = pi(params, BatchNorm.R), C = pi(params, BatchNorm.C), training = pi(params, BatchNorm.Training) != 0;
  const ggamma = pp(params, BatchNorm.GGamma), gbeta = pp(params, BatchNorm.GBeta);
  const saveMean = pp(params, BatchNorm.SaveMean), saveInvStd = pp(params, BatchNorm.SaveInvStd);
  const scratch = pp(params, BatchNorm.Scratch);
  const range = channels(C, part, parts);
  const c0 = <i32>(range >> 32), c1 = <i32>(range & 0xffffffff);
  if (c0 >= c1) return;
  // Per channel (float64): Σg, Σ g·x̂, mean, 1/σ.
  const sG = scratch, sGX = sG + (<usize>C << 3), M = sGX + (<usize>C << 3), S = M + (<usize>C << 3);
  const ldx = <usize>C << 2;
  for (let c = c0; c < c1; c++) {
    sd(sG, c, 0);
    sd(sGX, c, 0);
    sd(M, c, lf(saveMean, c));
    sd(S, c, lf(saveInvStd, c));
  }
  for (let r = 0; r < R; r++) {
    const off = <usize>r * ldx;
    let c = c0;
    for (; c + 2 <= c1; c += 2) {
      const o = off + (<usize>c << 2), d8 = <usize>c << 3;
      const g = ld2(gy + o);
      v128.store(sG + d8, f64x2.add(v128.load(sG + d8), g));
      const t = f64x2.mul(f64x2.mul(g, f64x2.sub(ld2(x + o), v128.load(M + d8))), v128.load(S + d8));
      v128.store(sGX + d8, f64x2.add(v128.load(sGX + d8), t));
    }
    if (c < c1) {
      const g = lf(gy + off, c);
      sd(sG, c, ld(sG, c) + g);
      sd(sGX, c, ld(sGX, c) + g * (lf(x + off, c) - ld(M, c)) * ld(S, c));
    }
  }
  for (let c = c0; c < c1; c++) {
    sf(ggamma, c, lf(ggamma, c) + ld(sGX, c));
    sf(gbeta, c, lf(gbeta, c) + ld(sG, c));
  }
  const Rf = <f64>R;
  for (let r = 0; r < R; r++) {
    const off = <usize>r * ldx;
    let c = c0;
    if (training) {
      const vR = f64x2.splat(Rf);
      for (; c + 2 <= c1; c += 2) {
        const o = off + (<usize>c << 2), d8 = <usize>c << 3;
        const k = f64x2.mul(ld2(gamma + (<usize>c << 2)), v128.load(S + d8));
        const xhat = f64x2.mul(f64x2.sub(ld2(x + o), v128.load(M + d8)), v128.load(S + d8));
        const inner = f64x2.sub(f64x2.sub(ld2(gy + o), f64x2.div(v128.load(sG + d8), vR)),
          f64x2.div(f64x2.mul(xhat, v128.load(sGX + d8)), vR));
        st2(gx + o, f64x2.mul(k, inner));
      }
      if (c < c1) {
        const k = lf(gamma, c) * ld(S, c);
        const xhat = (lf(x + off, c) - ld(M, c)) * ld(S, c);
        sf(gx + off, c, k * (lf(gy + off, c) - ld(sG, c) / Rf - xhat * ld(sGX, c) / Rf));
      }
    } else {
      for (; c + 2 <= c1; c += 2) {
        const o = off + (<usize>c << 2), d8 = <usize>c << 3;
        st2(gx + o, f64x2.mul(f64x2.mul(ld2(gamma + (<usize>c << 2)), v128.load(S + d8)), ld2(gy + o)));
      }
      if (c < c1) sf(gx + off, c, lf(gamma, c) * ld(S, c) * lf(gy + off, c));
    }
  }
}
