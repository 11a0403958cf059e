/**
 * Soft-max, its backward, and the fused soft-max + cross-entropy, row by row in float64 like
 * the reference (rows are short: one per sample). Threads split rows; the loss is reduced by
 * the caller from per-row values, in row order.
 *
 * Parameter words: SoftmaxForward, SoftmaxBackward, SoftmaxCrossEntropy in src/engine/kernel-params.ts.
 */
import { pi, pp, shareStart } from './common';
import { SoftmaxBackward, SoftmaxCrossEntropy, SoftmaxForward } from '../src/engine/kernel-params';

export function softmaxForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, SoftmaxForward.X), p = pp(params, SoftmaxForward.P), N = pi(params, SoftmaxForward.N);
  const E = pi(params, SoftmaxForward.E);
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
  const p = pp(params, SoftmaxBackward.P), gy = pp(params, SoftmaxBackward.Gy), gx = pp(params, SoftmaxBackward.Gx);
  const N = pi(params, SoftmaxBackward.N), E = pi(params, SoftmaxBackward.E);
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
  const z = pp(params, SoftmaxCrossEntropy.Z), labels = pp(params, SoftmaxCrossEntropy.Labels);
  const q = pp(params, SoftmaxCrossEntropy.Probs), p = pp(params, SoftmaxCrossEntropy.P);
  const gz = pp(params, SoftmaxCrossEntropy.Gz);
  const N = pi(params, SoftmaxCrossEntropy.N), E = pi(params, SoftmaxCrossEntropy.E);
  const losses = pp(params, SoftmaxCrossEntropy.Losses);
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
