/**
 * The activation memory of a network for one sample, and what a liveness plan would need.
 *
 * Training keeps every x^(k) until the backward pass (each node's backward reads its inputs and
 * output), so activations are the sum of all tensors. A gradient ∂L/∂x^(t) lives only from the
 * backward of the last node that reads x^(t) (the first to send it something) until its producer's
 * backward has read it; with buffers shared by tensors whose lives do not overlap, the gradients
 * need only the peak of the live set over the reverse sweep. Today every tensor has its own
 * gradient buffer (simple, and every ∂L/∂x^(k) stays readable after a step); this plan says what
 * sharing would save.
 */
import type { Sequential } from './sequential.js';

export interface MemoryPlan {
  /** Numbers per sample: all activations x^(0..K). */
  activations: number;
  /** All gradient buffers as allocated (one per tensor, plus one per extra reading edge). */
  gradients: number;
  /** The peak of live gradient buffers over the backward sweep (a liveness plan's need). */
  gradientPeak: number;
}

export function memoryPlan(net: Sequential): MemoryPlan {
  const { inputs, consumers } = net.topology, K = net.layers.length;
  const size = (t: number) => (t === 0 ? sizeOf(net.inputShape) : sizeOf(net.layers[t - 1].outputShape));
  let activations = 0, gradients = 0;
  for (let t = 0; t <= K; t++) {
    activations += size(t);
    gradients += size(t) * (consumers[t].length > 1 ? 1 + consumers[t].length : 1);
  }
  // Reverse sweep: before node k runs, ∂L/∂x^(k+1) is live; node k makes its inputs' gradients
  // (and edge buffers) live; ∂L/∂x^(k+1) dies after node k, the edge buffers of x^(t) when it is summed.
  let live = size(K), peak = live;
  const started = new Set<number>([K]);
  for (let k = K - 1; k >= 0; k--) {
    for (const t of inputs[k]) {
      if (consumers[t].length > 1) live += size(t); // this edge's buffer
      if (!started.has(t)) {
        started.add(t);
        live += size(t);
      }
    }
    peak = Math.max(peak, live);
    live -= size(k + 1); // node k was the producer: its output's gradient (and edges) are done
    if (consumers[k + 1].length > 1) live -= size(k + 1) * consumers[k + 1].length;
  }
  return { activations, gradients, gradientPeak: peak };
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
