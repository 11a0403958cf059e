/**
 * Cross-entropy on p, unfused: ℓ = -Σ_c q_c log p_c (= -log p_y for a label), with
 * ∂ℓ/∂p_c = -q_c / p_c. This is eq. (4) taken literally, used by the Algorithm 1 check; training
 * uses the fused, stable soft-max + cross-entropy kernel, whose gradient on the logits is p - q.
 */
import type { Floats } from '../core/floats.js';
import type { ClassTarget } from '../kernels/kernels.js';

/** Risk (mean over N) and, in g, ∂risk/∂p. */
export function crossEntropyOnProbabilities(p: Floats, target: ClassTarget, g: Floats, N: number, E: number): number {
  let risk = 0;
  for (let n = 0; n < N; n++) {
    for (let e = 0; e < E; e++) {
      const i = n * E + e;
      const q = 'labels' in target ? (target.labels[n] === e ? 1 : 0) : target.probs[i];
      if (q !== 0) risk -= q * Math.log(p[i]);
      g[i] = q === 0 ? 0 : -q / p[i] / N;
    }
  }
  return risk / N;
}
