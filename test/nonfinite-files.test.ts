/**
 * NaN and ∞ never cross a file boundary: model files, checkpoints and PyTorch state_dicts refuse
 * them when written and when read, naming the tensor and the index. Each guard has its negative:
 * the same bytes, made finite again, pass. Input statistics leave them out.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32 } from '../src/core/checksum.js';
import { NonFiniteError, checkFinite, firstNonFinite } from '../src/core/finite.js';
import { createDataset, fitStandardization } from '../src/data/dataset.js';
import { decodeModel, encodeModel } from '../src/io/model-file.js';
import { exportPytorchStateDict, importPytorchStateDict } from '../src/io/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { Sequential, type ArchitectureConfig } from '../src/network/sequential.js';
import { decodeCheckpoint, encodeCheckpoint } from '../src/train/checkpoint.js';
import { Trainer } from '../src/train/trainer.js';
import { patches, smallNet } from './synthetic.js';

const architecture: ArchitectureConfig = {
  inputShape: [6, 6, 2],
  layers: [
    { type: 'Conv2d', outChannels: 3, kernelSize: 3, padding: 1 }, { type: 'BatchNorm2d' }, { type: 'ReLU' },
    { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 },
  ],
};

const bits = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A file's tensors, changed by `edit`, written back with the checksum recomputed over `metaKeys` (then tensors). */
function edited(bytes: Uint8Array, metaKeys: string[], edit: (t: Map<string, TensorInput>) => void): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const t = new Map<string, TensorInput>([...tensors].map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, data: v.data.slice() }]));
  edit(t);
  if (metadata.checksum !== undefined) {
    let c = 0;
    for (const key of metaKeys) if (metadata[key] !== undefined) c = crc32(new TextEncoder().encode(metadata[key]), c);
    for (const name of [...t.keys()].sort()) c = crc32(bits(t.get(name)!.data), c);
    metadata.checksum = c.toString(16).padStart(8, '0');
  }
  return encodeSafetensors(t, metadata);
}

const set = (name: string, i: number, v: number) => (t: Map<string, TensorInput>) => {
  (t.get(name)!.data as Float32Array)[i] = v;
};

describe('finite checks', () => {
  it('firstNonFinite finds NaN, +∞ and −∞ and nothing else', () => {
    assert.equal(firstNonFinite([0, -0, 1e38, -3.4e38, 5e-324]), -1);
    assert.equal(firstNonFinite([1, 2, Number.NaN]), 2);
    assert.equal(firstNonFinite(Float32Array.of(1, Infinity)), 1);
    assert.equal(firstNonFinite(Float64Array.of(-Infinity)), 0);
    assert.equal(firstNonFinite([1, Number.NaN], 1), -1, 'only the first n');
    assert.throws(() => checkFinite([0, -Infinity], 'w', 'here'), (e: Error) =>
      e instanceof NonFiniteError && /^here: tensor "w" holds -Infinity at index 1 \(of 2\)/.test(e.message));
  });
});

describe('model files refuse NaN and ∞', () => {
  const net = Sequential.fromConfig(architecture, { seed: 1 });
  const good = encodeModel(net);

  it('a model is not written with a NaN weight or an infinite running statistic', () => {
    const w = net.getWeights();
    net.w[7] = Number.NaN;
    assert.throws(() => encodeModel(net), /^NonFiniteError: cannot save the model: tensor "layers\.0\.weight" holds NaN at index 7/);
    net.setWeights(w);
    net.buffers[4] = Infinity;
    assert.throws(() => encodeModel(net), /cannot save the model: tensor "layers\.1\.running_var" holds Infinity at index 1/);
    net.buffers[4] = 1;
    assert.doesNotThrow(() => encodeModel(net));
    // JSON would write NaN as null: the preprocessing is checked too.
    assert.throws(() => encodeModel(net, { preprocessing: { scale: 1 / 255, mean: [Number.NaN], std: [1] } }),
      /cannot save the model: preprocessing "mean" holds NaN at index 0/);
    assert.throws(() => encodeModel(net, { preprocessing: { scale: Infinity } }), /preprocessing "scale" holds Infinity/);
    assert.doesNotThrow(() => encodeModel(net, { preprocessing: { scale: 1 / 255, mean: [0.1], std: [0.3] } }));
  });

  it('a model file holding a NaN or ∞ (with a valid checksum) is refused when loaded, naming the tensor', () => {
    const keys = ['architecture', 'classNames', 'preprocessing'];
    assert.throws(() => decodeModel(edited(good, keys, set('layers.5.bias', 2, Number.NaN)), 'm.safetensors'),
      /^NonFiniteError: m\.safetensors: tensor "layers\.5\.bias" holds NaN at index 2/);
    assert.throws(() => decodeModel(edited(good, keys, set('layers.0.weight', 0, -Infinity)), 'm.safetensors'),
      /m\.safetensors: tensor "layers\.0\.weight" holds -Infinity at index 0/);
    assert.doesNotThrow(() => decodeModel(edited(good, keys, set('layers.5.bias', 2, 0.5)), 'm.safetensors'));
  });
});

