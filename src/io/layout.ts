/**
 * Conversions between Descent's channels-last layouts and PyTorch's channels-first ones:
 * activations NCHW ↔ NHWC, conv weights [O, C, KH, KW] ↔ [O, KH, KW, C].
 */

/** [A, B, C, D] → [A, C, D, B]: NCHW → NHWC, and [O, C, KH, KW] → [O, KH, KW, C]. */
export function channelsFirstToLast(src: ArrayLike<number>, A: number, B: number, C: number, D: number,
  out: Float32Array | Float64Array = new Float32Array(A * B * C * D)): Float32Array | Float64Array {
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        for (let d = 0; d < D; d++) out[((a * C + c) * D + d) * B + b] = src[((a * B + b) * C + c) * D + d];
  return out;
}

/** [A, C, D, B] → [A, B, C, D]: NHWC → NCHW, and [O, KH, KW, C] → [O, C, KH, KW]. */
export function channelsLastToFirst(src: ArrayLike<number>, A: number, B: number, C: number, D: number,
  out: Float32Array | Float64Array = new Float32Array(A * B * C * D)): Float32Array | Float64Array {
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        for (let d = 0; d < D; d++) out[((a * B + b) * C + c) * D + d] = src[((a * C + c) * D + d) * B + b];
  return out;
}
