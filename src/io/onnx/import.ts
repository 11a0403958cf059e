/**
 * ONNX import: an ONNX graph — what `torch.onnx.export` writes for supported layers, chains and
 * graphs with fan-out, Add and Concat (a ResNet), and what Descent's own export writes — as a
 * Descent network that can be evaluated and trained further, with its preprocessing and class names
 * when the file records them.
 *
 * The graph is checked first (./graph.ts). Then the importer visits its nodes in topological order,
 * keeping for each value what Descent knows of it (the Descent tensor it is, its layout and shape):
 * leading Mul / Sub / Div by constants become the model's preprocessing (x·scale − mean) / std,
 * each operator becomes a layer reading the tensors of its inputs (./import-ops.ts, and
 * ./import-joins.ts for Add and Concat), and any other structure is refused in one sentence naming
 * the node: an unsupported operator or attribute, a node that does not lead to the output, weights
 * computed rather than stored. A chain comes back as a plain list of layers; a graph as named nodes
 * (names from the ONNX node names: `b1.conv1.Conv` or `/b1/conv1/Conv` gives `b1.conv1`).
 *
 * The input is [N, C, H, W] (PyTorch) unless the file says it is [N, H, W, C] (Descent's export,
 * metadata descent.inputLayout) or a Transpose to [N, C, H, W] follows it; the imported network
 * takes channels-last input [H, W, C], as every Descent network does.
 */
import type { NodeProto } from 'onnx-buf';
import { DescentError } from '../../core/errors.js';
import { fmt, sizeOf, type Shape } from '../../core/shape.js';
import { JoinLayer } from '../../layers/join.js';
import type { LayerConfig } from '../../layers/layer.js';
import { layerFromConfig } from '../../layers/registry.js';
import type { Pads } from '../../layers/padding.js';
import { INPUT } from '../../network/topology.js';
import { Sequential, type SequentialOptions } from '../../network/sequential.js';
import type { LoadedModel, Preprocessing } from '../model-file.js';
import { META } from './export.js';
import type { Layout } from './graph-builder.js';
import { MAX_SAMPLE_ELEMENTS, parseGraph, type ParsedGraph } from './graph.js';
import { joinTranslators } from './import-joins.js';
import { translators } from './import-ops.js';
import { decodeModelProto, readFloats, readInts, shortestDecimal } from './proto.js';

export interface OnnxImportOptions extends Omit<SequentialOptions, 'inputShape'> {
  /** Names the file in errors (a path). */
  source?: string;
}

export interface OnnxImport extends LoadedModel {
  /** The layout the ONNX model's input had. */
  inputLayout: 'nchw' | 'nhwc' | 'flat';
}

/** What the importer knows of one ONNX value: the Descent tensor it holds, its layout and shape. */
export interface Chain {
  value: string;
  /** The Descent tensor: "input" or the name of the layer that computed it. */
  tensor: string;
  layout: Layout;
  /** Descent's shape of one sample ([H, W, C] or [F]). */
  shape: Shape;
  /** Set after the Flatten of an image in (c, h, w) order: [C, H, W], until a dense layer takes it. */
  chw: number[] | null;
  /** Zero padding [top, bottom, left, right] of a Pad node, for the Conv or AveragePool that follows it. */
  pad: Pads | null;
  /** A vector [C] reshaped to [N, C, 1, 1] (or [N, 1, 1, C]): only an Add may read it, broadcast per channel. */
  reshapedVector: boolean;
}

interface ImportedLayer {
  config: LayerConfig;
  tensors: Record<string, Float32Array>;
  where: string;
  name: string;
  /** The Descent tensors it reads. */
  inputs: string[];
}

const supported = () => Object.keys(translators).join(', ');

export class Importer {
  readonly layers: ImportedLayer[] = [];
  /** The value the node being translated reads (its data input), moved along as it is translated. */
  chain: Chain;
  /** Every value reached so far, by ONNX name. */
  readonly values = new Map<string, Chain>();
  readonly preprocessing: { scale?: number; mean?: Float32Array; std?: Float32Array } = {};
  /** The nodes translated so far (a translator may take the node after its own, e.g. a bias Add). */
  readonly visited = new Set<NodeProto>();
  private readonly names = new Set<string>([INPUT]);

