/**
 * ONNX operators → Descent layers, one translator per operator, for the graphs `torch.onnx.export`
 * writes (and Descent's own export). Each reads only the attributes it lists (any other is refused),
 * requires weights to be constants, and converts layouts: Conv kernels [O, C, KH, KW] → [O, KH, KW, C];
 * a Flatten of a [C, H, W] image orders features (c, h, w) where Descent's order is (h, w, c), so the
 * columns of the Gemm/MatMul that consumes them (and a BatchNorm1d between) are permuted.
 *
 * Grouped convolutions (Conv group > 1) become Conv2d with `groups`; the weight conversion is per group-sized C.
 */
import { DescentError } from '../../core/errors.js';
import type { NodeProto } from 'onnx-buf';
import type { Pair } from '../../layers/options.js';
import { resolvePads, type Pads } from '../../layers/padding.js';
import { channelsFirstToLast } from '../layout.js';
import type { Importer } from './import.js';
import { Attributes, shortestDecimal } from './proto.js';

export type Translator = (imp: Importer, node: NodeProto) => void;

/** perm[j] = (c, h, w) index of the feature Descent holds at (h, w, c) index j. */
export function hwcFromChw([C, H, W]: readonly number[]): Int32Array {
  const perm = new Int32Array(C * H * W);
  for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) perm[(h * W + w) * C + c] = (c * H + h) * W + w;
  return perm;
}

/** Rows of `F` features reordered from (c, h, w) to Descent's (h, w, c). */
function permuteRows(data: Float32Array, chw: readonly number[]): Float32Array {
  const perm = hwcFromChw(chw), F = perm.length, out = new Float32Array(data.length);
  for (let r = 0; r < data.length; r += F) for (let j = 0; j < F; j++) out[r + j] = data[r + perm[j]];
  return out;
}

/** Descent's padding option: [PH, PW] where both sides agree, else [top, bottom, left, right]. */
const paddingConfig = (p: Pads): [number, number] | Pads => (symmetric(p) ? [p[0], p[2]] : p);

function spatial(imp: Importer, node: NodeProto, a: Attributes, name: string, fallback: number, length = 2): number[] {
  const v = a.ints(name, new Array<number>(length).fill(fallback))!;
  if (v.length !== length) throw new DescentError(`${imp.where(node)}: attribute "${name}" has ${v.length} values, expected ${length} (2-D)`);
  return v;
}

/** pads [top, left, bottom, right] as Descent's [top, bottom, left, right], plus a Pad node's before it. */
function padding(imp: Importer, node: NodeProto, a: Attributes): Pads {
  const autoPad = a.string('auto_pad', 'NOTSET');
  const [t, l, b, r] = autoPad === 'VALID' ? [0, 0, 0, 0] : spatial(imp, node, a, 'pads', 0, 4);
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') {
    throw new DescentError(`${imp.where(node)}: auto_pad ${autoPad} is not supported (NOTSET with explicit pads, or VALID)`);
  }
  if (t < 0 || l < 0 || b < 0 || r < 0) throw new DescentError(`${imp.where(node)}: padding [${t}, ${l}, ${b}, ${r}] is negative`);
  const [pt, pb, pl, pr] = imp.chain.pad ?? [0, 0, 0, 0];
  imp.chain.pad = null;
  return [t + pt, b + pb, l + pl, r + pr];
}

const symmetric = ([t, b, l, r]: Pads) => t === b && l === r;

/**
 * A zero Pad of height and width, as PyTorch writes before AveragePool (count_include_pad): it
 * becomes the padding of the Conv or AveragePool that follows, which pads with zeros too.
 */
