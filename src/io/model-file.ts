/**
 * Descent's model file ("descent-model-1"): one safetensors file that other tools can open too.
 *
 *   tensors       `layers.<k>.<name>`, F32, in Descent's layout (channels-last: conv weights are
 *                 [O, KH, KW, C], dense weights [O, I]): every parameter (`weight`, `bias`) and
 *                 buffer (`running_mean`, `running_var`) of layer k, e.g. `layers.0.weight`,
 *                 `layers.4.running_mean`; nothing else.
 *   __metadata__  format        "descent-model-1"
 *                 architecture  JSON of the ArchitectureConfig ({inputShape, layers})
 *                 classNames    optional, JSON array of strings (output e is classNames[e])
 *                 preprocessing optional, JSON object (e.g. {"scale": 1/255, "mean": [...], "std": [...]})
 *                 checksum      CRC-32 (8 hex digits) over the UTF-8 bytes of architecture,
 *                               classNames and preprocessing (those present, in that order),
 *                               then every tensor's bytes in name order
 *
 * The checksum lets a truncated or corrupted file be refused instead of half-loaded. A NaN or ∞
 * in any tensor is refused both ways: such a model is never written, nor loaded. Core code:
 * bytes in, bytes out (src/node/model-io.ts reads and writes files).
 */
import { crc32 } from '../core/checksum.js';
import { DescentError, oneLine } from '../core/errors.js';
import { checkFinite } from '../core/finite.js';
import type { Floats } from '../core/floats.js';
import { fmt, sizeOf } from '../core/shape.js';
import { Sequential, type ArchitectureConfig, type SequentialOptions, type TensorSlot } from '../network/sequential.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from './safetensors.js';

/** The `format` a Descent model file's metadata carries. */
export const MODEL_FORMAT = 'descent-model-1';

/**
 * How raw inputs were transformed before training: x ↦ (x·scale - mean[c]) / std[c], one mean
 * and std per channel (three for colour images); `resize`: images were resized to [height, width]
 * first (the CLI's --image-size), so predict resizes too.
 */
export interface Preprocessing {
  /** Multiply raw inputs by this first (e.g. 1/255 for bytes). */
  scale?: number;
  /** Then subtract this per channel. */
  mean?: number[];
  /** Then divide by this per channel. */
  std?: number[];
  resize?: [number, number];
  [key: string]: unknown;
}

/** What a model file may carry beside the network. */
export interface ModelExtras {
  /** The name of each output class (output e is classNames[e]). */
  classNames?: string[];
  /** How inputs were transformed during training, to apply the same before predicting. */
  preprocessing?: Preprocessing;
}

/** A model read back: the network and the extras it was saved with. */
export interface LoadedModel extends ModelExtras {
  /** The network, with its weights and running statistics. */
  net: Sequential;
}

const tensorName = (slot: TensorSlot) => `layers.${slot.layer}.${slot.name}`;

/** The optional metadata entries covered by the checksum, in checksum order. */
const CHECKED = ['architecture', 'classNames', 'preprocessing'] as const;

function checksum(metadata: Record<string, string>, tensors: Map<string, { data: ArrayBufferView }>): string {
  let c = 0;
  for (const key of CHECKED) if (metadata[key] !== undefined) c = crc32(new TextEncoder().encode(metadata[key]), c);
  for (const name of [...tensors.keys()].sort()) {
    const d = tensors.get(name)!.data;
    c = crc32(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), c);
  }
  return c.toString(16).padStart(8, '0');
}

function checkClassNames(names: unknown, outputs: number, where: string): asserts names is string[] {
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) {
    throw new DescentError(`${where}: classNames must be an array of strings`);
  }
  if (names.length > outputs) {
    throw new DescentError(`${where}: ${names.length} class names, but the network has only ${outputs} outputs`);
  }
}

/** JSON would write a NaN or ∞ of the preprocessing as null: refuse it instead. */
function checkFinitePreprocessing(p: Preprocessing): void {
  for (const [key, value] of Object.entries(p)) {
    if (typeof value === 'number' || Array.isArray(value)) {
      const values = (Array.isArray(value) ? value : [value]).filter((v) => typeof v === 'number');
      checkFinite(values, key, 'cannot save the model', 'preprocessing');
    }
  }
}