  constructor(readonly graph: ParsedGraph, readonly inputLayout: Layout, readonly inputShape: Shape) {
    this.chain = { value: graph.input.name, tensor: INPUT, layout: inputLayout, shape: inputShape, chw: null, pad: null, reshapedVector: false };
    this.leave();
  }

  /** Start translating at the value `name` (one reached before). */
  enter(name: string): void {
    this.chain = { ...this.values.get(name)! };
  }

  /** Record the value the translation reached. */
  leave(): void {
    this.values.set(this.chain.value, { ...this.chain });
  }

  where(node: NodeProto): string {
    return this.graph.where(node);
  }

  /** Input i of the node as a float constant; undefined when optional and absent. */
  constant(node: NodeProto, i: number, what: string, required = true): { dims: number[]; data: Float32Array } | undefined {
    const name = node.input[i];
    if (!name) {
      if (required) throw new DescentError(`${this.where(node)}: input ${i} (${what}) is missing`);
      return undefined;
    }
    const t = this.graph.constants.get(name);
    if (!t) throw new DescentError(`${this.where(node)}: input ${i} (${what}, "${name}") must be a constant (an initializer), not computed`);
    return readFloats(t, `${this.where(node)}: ${what} "${name}"`);
  }

  intConstant(node: NodeProto, i: number, what: string): number[] {
    const name = node.input[i];
    const t = name ? this.graph.constants.get(name) : undefined;
    if (!t) throw new DescentError(`${this.where(node)}: input ${i} (${what}) must be a constant`);
    return readInts(t, `${this.where(node)}: ${what} "${name}"`).data;
  }

  /** The one node reading this node's output, or null at the graph output. */
  next(node: NodeProto): NodeProto | null {
    const out = node.output[0];
    if (out === this.graph.output) return null;
    const users = this.graph.consumers.get(out) ?? [];
    return users.length === 1 ? users[0] : null;
  }

  /** Outputs beyond the first (MaxPool indices, Dropout mask, ...) must go unused. */
  noExtraOutputs(node: NodeProto): void {
    for (const o of node.output.slice(1)) {
      if (o && (this.graph.consumers.has(o) || o === this.graph.output)) {
        throw new DescentError(`${this.where(node)}: its extra output "${o}" is used; only the first output is supported`);
      }
    }
  }

  /** Move along the chain to this node's output. */
  advance(node: NodeProto, layout: Layout = this.chain.layout): void {
    this.noExtraOutputs(node);
    if (!node.output[0]) throw new DescentError(`${this.where(node)}: the node has no output`);
    this.chain.value = node.output[0];
    this.chain.layout = layout;
    this.visited.add(node);
  }

  needsImage(node: NodeProto): void {
    const { layout } = this.chain;
    if (layout === 'nhwc') throw new DescentError(`${this.where(node)}: the input is [N, H, W, C]; ${node.opType} needs [N, C, H, W]`);
    if (layout === 'flat') throw new DescentError(`${this.where(node)}: ${node.opType} needs an image [N, C, H, W], the input is [N, ${this.chain.shape[0]}]`);
  }

  needsVector(node: NodeProto): void {
    if (this.chain.layout !== 'flat') {
      throw new DescentError(`${this.where(node)}: ${node.opType} needs a vector [N, F]; flatten the image first`);
    }
  }

  /** Adds a Descent layer for the node reading the current value, checking that it builds on its shape. */
  add(node: NodeProto, config: LayerConfig, tensors: Record<string, Float32Array>): void {
    const shape = this.built(node, () => layerFromConfig(config).build(this.chain.shape));
    const layout = shape.length === 1 ? 'flat' : this.chain.layout;
    this.push(node, config, tensors, [this.chain.tensor]);
    this.chain.shape = shape;
    this.advance(node, layout);
  }

  /** Adds a join (Add, Concat) of the values `inputs`, all in one layout, as the node's output. */
  join(node: NodeProto, config: LayerConfig, inputs: Chain[], layout: Layout): void {
    const layer = layerFromConfig(config);
    if (!(layer instanceof JoinLayer)) throw new DescentError(`${this.where(node)}: ${config.type} is not a join`);
    const shape = this.built(node, () => layer.buildJoin(inputs.map((c) => c.shape)));
    this.chain = { value: inputs[0].value, tensor: '', layout, shape, chw: null, pad: null, reshapedVector: false };
    this.push(node, config, {}, inputs.map((c) => c.tensor));
    this.advance(node, layout);
  }

