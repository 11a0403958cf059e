/**
 * Each Descent layer as Keras layers of TensorFlow.js (see ./tfjs.ts for the format). Keras is
 * channels-last like Descent, so weights only change axis order (conv kernels [O, KH, KW, C] →
 * [KH, KW, C, O], dense [O, I] → [I, O]) and Flatten orders features alike. Explicit padding
 * becomes a ZeroPadding2D before the layer: exact for convolutions and for average pooling
 * (Descent averages over the padded window), and for max pooling of non-negative inputs, where a
 * zero never wins over a real value. A depthwise convolution (groups = input channels) is Keras's
 * DepthwiseConv2D; other grouped convolutions have no TensorFlow.js layer and are refused.
 */
import { DescentError } from '../core/errors.js';
import type { Conv2d } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';
import type { AvgPool2d, MaxPool2d } from '../layers/pool2d.js';
import type { HostTensors, Sequential } from '../network/sequential.js';
import type { TopologyBuilder, Weights } from './tfjs-builder.js';

const pair = (v: unknown) => v as [number, number];
const NON_NEGATIVE = new Set(['ReLU', 'Sigmoid', 'Softplus', 'Softmax']);
const KEEPS_SIGN = new Set(['MaxPool2d', 'AvgPool2d', 'GlobalAvgPool', 'Flatten', 'Dropout', 'Identity', 'Add', 'Concat']);

/** Whether tensor t (x^(0) the input, x^(k+1) node k's output) is ≥ 0 everywhere, following the graph back. */
function nonNegative(net: Sequential, t: number): boolean {
  if (t === 0) return false;
  const type = net.layers[t - 1].type;
  if (NON_NEGATIVE.has(type)) return true;
  return KEEPS_SIGN.has(type) && net.topology.inputs[t - 1].every((i) => nonNegative(net, i));
}

/** Whether TensorFlow's 'same' pooling (floor(total / 2) before) has Descent's windows along one axis. */
function sameMatches(H: number, K: number, S: number, P: number, OH: number): boolean {
  const total = Math.max((Math.ceil(H / S) - 1) * S + K - H, 0);
  return Math.ceil(H / S) === OH && Math.floor(total / 2) === P;
}

/** [O, KH, KW, C] → [KH, KW, C, O]. */
function kerasKernel(w: ArrayLike<number>, O: number, KH: number, KW: number, C: number): Float32Array {
  const out = new Float32Array(O * KH * KW * C), inner = KH * KW * C;
  for (let o = 0; o < O; o++) for (let i = 0; i < inner; i++) out[i * O + o] = w[o * inner + i];
  return out;
}

/** "layer k (Type)" in a chain, "node "name" (Type)" in a graph: how export errors name the node. */
export function nodeLabel(net: Sequential, k: number): string {
  return net.isChain ? `layer ${k} (${net.layers[k].type})` : `node "${net.topology.names[k]}" (${net.layers[k].type})`;
}

/** A convolution: Conv2D, or DepthwiseConv2D where groups = input channels; ZeroPadding2D before it for explicit padding. */
function convolution(b: TopologyBuilder, layer: Layer, { params }: HostTensors, name: string, input: string,
  fail: (why: string) => never): string {
  const conv = layer as Conv2d, c = layer.config();
  const [KH, KW] = pair(conv.kernelSize), [SH, SW] = pair(conv.stride), [DH, DW] = pair(conv.dilation);
  const O = conv.outChannels, C = layer.inputShape[2], G = conv.groups;
  const depthwise = G > 1 && G === C;
  if (G > 1 && !depthwise) fail(`grouped convolutions (groups ${G} of ${C} channels) have no TensorFlow.js layer; only depthwise ones (groups = input channels)`);
  if (depthwise && (DH > 1 || DW > 1)) fail("TensorFlow.js's DepthwiseConv2D ignores dilation");
  // TensorFlow.js cannot dilate and stride at once: dilate, then keep every S-th output.
  const subsample = (DH > 1 || DW > 1) && (SH > 1 || SW > 1);
  const padded = b.zeroPad(name, conv.pads, input); // the built layer's: 'same' resolved, asymmetric kept
  const bias: Weights = params.bias ? { bias: { shape: [O], data: Float32Array.from(params.bias) } } : {};
  const common = { kernel_size: [KH, KW], strides: subsample ? [1, 1] : [SH, SW], padding: 'valid', data_format: 'channels_last',
    dilation_rate: [DH, DW], activation: 'linear', use_bias: c.bias };
  let out: string;
  if (depthwise) {
    // Output channel c·m + j is input channel c's j-th filter: [O, KH, KW, 1] → [KH, KW, O] is Keras's [KH, KW, C, m].
    out = b.add('DepthwiseConv2D', name, { ...common, depth_multiplier: O / C },
      { depthwise_kernel: { shape: [KH, KW, C, O / C], data: kerasKernel(params.weight, O, KH, KW, 1) }, ...bias }, [padded]);
  } else {
    out = b.add('Conv2D', name, { ...common, filters: O },
      { kernel: { shape: [KH, KW, C, O], data: kerasKernel(params.weight, O, KH, KW, C) }, ...bias }, [padded]);
  }
  if (!subsample) return out;
  return b.add('MaxPooling2D', `${name}_stride`, { pool_size: [1, 1], strides: [SH, SW], padding: 'valid', data_format: 'channels_last' }, {}, [out]);
}

