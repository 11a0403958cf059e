/**
 * TensorFlow.js export in the layers format: model.json (a Keras Sequential topology and the
 * weights manifest) and weights.bin (float32, little-endian), loaded by `tf.loadLayersModel`.
 *
 * Keras is channels-last like Descent, so weights only change axis order (conv kernels
 * [O, KH, KW, C] → [KH, KW, C, O], dense [O, I] → [I, O]) and Flatten orders features alike.
 * Explicit padding becomes a ZeroPadding2D before the layer: exact for convolutions and for average
 * pooling (Descent averages over the padded window), and for max pooling of non-negative inputs
 * (after ReLU, Sigmoid, Softplus, Softmax), where a zero never wins over a real value.
 *
 * The input preprocessing (x·scale − mean) / std becomes the first layer (a 1×1 DepthwiseConv2D
 * computing x·(scale/std) − mean/std per channel), so the model takes raw input like `descent
 * predict`; `includePreprocessing: false` leaves it out. README.md, written beside, says which.
 */
import { DescentError } from '../core/errors.js';
import type { Conv2d } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';
import type { AvgPool2d, MaxPool2d } from '../layers/pool2d.js';
import type { Sequential } from '../network/sequential.js';
import { requireChain } from '../network/graph.js';
import { checkFiniteNetwork } from './finite.js';
import type { Preprocessing } from './model-file.js';
import { describeTransform, inputTransform, type InputTransform } from './preprocessing.js';

export interface TfjsExportOptions {
  preprocessing?: Preprocessing;
  /** Put the preprocessing into the model as its first layer (default true). */
  includePreprocessing?: boolean;
  classNames?: string[];
  /** The weights file's name, as model.json refers to it (default weights.bin). */
  weightsFile?: string;
}

interface KerasLayer {
  class_name: string;
  config: Record<string, unknown>;
}

interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** model.json's content. */
export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  modelTopology: { class_name: 'Sequential'; config: { name: string; layers: KerasLayer[] }; keras_version: string; backend: string };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  userDefinedMetadata: Record<string, unknown>;
}

export interface TfjsExport {
  modelJson: TfjsModelJson;
  weights: Uint8Array;
  /** README.md for beside the files: input, preprocessing, how to load. */
  readme: string;
}

class TopologyBuilder {
  readonly layers: KerasLayer[] = [];
  readonly specs: WeightSpec[] = [];
  readonly chunks: Float32Array[] = [];

  constructor(private readonly inputShape: number[]) {}

  add(className: string, name: string, config: Record<string, unknown>, weights: Record<string, { shape: number[]; data: Float32Array }> = {}): void {
    const first = this.layers.length === 0 ? { batch_input_shape: [null, ...this.inputShape] } : {};
    this.layers.push({ class_name: className, config: { name, trainable: true, dtype: 'float32', ...first, ...config } });
    for (const [w, { shape, data }] of Object.entries(weights)) {
      this.specs.push({ name: `${name}/${w}`, shape, dtype: 'float32' });
      this.chunks.push(data);
    }
  }

  /** Zero padding [top, bottom, left, right] (or [h, w] on both sides) as a ZeroPadding2D, if any. */
  zeroPad(name: string, pads: readonly number[]): void {
    const [t, b, l, r] = pads.length === 4 ? pads : [pads[0], pads[0], pads[1], pads[1]];
    if (t > 0 || b > 0 || l > 0 || r > 0) this.add('ZeroPadding2D', `${name}_pad`, { padding: [[t, b], [l, r]] });
  }
}

const pair = (v: unknown) => v as [number, number];
const NON_NEGATIVE = new Set(['ReLU', 'Sigmoid', 'Softplus', 'Softmax']);
const KEEPS_SIGN = new Set(['MaxPool2d', 'AvgPool2d', 'GlobalAvgPool', 'Flatten', 'Dropout']);

