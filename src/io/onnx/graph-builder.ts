/**
 * Builds an ONNX graph node by node for the exporter. A value remembers the layout its tensor has:
 * Descent's activations are channels-last ([N, H, W, C]) while ONNX's Conv, pooling and
 * BatchNormalization work on [N, C, H, W], so a Transpose is inserted only where the layout must
 * change (before the first such node, and before a Flatten, which must see (h, w, c) order).
 */
import { create } from '@bufbuild/protobuf';
import { NodeProtoSchema, type AttributeProto, type NodeProto, type TensorProto } from 'onnx-buf';
import type { Shape } from '../../core/shape.js';
import { attrInts, floatTensor } from './proto.js';

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

  /** Adds a node; its single output is named `${prefix}.out` (or `output` where given). */
  node(opType: string, prefix: string, inputs: string[], attributes: AttributeProto[] = [], output = `${prefix}.out`): string {
    this.nodes.push(create(NodeProtoSchema, { opType, name: `${prefix}.${opType}`, input: inputs, output: [output], attribute: attributes }));
    return output;
  }

  /** A float32 initializer (a weight or a constant), returning its name. */
  constant(name: string, dims: readonly number[], data: ArrayLike<number>): string {
    this.initializers.push(floatTensor(name, dims, data));
    return name;
  }

  /** The value as [N, C, H, W], transposing a channels-last image. */
  toNchw(v: Value, prefix: string): Value {
    if (v.layout !== 'nhwc') return v;
    return { ...v, layout: 'nchw', name: this.node('Transpose', `${prefix}.to_nchw`, [v.name], [attrInts('perm', [0, 3, 1, 2])]) };
  }

  /** The value as [N, H, W, C] (Descent's order), transposing a channels-first image. */
  toNhwc(v: Value, prefix: string): Value {
    if (v.layout !== 'nchw') return v;
    return { ...v, layout: 'nhwc', name: this.node('Transpose', `${prefix}.to_nhwc`, [v.name], [attrInts('perm', [0, 2, 3, 1])]) };
  }
}

/** ONNX dims of a value's tensor, batch first. */
export function onnxDims(shape: Shape, layout: Layout): number[] {
  if (layout === 'nchw') return [shape[2], shape[0], shape[1]];
  return [...shape];
}
