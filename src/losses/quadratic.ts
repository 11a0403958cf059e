/**
 * Quadratic loss for regression (notes, section 2): ℓ(y, y') = ||y - y'||², with no 1/2 factor,
 * so ∂ℓ/∂y = 2 (y - y').
 */
import type { Floats } from '../core/floats.js';
import type { ClassTarget } from '../kernels/kernels.js';

/** Risk (mean over N samples of E values each) and, in g, ∂risk/∂y. */
export function quadraticLoss(y: Floats, target: Floats, g: Floats, N: number, E: number): number {
  let risk = 0;
  for (let i = 0; i < N * E; i++) {
    const d = y[i] - target[i];
    risk += d * d;
    g[i] = (2 * d) / N;
  }
  return risk / N;
}

/**
 * y' for N samples of E outputs when the targets are classes: the one-hot vector e_y of each
 * label (Keras' mean squared error on categorical labels), or the given target probabilities.
 */
export function quadraticTargets(target: ClassTarget, N: number, E: number): Float32Array {
  if ('probs' in target) return Float32Array.from(target.probs.subarray(0, N * E));
  const values = new Float32Array(N * E);
  for (let n = 0; n < N; n++) values[n * E + target.labels[n]] = 1;
  return values;
}
