/**
 * Reference soft-max (notes, section 1: the map onto the simplex P) and the fused
 * soft-max + cross-entropy of section 2, computed stably by subtracting each row's maximum.
 */
import type { Floats } from '../../core/floats.js';
import type { ClassTarget } from '../kernels.js';

export function softmaxForward(x: Floats, p: Floats, N: number, E: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * E;
    let max = -Infinity;
    for (let e = 0; e < E; e++) if (x[o + e] > max) max = x[o + e];
    let sum = 0;
    for (let e = 0; e < E; e++) {
      const v = Math.exp(x[o + e] - max);
      p[o + e] = v;
      sum += v;
    }
    for (let e = 0; e < E; e++) p[o + e] /= sum;
  }
}

/** gx_j = Σ_i gy_i p_i (δ_ij - p_j) = p_j (gy_j - Σ_i gy_i p_i). */
export function softmaxBackward(p: Floats, gy: Floats, gx: Floats, N: number, E: number): void {
  for (let n = 0; n < N; n++) {
    const o = n * E;
    let dot = 0;
    for (let e = 0; e < E; e++) dot += gy[o + e] * p[o + e];
    for (let e = 0; e < E; e++) gx[o + e] = p[o + e] * (gy[o + e] - dot);
  }
}

export function softmaxCrossEntropy(z: Floats, target: ClassTarget, p: Floats, gz: Floats, N: number, E: number): number {
  let risk = 0;
  for (let n = 0; n < N; n++) {
    const o = n * E;
    let max = -Infinity;
    for (let e = 0; e < E; e++) if (z[o + e] > max) max = z[o + e];
    let sum = 0;
    for (let e = 0; e < E; e++) sum += Math.exp(z[o + e] - max);
    const logSum = Math.log(sum);
    for (let e = 0; e < E; e++) p[o + e] = Math.exp(z[o + e] - max - logSum);
    if ('labels' in target) {
      const y = target.labels[n];
      risk -= z[o + y] - max - logSum; // -log p_y
      for (let e = 0; e < E; e++) gz[o + e] = (p[o + e] - (e === y ? 1 : 0)) / N;
    } else {
      const q = target.probs;
      for (let e = 0; e < E; e++) {
        if (q[o + e] !== 0) risk -= q[o + e] * (z[o + e] - max - logSum); // -Σ q_c log p_c
        gz[o + e] = (p[o + e] - q[o + e]) / N;
      }
    }
  }
  return risk / N;
}