const pad: Translator = (imp, node) => {
  const a = new Attributes(node, imp.where(node), ['mode', 'pads', 'value']);
  imp.needsImage(node);
  const mode = a.string('mode', 'constant');
  const pads = imp.graph.opset >= 11 ? imp.intConstant(node, 1, 'pads') : a.ints('pads', [])!;
  const value = imp.graph.opset >= 11 ? (imp.constant(node, 2, 'constant_value', false)?.data[0] ?? 0) : a.float('value', 0);
  const next = imp.next(node);
  const [n0, c0, t, l, n1, c1, b, r] = pads;
  const ok = mode === 'constant' && value === 0 && pads.length === 8 && n0 === 0 && c0 === 0 && n1 === 0 && c1 === 0 &&
    t >= 0 && l >= 0 && b >= 0 && r >= 0 && imp.chain.pad === null && (next?.opType === 'Conv' || next?.opType === 'AveragePool');
  if (!ok) {
    throw new DescentError(`${imp.where(node)}: only a zero padding of height and width right before a Conv or ` +
      `AveragePool is supported (mode ${mode}, value ${value}, pads [${pads.join(', ')}], followed by ${next?.opType ?? 'nothing'})`);
  }
  imp.chain.pad = [t, b, l, r];
  imp.advance(node);
};

const conv: Translator = (imp, node) => {
  const a = new Attributes(node, imp.where(node), ['kernel_shape', 'strides', 'pads', 'dilations', 'group', 'auto_pad']);
  imp.needsImage(node);
  const group = a.int('group', 1);
  const w = imp.constant(node, 1, 'weight')!;
  if (w.dims.length !== 4) throw new DescentError(`${imp.where(node)}: weight has shape [${w.dims.join(', ')}], expected [O, C/group, KH, KW]`);
  const [O, CG, KH, KW] = w.dims;
  const inC = imp.chain.shape[2];
  if (group < 1 || CG * group !== inC || O % group !== 0) {
    throw new DescentError(`${imp.where(node)}: weight [${w.dims.join(', ')}] with group=${group} expects ${CG * group} input ` +
      `channels and ${group === 0 ? 'a positive group' : `a multiple of ${group} output channels`}; the input has ${inC}`);
  }
  const kernel = a.ints('kernel_shape', [KH, KW])!;
  if (kernel.join() !== [KH, KW].join()) throw new DescentError(`${imp.where(node)}: kernel_shape [${kernel}] does not match the weight [${w.dims.join(', ')}]`);
  const bias = imp.constant(node, 2, 'bias', false);
  if (bias && bias.data.length !== O) throw new DescentError(`${imp.where(node)}: bias has ${bias.data.length} values for ${O} output channels`);
  // PyTorch's [O, C/G, KH, KW] becomes Descent's [O, KH, KW, C/G], group by group alike.
  const tensors: Record<string, Float32Array> = { weight: channelsFirstToLast(w.data, O, CG, KH, KW) as Float32Array };
  if (bias) tensors.bias = bias.data;
  imp.add(node, { type: 'Conv2d', outChannels: O, kernelSize: [KH, KW], stride: spatial(imp, node, a, 'strides', 1),
    padding: paddingConfig(padding(imp, node, a)), dilation: spatial(imp, node, a, 'dilations', 1), groups: group, bias: bias !== undefined }, tensors);
};