describe('checkpoints refuse NaN and ∞', async () => {
  let bytes: Uint8Array | null = null;
  await new Trainer(smallNet(1), { epochs: 1, batchSize: 10, checkpointEvery: { epochs: 1 }, onCheckpoint: (b) => (bytes = b) })
    .fit(patches(30, 1));
  const good = bytes!;

  it('a checkpoint is not written with a non-finite w or optimizer state', () => {
    const s = decodeCheckpoint(good);
    const w = Float32Array.from(s.w);
    s.w = Float32Array.from(w);
    s.w[3] = Number.NaN;
    assert.throws(() => encodeCheckpoint(s), /^NonFiniteError: cannot write the checkpoint: tensor "w" holds NaN at index 3/);
    s.w = w;
    s.optimizer.state.buffers.exp_avg_sq = Float32Array.from(s.optimizer.state.buffers.exp_avg_sq);
    s.optimizer.state.buffers.exp_avg_sq[9] = Infinity;
    assert.throws(() => encodeCheckpoint(s), /cannot write the checkpoint: tensor "optimizer\.exp_avg_sq" holds Infinity at index 9/);
    s.optimizer.state.buffers.exp_avg_sq[9] = 0;
    assert.doesNotThrow(() => encodeCheckpoint(s));
  });

  it('a checkpoint holding a NaN (with a valid checksum) is refused when loaded', () => {
    // A checkpoint's checksum covers its state JSON, then the tensors.
    const keyed = (edit: (t: Map<string, TensorInput>) => void) => edited(good, ['state'], edit);
    assert.throws(() => decodeCheckpoint(keyed(set('epoch_start_weights', 1, Number.NaN)), 'run.ckpt'),
      /^NonFiniteError: run\.ckpt: tensor "epoch_start_weights" holds NaN at index 1/);
    assert.throws(() => decodeCheckpoint(keyed(set('w', 0, Infinity)), 'run.ckpt'), /run\.ckpt: tensor "w" holds Infinity at index 0/);
    assert.doesNotThrow(() => decodeCheckpoint(keyed(set('w', 0, 0.25)), 'run.ckpt'));
  });
});

describe('PyTorch state_dicts refuse NaN and ∞', () => {
  const net = Sequential.fromConfig(architecture, { seed: 1 });
  const good = exportPytorchStateDict(net);

  it('import names the PyTorch tensor that holds a NaN or ∞, also one that overflows float32', () => {
    assert.throws(() => importPytorchStateDict(edited(good, [], set('0.weight', 5, Number.NaN)), architecture, { source: 'pt.safetensors' }),
      /^NonFiniteError: pt\.safetensors: tensor "0\.weight" holds NaN at index \d+/);
    assert.throws(() => importPytorchStateDict(edited(good, [], set('1.running_mean', 0, -Infinity)), architecture, { source: 'pt.safetensors' }),
      /pt\.safetensors: tensor "1\.running_mean" holds -Infinity/);
    const f64 = edited(good, [], (t) => {
      const b = t.get('5.bias')!;
      t.set('5.bias', { dtype: 'F64', shape: b.shape, data: Float64Array.of(1, 2, 1e300, 4) });
    });
    assert.throws(() => importPytorchStateDict(f64, architecture, { source: 'pt.safetensors' }), /tensor "5\.bias" holds Infinity at index 2/);
    assert.doesNotThrow(() => importPytorchStateDict(edited(good, [], set('0.weight', 5, 1)), architecture));
  });

  it('export refuses a network with a NaN weight', () => {
    net.w[0] = Number.NaN;
    assert.throws(() => exportPytorchStateDict(net), /^NonFiniteError: cannot export the model: tensor "0\.weight" holds NaN at index 0/);
    net.w[0] = 0;
    assert.doesNotThrow(() => exportPytorchStateDict(net));
  });
});

describe('input statistics leave NaN and ∞ out', () => {
  it('fitStandardization over data with a NaN and an ∞ gives the statistics of the finite values', () => {
    const x = Float32Array.of(1, 10, 3, 20, Number.NaN, 30, 5, Infinity);
    const stats = fitStandardization(createDataset({ x, labels: new Int32Array(4), shape: [1, 1, 2], classes: 1 }, 'test'));
    assert.deepEqual(stats.mean, [3, 20]);
    assert.deepEqual(stats.std, [Math.sqrt(8 / 3), Math.sqrt(200 / 3)]);
    const finite = fitStandardization(createDataset({ x: Float32Array.of(1, 10, 3, 20, 5, 30), labels: new Int32Array(3), shape: [1, 1, 2], classes: 1 }, 'test'));
    assert.deepEqual(finite, stats, 'the same as without them');
  });
});