/** Whether the input of layer k is ≥ 0 everywhere (for zero-padded max pooling). */
function nonNegativeInput(net: Sequential, k: number): boolean {
  for (let j = k - 1; j >= 0; j--) {
    const t = net.layers[j].type;
    if (NON_NEGATIVE.has(t)) return true;
    if (!KEEPS_SIGN.has(t)) return false;
  }
  return false;
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

function preprocessingLayer(b: TopologyBuilder, t: InputTransform, inputShape: number[]): void {
  const C = inputShape[inputShape.length - 1];
  const gain = t.std.map((s) => t.scale / s), offset = t.mean.map((m, c) => -m / t.std[c]);
  if (inputShape.length === 3) {
    b.add('DepthwiseConv2D', 'preprocessing', { kernel_size: [1, 1], strides: [1, 1], padding: 'valid', depth_multiplier: 1,
      data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: true },
    { depthwise_kernel: { shape: [1, 1, C, 1], data: Float32Array.from(gain) }, bias: { shape: [C], data: Float32Array.from(offset) } });
  } else if (gain.every((g) => g === gain[0]) && offset.every((o) => o === offset[0])) {
    b.add('Rescaling', 'preprocessing', { scale: gain[0], offset: offset[0] });
  } else {
    throw new DescentError('cannot put a per-feature preprocessing of vector inputs into a TensorFlow.js model: export it without (--no-preprocessing)');
  }
}

function emitLayer(b: TopologyBuilder, net: Sequential, layer: Layer, k: number): void {
  const c = layer.config(), name = `layer${k}_${layer.type.toLowerCase()}`;
  const { params, buffers } = net.hostTensors(k);
  const fail = (why: string): never => {
    throw new DescentError(`layer ${k} (${layer.type}) has no TensorFlow.js form: ${why}`);
  };
  switch (layer.type) {
    case 'Conv2d': {
      const [KH, KW] = pair(c.kernelSize), [SH, SW] = pair(c.stride), [DH, DW] = pair(c.dilation);
      if ((layer as Conv2d).groups !== 1) fail('grouped convolutions have no TensorFlow.js layer');
      const O = c.outChannels as number, C = layer.inputShape[2];
      // TensorFlow.js cannot dilate and stride at once: dilate, then keep every S-th output.
      const subsample = (DH > 1 || DW > 1) && (SH > 1 || SW > 1);
      b.zeroPad(name, (layer as Conv2d).pads); // the built layer's: 'same' resolved, asymmetric kept
      const weights: Record<string, { shape: number[]; data: Float32Array }> = {
        kernel: { shape: [KH, KW, C, O], data: kerasKernel(params.weight, O, KH, KW, C) } };
      if (params.bias) weights.bias = { shape: [O], data: Float32Array.from(params.bias) };
      b.add('Conv2D', name, { filters: O, kernel_size: [KH, KW], strides: subsample ? [1, 1] : [SH, SW], padding: 'valid',
        data_format: 'channels_last', dilation_rate: [DH, DW], activation: 'linear', use_bias: c.bias }, weights);
      if (subsample) b.add('MaxPooling2D', `${name}_stride`, { pool_size: [1, 1], strides: [SH, SW], padding: 'valid', data_format: 'channels_last' });
      return;
    }
    case 'MaxPool2d':
    case 'AvgPool2d': {
      const kernel = pair(c.kernelSize), stride = pair(c.stride), pads = (layer as MaxPool2d | AvgPool2d).pads;
      const [PH, PW] = [pads[0], pads[2]];
      const className = layer.type === 'MaxPool2d' ? 'MaxPooling2D' : 'AveragePooling2D';
      const options = { pool_size: kernel, strides: stride, data_format: 'channels_last' };
      // Descent's 'same' is TensorFlow's rule: the same windows, padding ignored by the max.
      if (c.padding === 'same') return b.add(className, name, { ...options, padding: 'same' });
      if (layer.type === 'MaxPool2d' && (PH > 0 || PW > 0) && !nonNegativeInput(net, k)) {
        // Padding must never win a max: TensorFlow's 'same' padding (ignored by the max), where its windows are Descent's.
        if (![0, 1].every((d) => sameMatches(layer.inputShape[d], kernel[d], stride[d], [PH, PW][d], layer.outputShape[d]))) {
          fail('max pooling with this padding is exact in TensorFlow.js only after a non-negative activation (ReLU, Sigmoid, Softplus) ' +
            "or where TensorFlow's 'same' padding gives the same windows");
        }
        return b.add(className, name, { ...options, padding: 'same' });
      }
      b.zeroPad(name, pads);
      return b.add(className, name, { ...options, padding: 'valid' });
    }
    case 'GlobalAvgPool':
      return b.add('GlobalAveragePooling2D', name, { data_format: 'channels_last' });
    case 'Flatten':
      // Keras's Flatten needs an image; flattening a vector changes nothing.
      if (layer.inputShape.length > 1) b.add('Flatten', name, { data_format: 'channels_last' });
      return;
    case 'Dense': {
      const O = c.outFeatures as number, I = layer.inputShape[0];
      const weights: Record<string, { shape: number[]; data: Float32Array }> = {
        kernel: { shape: [I, O], data: kerasKernel(params.weight, O, 1, 1, I) } };
      if (params.bias) weights.bias = { shape: [O], data: Float32Array.from(params.bias) };
      return b.add('Dense', name, { units: O, activation: 'linear', use_bias: c.bias }, weights);
    }
    case 'BatchNorm2d':
    case 'BatchNorm1d': {
      const C = params.weight.length, v = (x: ArrayLike<number>) => ({ shape: [C], data: Float32Array.from(x) });
      // Keras's momentum weighs the running statistic, Descent's the batch one.
      return b.add('BatchNormalization', name, { axis: -1, momentum: 1 - (c.momentum as number), epsilon: c.eps, center: true, scale: true },
        { gamma: v(params.weight), beta: v(params.bias), moving_mean: v(buffers.running_mean), moving_variance: v(buffers.running_var) });
    }
    case 'Dropout':
      return b.add('Dropout', name, { rate: c.p });
    case 'LeakyReLU':
      return b.add('LeakyReLU', name, { alpha: c.negativeSlope });
    case 'ReLU': case 'Sigmoid': case 'Tanh': case 'Softplus': case 'Softmax':
      return b.add('Activation', name, { activation: layer.type.toLowerCase() });
    default:
      fail('no matching Keras layer');
  }
}

function concat(chunks: Float32Array[]): Uint8Array {
  const total = chunks.reduce((n, c) => n + c.length, 0), out = new Uint8Array(total * 4), view = new DataView(out.buffer);
  let i = 0;
  for (const chunk of chunks) for (const v of chunk) view.setFloat32(4 * i++, v, true);
  return out;
}

/** The network as TensorFlow.js layers-format files (model.json, weights) and a README. */
export function exportTfjs(net: Sequential, options: TfjsExportOptions = {}): TfjsExport {
  requireChain(net, 'TensorFlow.js export (a Keras Sequential model)');
  checkFiniteNetwork(net, 'cannot export to TensorFlow.js');
  const inputShape = [...net.inputShape];
  const b = new TopologyBuilder(inputShape);
  const transform = options.includePreprocessing === false ? null
    : inputTransform(options.preprocessing, inputShape[inputShape.length - 1], 'cannot export the preprocessing');
  if (transform) preprocessingLayer(b, transform, inputShape);
  net.layers.forEach((layer, k) => emitLayer(b, net, layer, k));
  if (b.layers.length === 0) b.add('Activation', 'identity', { activation: 'linear' });
  const weightsFile = options.weightsFile ?? 'weights.bin';
  const metadata = { preprocessing: options.preprocessing ?? null, preprocessingInModel: transform !== null, classNames: options.classNames ?? null };
  const modelJson: TfjsModelJson = {
    format: 'layers-model',
    generatedBy: 'Descent',
    convertedBy: null,
    modelTopology: { class_name: 'Sequential', config: { name: 'descent', layers: b.layers }, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: [weightsFile], weights: b.specs }],
    userDefinedMetadata: { descent: metadata },
  };
  return { modelJson, weights: concat(b.chunks), readme: readme(net, options, transform) };
}

