/**
 * ONNX import: a chain-shaped ONNX graph — what `torch.onnx.export` writes for an nn.Sequential of
 * supported layers, and what Descent's own export writes — as a Sequential that can be evaluated
 * and trained further, with its preprocessing and class names when the file records them.
 *
 * The graph is checked first (./graph.ts). Then the importer follows the data from the input to the
 * output, node by node: leading Mul / Sub / Div by constants become the model's preprocessing
 * (x·scale − mean) / std, each operator becomes a layer (./import-ops.ts), and any other structure
 * is refused in one sentence naming the node: an unsupported operator or attribute, a value feeding
 * two nodes (graph networks: not yet), weights computed rather than stored.
 *
 * The input is [N, C, H, W] (PyTorch) unless the file says it is [N, H, W, C] (Descent's export,
 * metadata descent.inputLayout) or a Transpose to [N, C, H, W] follows it; the imported network
 * takes channels-last input [H, W, C], as every Descent network does.
 */
import type { NodeProto } from 'onnx-buf';
import { DescentError } from '../../core/errors.js';
import { fmt, sizeOf, type Shape } from '../../core/shape.js';
import type { LayerConfig } from '../../layers/layer.js';
import { layerFromConfig } from '../../layers/registry.js';
import { Sequential, type SequentialOptions } from '../../network/sequential.js';
import type { LoadedModel, Preprocessing } from '../model-file.js';
import { META } from './export.js';
import type { Layout } from './graph-builder.js';
import { MAX_SAMPLE_ELEMENTS, parseGraph, type ParsedGraph } from './graph.js';
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

/** The data flowing along the chain: its ONNX value and what Descent knows of it. */
export interface Chain {
  value: string;
  layout: Layout;
  /** Descent's shape of one sample ([H, W, C] or [F]). */
  shape: Shape;
  /** Set after the Flatten of an image in (c, h, w) order: [C, H, W], until a dense layer takes it. */
  chw: number[] | null;
  /** Zero padding [PH, PW] of a Pad node, for the Conv or AveragePool that follows it. */
  pad: [number, number] | null;
}

interface ImportedLayer {
  config: LayerConfig;
  tensors: Record<string, Float32Array>;
  where: string;
}

const supported = () => Object.keys(translators).join(', ');

export class Importer {
  readonly layers: ImportedLayer[] = [];
  readonly chain: Chain;
  readonly preprocessing: { scale?: number; mean?: Float32Array; std?: Float32Array } = {};
  /** The nodes translated so far: every node of the graph must be one of them in the end. */
  readonly visited = new Set<NodeProto>();

  constructor(readonly graph: ParsedGraph, readonly inputLayout: Layout, readonly inputShape: Shape) {
    this.chain = { value: graph.input.name, layout: inputLayout, shape: inputShape, chw: null, pad: null };
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

  /** Adds a Descent layer for the node, checking that it builds on the current shape. */
  add(node: NodeProto, config: LayerConfig, tensors: Record<string, Float32Array>): void {
    let shape: Shape;
    try {
      shape = layerFromConfig(config).build(this.chain.shape);
    } catch (e) {
      throw new DescentError(`${this.where(node)}: ${(e as Error).message}`);
    }
    if (sizeOf(shape) > MAX_SAMPLE_ELEMENTS) {
      throw new DescentError(`${this.where(node)}: its output ${fmt(shape)} per sample is larger than the ${MAX_SAMPLE_ELEMENTS} elements supported`);
    }
    this.layers.push({ config, tensors, where: this.where(node) });
    const layout = shape.length === 1 ? 'flat' : this.chain.layout;
    this.chain.shape = shape;
    this.advance(node, layout);
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
    if (this.layers.length > 0 || at < 0 || node.input[0] !== this.chain.value || !this.graph.constants.has(node.input[1] ?? '')) return false;
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

function walk(g: ParsedGraph): Importer {
  const layout = inputLayout(g);
  const d = g.input.dims;
  const shape = layout === 'nchw' ? [d[1], d[2], d[0]] : [...d];
  const imp = new Importer(g, layout, shape);
  for (let steps = 0; imp.chain.value !== g.output; steps++) {
    const users = g.consumers.get(imp.chain.value) ?? [];
    if (users.length === 0) {
      throw new DescentError(`${g.source}: value "${imp.chain.value}" leads nowhere: it is not the graph output "${g.output}" and no node reads it`);
    }
    if (users.length > 1) {
      throw new DescentError(`${g.source}: value "${imp.chain.value}" feeds ${users.length} nodes (${users.map((u) => g.where(u).slice(g.source.length + 2)).join(', ')}): ` +
        'graphs that branch are not supported yet; Descent imports chains of layers');
    }
    const node = users[0];
    if (node.input.filter((i) => i === imp.chain.value).length > 1) {
      throw new DescentError(`${g.where(node)}: it reads the same value twice, which no supported layer does`);
    }
    if (imp.preprocess(node)) continue;
    const translate = translators[node.opType];
    if (!translate) throw new DescentError(`${g.where(node)}: operator ${node.opType} is not supported (supported: ${supported()})`);
    if (node.input[0] !== imp.chain.value) {
      throw new DescentError(`${g.where(node)}: the data must be its first input (it reads it as input ${node.input.indexOf(imp.chain.value)})`);
    }
    translate(imp, node);
  }
  if (imp.chain.chw) {
    const [C, H, W] = imp.chain.chw;
    throw new DescentError(`${g.source}: the output is a flattened [${C}, ${H}, ${W}] image in (c, h, w) order, which no dense layer reorders; ` +
      'Descent flattens images channels-last');
  }
  const stray = g.nodes.find((n) => !imp.visited.has(n));
  if (stray) throw new DescentError(`${g.where(stray)}: the node is not on the way from the input to the output; Descent imports chains of layers`);
  if (imp.layers.length === 0) throw new DescentError(`${g.source}: the graph has no layers`);
  return imp;
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
  const g = parseGraph(decodeModelProto(bytes, source), source);
  const imp = walk(g);
  let net: Sequential;
  try {
    net = Sequential.fromConfig({ inputShape: [...imp.inputShape], layers: imp.layers.map((l) => l.config) }, netOptions);
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
