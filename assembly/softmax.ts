/**
 * Soft-max, its backward, and the fused soft-max + cross-entropy, row by row in float64 like
 * the reference (rows are short: one per sample). Threads split rows; the loss is reduced by
 * the caller from per-row values, in row order.
 *
 * softmaxForward: 0 x, 1 p, 2 N, 3 E. softmaxBackward: 0 p, 1 gy, 2 gx, 3 N, 4 E.
 * softmaxCrossEntropy: 0 z, 1 labels (int32) or 0, 2 target probabilities or 0, 3 p, 4 gz,
 * 5 N, 6 E, 7 per-row losses (float64[N]).
 */
import { pi, pp, shareStart } from './common';

export function softmaxForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), p = pp(params, 1), N = pi(params, 2), E = pi(params, 3);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  for (let n = n0; n < n1; n++) {
    const xo = x + (<usize>(n * E) << 2), po = p + (<usize>(n * E) << 2);
    let max = -Infinity;
    for (let e = 0; e < E; e++) {
      const v = <f64>load<f32>(xo + (<usize>e << 2));
      if (v > max) max = v;
    }
    let sum = 0.0;
    for (let e = 0; e < E; e++) {
      const v = <f32>Math.exp(<f64>load<f32>(xo + (<usize>e << 2)) - max);
      store<f32>(po + (<usize>e << 2), v);
      sum += <f64>v;
    }
    for (let e = 0; e < E; e++) store<f32>(po + (<usize>e << 2), <f32>(<f64>load<f32>(po + (<usize>e << 2)) / sum));
  }
}

export function softmaxBackward(params: usize, part: i32, parts: i32): void {
  const p = pp(params, 0), gy = pp(params, 1), gx = pp(params, 2), N = pi(params, 3), E = pi(params, 4);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  for (let n = n0; n < n1; n++) {
    const o = <usize>(n * E) << 2;
    let dot = 0.0;
    for (let e = 0; e < E; e++) {
      const at = o + (<usize>e << 2);
      dot += <f64>load<f32>(gy + at) * <f64>load<f32>(p + at);
    }
    for (let e = 0; e < E; e++) {
      const at = o + (<usize>e << 2);
      store<f32>(gx + at, <f32>(<f64>load<f32>(p + at) * (<f64>load<f32>(gy + at) - dot)));
    }
  }
}

export function softmaxCrossEntropy(params: usize, part: i32, parts: i32): void {
  const z = pp(params, 0), labels = pp(params, 1), q = pp(params, 2), p = pp(params, 3), gz = pp(params, 4);
  const N = pi(params, 5), E = pi(params, 6), losses = pp(params, 7);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  const count = <f64>N;
  for (let n = n0; n < n1; n++) {
    const o = <usize>(n * E) << 2;
    let max = -Infinity;
    for (let e = 0; e < E; e++) {
      const v = <f64>load<f32>(z + o + (<usize>e << 2));
      if (v > max) max = v;
    }
    let sum = 0.0;
    for (let e = 0; e < E; e++) sum += Math.exp(<f64>load<f32>(z + o + (<usize>e << 2)) - max);
    const logSum = Math.log(sum);
    for (let e = 0; e < E; e++) {
      const at = o + (<usize>e << 2);
      store<f32>(p + at, <f32>Math.exp(<f64>load<f32>(z + at) - max - logSum));
    }
    let loss = 0.0;
    if (labels != 0) {
      const y = load<i32>(labels + (<usize>n << 2));
      loss = -(<f64>load<f32>(z + o + (<usize>y << 2)) - max - logSum);
      for (let e = 0; e < E; e++) {
        const at = o + (<usize>e << 2);
        store<f32>(gz + at, <f32>((<f64>load<f32>(p + at) - (e == y ? 1.0 : 0.0)) / count));
      }
    } else {
      for (let e = 0; e < E; e++) {
        const at = o + (<usize>e << 2);
        const qe = <f64>load<f32>(q + at);
        if (qe != 0) loss -= qe * (<f64>load<f32>(z + at) - max - logSum);
        store<f32>(gz + at, <f32>((<f64>load<f32>(p + at) - qe) / count));
      }
    }
    store<f64>(losses + (<usize>n << 3), loss);
  }
}