const pool = (type: 'MaxPool2d' | 'AvgPool2d'): Translator => (imp, node) => {
  const common = ['kernel_shape', 'strides', 'pads', 'ceil_mode', 'auto_pad'];
  const a = new Attributes(node, imp.where(node), type === 'MaxPool2d' ? [...common, 'dilations', 'storage_order'] : [...common, 'count_include_pad']);
  imp.needsImage(node);
  if (!a.has('kernel_shape')) throw new DescentError(`${imp.where(node)}: attribute "kernel_shape" is missing`);
  const kernel = spatial(imp, node, a, 'kernel_shape', 1), stride = spatial(imp, node, a, 'strides', 1);
  const ownPads = spatial(imp, node, a, 'pads', 0, 4).some((p) => p > 0);
  const pads = padding(imp, node, a);
  const [H, W] = imp.chain.shape;
  // Asymmetric padding: only MaxPool2d's 'same', where it is exactly what 'same' gives.
  const same = type === 'MaxPool2d' && resolvePads('same', H, W, kernel as Pair, stride as Pair).join() === pads.join();
  if (!symmetric(pads) && !same) {
    const [t, b, l, r] = pads;
    throw new DescentError(`${imp.where(node)}: padding [${t}, ${l}, ${b}, ${r}] is not symmetric; Descent's pools pad both sides alike ` +
      "(or MaxPool2d's 'same')");
  }
  if (type === 'MaxPool2d' && spatial(imp, node, a, 'dilations', 1).some((d) => d !== 1)) {
    throw new DescentError(`${imp.where(node)}: dilated max-pooling is not supported (dilations must be 1)`);
  }
  if (type === 'AvgPool2d' && a.int('count_include_pad', 0) === 0 && ownPads) {
    throw new DescentError(`${imp.where(node)}: count_include_pad=0 with padding is not supported (Descent averages over the padded window)`);
  }
  if (a.int('ceil_mode', 0) !== 0) {
    // ceil_mode changes nothing when every window fits exactly.
    if ((H + pads[0] + pads[1] - kernel[0]) % stride[0] !== 0 || (W + pads[2] + pads[3] - kernel[1]) % stride[1] !== 0) {
      throw new DescentError(`${imp.where(node)}: ceil_mode=1 is not supported here (it would add a partial window; Descent uses floor)`);
    }
  }
  imp.noExtraOutputs(node);
  const config = { type, kernelSize: kernel, stride, padding: symmetric(pads) ? [pads[0], pads[2]] : 'same' };
  imp.add(node, type === 'MaxPool2d' ? { ...config, tieBreak: 'random' } : config, {});
};

/** GlobalAveragePool followed by the flattening of its [N, C, 1, 1] output. */
const globalAveragePool: Translator = (imp, node) => {
  new Attributes(node, imp.where(node), []);
  imp.needsImage(node);
  imp.add(node, { type: 'GlobalAvgPool' }, {});
  // Its [N, C, 1, 1] output flattened to [N, C] is what Descent's GlobalAvgPool gives.
  const next = imp.next(node);
  if (next?.opType === 'Flatten') {
    if (new Attributes(next, imp.where(next), ['axis']).int('axis', 1) !== 1) {
      throw new DescentError(`${imp.where(next)}: only axis=1 is supported`);
    }
    imp.advance(next);
  }
};

/** Squeeze of the [N, C, 1, 1] output of a global pooling (already [C] here). */
const squeeze: Translator = (imp, node) => {
  const a = new Attributes(node, imp.where(node), ['axes']);
  const axes = a.ints('axes', undefined) ?? (node.input[1] ? imp.intConstant(node, 1, 'axes') : [2, 3]);
  if (imp.chain.layout !== 'flat' || !axes.every((x) => [2, 3, -1, -2].includes(x))) {
    throw new DescentError(`${imp.where(node)}: only the squeeze of the 1×1 image of a global pooling is supported`);
  }
  imp.advance(node);
};

const flatten: Translator = (imp, node) => {
  const axis = new Attributes(node, imp.where(node), ['axis']).int('axis', 1);
  if (axis !== 1 && !(axis === -1 && imp.chain.layout === 'flat')) {
    throw new DescentError(`${imp.where(node)}: axis=${axis} is not supported (Descent flattens everything but the batch: axis=1)`);
  }
  imp.flatten(node);
};

/** A vector [N, C] as [N, C, 1, 1] (or [N, 1, 1, C]): the per-channel input of an Add (see ./import-joins.ts). */
function vectorAsImage(imp: Importer, node: NodeProto, target: number[]): boolean {
  const C = imp.chain.shape[0], rest = target.slice(1).join();
  if (imp.chain.layout !== 'flat' || target.length !== 4 || target[0] < -1 || (rest !== `${C},1,1` && rest !== `1,1,${C}`)) return false;
  imp.advance(node, rest === `${C},1,1` ? 'nchw' : 'nhwc');
  imp.chain.reshapedVector = true;
  return true;
}

