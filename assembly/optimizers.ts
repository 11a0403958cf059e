/**
 * Optimizer updates over the whole parameter vector w (the equations are in src/kernels/kernels.ts),
 * computed exactly like the reference loops of src/kernels/reference/optimizers.ts: the float32
 * values are widened to float64, every operation is a float64 one in the reference's order, and
 * the results are rounded to float32 where the reference stores them (and only there: SGD's
 * momentum buffer is stored rounded but used unrounded, Adam's m and v are read back rounded).
 * So an engine's update is bitwise the reference's, two parameters per f64x2. Each element reads
 * only its own w, g and state, and a share is whole blocks of StepBlock.Size elements, so any split
 * gives bitwise equal results, the step size's block sums included (when Sums is set, each block's
 * Σ (w_new − w_old)² goes to Sums[block], in the order StepBlock defines; the caller adds them up):
 * the trainer's step size then costs no pass over w of its own.
 *
 * Parameter words: Sgd and Adam in src/engine/kernel-params.ts.
 */
import { pd, pi, pp, shareStart } from './common';
import { Adam, Sgd, StepBlock } from '../src/engine/kernel-params';

/** Share `part` of n elements, in whole blocks of StepBlock.Size: [start, end). */
@inline function share(n: i32, part: i32, parts: i32): i64 {
  const units = (n + StepBlock.Size - 1) / StepBlock.Size;
  const s = shareStart(units, part, parts) * StepBlock.Size, e = shareStart(units, part + 1, parts) * StepBlock.Size;
  return (<i64>(s < n ? s : n) << 32) | <i64>(e < n ? e : n);
}

/** The block that starts at element s, or e: its end. */
@inline function blockEnd(s: i32, e: i32): i32 {
  const b = s + StepBlock.Size;
  return b < e ? b : e;
}

/** Two float64 rounded to float32 and back: what store2 leaves in memory. */
@inline function rounded2(v: v128): v128 {
  return f64x2.promote_low_f32x4(f32x4.demote_f64x2_zero(v));
}

/** Σ of a block: the even lane (with an odd last element's square) + the odd lane. */
@inline function blockSum(acc: v128, tail: f64): f64 {
  return (f64x2.extract_lane(acc, 0) + tail) + f64x2.extract_lane(acc, 1);
}

/** Two float32 at p, widened. */
@inline function load2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}

/** Two float64 rounded to float32, stored at p. */
@inline function store2(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), <u8>0);
}

/** Stores two new w at p and adds their squared steps, as stored, to acc when block sums are asked for. */
@inline function storeStep2(p: usize, nw: v128, wi: v128, acc: v128, sums: usize): v128 {
  store2(p, nw);
  if (!sums) return acc;
  const dw = f64x2.sub(rounded2(nw), wi);
  return f64x2.add(acc, f64x2.mul(dw, dw));
}

/** (w_new − w_old)² of one element, w_new as stored. */
@inline function stepSquare(nw: f32, wi: f64): f64 {
  const dw = <f64>nw - wi;
  return dw * dw;
}

export function sgdUpdate(params: usize, part: i32, parts: i32): void {
  const w = pp(params, Sgd.W), g = pp(params, Sgd.G), buf = pp(params, Sgd.Buf), n = pi(params, Sgd.Count);
  const flags = pi(params, Sgd.Flags);
  const lr = pd(params, Sgd.Lr), mu = pd(params, Sgd.Momentum), keep = pd(params, Sgd.Keep);
  const wd = pd(params, Sgd.WeightDecay);
  const nesterov = (flags & 1) != 0, first = (flags & 2) != 0;
  const sums = pp(params, Sgd.Sums);
  const r = share(n, part, parts);
  const s = <i32>(r >> 32), e = <i32>(r & 0xffffffff);
  const vlr = f64x2.splat(lr), vmu = f64x2.splat(mu), vkeep = f64x2.splat(keep), vwd = f64x2.splat(wd);
  for (let start = s; start < e; start += StepBlock.Size) {
    const end = blockEnd(start, e);
    let acc = f64x2.splat(0), tail: f64 = 0;
    let i = start;
    for (; i + 2 <= end; i += 2) {
      const o = <usize>i << 2;
      const wi = load2(w + o);
      let d = f64x2.add(load2(g + o), f64x2.mul(vwd, wi));
      if (buf) {
        const b = first ? d : f64x2.add(f64x2.mul(vmu, load2(buf + o)), f64x2.mul(vkeep, d));
        store2(buf + o, b);
        d = nesterov ? f64x2.add(d, f64x2.mul(vmu, b)) : b;
      }
      const nw = f64x2.sub(wi, f64x2.mul(vlr, d));
      acc = storeStep2(w + o, nw, wi, acc, sums);
    }
    for (; i < end; i++) {
      const o = <usize>i << 2;
      const wi = <f64>load<f32>(w + o);
      let d = <f64>load<f32>(g + o) + wd * wi;
      if (buf) {
        const b = first ? d : mu * <f64>load<f32>(buf + o) + keep * d;
        store<f32>(buf + o, <f32>b);
        d = nesterov ? d + mu * b : b;
      }
      const nw = <f32>(wi - lr * d);
      store<f32>(w + o, nw);
      tail = stepSquare(nw, wi);
    }
    if (sums) store<f64>(sums + (<usize>(start / StepBlock.Size) << 3), blockSum(acc, tail));
  }
}

