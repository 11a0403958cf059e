/**
 * Builds an ONNX graph node by node for the exporter. A value remembers the layout its tensor has:
 * Descent's activations are channels-last ([N, H, W, C]) while ONNX's Conv, pooling and
 * BatchNormalization work on [N, C, H, W], so a Transpose is inserted only where the layout must
 * change (before the first such node, and before a Flatten, which must see (h, w, c) order). In a
 * graph a value read by several nodes is transposed once, and names derived from Descent's node
 * names are kept unique (a second "x.out" becomes "x.out_2").
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type AttributeProto, type NodeProto, type TensorProto } from 'onnx-buf';
import type { Shape } from '../../core/shape.js';
import { attrInts, floatTensor, int64Tensor } from './proto.js';

/** 'flat' is a [N, F] tensor; the others are images in that axis order. */
export type Layout = 'nhwc' | 'nchw' | 'flat';

export interface Value {
  name: string;
  /** Descent's shape of one sample: [H, W, C] for images, [F] for vectors. */
  shape: Shape;
  layout: Layout;
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  private readonly used = new Set<string>();
  private readonly transposed = new Map<string, Value>();

  /** `reserved`: names taken already (the graph input's). */
  constructor(reserved: string[] = []) {
    for (const name of reserved) this.used.add(name);
  }

  /** `name`, or `name_2`, `name_3`, … if a node or value already has it. */
  private unique(name: string): string {
    let n = name;
    for (let i = 2; this.used.has(n); i++) n = `${name}_${i}`;
    this.used.add(n);
    return n;
  }

  /** Adds a node; its single output is named `${prefix}.out` (or `output` where given). */
  node(opType: string, prefix: string, inputs: string[], attributes: AttributeProto[] = [], output = `${prefix}.out`): string {
    const out = this.unique(output);
    this.nodes.push(create(NodeProtoSchema, { opType, name: this.unique(`${prefix}.${opType}`), input: inputs, output: [out], attribute: attributes }));
    return out;
  }

  /** A float32 initializer (a weight or a constant), returning its name. */
  constant(name: string, dims: readonly number[], data: ArrayLike<number>): string {
    const n = this.unique(name);
    this.initializers.push(floatTensor(n, dims, data));
    return n;
  }

  /** An int64 initializer (a shape), returning its name. */
  intConstant(name: string, dims: readonly number[], data: readonly number[]): string {
    const n = this.unique(name);
    this.initializers.push(int64Tensor(n, dims, data));
    return n;
  }

  /** The value as [N, C, H, W], transposing a channels-last image. */
  toNchw(v: Value, prefix: string): Value {
    if (v.layout !== 'nhwc') return v;
    return this.transpose(v, 'nchw', `${prefix}.to_nchw`, [0, 3, 1, 2]);
  }

  /** The value as [N, H, W, C] (Descent's order), transposing a channels-first image. */
  toNhwc(v: Value, prefix: string): Value {
    if (v.layout !== 'nchw') return v;
    return this.transpose(v, 'nhwc', `${prefix}.to_nhwc`, [0, 2, 3, 1]);
  }

  /** The value in `layout` (an image's; a vector stays as it is). */
  toLayout(v: Value, layout: Layout, prefix: string): Value {
    return layout === 'nchw' ? this.toNchw(v, prefix) : layout === 'nhwc' ? this.toNhwc(v, prefix) : v;
  }

  private transpose(v: Value, layout: Layout, prefix: string, perm: number[]): Value {
    const key = `${v.name}\u0000${layout}`;
    let t = this.transposed.get(key);
    if (!t) {
      t = { ...v, layout, name: this.node('Transpose', prefix, [v.name], [attrInts('perm', perm)]) };
      this.transposed.set(key, t);
    }
    return t;
  }
}

/** ONNX dims of a value's tensor, batch first. */
export function onnxDims(shape: Shape, layout: Layout): number[] {
  if (layout === 'nchw') return [shape[2], shape[0], shape[1]];
  return [...shape];
}