const reshape: Translator = (imp, node) => {
  new Attributes(node, imp.where(node), ['allowzero']);
  const target = imp.intConstant(node, 1, 'shape');
  if (vectorAsImage(imp, node, target)) return;
  const F = imp.chain.shape.reduce((x, y) => x * y, 1);
  const ok = target.length === 2 && (target[1] === -1 || target[1] === F) && (target[0] >= -1);
  if (!ok) {
    throw new DescentError(`${imp.where(node)}: reshape to [${target.join(', ')}] is not supported; only flattening to [N, ${F}] is`);
  }
  imp.flatten(node);
};

const transpose: Translator = (imp, node) => {
  const perm = new Attributes(node, imp.where(node), ['perm']).ints('perm', [])!.join();
  const { layout } = imp.chain;
  if (layout === 'nhwc' && perm === '0,3,1,2') imp.advance(node, 'nchw');
  else if (layout === 'nchw' && perm === '0,2,3,1') imp.advance(node, 'nhwc');
  else {
    throw new DescentError(`${imp.where(node)}: Transpose perm [${perm}] of a ${layout} tensor is not supported ` +
      '(only NHWC ↔ NCHW of an image)');
  }
};

/** Gemm, or MatMul followed by an Add of a constant bias: a Dense layer. */
function dense(imp: Importer, node: NodeProto, weightOI: { dims: number[]; data: Float32Array }, bias: Float32Array | undefined): void {
  imp.needsVector(node);
  const [O, I] = weightOI.dims, F = imp.chain.shape[0];
  if (I !== F) throw new DescentError(`${imp.where(node)}: weight [${O}, ${I}] (as [out, in]) takes ${I} features, the input has ${F}`);
  if (bias && bias.length !== O) throw new DescentError(`${imp.where(node)}: bias has ${bias.length} values for ${O} outputs`);
  const { chw } = imp.chain;
  const tensors: Record<string, Float32Array> = { weight: chw ? permuteRows(weightOI.data, chw) : weightOI.data };
  if (bias) tensors.bias = bias;
  imp.chain.chw = null;
  imp.add(node, { type: 'Dense', outFeatures: O, bias: bias !== undefined }, tensors);
}

function transposed({ dims: [R, C], data }: { dims: number[]; data: Float32Array }) {
  const out = new Float32Array(data.length);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = data[r * C + c];
  return { dims: [C, R], data: out };
}

const gemm: Translator = (imp, node) => {
  const a = new Attributes(node, imp.where(node), ['alpha', 'beta', 'transA', 'transB']);
  if (a.float('alpha', 1) !== 1 || a.float('beta', 1) !== 1 || a.int('transA', 0) !== 0) {
    throw new DescentError(`${imp.where(node)}: only alpha=1, beta=1 and transA=0 are supported`);
  }
  const w = imp.constant(node, 1, 'B (weight)')!;
  if (w.dims.length !== 2) throw new DescentError(`${imp.where(node)}: weight has shape [${w.dims.join(', ')}], expected 2 dimensions`);
  const bias = imp.constant(node, 2, 'C (bias)', false);
  dense(imp, node, a.int('transB', 0) === 1 ? w : transposed(w), bias?.data);
};

const matMul: Translator = (imp, node) => {
  new Attributes(node, imp.where(node), []);
  const w = imp.constant(node, 1, 'weight')!;
  if (w.dims.length !== 2) throw new DescentError(`${imp.where(node)}: weight has shape [${w.dims.join(', ')}], expected [in, out]`);
  const next = imp.next(node);
  let bias: Float32Array | undefined;
  if (next?.opType === 'Add') {
    const other = next.input.findIndex((v) => v !== node.output[0]);
    if (other >= 0 && imp.graph.constants.has(next.input[other])) bias = imp.constant(next, other, 'bias')!.data;
  }
  dense(imp, node, transposed(w), bias);
  if (bias) imp.advance(next!);
};

