/**
 * Point-wise activations and their derivatives, as the reference defines them (ReLU' = 1 at 0;
 * a NaN is not negative, so ReLU and leaky ReLU pass it on, forward and backward).
 * ReLU and leaky ReLU are vectorised; sigmoid, tanh and softplus use float32 Mathf.
 * Threads split the elements in contiguous ranges of whole vectors.
 *
 * Kinds: 0 relu, 1 leaky_relu, 2 sigmoid, 3 tanh, 4 softplus.
 * Parameter words: ActivationForward, ActivationBackward in src/engine/kernel-params.ts.
 */
import { pf, pi, pp, shareStart } from './common';
import { ActivationBackward, ActivationForward } from '../src/engine/kernel-params';

const SOFTPLUS_THRESHOLD: f32 = 20;

@inline function range(n: i32, part: i32, parts: i32): i64 {
  const units = (n + 3) >> 2;
  const s = shareStart(units, part, parts) << 2, e = shareStart(units, part + 1, parts) << 2;
  return (<i64>(s < n ? s : n) << 32) | <i64>(e < n ? e : n);
}

export function activationForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, ActivationForward.X), y = pp(params, ActivationForward.Y);
  const n = pi(params, ActivationForward.Count), kind = pi(params, ActivationForward.Kind);
  const alpha = pf(params, ActivationForward.Alpha);
  const r = range(n, part, parts);
  const s = <i32>(r >> 32), e = <i32>(r & 0xffffffff);
  let i = s;
  if (kind == 0 || kind == 1) {
    const zero = f32x4.splat(0), va = f32x4.splat(alpha);
    for (; i + 4 <= e; i += 4) {
      const v = v128.load(x + (<usize>i << 2));
      const neg = kind == 0 ? zero : f32x4.mul(va, v);
      v128.store(y + (<usize>i << 2), v128.bitselect(neg, v, f32x4.lt(v, zero)));
    }
    for (; i < e; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      store<f32>(y + (<usize>i << 2), v < 0 ? (kind == 0 ? 0 : alpha * v) : v);
    }
  } else if (kind == 2) {
    for (; i < e; i++) store<f32>(y + (<usize>i << 2), 1 / (1 + Mathf.exp(-load<f32>(x + (<usize>i << 2)))));
  } else if (kind == 3) {
    for (; i < e; i++) store<f32>(y + (<usize>i << 2), Mathf.tanh(load<f32>(x + (<usize>i << 2))));
  } else {
    for (; i < e; i++) {
      const v = load<f32>(x + (<usize>i << 2));
      store<f32>(y + (<usize>i << 2), v > SOFTPLUS_THRESHOLD ? v : Mathf.log1p(Mathf.exp(v)));
    }
  }
}

export function activationBackward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, ActivationBackward.X), y = pp(params, ActivationBackward.Y);
  const gy = pp(params, ActivationBackward.Gy), gx = pp(params, ActivationBackward.Gx);
  const n = pi(params, ActivationBackward.Count), kind = pi(params, ActivationBackward.Kind);
  const alpha = pf(params, ActivationBackward.Alpha);
  const r = range(n, part, parts);
  const s = <i32>(r >> 32), e = <i32>(r & 0xffffffff);
  let i = s;
  if (kind == 0 || kind == 1) {
    const zero = f32x4.splat(0), va = f32x4.splat(alpha);
    for (; i + 4 <= e; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(gy + o);
      const neg = kind == 0 ? zero : f32x4.mul(va, g);
      v128.store(gx + o, v128.bitselect(neg, g, f32x4.lt(v128.load(x + o), zero)));
    }
    for (; i < e; i++) {
      const o = <usize>i << 2;
      const g = load<f32>(gy + o);
      store<f32>(gx + o, load<f32>(x + o) < 0 ? (kind == 0 ? 0 : alpha * g) : g);
    }
  } else if (kind == 2) {
    for (; i < e; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(y + o);
      store<f32>(gx + o, load<f32>(gy + o) * v * (1 - v));
    }
  } else if (kind == 3) {
    for (; i < e; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(y + o);
      store<f32>(gx + o, load<f32>(gy + o) * (1 - v * v));
    }
  } else {
    for (; i < e; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(x + o), g = load<f32>(gy + o);
      store<f32>(gx + o, v > SOFTPLUS_THRESHOLD ? g : g / (1 + Mathf.exp(-v)));
    }
  }
}