/** A model file's bytes: architecture, parameters, running statistics and the optional extras. */
export function encodeModel(net: Sequential, extra: ModelExtras = {}): Uint8Array {
  const tensors = new Map<string, TensorInput>();
  const add = (slots: TensorSlot[], vector: Floats) => {
    for (const s of slots) {
      const data = Float32Array.from(vector.subarray(s.offset, s.offset + s.length));
      checkFinite(data, tensorName(s), 'cannot save the model');
      tensors.set(tensorName(s), { shape: s.shape, data });
    }
  };
  add(net.paramSlots, net.w);
  add(net.bufferSlots, net.buffers);
  const metadata: Record<string, string> = { format: MODEL_FORMAT, architecture: JSON.stringify(net.config()) };
  if (extra.classNames !== undefined) {
    checkClassNames(extra.classNames, sizeOf(net.outputShape), 'cannot save the model');
    metadata.classNames = JSON.stringify(extra.classNames);
  }
  if (extra.preprocessing !== undefined) {
    checkFinitePreprocessing(extra.preprocessing);
    metadata.preprocessing = JSON.stringify(extra.preprocessing);
  }
  metadata.checksum = checksum(metadata, tensors);
  return encodeSafetensors(tensors, metadata);
}

/**
 * Rebuild a model from a file's bytes. `source` (a path) names the file in every error; `options`
 * (arena, kernels, seed) go to the Sequential being built.
 */
export function decodeModel(bytes: Uint8Array, source = 'model file',
  options: Omit<SequentialOptions, 'inputShape'> = {}): LoadedModel {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, source);
  } catch (e) {
    throw new DescentError(`${source} is not a readable model file (truncated or corrupted?): ${(e as Error).message}`);
  }
  const { tensors, metadata } = decoded;
  if (metadata.format !== MODEL_FORMAT) {
    const hint = /^descent-checkpoint-\d+$/.test(metadata.format ?? '') ? ' (it is a training checkpoint: resume from it instead)'
      : metadata.format === undefined ? ' (a PyTorch state_dict? import it with importPytorch from descent-cnn/node, given its architecture)' : '';
    throw new DescentError(`${source} is not a Descent model: format ${JSON.stringify(metadata.format)}, ` +
      `expected "${MODEL_FORMAT}"${hint}`);
  }
  const actual = checksum(metadata, tensors);
  if (actual !== metadata.checksum) {
    throw new DescentError(`${source} is corrupted: checksum ${actual} does not match the recorded ${metadata.checksum}`);
  }
  const json = (key: string): unknown => {
    try {
      return JSON.parse(metadata[key]);
    } catch (e) {
      throw new DescentError(`${source}: metadata "${key}" is not valid JSON: ${oneLine((e as Error).message)}`);
    }
  };
  if (metadata.architecture === undefined) throw new DescentError(`${source}: metadata "architecture" is missing`);
  let net: Sequential;
  try {
    net = Sequential.fromConfig(json('architecture') as ArchitectureConfig, options);
  } catch (e) {
    throw new DescentError(`${source}: the stored architecture does not build: ${(e as Error).message}`);
  }

  const expected = new Set<string>();
  const fill = (slots: TensorSlot[], vector: Floats) => {
    for (const s of slots) {
      const name = tensorName(s);
      expected.add(name);
      const t = tensors.get(name);
      const layer = `layer ${s.layer} (${net.layers[s.layer].type})`;
      if (!t) throw new DescentError(`${source}: tensor "${name}" is missing (${layer} needs ${s.name} ${fmt(s.shape)})`);
      if (t.shape.join() !== s.shape.join()) {
        throw new DescentError(`${source}: tensor "${name}" has shape ${fmt(t.shape)}, but ${layer} needs ${fmt(s.shape)}`);
      }
      if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
        throw new DescentError(`${source}: tensor "${name}" is ${t.dtype}, expected F32`);
      }
      checkFinite(t.data, name, source);
      vector.set(t.data, s.offset);
    }
  };
  fill(net.paramSlots, net.w);
  fill(net.bufferSlots, net.buffers);
  net.upload();
  const extra = [...tensors.keys()].filter((n) => !expected.has(n));
  if (extra.length > 0) {
    throw new DescentError(`${source}: tensor "${extra[0]}" belongs to no layer of the stored architecture`);
  }

  const model: LoadedModel = { net };
  if (metadata.classNames !== undefined) {
    const names = json('classNames');
    checkClassNames(names, sizeOf(net.outputShape), source);
    model.classNames = names;
  }
  if (metadata.preprocessing !== undefined) {
    const p = json('preprocessing');
    if (typeof p !== 'object' || p === null || Array.isArray(p)) {
      throw new DescentError(`${source}: metadata "preprocessing" must be a JSON object`);
    }
    model.preprocessing = p as Preprocessing;
  }
  return model;
}