const batchNormalization: Translator = (imp, node) => {
  const a = new Attributes(node, imp.where(node), ['epsilon', 'momentum', 'training_mode', 'spatial']);
  if (a.int('training_mode', 0) !== 0) throw new DescentError(`${imp.where(node)}: training_mode=1 is not supported (export in eval mode)`);
  if (a.int('spatial', 1) !== 1) throw new DescentError(`${imp.where(node)}: spatial=0 is not supported`);
  const { layout, shape, chw } = imp.chain;
  if (layout === 'nhwc') throw new DescentError(`${imp.where(node)}: the input is [N, H, W, C]; BatchNormalization needs channels on axis 1`);
  const C = layout === 'nchw' ? shape[2] : shape[0];
  const names = ['weight', 'bias', 'running_mean', 'running_var'], tensors: Record<string, Float32Array> = {};
  names.forEach((name, i) => {
    const t = imp.constant(node, i + 1, name)!;
    if (t.data.length !== C) throw new DescentError(`${imp.where(node)}: ${name} has ${t.data.length} values for ${C} channels`);
    tensors[name] = chw ? permuteRows(t.data, chw) : t.data;
  });
  imp.noExtraOutputs(node);
  const eps = shortestDecimal(a.float('epsilon', 1e-5));
  const m = a.float('momentum', 0.9);
  const momentum = shortestDecimal(m, (d) => Math.fround(1 - d), 1 - m);
  imp.add(node, { type: layout === 'nchw' ? 'BatchNorm2d' : 'BatchNorm1d', eps, momentum }, tensors);
};

const pointwise = (type: string, attributes: string[] = []): Translator => (imp, node) => {
  const a = new Attributes(node, imp.where(node), attributes);
  imp.add(node, type === 'LeakyReLU' ? { type, negativeSlope: shortestDecimal(a.float('alpha', 0.01)) } : { type }, {});
};

const softmax: Translator = (imp, node) => {
  const axis = new Attributes(node, imp.where(node), ['axis']).int('axis', imp.graph.opset >= 13 ? -1 : 1);
  imp.needsVector(node);
  if (axis !== 1 && axis !== -1) throw new DescentError(`${imp.where(node)}: axis=${axis} is not supported (the class axis, 1)`);
  imp.add(node, { type: 'Softmax' }, {});
};

const dropout: Translator = (imp, node) => {
  const a = new Attributes(node, imp.where(node), ['ratio', 'seed', 'is_test']);
  const ratioInput = imp.constant(node, 1, 'ratio', false);
  const training = imp.constant(node, 2, 'training_mode', false);
  if (training && training.data[0] !== 0) throw new DescentError(`${imp.where(node)}: training_mode=true is not supported (export in eval mode)`);
  const p = shortestDecimal(ratioInput ? ratioInput.data[0] : a.float('ratio', 0.5));
  imp.noExtraOutputs(node);
  imp.add(node, { type: 'Dropout', p }, {});
};

/** Identity: a Descent Identity layer (a named pass-through of a graph), except as the graph's last node. */
const identity: Translator = (imp, node) => {
  new Attributes(node, imp.where(node), []);
  if (node.output[0] === imp.graph.output) imp.advance(node);
  else imp.add(node, { type: 'Identity' }, {});
};

export const translators: Record<string, Translator> = {
  Conv: conv,
  MaxPool: pool('MaxPool2d'),
  AveragePool: pool('AvgPool2d'),
  GlobalAveragePool: globalAveragePool,
  Flatten: flatten,
  Pad: pad,
  Reshape: reshape,
  Squeeze: squeeze,
  Transpose: transpose,
  Gemm: gemm,
  MatMul: matMul,
  BatchNormalization: batchNormalization,
  Relu: pointwise('ReLU'),
  LeakyRelu: pointwise('LeakyReLU', ['alpha']),
  Sigmoid: pointwise('Sigmoid'),
  Tanh: pointwise('Tanh'),
  Softplus: pointwise('Softplus'),
  Softmax: softmax,
  Dropout: dropout,
  Identity: identity,
};