  private built(node: NodeProto, build: () => Shape): Shape {
    let shape: Shape;
    try {
      shape = build();
    } catch (e) {
      throw new DescentError(`${this.where(node)}: ${(e as Error).message}`);
    }
    if (sizeOf(shape) > MAX_SAMPLE_ELEMENTS) {
      throw new DescentError(`${this.where(node)}: its output ${fmt(shape)} per sample is larger than the ${MAX_SAMPLE_ELEMENTS} elements supported`);
    }
    return shape;
  }

  /** Records the layer under a name from the node's and makes it the current tensor. */
  private push(node: NodeProto, config: LayerConfig, tensors: Record<string, Float32Array>, inputs: string[]): void {
    const name = this.uniqueName(layerName(node));
    this.layers.push({ config, tensors, where: this.where(node), name, inputs });
    this.chain.tensor = name;
  }

  private uniqueName(base: string): string {
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** A Flatten: (c, h, w) order is remembered for the dense layer that follows. */
  flatten(node: NodeProto): void {
    const { layout, shape } = this.chain;
    const image = layout === 'nchw' && shape[2] > 1 && shape[0] * shape[1] > 1;
    this.add(node, { type: 'Flatten' }, {});
    if (image) this.chain.chw = [shape[2], shape[0], shape[1]];
  }

  /** Leading Mul / Sub / Div by constants: the preprocessing, before any layer. */
  preprocess(node: NodeProto): boolean {
    const order = ['Mul', 'Sub', 'Div'], at = order.indexOf(node.opType);
    if (this.layers.length > 0 || at < 0 || node.input[0] !== this.chain.value || !this.graph.constants.has(node.input[1] ?? '') ||
      this.graph.consumers.get(this.chain.value)?.length !== 1) return false;
    const p = this.preprocessing;
    const seen = [p.scale !== undefined, p.mean !== undefined, p.std !== undefined];
    if (seen.slice(at).some((s) => s)) {
      throw new DescentError(`${this.where(node)}: input preprocessing must be (x · scale − mean) / std, in that order`);
    }
    const c = this.constant(node, 1, 'constant')!;
    const channels = this.chain.shape[this.chain.shape.length - 1];
    const values = this.perChannel(node, c, channels);
    if (node.opType === 'Mul') {
      if (!values.every((v) => v === values[0])) throw new DescentError(`${this.where(node)}: the input scale must be one number`);
      p.scale = values[0];
    } else if (node.opType === 'Sub') p.mean = values;
    else p.std = values;
    this.advance(node);
    return true;
  }

  /** A constant broadcast over the input's channel axis, as one value per channel. */
  private perChannel(node: NodeProto, c: { dims: number[]; data: Float32Array }, channels: number): Float32Array {
    if (c.data.length === 1) return new Float32Array(channels).fill(c.data[0]);
    const axisFromEnd = this.chain.layout === 'nchw' ? 3 : 1;
    const dims = c.dims, d = dims.length - axisFromEnd;
    const ok = c.data.length === channels && d >= 0 && dims[d] === channels && dims.every((n, i) => i === d || n === 1);
    if (!ok) throw new DescentError(`${this.where(node)}: constant [${dims.join(', ')}] is not one value per input channel (${channels})`);
    return c.data;
  }
}

/** The input's layout: recorded by Descent's export, else NHWC if a Transpose to NCHW follows. */
function inputLayout(g: ParsedGraph): Layout {
  if (g.input.dims.length === 1) return 'flat';
  const recorded = g.metadata.get(META.inputLayout);
  if (recorded === 'nhwc' || recorded === 'nchw') return recorded;
  let value = g.input.name;
  for (;;) {
    const users = g.consumers.get(value) ?? [];
    if (users.length !== 1) return 'nchw';
    const n = users[0];
    if (['Mul', 'Sub', 'Div'].includes(n.opType)) value = n.output[0];
    else return n.opType === 'Transpose' && n.attribute.find((a) => a.name === 'perm')?.ints.join() === '0,3,1,2' ? 'nhwc' : 'nchw';
  }
}

/**
 * A Descent name for the layer of an ONNX node: its name without the operator — "b1.conv1.Conv"
 * (Descent's export) gives "b1.conv1", and PyTorch's scope path "/b1/conv1/Conv" gives "b1.conv1" too.
 */
function layerName(node: NodeProto): string {
  const op = node.opType.replace(/[^A-Za-z0-9]/g, '');
  let name = node.name.replace(new RegExp(`[./]${op}(_\\d+)?$`), '');
  if (name.startsWith('/')) name = name.replace(/^\/+/, '').replace(/\//g, '.');
  return name || node.opType;
}

/** The nodes whose outputs the graph output depends on. */
function nodesReachingOutput(g: ParsedGraph): Set<NodeProto> {
  const producer = new Map<string, NodeProto>();
  for (const n of g.nodes) for (const o of n.output) if (o) producer.set(o, n);
  const live = new Set<NodeProto>(), stack = [g.output];
  while (stack.length > 0) {
    const n = producer.get(stack.pop()!);
    if (!n || live.has(n)) continue;
    live.add(n);
    stack.push(...n.input.filter((i) => i));
  }
  return live;
}

/** Translates one node that reads one computed value (its first input). */
function translateNode(imp: Importer, node: NodeProto, data: string[]): void {
  const g = imp.graph;
  if (data.length > 1) {
    throw new DescentError(data[0] === data[1] ? `${g.where(node)}: it reads the same value twice, which no supported layer does`
      : `${g.where(node)}: it reads ${data.length} computed values (${data.join(', ')}); only Add and Concat join branches`);
  }
  imp.enter(data[0]);
  if (imp.chain.reshapedVector) {
    throw new DescentError(`${g.where(node)}: reads "${data[0]}", a vector reshaped to an image of 1×1, which only an Add may read (broadcast per channel)`);
  }
  if (imp.preprocess(node)) return imp.leave();
  const translate = translators[node.opType];
  if (!translate) throw new DescentError(`${g.where(node)}: operator ${node.opType} is not supported (supported: ${supported()})`);
  if (node.input[0] !== imp.chain.value) {
    throw new DescentError(`${g.where(node)}: the data must be its first input (it reads it as input ${node.input.indexOf(imp.chain.value)})`);
  }
  translate(imp, node);
  imp.leave();
}

function walk(g: ParsedGraph): Importer {
  const layout = inputLayout(g);
  const d = g.input.dims;
  const shape = layout === 'nchw' ? [d[1], d[2], d[0]] : [...d];
  const imp = new Importer(g, layout, shape);
  const live = nodesReachingOutput(g);
  for (const node of g.nodes) {
    if (imp.visited.has(node)) continue;
    if (!live.has(node)) throw new DescentError(`${g.where(node)}: the node is not on the way from the input to the output`);
    const data = node.input.filter((i) => i && imp.values.has(i));
    if (data.length === 0) throw new DescentError(`${g.where(node)}: it reads no value computed from the graph input "${g.input.name}"`);
    const join = joinTranslators[node.opType];
    if (join) {
      join(imp, node);
      imp.leave();
    } else translateNode(imp, node, data);
  }
  const out = imp.values.get(g.output);
  if (!out || imp.layers.length === 0) throw new DescentError(`${g.source}: the graph has no layers`);
  if (out.chw) {
    const [C, H, W] = out.chw;
    throw new DescentError(`${g.source}: the output is a flattened [${C}, ${H}, ${W}] image in (c, h, w) order, which no dense layer reorders; ` +
      'Descent flattens images channels-last');
  }
  const last = imp.layers[imp.layers.length - 1];
  if (out.tensor !== last.name || out.reshapedVector) {
    throw new DescentError(`${g.source}: the output "${g.output}" is not what the last layer (${last.where.slice(g.source.length + 2)}) computes`);
  }
  return imp;
}

/** The network's JSON: a plain list of layers for a chain, named nodes with their inputs for a graph. */
function architecture(imp: Importer): { inputShape: number[]; layers: LayerConfig[] } {
  const chain = imp.layers.every((l, k) => l.inputs.length === 1 && l.inputs[0] === (k === 0 ? INPUT : imp.layers[k - 1].name));
  const layers = imp.layers.map((l) => (chain ? l.config : { name: l.name, ...l.config, inputs: l.inputs }));
  return { inputShape: [...imp.inputShape], layers };
}

function parseMetadata(g: ParsedGraph, key: string): unknown {
  const text = g.metadata.get(key);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DescentError(`${g.source}: metadata "${key}" is not valid JSON: ${(e as Error).message}`);
  }
}

/** Preprocessing from the graph's nodes; the recorded numbers where they agree (exact round trip). */
function preprocessingOf(g: ParsedGraph, imp: Importer): Preprocessing | undefined {
  const recorded = parseMetadata(g, META.preprocessing);
  if (recorded !== undefined && (typeof recorded !== 'object' || recorded === null || Array.isArray(recorded))) {
    throw new DescentError(`${g.source}: metadata "${META.preprocessing}" must be a JSON object`);
  }
  const r = recorded as Preprocessing | undefined;
  const p = imp.preprocessing;
  if (p.scale === undefined && p.mean === undefined && p.std === undefined) return r;
  const same = (a: unknown, b: ArrayLike<number>) => Array.isArray(a) && (a.length === b.length || a.length === 1) &&
    Array.from(b).every((v, i) => Math.fround(a[a.length === 1 ? 0 : i] as number) === v);
  const out: Preprocessing = {};
  if (p.scale !== undefined) out.scale = r && Math.fround(r.scale as number) === p.scale ? r.scale : shortestDecimal(p.scale);
  if (p.mean !== undefined) out.mean = r && same(r.mean, p.mean) ? r.mean : Array.from(p.mean, (v) => shortestDecimal(v));
  if (p.std !== undefined) out.std = r && same(r.std, p.std) ? r.std : Array.from(p.std, (v) => shortestDecimal(v));
  // Descent applies mean and std together: the missing one is the identity.
  if (out.mean && !out.std) out.std = out.mean.map(() => 1);
  if (out.std && !out.mean) out.mean = out.std.map(() => 0);
  return out;
}

/** A Descent network (and its preprocessing and class names) from ONNX bytes. */
export function importOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): OnnxImport {
  const { source = 'ONNX model', ...netOptions } = options;
  try {
    return build(parseGraph(decodeModelProto(bytes, source), source), netOptions);
  } catch (e) {
    // Names in a file (of nodes, values, attributes) may hold line breaks: the error stays one line.
    if (e instanceof DescentError && /[\u0000-\u001f]/.test(e.message)) throw new DescentError(escapeControls(e.message));
    throw e;
  }
}

