/** Bias broadcast over rows, and its gradient: the column sums. */
import type { Floats } from '../../core/floats.js';

export function addBias(y: Floats, bias: Floats, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) y[o + c] += bias[c];
  }
}

export function sumRows(gy: Floats, gb: Floats, R: number, C: number): void {
  for (let r = 0; r < R; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) gb[c] += gy[o + c];
  }
}