function readme(net: Sequential, options: TfjsExportOptions, transform: InputTransform | null): string {
  const shape = `[N, ${net.inputShape.join(', ')}]`;
  const stated = inputTransform(options.preprocessing, net.inputShape[net.inputShape.length - 1], 'preprocessing');
  const input = transform
    ? `raw values, as \`descent predict\` takes them (for images: pixel values 0–255); the model's first layer ("preprocessing") applies ${describeTransform(transform)}`
    : stated ? `already preprocessed: apply ${describeTransform(stated)} before calling the model` : 'taken as it is (the model records no preprocessing)';
  return `# TensorFlow.js model exported by Descent

Files: \`model.json\` (Keras topology and weights manifest) and \`${options.weightsFile ?? 'weights.bin'}\`.

- Input: a float32 tensor ${shape}, channels-last, ${input}.
- Output: [N, ${net.outputShape.join(', ')}]${net.layers.at(-1)?.type === 'Softmax' ? ', the soft-max probabilities of the classes' : ''}` +
`${options.classNames ? ` (${options.classNames.join(', ')})` : ''}.
- The preprocessing is also recorded in model.json under \`userDefinedMetadata.descent\`.

\`\`\`js
import * as tf from '@tensorflow/tfjs';
const model = await tf.loadLayersModel('model.json');          // a URL in a browser; tf.io.fromMemory or tfjs-node's file:// in Node
const p = model.predict(tf.tensor(pixels, [1, ${net.inputShape.join(', ')}]));
\`\`\`
`;
}
