/**
 * Which layers a pass runs together (kernel fusion), decided once at build from the network's
 * structure. Fusion is an engine optimisation, not a change of the recursion: every layer keeps its
 * own forward and backward (its local Jacobians, eqs. 2-3), and the reference engine runs them one by
 * one. Where the engine has the fused kernel (Kernels.fusesRelu, or the optional Kernels method
 * named here), one node calls it for two layers instead, with bitwise the same numbers:
 *
 *   relu[k]         node k (Conv2d, Dense) also writes the output of ReLU node k + 1 (forward)
 *   throughRelu[k]  the backward of node k (MaxPool2d) also runs that of ReLU node k − 1, whose
 *                   output only node k reads: the kernel named (maxPool2dReluBackward) writes ∂L/∂
 *                   of the ReLU's input, and ∂L/∂ of its output is never written (backward)
 *
 * Measured and left out, as no faster on NET-A or NET-B (batch 64, alternating calls; the commits
 * that removed them hold the code): Conv2d → ReLU → MaxPool2d in one forward kernel, each sample
 * pooled as soon as its convolution was done (×0.97–1.01 per call: the pool's reads were cheap next
 * to its arithmetic); the ReLU's backward in the backward-data of the convolution after it (NET-B's
 * second layer, Winograd gating at its output store: ×1.00–1.01; the gating's loads cost what the
 * saved pass did).
 */
import type { Kernels } from '../kernels/kernels.js';
import type { Layer } from '../layers/layer.js';
import type { Topology } from './topology.js';

/** The fused kernels a backward can run a ReLU's backward with. */
export type ThroughReluKernel = 'maxPool2dReluBackward';

const THROUGH_RELU: Record<string, ThroughReluKernel> = {
  MaxPool2d: 'maxPool2dReluBackward',
};

export interface FusionPlan {
  relu: boolean[];
  throughRelu: (ThroughReluKernel | null)[];
}

/** Which nodes may write the ReLU after them in the same pass: the ReLU reads only their output. */
export function reluFusions(layers: Layer[], topology: Topology): boolean[] {
  return layers.map((l, k) => l.fusesRelu && layers[k + 1]?.type === 'ReLU' &&
    topology.inputs[k + 1].length === 1 && topology.inputs[k + 1][0] === k + 1);
}

/**
 * Nodes k (MaxPool2d) that read only ReLU node k − 1's output, which nothing else reads, the
 * ReLU reading a node's output (not the network's input): the kernel that runs both backwards.
 */
export function throughReluFusions(layers: Layer[], topology: Topology): (ThroughReluKernel | null)[] {
  const { inputs, consumers } = topology;
  return layers.map((l, k) => {
    const kernel = THROUGH_RELU[l.type];
    const fits = kernel !== undefined && k >= 1 && layers[k - 1].type === 'ReLU' && inputs[k].length === 1 &&
      inputs[k][0] === k && consumers[k].length === 1 && inputs[k - 1].length === 1 && inputs[k - 1][0] > 0;
    return fits ? kernel : null;
  });
}

/** The plan; each kind of fusion can be turned off (SequentialOptions fuseRelu, fuseReluBackward). */
export function planFusions(layers: Layer[], topology: Topology, options: { relu: boolean; reluBackward: boolean }): FusionPlan {
  return {
    relu: options.relu ? reluFusions(layers, topology) : layers.map(() => false),
    throughRelu: options.reluBackward ? throughReluFusions(layers, topology) : layers.map(() => null),
  };
}

/** Whether node k's backward runs the ReLU's before it on these kernels (the plan names it and they have it). */
export function runsThroughRelu(plan: FusionPlan, k: number, kernels: Kernels): boolean {
  const kernel = plan.throughRelu[k];
  return kernel !== null && typeof kernels[kernel] === 'function';
}