const escapeControls = (text: string) => text.replace(/[\u0000-\u001f]/g, (c) => JSON.stringify(c).slice(1, -1));

function build(g: ParsedGraph, netOptions: Omit<OnnxImportOptions, 'source'>): OnnxImport {
  const source = g.source;
  const imp = walk(g);
  let net: Sequential;
  try {
    net = Sequential.fromConfig(architecture(imp), netOptions);
  } catch (e) {
    throw new DescentError(`${source}: the imported layers do not build: ${(e as Error).message}`);
  }
  for (const [slots, vector] of [[net.paramSlots, net.w], [net.bufferSlots, net.buffers]] as const) {
    for (const s of slots) {
      const data = imp.layers[s.layer].tensors[s.name];
      if (!data || data.length !== s.length) {
        throw new DescentError(`${imp.layers[s.layer].where}: ${s.name} has ${data?.length ?? 0} values, the layer needs ${s.length}`);
      }
      vector.set(data, s.offset);
    }
  }
  net.upload();
  const result: OnnxImport = { net, inputLayout: imp.inputLayout };
  const preprocessing = preprocessingOf(g, imp);
  if (preprocessing !== undefined) result.preprocessing = preprocessing;
  const names = parseMetadata(g, META.classNames);
  if (names !== undefined) {
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string') || names.length > sizeOf(net.outputShape)) {
      throw new DescentError(`${source}: metadata "${META.classNames}" must be at most ${sizeOf(net.outputShape)} strings`);
    }
    result.classNames = names;
  }
  return result;
}
