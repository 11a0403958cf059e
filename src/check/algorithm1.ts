/**
 * Algorithm 1 of the notes, literally: loop over samples; forward, keeping every x^(k); start
 * g = ∂ℓ/∂p (eq. 4, unfused: -q/p for cross-entropy); for k = K..1 prepend g·∂x^(k)/∂w^(k) to
 * ∇ℓ_n and set g ← g·∂x^(k)/∂x^(k-1); accumulate the running average ∇L ← ((n-1)∇L + ∇ℓ_n)/n.
 * (The notes' backward loop stops at k = 2; k = 1 has parameters too, so it runs to k = 1.)
 * It is slow on purpose: the batched, fused backward must give the same gradient.
 */
import type { Floats } from '../core/floats.js';
import { sizeOf } from '../core/shape.js';
import { crossEntropyOnProbabilities } from '../losses/cross-entropy.js';
import type { LossKind } from '../losses/loss.js';
import { quadraticLoss } from '../losses/quadratic.js';
import type { Sequential } from '../network/sequential.js';

export type SampleTarget = { labels: Int32Array } | { values: Floats };

/** ∇L_T over N samples; the network must hold no batch-coupled layer (batch-norm in training). */
export function algorithm1(net: Sequential, inputs: Floats, target: SampleTarget, N: number, loss: LossKind): Float64Array {
  const d0 = sizeOf(net.inputShape), K = net.layers.length, E = sizeOf(net.outputShape);
  const gradient = new Float64Array(net.w.length);
  for (let n = 1; n <= N; n++) {
    const xn = inputs.slice((n - 1) * d0, n * d0);
    const p = net.forward(xn, 1, false);                // x^(0..K) for this sample, kept
    const g = net.activationGradient(K);                 // g = ∂ℓ_n/∂x^(K)
    if (loss === 'cross_entropy') {
      if (!('labels' in target)) throw new Error('cross-entropy here takes labels');
      crossEntropyOnProbabilities(p, { labels: target.labels.subarray(n - 1, n) }, g, 1, E);
    } else {
      if (!('values' in target)) throw new Error('the quadratic loss takes values');
      quadraticLoss(p, target.values.subarray((n - 1) * E, n * E), g, 1, E);
    }
    net.g.fill(0);                                       // ∇ℓ_n = [], filled layer by layer
    net.backwardFrom(K - 1, 1, false);                   // each layer: its own two Jacobian products
    for (let j = 0; j < gradient.length; j++) gradient[j] = ((n - 1) * gradient[j] + net.g[j]) / n;
  }
  return gradient;
}
