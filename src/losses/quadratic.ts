/**
 * Quadratic loss for regression (notes, section 2): ℓ(y, y') = ||y - y'||², with no 1/2 factor,
 * so ∂ℓ/∂y = 2 (y - y').
 */
import type { Floats } from '../core/floats.js';

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
