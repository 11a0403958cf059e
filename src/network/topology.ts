/**
 * The wiring of a graph network: which tensors each node reads, and who reads each tensor.
 *
 * Tensors are numbered as the notes number activations: x^(0) is the network's input and x^(k+1)
 * the output of node k. Nodes are listed in a topological order (each after the nodes it reads),
 * which is the order of the forward pass; the backward pass runs it in reverse. A chain (every
 * node reads the one before) is the notes' x^(k) = f^(k)(x^(k-1)), i.e. a Sequential.
 */
import type { Layer } from '../layers/layer.js';

/** The name by which nodes refer to the network's input. */
export const INPUT = 'input';

/** One node of a graph: a layer, a name others refer to it by, and the names of what it reads. */
export interface GraphNode {
  /** Unique; defaults to the node's index ("0", "1", …). */
  name?: string;
  layer: Layer;
  /** Names of nodes listed before it, or "input"; defaults to the node listed just before it. */
  inputs?: string[];
}

export interface Topology {
  names: string[];
  /** inputs[k]: the tensors node k reads, in order. */
  inputs: number[][];
  /** consumers[t]: the edges {node, slot} that read tensor t, in ascending node order. */
  consumers: { node: number; slot: number }[][];
  /** Whether node k was given a name / inputs other than the defaults (kept in its JSON config). */
  namedExplicitly: boolean[];
  inputsExplicit: boolean[];
}

/** Resolve names to tensor numbers; throws a plain Error naming the node at fault. */
export function resolveTopology(nodes: GraphNode[]): Topology {
  const index = new Map<string, number>([[INPUT, 0]]);
  const topo: Topology = { names: [], inputs: [], consumers: [[]], namedExplicitly: [], inputsExplicit: [] };
  nodes.forEach((node, k) => {
    const name = node.name ?? String(k);
    const where = `node "${name}" (${node.layer.type})`;
    if (typeof name !== 'string' || name === '') throw new Error(`node ${k}: a name must be a non-empty string`);
    if (index.has(name)) {
      throw new Error(`${where}: the name "${name}" is ${name === INPUT ? 'reserved for the network input' : 'used twice'}`);
    }
    const inputNames = node.inputs ?? [k === 0 ? INPUT : topo.names[k - 1]];
    if (!Array.isArray(inputNames) || inputNames.length === 0) throw new Error(`${where}: "inputs" must be a non-empty list of names`);
    topo.inputs.push(inputNames.map((n, slot) => {
      const t = index.get(n);
      if (t === undefined) {
        throw new Error(`${where}: input "${n}" is not the input or a node listed before it ` +
          `(list nodes so that each comes after its inputs)`);
      }
      topo.consumers[t].push({ node: k, slot });
      return t;
    }));
    index.set(name, k + 1);
    topo.names.push(name);
    topo.consumers.push([]);
    topo.namedExplicitly.push(node.name !== undefined);
    topo.inputsExplicit.push(node.inputs !== undefined);
  });
  checkAllReachOutput(topo);
  return topo;
}

/** Every node must contribute to the output (the last node): a dead branch is a mistake. */
function checkAllReachOutput(topo: Topology): void {
  const K = topo.names.length, live = new Array<boolean>(K + 1).fill(false);
  live[K] = true;
  for (let k = K - 1; k >= 0; k--) {
    if (!live[k + 1]) {
      throw new Error(`node "${topo.names[k]}" does not lead to the output "${topo.names[K - 1]}" (the last node is the output)`);
    }
    for (const t of topo.inputs[k]) live[t] = true;
  }
}

/** Whether the graph is a plain chain: every node reads exactly the tensor before it. */
export function isChain(topo: Topology): boolean {
  return topo.inputs.every((ins, k) => ins.length === 1 && ins[0] === k);
}
