/**
 * The activation memory of a network for one sample, and what a liveness plan would need.
 *
 * Training keeps every x^(k) until the backward pass (each node's backward reads its inputs and
 * output), so activations are the sum of all tensors. A gradient ∂L/∂x^(t) lives only from the
 * backward of the last node that reads x^(t) (the first to send it something) until its producer's
 * backward has read it; with buffers shared by tensors whose lives do not overlap, the gradients
 * need only the peak of the live set over the reverse sweep. A chain gives every tensor its own
 * gradient buffer (every ∂L/∂x^(k) stays readable after a step, as it always was); a graph shares
 * them by default (planGradientSlots; SequentialOptions.shareGradients).
 *
 * An inference pass (no backward) needs an activation only from the node that writes it to the
 * last node that reads it, so activations whose lives do not overlap can share memory too
 * (planActivationSlots; SequentialOptions.shareActivations).
 */
import { reluFusions, type ThroughReluKernel, throughReluFusions } from './fusion-plan.js';
import type { Sequential } from './sequential.js';

export interface MemoryPlan {
  /** Numbers per sample: all activations x^(0..K). */
  activations: number;
  /** All gradient buffers as allocated (one per tensor, plus one per extra reading edge). */
  gradients: number;
  /** The peak of live gradient buffers over the backward sweep (a liveness plan's need). */
  gradientPeak: number;
  /** What the shared slots of planGradientSlots hold in all (what a graph allocates by default). */
  gradientSlots: number;
  /** What the shared slots of planActivationSlots hold in all (an inference pass with shareActivations). */
  activationSlots: number;
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
  const sizes = Array.from({ length: K + 1 }, (_, t) => size(t));
  const total = (slots: BufferSlots) => slots.slotSizes.reduce((a, b) => a + b, 0);
  const gradientSlots = total(planGradientSlots(inputs, consumers, sizes, throughReluFusions(net.layers, net.topology)));
  const activationSlots = total(planActivationSlots(inputs, consumers, sizes, fusedRelus(net)));
  return { activations, gradients, gradientPeak: peak, gradientSlots, activationSlots };
}

/** Which nodes may write the ReLU after them in the same pass (Sequential's fusion rule; see its fuseRelu). */
export function fusedRelus(net: Sequential): boolean[] {
  return reluFusions(net.layers, net.topology);
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Gradient buffers shared by tensors whose lives do not overlap. Buffer t (0..K) is ∂L/∂x^(t);
 * buffer K + 1 + e is the e-th edge buffer (node, slot) in node order. Steps count the backward
 * sweep: node k runs at step K - 1 - k, the loss writes before step 0, and ∂L/∂x^(0) is kept to the
 * end (step K). A buffer lives from the step that writes it to the step that last reads it; two
 * buffers whose lives meet get different slots (greedy, by start of life, smallest free slot first).
 */
export interface BufferSlots {
  /** slotOf[b]: the slot of buffer b. */
  slotOf: number[];
  /** Numbers per sample of each slot (the largest buffer it holds). */
  slotSizes: number[];
}
/** A buffer's life: from the step that writes it to the step that last reads it. */
interface Life { start: number; end: number; size: number }

export function planGradientSlots(inputs: number[][], consumers: { node: number; slot: number }[][], sizes: number[],
  throughRelu: readonly (ThroughReluKernel | null)[] = []): BufferSlots {
  const K = inputs.length, step = (node: number) => K - 1 - node;
  // Where node k's backward writes: one step early when the node after it runs it (a ReLU; fusion-plan.ts).
  const writes = (node: number) => (throughRelu[node + 1] ? step(node + 1) : step(node));
  const lives: Life[] = [];
  for (let t = 0; t <= K; t++) {
    const end = t === 0 ? K : step(t - 1);
    const readers = consumers[t];
    let start = t === K ? -1 : readers.length === 1 ? writes(readers[0].node) : end; // several readers: summed at `end`
    if (t === K - 1) start = -1; // the loss may write the logits' gradient before step 0
    lives.push({ start, end, size: sizes[t] });
  }
  inputs.forEach((ins, k) => ins.forEach((t) => {
    if (consumers[t].length > 1) lives.push({ start: writes(k), end: t === 0 ? K : step(t - 1), size: sizes[t] });
  }));
  return assignSlots(lives);
}

/**
 * Activation buffers of an inference pass shared by tensors whose lives do not overlap. Buffer t is
 * x^(t); node k runs at step k. x^(0) is written before step 0; x^(t) by node t − 1, or one step
 * earlier when that node is a ReLU fused into the node before it (fused[t − 2]: both outputs are
 * written in one pass). A tensor lives until the last node that reads it; the output, and what the
 * last node reads (the logits under a final Softmax, which the risk reads again), to the end.
 */
export function planActivationSlots(inputs: number[][], consumers: { node: number; slot: number }[][], sizes: number[],
  fused: boolean[]): BufferSlots {
  const K = inputs.length;
  const lives: Life[] = sizes.map((size, t) => {
    const start = t === 0 ? -1 : t >= 2 && fused[t - 2] ? t - 2 : t - 1;
    const end = t === K || inputs[K - 1].includes(t) ? K : Math.max(start, ...consumers[t].map((c) => c.node));
    return { start, end, size };
  });
  return assignSlots(lives);
}

/** Greedy, by start of life: each buffer takes a free slot (closest in size) whose last life ended before it starts. */
function assignSlots(lives: Life[]): BufferSlots {
  const order = lives.map((_, b) => b).sort((a, b) => lives[a].start - lives[b].start || a - b);
  const slotOf = new Array<number>(lives.length), slotSizes: number[] = [], slotEnd: number[] = [];
  for (const b of order) {
    const { start, end, size } = lives[b];
    let best = -1;
    slotEnd.forEach((e, s) => {
      if (e < start && (best < 0 || Math.abs(slotSizes[s] - size) < Math.abs(slotSizes[best] - size))) best = s;
    });
    if (best < 0) {
      best = slotSizes.length;
      slotSizes.push(0);
      slotEnd.push(0);
    }
    slotOf[b] = best;
    slotSizes[best] = Math.max(slotSizes[best], size);
    slotEnd[best] = end;
  }
  return { slotOf, slotSizes };
}
