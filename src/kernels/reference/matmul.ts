/** Reference matrix multiply and the dense layer built on it (notes, Appendix: a = W x̃). */
import { allFinite } from '../../core/finite.js';
import type { Floats } from '../../core/floats.js';
import { activationForward } from './activations.js';
import { addBias, sumRows } from './bias.js';

/**
 * C[M,N] (+)= op(A)·op(B), row-major; an i-k-j loop so the inner loop runs along rows. A zero of A
 * (common after a ReLU) is skipped only when B is all finite, so that 0·∞ and 0·NaN still give
 * NaN, as IEEE and every SIMD engine compute them.
 */
export function matmul(a: Floats, b: Floats, c: Floats, M: number, N: number, K: number,
  transA: boolean, transB: boolean, accumulate: boolean): void {
  if (!accumulate) c.fill(0, 0, M * N);
  const skipZeros = allFinite(b, K * N);
  for (let i = 0; i < M; i++) {
    const ci = i * N;
    for (let k = 0; k < K; k++) {
      const aik = transA ? a[k * M + i] : a[i * K + k];
      if (aik === 0 && skipZeros) continue;
      if (transB) {
        for (let j = 0; j < N; j++) c[ci + j] += aik * b[j * K + k];
      } else {
        const bk = k * N;
        for (let j = 0; j < N; j++) c[ci + j] += aik * b[bk + j];
      }
    }
  }
}

export function denseForward(x: Floats, w: Floats, b: Floats | null, y: Floats, N: number, I: number, O: number,
  relu?: Floats | null): void {
  // y[n,o] = Σ_i x[n,i] W[o,i]: a dot product of two contiguous rows.
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      let s = 0;
      const xo = n * I, wo = o * I;
      for (let i = 0; i < I; i++) s += x[xo + i] * w[wo + i];
      y[n * O + o] = s;
    }
  }
  if (b) addBias(y, b, N, O);
  if (relu) activationForward('relu', y, relu, N * O, 0);
}

export function denseBackward(x: Floats, w: Floats, gy: Floats, gx: Floats | null, gw: Floats, gb: Floats | null,
  N: number, I: number, O: number, writeGw = false): void {
  if (gx) matmul(gy, w, gx, N, I, O, false, false, false); // g·∂x/∂x^(k-1) = g W
  matmul(gy, x, gw, O, I, N, true, false, !writeGw);        // g·∂x/∂W: outer products g_i x̃_j
  if (gb) sumRows(gy, gb, N, O);
}
