/**
 * ONNX Add and Concat of computed values → Descent's joins, where branches of a graph meet.
 *
 * Add: two values of one shape, or an image and one value per channel ([N, C, 1, 1] as ONNX
 * broadcasts it: a 1×1 image, or a vector [N, C] reshaped to it), which Descent's Add broadcasts
 * when it is the second input (x + y = y + x exactly, so the order may be swapped). Concat: values
 * of one layout joined along the channel axis (1 for [N, C, H, W] and vectors, 3 or -1 for
 * [N, H, W, C]). Anything else is refused naming the node and the shapes.
 */
import type { NodeProto } from 'onnx-buf';
import { DescentError } from '../../core/errors.js';
import { fmt, sizeOf } from '../../core/shape.js';
import type { Layout } from './graph-builder.js';
import type { Chain, Importer } from './import.js';
import { Attributes } from './proto.js';

export type JoinTranslator = (imp: Importer, node: NodeProto) => void;

const describe = (c: Chain) => `"${c.value}" ${c.layout === 'flat' ? `[N, ${c.shape[0]}]` : `${fmt(c.shape)} (${c.layout})`}`;

/** The values the node joins: each computed (not a constant), none a flattened image in (c, h, w) order. */
function joined(imp: Importer, node: NodeProto, what: string): Chain[] {
  const inputs = node.input.map((name, i) => {
    const c = imp.values.get(name);
    if (!c) {
      throw new DescentError(`${imp.where(node)}: input ${i} "${name}" is ${imp.graph.constants.has(name) ? 'a constant' : 'missing'}; ${what}`);
    }
    if (c.chw) throw new DescentError(`${imp.where(node)}: input ${i} "${name}" is an image flattened in (c, h, w) order, which Descent cannot join`);
    return c;
  });
  if (inputs.length < 2) throw new DescentError(`${imp.where(node)}: ${node.opType} of ${inputs.length} input; ${what}`);
  return inputs;
}

/** The one layout of the joined values (a reshaped vector takes the image's). */
function commonLayout(imp: Importer, node: NodeProto, inputs: Chain[]): Layout {
  const layout = inputs[0].layout;
  if (inputs.some((c) => c.layout !== layout)) {
    throw new DescentError(`${imp.where(node)}: it joins values of different layouts (${inputs.map(describe).join(', ')})`);
  }
  return layout;
}

const add: JoinTranslator = (imp, node) => {
  new Attributes(node, imp.where(node), []);
  const what = 'Add is supported as the join of two computed values (or as the bias right after a MatMul)';
  let inputs = joined(imp, node, what);
  if (inputs.length !== 2) throw new DescentError(`${imp.where(node)}: Add of ${inputs.length} inputs; ${what}`);
  // Descent broadcasts only later inputs: the full-size value first.
  if (inputs[0].reshapedVector || sizeOf(inputs[0].shape) < sizeOf(inputs[1].shape)) inputs = [inputs[1], inputs[0]];
  const [full, other] = inputs;
  if (full.reshapedVector || (full.layout === 'flat' && other.layout !== 'flat')) {
    throw new DescentError(`${imp.where(node)}: cannot add ${describe(full)} and ${describe(other)}`);
  }
  imp.join(node, { type: 'Add' }, inputs, commonLayout(imp, node, inputs));
};

const concat: JoinTranslator = (imp, node) => {
  const axis = new Attributes(node, imp.where(node), ['axis']).int('axis', 1);
  const inputs = joined(imp, node, 'Concat joins computed values');
  const reshaped = inputs.find((c) => c.reshapedVector);
  if (reshaped) throw new DescentError(`${imp.where(node)}: input "${reshaped.value}" is a vector reshaped to an image; only an Add may read it`);
  const layout = commonLayout(imp, node, inputs);
  const channelAxes = layout === 'nchw' ? [1, -3] : layout === 'nhwc' ? [3, -1] : [1, -1];
  if (!channelAxes.includes(axis)) {
    throw new DescentError(`${imp.where(node)}: axis=${axis} is not the channel axis of ${layout === 'flat' ? '[N, F]' : layout.toUpperCase()} ` +
      `values (${channelAxes[0]}); Descent concatenates along channels`);
  }
  imp.join(node, { type: 'Concat' }, inputs, layout);
};

export const joinTranslators: Record<string, JoinTranslator> = { Add: add, Concat: concat };