function pooling(b: TopologyBuilder, net: Sequential, k: number, name: string, input: string, fail: (why: string) => never): string {
  const layer = net.layers[k], c = layer.config();
  const kernel = pair(c.kernelSize), stride = pair(c.stride), pads = (layer as MaxPool2d | AvgPool2d).pads;
  const [PH, PW] = [pads[0], pads[2]];
  const className = layer.type === 'MaxPool2d' ? 'MaxPooling2D' : 'AveragePooling2D';
  const options = { pool_size: kernel, strides: stride, data_format: 'channels_last' };
  // Descent's 'same' is TensorFlow's rule: the same windows, padding ignored by the max.
  if (c.padding === 'same') return b.add(className, name, { ...options, padding: 'same' }, {}, [input]);
  if (layer.type === 'MaxPool2d' && (PH > 0 || PW > 0) && !nonNegative(net, net.topology.inputs[k][0])) {
    // Padding must never win a max: TensorFlow's 'same' padding (ignored by the max), where its windows are Descent's.
    if (![0, 1].every((d) => sameMatches(layer.inputShape[d], kernel[d], stride[d], [PH, PW][d], layer.outputShape[d]))) {
      fail('max pooling with this padding is exact in TensorFlow.js only after a non-negative activation (ReLU, Sigmoid, Softplus) ' +
        "or where TensorFlow's 'same' padding gives the same windows");
    }
    return b.add(className, name, { ...options, padding: 'same' }, {}, [input]);
  }
  return b.add(className, name, { ...options, padding: 'valid' }, {}, [b.zeroPad(name, pads, input)]);
}

/**
 * Adds node k's Keras layers, reading the Keras layers `inputs` (one per input of the node, in
 * order), and returns the name of the layer holding its output.
 */
export function emitLayer(b: TopologyBuilder, net: Sequential, k: number, name: string, inputs: string[]): string {
  const layer = net.layers[k], c = layer.config(), input = inputs[0], host = net.hostTensors(k);
  const { params, buffers } = host;
  const fail = (why: string): never => {
    throw new DescentError(`${nodeLabel(net, k)} has no TensorFlow.js form: ${why}`);
  };
  const single = (className: string, config: Record<string, unknown>, weights: Weights = {}) => b.add(className, name, config, weights, [input]);
  switch (layer.type) {
    case 'Conv2d': case 'DepthwiseConv2d':
      return convolution(b, layer, host, name, input, fail);
    case 'MaxPool2d': case 'AvgPool2d':
      return pooling(b, net, k, name, input, fail);
    case 'GlobalAvgPool':
      return single('GlobalAveragePooling2D', { data_format: 'channels_last' });
    case 'Flatten':
      // Keras's Flatten needs an image; flattening a vector changes nothing.
      return layer.inputShape.length > 1 ? single('Flatten', { data_format: 'channels_last' }) : input;
    case 'Dense': {
      const O = c.outFeatures as number, I = layer.inputShape[0];
      const weights: Weights = { kernel: { shape: [I, O], data: kerasKernel(params.weight, O, 1, 1, I) } };
      if (params.bias) weights.bias = { shape: [O], data: Float32Array.from(params.bias) };
      return single('Dense', { units: O, activation: 'linear', use_bias: c.bias }, weights);
    }
    case 'BatchNorm2d': case 'BatchNorm1d': {
      const C = params.weight.length, v = (x: ArrayLike<number>) => ({ shape: [C], data: Float32Array.from(x) });
      // Keras's momentum weighs the running statistic, Descent's the batch one.
      return single('BatchNormalization', { axis: -1, momentum: 1 - (c.momentum as number), epsilon: c.eps, center: true, scale: true },
        { gamma: v(params.weight), beta: v(params.bias), moving_mean: v(buffers.running_mean), moving_variance: v(buffers.running_var) });
    }
    case 'Add':
      // Keras's Add sums in input order and broadcasts a [C] input over an image as Descent does.
      return b.add('Add', name, {}, {}, inputs);
    case 'Concat':
      return b.add('Concatenate', name, { axis: -1 }, {}, inputs);
    case 'Identity':
      return single('Activation', { activation: 'linear' });
    case 'Dropout':
      return single('Dropout', { rate: c.p });
    case 'LeakyReLU':
      return single('LeakyReLU', { alpha: c.negativeSlope });
    case 'ReLU': case 'Sigmoid': case 'Tanh': case 'Softplus': case 'Softmax':
      return single('Activation', { activation: layer.type.toLowerCase() });
    default:
      return fail('no matching Keras layer');
  }
}
