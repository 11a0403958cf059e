/**
 * ONNX emitters of the layers that join branches of a graph network, and of Identity.
 *
 * Add sums left to right as Descent does, ((x_1 + x_2) + x_3) + …, one ONNX Add per "+", every input
 * in the first input's layout. A per-channel input ([1, 1, C], or a vector [C]) broadcasts in ONNX
 * once it is [N, C, 1, 1] (or [N, 1, 1, C] channels-last): a vector is reshaped to that first.
 * Concat joins along the channel axis of the first input's layout (1 for [N, C, H, W] and vectors,
 * 3 for [N, H, W, C]).
 */
import type { Layer } from '../../layers/layer.js';
import type { Emitter } from './export-layers.js';
import type { GraphBuilder, Layout, Value } from './graph-builder.js';
import { attrInt } from './proto.js';

/** Input i of a join in the layout `layout`, as ONNX broadcasting needs it. */
function joinInput(b: GraphBuilder, v: Value, layout: Layout, prefix: string, i: number): Value {
  if (v.layout !== 'flat' || layout === 'flat') return b.toLayout(v, layout, `${prefix}.input${i}`);
  const C = v.shape[0];
  const dims = layout === 'nchw' ? [-1, C, 1, 1] : [-1, 1, 1, C];
  const shape = b.intConstant(`${prefix}.input${i}.shape`, [4], dims);
  return { name: b.node('Reshape', `${prefix}.input${i}`, [v.name, shape]), shape: [1, 1, C], layout };
}

const add: Emitter = (b, layer, prefix, inputs) => {
  const layout = inputs[0].layout;
  const xs = inputs.map((v, i) => joinInput(b, v, layout, prefix, i));
  let sum = xs[0].name;
  for (let i = 1; i < xs.length; i++) {
    // The last "+" carries the node's own name; the partial sums before it are numbered.
    sum = b.node('Add', i === xs.length - 1 ? prefix : `${prefix}.partial${i}`, [sum, xs[i].name]);
  }
  return { name: sum, shape: layer.outputShape, layout };
};

const concat: Emitter = (b, layer, prefix, inputs) => {
  const layout = inputs[0].layout;
  const xs = inputs.map((v, i) => b.toLayout(v, layout, `${prefix}.input${i}`));
  const axis = layout === 'nhwc' ? 3 : 1;
  return { name: b.node('Concat', prefix, xs.map((x) => x.name), [attrInt('axis', axis)]), shape: layer.outputShape, layout };
};

const identity: Emitter = (b, _layer: Layer, prefix, [x]) => ({ ...x, name: b.node('Identity', prefix, [x.name]) });

export const joinEmitters: Record<string, Emitter> = { Add: add, Concat: concat, Identity: identity };
