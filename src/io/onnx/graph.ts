/**
 * An ONNX graph checked before anything is built from it: one float input with sane dimensions,
 * one output, every value defined exactly once, no cycles, operators of the default domain in a
 * supported opset, and constants (initializers, Constant nodes, Identity of a constant) gathered.
 * Each problem is one sentence naming the file and the node or value.
 */
import type { ModelProto, NodeProto, TensorProto, ValueInfoProto } from 'onnx-buf';
import { DescentError } from '../../core/errors.js';
import { Attributes, DataType, floatTensor, int64Tensor, nodeLabel } from './proto.js';

/** Opsets whose operators the importer reads as the ONNX specification defines them. */
export const MIN_OPSET = 9;
export const MAX_OPSET = 22;
/** The largest input sample (and activation) accepted, in elements. */
export const MAX_SAMPLE_ELEMENTS = 2 ** 24;

export interface GraphInput {
  name: string;
  /** Dimensions after the batch dimension. */
  dims: number[];
}

export interface ParsedGraph {
  source: string;
  opset: number;
  input: GraphInput;
  output: string;
  /** Nodes that compute on the input, in topological order (constant producers removed). */
  nodes: NodeProto[];
  /** Constant values by name: initializers, Constant nodes and Identity nodes of constants. */
  constants: Map<string, TensorProto>;
  /** The nodes reading each computed value. */
  consumers: Map<string, NodeProto[]>;
  metadata: Map<string, string>;
  /** Errors' name for a node: `<source>: node "name" (Op)`. */
  where(node: NodeProto): string;
}

function fail(message: string): never {
  throw new DescentError(message);
}

function opsetOf(model: ModelProto, source: string): number {
  const entry = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (!entry) fail(`${source}: the model imports no opset of the default ONNX domain`);
  const v = Number(entry.version);
  if (!(v >= MIN_OPSET && v <= MAX_OPSET)) {
    fail(`${source}: opset ${entry.version} is not supported (opsets ${MIN_OPSET} to ${MAX_OPSET}; re-export with opset_version=13)`);
  }
  return v;
}

function tensorInput(v: ValueInfoProto, source: string): GraphInput {
  const what = `${source}: input "${v.name}"`;
  const t = v.type?.value;
  if (!t || v.type?.value.case !== 'tensorType') fail(`${what} is not a tensor`);
  const tensor = v.type.value.value;
  if (tensor.elemType !== DataType.FLOAT) {
    fail(`${what} has element type ${DataType[tensor.elemType] ?? tensor.elemType}, expected FLOAT`);
  }
  const dims = tensor.shape?.dim ?? [];
  if (dims.length !== 4 && dims.length !== 2) {
    fail(`${what} has ${dims.length} dimensions; Descent imports images [N, C, H, W] (or [N, H, W, C]) and vectors [N, F]`);
  }
  const sample = dims.slice(1).map((d, i) => {
    if (d.value.case !== 'dimValue') fail(`${what}: dimension ${i + 1} has no fixed size (only the batch dimension may vary)`);
    const n = d.value.value;
    if (n < 1n || n > BigInt(MAX_SAMPLE_ELEMENTS)) fail(`${what}: dimension ${i + 1} is ${n}, outside 1..${MAX_SAMPLE_ELEMENTS}`);
    return Number(n);
  });
  const size = sample.reduce((a, b) => a * b, 1);
  if (size > MAX_SAMPLE_ELEMENTS) {
    fail(`${what}: one sample [${sample.join(', ')}] holds ${size} elements, more than the ${MAX_SAMPLE_ELEMENTS} supported`);
  }
  return { name: v.name, dims: sample };
}

/** The tensor a Constant node holds, in whichever attribute it uses. */
function constantValue(node: NodeProto, where: string): TensorProto {
  const a = new Attributes(node, where, ['value', 'value_float', 'value_floats', 'value_int', 'value_ints']);
  const t = a.tensor('value');
  if (t) return t;
  if (a.has('value_float')) return floatTensor('', [], [a.float('value_float', 0)]);
  if (a.has('value_int')) return int64Tensor('', [], [a.int('value_int', 0)]);
  const ints = a.ints('value_ints', undefined);
  if (ints) return int64Tensor('', [ints.length], ints);
  const floats = node.attribute.find((x) => x.name === 'value_floats');
  if (floats) return floatTensor('', [floats.floats.length], floats.floats);
  fail(`${where}: a Constant needs a value`);
}

/** Whether every node reads only values defined before it (what ONNX asks of a graph's node list). */
function inOrder(nodes: NodeProto[], ready: Set<string>): boolean {
  const defined = new Set(ready);
  for (const n of nodes) {
    if (!n.input.every((i) => !i || defined.has(i))) return false;
    for (const o of n.output) if (o) defined.add(o);
  }
  return true;
}

