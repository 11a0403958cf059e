/**
 * TensorFlow.js export in the layers format: model.json (a Keras topology and the weights
 * manifest) and weights.bin (float32, little-endian), loaded by `tf.loadLayersModel`. A chain of
 * layers is a Keras Sequential model; a graph network (branches, Add, Concat) a Keras functional
 * model whose layers name their inbound layers (./tfjs-builder.ts). How each layer maps:
 * ./tfjs-layers.ts.
 *
 * The input preprocessing (x·scale − mean) / std becomes the first layer (a 1×1 DepthwiseConv2D
 * computing x·(scale/std) − mean/std per channel), so the model takes raw input like `descent
 * predict`; `includePreprocessing: false` leaves it out. README.md, written beside, says which.
 */
import { DescentError } from '../core/errors.js';
import type { Sequential } from '../network/sequential.js';
import { checkFiniteNetwork } from './finite.js';
import type { Preprocessing } from './model-file.js';
import { describeTransform, inputTransform, type InputTransform } from './preprocessing.js';
import { TopologyBuilder, type KerasLayer, type WeightSpec } from './tfjs-builder.js';
import { emitLayer } from './tfjs-layers.js';

export type { KerasLayer, WeightSpec } from './tfjs-builder.js';

export interface TfjsExportOptions {
  preprocessing?: Preprocessing;
  /** Put the preprocessing into the model as its first layer (default true). */
  includePreprocessing?: boolean;
  classNames?: string[];
  /** The weights file's name, as model.json refers to it (default weights.bin). */
  weightsFile?: string;
}

/** model.json's content: a Keras Sequential topology for a chain, a functional one ("Model") for a graph. */
export interface TfjsModelJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  modelTopology: { class_name: 'Sequential' | 'Model'; config: Record<string, unknown> & { name: string; layers: KerasLayer[] }; keras_version: string; backend: string };
  weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
  userDefinedMetadata: Record<string, unknown>;
}

export interface TfjsExport {
  modelJson: TfjsModelJson;
  weights: Uint8Array;
  /** README.md for beside the files: input, preprocessing, how to load. */
  readme: string;
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

/** Every node's Keras layers, in list order; returns the Keras layer holding the network's output. */
function emitNodes(b: TopologyBuilder, net: Sequential): string {
  // keras[t]: the Keras layer holding tensor t (x^(0) the input after any preprocessing, x^(k+1) node k's output).
  const keras = [b.last];
  net.layers.forEach((layer, k) => {
    const name = b.functional ? net.topology.names[k] : `layer${k}_${layer.type.toLowerCase()}`;
    keras.push(emitLayer(b, net, k, name, net.topology.inputs[k].map((t) => keras[t])));
  });
  return keras[keras.length - 1];
}

/** The network as TensorFlow.js layers-format files (model.json, weights) and a README. */
export function exportTfjs(net: Sequential, options: TfjsExportOptions = {}): TfjsExport {
  checkFiniteNetwork(net, 'cannot export to TensorFlow.js');
  const inputShape = [...net.inputShape];
  const b = new TopologyBuilder(inputShape, !net.isChain);
  const transform = options.includePreprocessing === false ? null
    : inputTransform(options.preprocessing, inputShape[inputShape.length - 1], 'cannot export the preprocessing');
  if (transform) preprocessingLayer(b, transform, inputShape);
  const output = emitNodes(b, net);
  if (b.layers.length === 0) b.add('Activation', 'identity', { activation: 'linear' });
  const weightsFile = options.weightsFile ?? 'weights.bin';
  const metadata = { preprocessing: options.preprocessing ?? null, preprocessingInModel: transform !== null, classNames: options.classNames ?? null };
  const modelJson: TfjsModelJson = {
    format: 'layers-model',
    generatedBy: 'Descent',
    convertedBy: null,
    modelTopology: { class_name: b.functional ? 'Model' : 'Sequential', config: b.config(output),
      keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' },
    weightsManifest: [{ paths: [weightsFile], weights: b.specs }],
    userDefinedMetadata: { descent: metadata },
  };
  return { modelJson, weights: b.weightBytes(), readme: readme(net, options, transform) };
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
