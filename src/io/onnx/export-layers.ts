/**
 * One ONNX emitter per Descent layer type: it appends the layer's nodes and initializers to the
 * graph and returns its output value. Emitters take a list of inputs: the layers with several (Add
 * and Concat of graph networks, ./export-joins.ts) register here the same way; a new layer type (or
 * option, such as Conv2d groups) is one entry below.
 *
 * Weights keep Descent's numbers bit for bit: convolution kernels are only transposed from
 * [O, KH, KW, C] to ONNX's [O, C, KH, KW], dense weights stay [O, I] (Gemm with transB = 1).
 */
import { DescentError } from '../../core/errors.js';
import type { Conv2d } from '../../layers/conv2d.js';
import type { Layer } from '../../layers/layer.js';
import type { AvgPool2d, MaxPool2d } from '../../layers/pool2d.js';
import type { HostTensors } from '../../network/sequential.js';
import { channelsLastToFirst } from '../layout.js';
import { joinEmitters } from './export-joins.js';
import { type GraphBuilder, type Value } from './graph-builder.js';
import { attrFloat, attrInt, attrInts } from './proto.js';

/** `host`: the layer's parameters and buffers as host numbers (Sequential.hostTensors). */
export type Emitter = (b: GraphBuilder, layer: Layer, prefix: string, inputs: Value[], host: HostTensors) => Value;

const pair = (v: unknown) => v as [number, number];

/** The shape of one of the layer's tensors, as its spec declares it. */
function specShape(layer: Layer, name: string): number[] {
  const spec = [...layer.paramSpecs(), ...layer.bufferSpecs()].find((s) => s.name === name);
  if (!spec) throw new DescentError(`layer ${layer.type} has no tensor "${name}"`);
  return spec.shape;
}

/** A point-wise layer: the same op in any layout. */
const pointwise = (op: string, attributes: (layer: Layer) => ReturnType<typeof attrFloat>[] = () => []): Emitter =>
  (b, layer, prefix, [x]) => ({ ...x, name: b.node(op, prefix, [x.name], attributes(layer)) });

const conv2d: Emitter = (b, layer, prefix, [input], { params }) => {
  const x = b.toNchw(input, prefix);
  const c = layer.config();
  const [KH, KW] = pair(c.kernelSize), [SH, SW] = pair(c.stride), [DH, DW] = pair(c.dilation);
  const [O, , , Cg] = specShape(layer, 'weight');
  // The built layer's groups and padding ('same' resolved, [top, bottom, left, right]; DepthwiseConv2d too).
  const { groups, pads: [top, bottom, left, right] } = layer as Conv2d;
  const weight = channelsLastToFirst(params.weight, O, Cg, KH, KW);
  const inputs = [x.name, b.constant(`${prefix}.weight`, [O, Cg, KH, KW], weight)];
  if (params.bias) inputs.push(b.constant(`${prefix}.bias`, [O], params.bias));
  const name = b.node('Conv', prefix, inputs, [attrInts('kernel_shape', [KH, KW]), attrInts('strides', [SH, SW]),
    attrInts('pads', [top, left, bottom, right]), attrInts('dilations', [DH, DW]), attrInt('group', groups)]);
  return { name, shape: layer.outputShape, layout: 'nchw' };
};

const pool = (op: 'MaxPool' | 'AveragePool'): Emitter => (b, layer, prefix, [input]) => {
  const x = b.toNchw(input, prefix);
  const c = layer.config();
  const [top, bottom, left, right] = (layer as MaxPool2d | AvgPool2d).pads;
  const attributes = [attrInts('kernel_shape', pair(c.kernelSize)), attrInts('strides', pair(c.stride)),
    attrInts('pads', [top, left, bottom, right]), attrInt('ceil_mode', 0)];
  // Descent divides every window by its full size, padding included.
  if (op === 'AveragePool') attributes.push(attrInt('count_include_pad', 1));
  return { name: b.node(op, prefix, [x.name], attributes), shape: layer.outputShape, layout: 'nchw' };
};

const globalAvgPool: Emitter = (b, layer, prefix, [input]) => {
  const x = b.toNchw(input, prefix);
  const pooled = b.node('GlobalAveragePool', prefix, [x.name], [], `${prefix}.pooled`);
  return { name: b.node('Flatten', prefix, [pooled], [attrInt('axis', 1)]), shape: layer.outputShape, layout: 'flat' };
};

const flatten: Emitter = (b, layer, prefix, [input]) => {
  // Descent flattens in (h, w, c) order: back to channels-last first.
  const x = b.toNhwc(input, prefix);
  return { name: b.node('Flatten', prefix, [x.name], [attrInt('axis', 1)]), shape: layer.outputShape, layout: 'flat' };
};

const dense: Emitter = (b, layer, prefix, [x], { params }) => {
  const [O, I] = specShape(layer, 'weight');
  const inputs = [x.name, b.constant(`${prefix}.weight`, [O, I], params.weight)];
  if (params.bias) inputs.push(b.constant(`${prefix}.bias`, [O], params.bias));
  const name = b.node('Gemm', prefix, inputs, [attrFloat('alpha', 1), attrFloat('beta', 1), attrInt('transB', 1)]);
  return { name, shape: layer.outputShape, layout: 'flat' };
};

const batchNorm: Emitter = (b, layer, prefix, [input], { params, buffers }) => {
  const x = layer.inputShape.length === 3 ? b.toNchw(input, prefix) : input;
  const c = layer.config(), C = params.weight.length;
  const inputs = [x.name, b.constant(`${prefix}.weight`, [C], params.weight), b.constant(`${prefix}.bias`, [C], params.bias),
    b.constant(`${prefix}.running_mean`, [C], buffers.running_mean), b.constant(`${prefix}.running_var`, [C], buffers.running_var)];
  // ONNX's momentum weighs the running statistic, PyTorch's and Descent's the batch one.
  const name = b.node('BatchNormalization', prefix, inputs, [attrFloat('epsilon', c.eps as number), attrFloat('momentum', 1 - (c.momentum as number))]);
  return { ...x, name };
};

const dropout: Emitter = (b, layer, prefix, [x]) => {
  // Without training_mode, Dropout is the identity; the ratio is kept so that an import restores p.
  const ratio = b.constant(`${prefix}.ratio`, [], [layer.config().p as number]);
  return { ...x, name: b.node('Dropout', prefix, [x.name, ratio]) };
};

const softmax: Emitter = (b, _layer, prefix, [x]) => ({ ...x, name: b.node('Softmax', prefix, [x.name], [attrInt('axis', 1)]) });

export const emitters: Record<string, Emitter> = {
  Conv2d: conv2d,
  DepthwiseConv2d: conv2d,
  MaxPool2d: pool('MaxPool'),
  AvgPool2d: pool('AveragePool'),
  GlobalAvgPool: globalAvgPool,
  Flatten: flatten,
  Dense: dense,
  BatchNorm2d: batchNorm,
  BatchNorm1d: batchNorm,
  Dropout: dropout,
  ReLU: pointwise('Relu'),
  LeakyReLU: pointwise('LeakyRelu', (l) => [attrFloat('alpha', l.config().negativeSlope as number)]),
  Sigmoid: pointwise('Sigmoid'),
  Tanh: pointwise('Tanh'),
  Softplus: pointwise('Softplus'),
  Softmax: softmax,
  ...joinEmitters,
};