/**
 * Nodes in an order where every value is computed before it is read; names a node of a cycle.
 * A list already in such an order is kept as it is, so that a graph network's nodes (and its
 * parameters in w) come back in the order Descent's export wrote them.
 */
function topologicalOrder(nodes: NodeProto[], ready: Set<string>, where: (n: NodeProto) => string): NodeProto[] {
  if (inOrder(nodes, ready)) return nodes;
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output) if (o) producer.set(o, n);
  const waiting = new Map<NodeProto, number>();
  const dependents = new Map<NodeProto, NodeProto[]>();
  for (const n of nodes) {
    const deps = new Set(n.input.filter((i) => i && !ready.has(i)).map((i) => producer.get(i)!));
    waiting.set(n, deps.size);
    for (const d of deps) dependents.set(d, [...(dependents.get(d) ?? []), n]);
  }
  const order = nodes.filter((n) => waiting.get(n) === 0);
  for (let i = 0; i < order.length; i++) {
    for (const d of dependents.get(order[i]) ?? []) {
      const left = waiting.get(d)! - 1;
      waiting.set(d, left);
      if (left === 0) order.push(d);
    }
  }
  if (order.length < nodes.length) {
    const stuck = nodes.find((n) => waiting.get(n)! > 0)!;
    fail(`${where(stuck)} is part of a cycle: its inputs depend on its own output`);
  }
  return order;
}

export function parseGraph(model: ModelProto, source: string): ParsedGraph {
  const graph = model.graph;
  if (!graph) fail(`${source}: the model has no graph`);
  const opset = opsetOf(model, source);
  const position = new Map(graph.node.map((n, i) => [n, i]));
  const where = (n: NodeProto) => `${source}: ${nodeLabel(n, position.get(n) ?? -1)}`;

  const defined = new Set<string>();
  const define = (name: string, what: string) => {
    if (defined.has(name)) fail(`${source}: value "${name}" is defined twice (${what})`);
    defined.add(name);
  };
  const constants = new Map<string, TensorProto>();
  for (const t of graph.initializer) {
    if (!t.name) fail(`${source}: an initializer has no name`);
    define(t.name, 'an initializer');
    constants.set(t.name, t);
  }
  if (graph.sparseInitializer.length > 0) fail(`${source}: sparse initializers are not supported`);
  const inputs = graph.input.filter((v) => !constants.has(v.name));
  if (inputs.length !== 1) {
    fail(`${source}: the graph has ${inputs.length} inputs (${inputs.map((v) => v.name).join(', ') || 'none'}); Descent imports networks with one`);
  }
  const input = tensorInput(inputs[0], source);
  define(input.name, 'the graph input');
  if (graph.output.length !== 1) fail(`${source}: the graph has ${graph.output.length} outputs; Descent imports networks with one`);

  for (const n of graph.node) {
    if (!n.opType) fail(`${where(n)}: the node has no operator`);
    if (n.domain !== '' && n.domain !== 'ai.onnx') {
      fail(`${where(n)}: operator domain "${n.domain}" is not supported (only the default ONNX domain)`);
    }
    for (const o of n.output) if (o) define(o, `by ${nodeLabel(n, position.get(n)!)}`);
  }
  for (const n of graph.node) {
    for (const i of n.input) {
      if (i && !defined.has(i)) fail(`${where(n)} reads "${i}", which no node, initializer or input defines`);
    }
  }
  const output = graph.output[0].name;
  if (!defined.has(output)) fail(`${source}: the graph output "${output}" is never computed`);

  const ordered = topologicalOrder(graph.node, new Set([...constants.keys(), input.name]), where);
  // Constant folding of what PyTorch writes beside the layers: Constant nodes and Identity of a constant.
  const nodes: NodeProto[] = [];
  for (const n of ordered) {
    if (n.opType === 'Constant') {
      constants.set(n.output[0], constantValue(n, where(n)));
    } else if (n.opType === 'Identity' && constants.has(n.input[0])) {
      constants.set(n.output[0], constants.get(n.input[0])!);
    } else {
      nodes.push(n);
    }
  }
  const consumers = new Map<string, NodeProto[]>();
  for (const n of nodes) {
    for (const i of new Set(n.input)) if (i && !constants.has(i)) consumers.set(i, [...(consumers.get(i) ?? []), n]);
  }
  const metadata = new Map(model.metadataProps.map((p) => [p.key, p.value]));
  return { source, opset, input, output, nodes, constants, consumers, metadata, where };
}
