/**
 * The kernels of graph joins (Add, Concat, Identity) and of the fan-out gradient sum: copies,
 * sums and per-channel broadcasts. Every output element is computed by one fixed expression, so any
 * split of the work gives the same numbers.
 */
import type { Floats } from '../../core/floats.js';

/** y[i] = a[i] + b[i], i < n (y may be a or b). */
export function addTensors(a: Floats, b: Floats, y: Floats, n: number): void {
  for (let i = 0; i < n; i++) y[i] = a[i] + b[i];
}

/** y[n, r, c] = x[n, r, c] + b[n, c]: b broadcast over the R positions of each sample (y may be x). */
export function addBroadcast(x: Floats, b: Floats, y: Floats, N: number, R: number, C: number): void {
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      const o = (n * R + r) * C;
      for (let c = 0; c < C; c++) y[o + c] = x[o + c] + b[n * C + c];
    }
  }
}

/** gb[n, c] = Σ_r gy[n, r, c], r ascending: the gradient of a broadcast input (written, not accumulated). */
export function sumBroadcast(gy: Floats, gb: Floats, N: number, R: number, C: number): void {
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      // Summed in gb itself, so each partial sum is rounded to gb's precision (as every engine does).
      gb[n * C + c] = 0;
      for (let r = 0; r < R; r++) gb[n * C + c] += gy[(n * R + r) * C + c];
    }
  }
}

/**
 * dst[r·dstStride + dstOffset + c] = src[r·srcStride + srcOffset + c] for r < R, c < C: a copy
 * (R = 1), or a block of channels into (Concat forward) or out of (Concat backward) a wider tensor.
 */
export function copyBlock(src: Floats, dst: Floats, R: number, C: number,
  srcStride: number, srcOffset: number, dstStride: number, dstOffset: number): void {
  for (let r = 0; r < R; r++) {
    const s = r * srcStride + srcOffset, d = r * dstStride + dstOffset;
    for (let c = 0; c < C; c++) dst[d + c] = src[s + c];
  }
}
