/** Descent's model file: save → load gives the same network, and damaged files are refused clearly. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { crc32 } from '../src/core/checksum.js';
import { decodeModel, encodeModel, MODEL_FORMAT } from '../src/io/model-file.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { Sequential, type ArchitectureConfig } from '../src/network/sequential.js';
import { loadModel, saveModel } from '../src/node/model-io.js';
import { randomFloats } from './helpers.js';

const architecture: ArchitectureConfig = {
  inputShape: [6, 6, 2],
  layers: [
    { type: 'Conv2d', outChannels: 3, kernelSize: 3, padding: 1 },
    { type: 'BatchNorm2d' },
    { type: 'ReLU' },
    { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' },
    { type: 'Dense', outFeatures: 4 },
    { type: 'Softmax' },
  ],
};

/** A network whose every tensor is random, batch-norm running variance kept positive. */
function randomNet(): Sequential {
  const net = Sequential.fromConfig(architecture, { seed: 1 });
  net.setWeights(randomFloats(net.w.length, 2));
  net.setBuffers(randomFloats(net.buffers.length, 3).map((v, i) => (i >= 3 ? 0.5 + Math.abs(v) : v)));
  return net;
}

const bits = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-model-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Decode a model file, let `edit` change it, and write it back with a valid checksum (as documented). */
function edited(bytes: Uint8Array, edit: (t: Map<string, TensorInput>, m: Record<string, string>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const t = new Map<string, TensorInput>([...tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  edit(t, metadata);
  let c = 0;
  for (const key of ['architecture', 'classNames', 'preprocessing']) {
    if (metadata[key] !== undefined) c = crc32(new TextEncoder().encode(metadata[key]), c);
  }
  for (const name of [...t.keys()].sort()) c = crc32(bits(t.get(name)!.data as Float32Array), c);
  metadata.checksum = c.toString(16).padStart(8, '0');
  return encodeSafetensors(t, metadata);
}

describe('model file', () => {
  const net = randomNet();
  const file = path.join(dir, 'model.safetensors');
  const extra = { classNames: ['a', 'b', 'c', 'd'], preprocessing: { scale: 1 / 255, mean: [0.5, 0.25], std: [0.2, 0.3] } };
  saveModel(file, net, extra);
  const bytes = new Uint8Array(fs.readFileSync(file));

  it('round-trips bit for bit, with identical predictions', () => {
    const loaded = loadModel(file);
    assert.deepEqual(loaded.net.config(), net.config());
    assert.deepEqual(bits(loaded.net.w), bits(net.w));
    assert.deepEqual(bits(loaded.net.buffers), bits(net.buffers));
    assert.deepEqual(loaded.classNames, extra.classNames);
    assert.deepEqual(loaded.preprocessing, extra.preprocessing);
    const x = Float32Array.from(randomFloats(5 * 72, 4));
    const a = net.predict(x, 5), b = loaded.net.predict(x, 5);
    assert.deepEqual(bits(b.p), bits(a.p));
    assert.deepEqual(b.classes, a.classes);
  });

  it('is safetensors with named tensors in Descent layout and documented metadata', () => {
    const { tensors, metadata } = decodeSafetensors(bytes);
    assert.equal(metadata.format, MODEL_FORMAT);
    assert.deepEqual(JSON.parse(metadata.architecture), net.config());
    assert.match(metadata.checksum, /^[0-9a-f]{8}$/);
    assert.deepEqual([...tensors.keys()].sort(), ['layers.0.bias', 'layers.0.weight', 'layers.1.bias',
      'layers.1.running_mean', 'layers.1.running_var', 'layers.1.weight', 'layers.5.bias', 'layers.5.weight']);
    assert.deepEqual(tensors.get('layers.0.weight')?.shape, [3, 3, 3, 2]); // [O, KH, KW, C]
    assert.equal(tensors.get('layers.5.weight')?.dtype, 'F32');
    assert.deepEqual(tensors.get('layers.1.running_var')?.data, net.buffers.subarray(3, 6));
  });

  it('writes atomically: no temporary file is left beside the model', () => {
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('model.safetensors')), ['model.safetensors']);
  });

  it('refuses a corrupted byte with a checksum error', () => {
    const bad = bytes.slice();
    bad[bad.length - 1] ^= 0x01;
    const damaged = path.join(dir, 'damaged.safetensors');
    fs.writeFileSync(damaged, bad);
    assert.throws(() => loadModel(damaged), (e: Error) =>
      e.message.includes(damaged) && /is corrupted: checksum [0-9a-f]{8} does not match the recorded/.test(e.message));
  });

  it('refuses a truncated file clearly', () => {
    const truncated = path.join(dir, 'truncated.safetensors');
    fs.writeFileSync(truncated, bytes.subarray(0, bytes.length - 10));
    assert.throws(() => loadModel(truncated), (e: Error) =>
      e.message.startsWith(`${truncated} is not a readable model file (truncated or corrupted?)`));
    assert.throws(() => decodeModel(bytes.subarray(0, 5), 'm'), /m is not a readable model file .*too short/);
  });

  it('refuses what is not a Descent model', () => {
    const plain = encodeSafetensors({ '0.weight': { shape: [1], data: new Float32Array(1) } });
    assert.throws(() => decodeModel(plain, 'x.safetensors'),
      /x.safetensors is not a Descent model: format undefined, expected "descent-model-1" \(a PyTorch state_dict\?/);
    for (const format of ['descent-checkpoint-1', 'descent-checkpoint-2']) {
      const other = edited(bytes, (_t, m) => (m.format = format));
      assert.throws(() => decodeModel(other, 'c'), /c is not a Descent model: .*training checkpoint/);
    }
    assert.throws(() => loadModel(path.join(dir, 'absent.safetensors')), /absent.safetensors: no such file/);
  });

  it('names a missing tensor', () => {
    const bad = edited(bytes, (t) => t.delete('layers.5.weight'));
    assert.throws(() => decodeModel(bad, 'm.safetensors'),
      /m.safetensors: tensor "layers.5.weight" is missing \(layer 5 \(Dense\) needs weight \[4, 27\]\)/);
  });

  it('names a tensor whose shape does not fit, with both shapes', () => {
    const bad = edited(bytes, (_t, m) => {
      const a = JSON.parse(m.architecture);
      a.layers[0].kernelSize = [5, 5];
      m.architecture = JSON.stringify(a);
    });
    assert.throws(() => decodeModel(bad, 'm.safetensors'),
      /m.safetensors: tensor "layers.0.weight" has shape \[3, 3, 3, 2\], but layer 0 \(Conv2d\) needs \[3, 5, 5, 2\]/);
  });

  it('refuses tensors that belong to no layer and class names that do not fit', () => {
    const bad = edited(bytes, (t) => t.set('layers.2.weight', { shape: [1], data: new Float32Array(1) }));
    assert.throws(() => decodeModel(bad, 'm'), /m: tensor "layers.2.weight" belongs to no layer/);
    assert.throws(() => encodeModel(net, { classNames: ['a', 'b', 'c', 'd', 'e'] }), /5 class names, but the network has only 4 outputs/);
  });

  it('round-trips a model without extras', () => {
    const m = decodeModel(encodeModel(net));
    assert.equal(m.classNames, undefined);
    assert.equal(m.preprocessing, undefined);
    assert.deepEqual(bits(m.net.w), bits(net.w));
  });
});