export function adamUpdate(params: usize, part: i32, parts: i32): void {
  const w = pp(params, Adam.W), g = pp(params, Adam.G), m = pp(params, Adam.M), v = pp(params, Adam.V);
  const vMax = pp(params, Adam.VMax);
  const n = pi(params, Adam.Count);
  const b1 = pd(params, Adam.Beta1), c1 = pd(params, Adam.OneMinusBeta1), b2 = pd(params, Adam.Beta2);
  const c2 = pd(params, Adam.OneMinusBeta2), eps = pd(params, Adam.Eps);
  const l2 = pd(params, Adam.L2), shrink = pd(params, Adam.Shrink), stepSize = pd(params, Adam.StepSize);
  const sqrtBc2 = pd(params, Adam.SqrtBc2);
  const sums = pp(params, Adam.Sums);
  const r = share(n, part, parts);
  const s = <i32>(r >> 32), e = <i32>(r & 0xffffffff);
  const vb1 = f64x2.splat(b1), vc1 = f64x2.splat(c1), vb2 = f64x2.splat(b2), vc2 = f64x2.splat(c2);
  const veps = f64x2.splat(eps), vl2 = f64x2.splat(l2), vshrink = f64x2.splat(shrink);
  const vstep = f64x2.splat(stepSize), vbc2 = f64x2.splat(sqrtBc2);
  for (let start = s; start < e; start += StepBlock.Size) {
    const end = blockEnd(start, e);
    let acc = f64x2.splat(0), tail: f64 = 0;
    let i = start;
    for (; i + 2 <= end; i += 2) {
      const o = <usize>i << 2;
      const wi = load2(w + o);
      const gi = f64x2.add(load2(g + o), f64x2.mul(vl2, wi));
      store2(m + o, f64x2.add(f64x2.mul(vb1, load2(m + o)), f64x2.mul(vc1, gi)));
      store2(v + o, f64x2.add(f64x2.mul(vb2, load2(v + o)), f64x2.mul(f64x2.mul(vc2, gi), gi)));
      let vi = load2(v + o);
      if (vMax) {
        vi = f64x2.max(load2(vMax + o), vi);
        store2(vMax + o, vi);
      }
      const mi = load2(m + o);
      const den = f64x2.add(f64x2.div(f64x2.sqrt(vi), vbc2), veps);
      const nw = f64x2.sub(f64x2.mul(wi, vshrink), f64x2.div(f64x2.mul(vstep, mi), den));
      acc = storeStep2(w + o, nw, wi, acc, sums);
    }
    for (; i < end; i++) {
      const o = <usize>i << 2;
      const wi = <f64>load<f32>(w + o);
      const gi = <f64>load<f32>(g + o) + l2 * wi;
      store<f32>(m + o, <f32>(b1 * <f64>load<f32>(m + o) + c1 * gi));
      store<f32>(v + o, <f32>(b2 * <f64>load<f32>(v + o) + c2 * gi * gi));
      let vi = <f64>load<f32>(v + o);
      if (vMax) {
        const mx = <f32>max(<f64>load<f32>(vMax + o), vi);
        store<f32>(vMax + o, mx);
        vi = <f64>mx;
      }
      const mi = <f64>load<f32>(m + o);
      const nw = <f32>(wi * shrink - (stepSize * mi) / (Math.sqrt(vi) / sqrtBc2 + eps));
      store<f32>(w + o, nw);
      tail = stepSquare(nw, wi);
    }
    if (sums) store<f64>(sums + (<usize>(start / StepBlock.Size) << 3), blockSum(acc, tail));
  }
}
