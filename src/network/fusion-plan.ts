/**
 * Which layers a pass runs together (kernel fusion), decided once at build from the network's
 * structure. Fusion is an engine optimisation, not a change of the recursion: every layer keeps its
 * own forward and backward (its local Jacobians, eqs. 2-3), and the reference engine runs them one by
 * one. Where the engine has a fused kernel (the optional Kernels methods), the node at the head of a
 * chain calls that one kernel for the chain instead, with bitwise the same numbers:
 *
 *   relu[k]      node k (Conv2d, Dense) also writes the output of ReLU node k + 1 (Kernels.fusesRelu)
 *   poolRelu[k]  the backward of MaxPool2d node k also runs that of ReLU node k − 1, which it reads
 *                (Kernels.maxPool2dReluBackward): ∂L/∂x of the ReLU's output is never written
 *
 * Measured and left out: Conv2d → ReLU → MaxPool2d in one forward kernel (each sample pooled as soon
 * as its convolution was done) was no faster on NET-A or NET-B (×0.97–1.01 per call): the pool's
 * reads were already cheap next to its arithmetic.
 */
import type { Layer } from '../layers/layer.js';
import type { Topology } from './topology.js';

export interface FusionPlan {
  relu: boolean[];
  poolRelu: boolean[];
}

/** Whether node j reads exactly tensor t, which no other node reads. */
function soleReader(topology: Topology, j: number, t: number): boolean {
  return topology.inputs[j]?.length === 1 && topology.inputs[j][0] === t && topology.consumers[t].length === 1;
}

/** Which nodes may write the ReLU after them in the same pass: the ReLU reads only their output. */
export function reluFusions(layers: Layer[], topology: Topology): boolean[] {
  return layers.map((l, k) => l.fusesRelu && layers[k + 1]?.type === 'ReLU' &&
    topology.inputs[k + 1].length === 1 && topology.inputs[k + 1][0] === k + 1);
}

/**
 * MaxPool2d nodes k whose input is ReLU node k − 1's output and read by the pool alone (so nobody
 * else needs its gradient), the ReLU reading a node's output (not the network's input).
 */
export function poolReluBackwardFusions(layers: Layer[], topology: Topology): boolean[] {
  return layers.map((l, k) => l.type === 'MaxPool2d' && k >= 1 && layers[k - 1].type === 'ReLU' &&
    soleReader(topology, k, k) && topology.inputs[k - 1].length === 1 && topology.inputs[k - 1][0] > 0);
}

/** The plan; each kind of fusion can be turned off (SequentialOptions fuseRelu, fusePool). */
export function planFusions(layers: Layer[], topology: Topology, options: { relu: boolean; pool: boolean }): FusionPlan {
  const none = layers.map(() => false);
  return {
    relu: options.relu ? reluFusions(layers, topology) : none,
    poolRelu: options.pool ? poolReluBackwardFusions(layers, topology) : none,
  };
}
