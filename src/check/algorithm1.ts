/**
 * Algorithm 1 of the notes, literally, with explicit matrices: loop over samples; forward, keeping
 * every x^(k); start g = ∂ℓ/∂p (eq. 4, unfused: -1/p_y at the label for cross-entropy, 2(p - y')
 * for the quadratic loss); for k = K..1 build layer k's Jacobians ∂x^(k)/∂w^(k) and ∂x^(k)/∂x^(k-1)
 * at x^(k-1) and w^(k) (src/check/jacobian.ts: differences of the layer's forward in float64),
 * prepend g·∂x^(k)/∂w^(k) to ∇ℓ_n and set g ← g·∂x^(k)/∂x^(k-1); accumulate the running average
 * ∇L ← ((n-1)∇L + ∇ℓ_n)/n. (The notes' backward loop stops at k = 2; k = 1 has parameters too,
 * so it runs to k = 1.) On a graph network the same loop runs over the nodes in reverse order, each
 * sending g·∂x^(k)/∂x to every tensor it reads, the joins' Jacobians taken from their forward too.
 *
 * It calls no layer's backward, no loss gradient and no fused kernel, so agreeing with the batched
 * backward proves that backward. It is slow on purpose: a few small layers and samples.
 * The network runs in evaluation mode (a max-pool tie goes to the first maximum, dropout is the
 * identity); batch-norm uses its running statistics.
 */
import type { Floats } from '../core/floats.js';
import type { Sequential } from '../network/sequential.js';
import type { LossKind } from '../losses/loss.js';
import { JoinLayer } from '../layers/join.js';
import { explicitJacobians, firstOfTies, rowTimes } from './jacobian.js';
import { joinJacobians } from './join-jacobian.js';
import { hostFloats } from '../core/tensor.js';

export type SampleTarget = { labels: Int32Array } | { values: Floats };

/** ∇L_T over N samples, in w's order. */
export function algorithm1(net: Sequential, inputs: Floats, target: SampleTarget, N: number, loss: LossKind): Float64Array {
  const K = net.layers.length;
  if (loss === 'cross_entropy' && net.layers[K - 1].type !== 'Softmax') {
    throw new Error('Algorithm 1 takes cross-entropy on p, the output of a final Softmax');
  }
  const d = [net.inputShape, ...net.layers.map((l) => l.outputShape)].map((s) => s.reduce((a, b) => a * b, 1));
  const gradient = new Float64Array(net.w.length);
  for (let n = 1; n <= N; n++) {
    net.forward(inputs.slice((n - 1) * d[0], n * d[0]), 1, false);           // x^(0..K) for this sample
    const x = Array.from({ length: K + 1 }, (_, k) => Float64Array.from(hostFloats(net.activation(k), 'algorithm1').subarray(0, d[k])));
    // g[t] = ∂ℓ_n/∂x^(t). In a chain layer k reads x^(k-1); in a graph it reads the tensors
    // net.topology.inputs[k-1], and where x^(t) feeds several layers, g[t] is the sum of what they send.
    const g: Float64Array[] = [];
    const send = (t: number, v: Float64Array) => (g[t] = g[t] ? g[t].map((a, i) => a + v[i]) : v);
    g[K] = lossGradient(x[K], target, n - 1, loss);                           // g = ∂ℓ_n/∂x^(K)
    const grad = new Float64Array(net.w.length);                              // ∇ℓ_n = [], filled layer by layer
    for (let k = K; k >= 1; k--) {
      const layer = net.layers[k - 1], reads = net.topology.inputs[k - 1];
      if (layer instanceof JoinLayer) {                                       // Add, Concat: no w, one ∂x^(k)/∂x_i per input
        joinJacobians(layer, reads.map((t) => x[t])).forEach((J, i) => send(reads[i], rowTimes(g[k], J)));
        continue;
      }
      const w = slotRange(net.paramSlots, k - 1), b = slotRange(net.bufferSlots, k - 1);
      const J = explicitJacobians(layer.config(), layer.inputShape, x[reads[0]], 1, {
        training: false, weights: net.w.subarray(w.start, w.end), buffers: net.buffers.subarray(b.start, b.end),
      });
      grad.set(rowTimes(g[k], firstOfTies(J.jw, J.kinks.w)), w.start);       // g·∂x^(k)/∂w^(k)
      send(reads[0], rowTimes(g[k], firstOfTies(J.jx, J.kinks.x)));           // g ← g·∂x^(k)/∂x^(k-1)
    }
    for (let j = 0; j < gradient.length; j++) gradient[j] = ((n - 1) * gradient[j] + grad[j]) / n;
  }
  return gradient;
}

/** Eq. (4): ∂ℓ/∂p for one sample. */
function lossGradient(p: Float64Array, target: SampleTarget, n: number, loss: LossKind): Float64Array {
  const E = p.length, g = new Float64Array(E);
  if (loss === 'cross_entropy') {
    if (!('labels' in target)) throw new Error('cross-entropy here takes labels');
    const y = target.labels[n];
    g[y] = -1 / p[y];                                                         // ℓ = -log p_y
  } else {
    if (!('values' in target)) throw new Error('the quadratic loss takes values');
    for (let c = 0; c < E; c++) g[c] = 2 * (p[c] - target.values[n * E + c]);  // ℓ = ‖p - y'‖²
  }
  return g;
}

/** The part of a vector (w or the buffers) that belongs to layer k. */
function slotRange(slots: { layer: number; offset: number; length: number }[], k: number): { start: number; end: number } {
  const mine = slots.filter((s) => s.layer === k);
  if (mine.length === 0) return { start: 0, end: 0 };
  return { start: mine[0].offset, end: mine[mine.length - 1].offset + mine[mine.length - 1].length };
}
