/**
 * PyTorch state_dicts in and out: imported networks compute what PyTorch computed (reference values
 * in test/fixtures/layers.json, and float64 NCHW code written here), and export → import is exact.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelsFirstToLast } from '../src/io/layout.js';
import { exportPytorchStateDict, importPytorchStateDict } from '../src/io/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import type { ArchitectureConfig } from '../src/network/sequential.js';
import { assertClose, fixture, randomFloats, host } from './helpers.js';

interface T { shape: number[]; data: number[] }
interface LayerCase { name: string; x: T; y: T; params: Record<string, T> }
const cases = fixture<{ layers: LayerCase[] }>('layers.json').layers;
const conv = cases.find((c) => c.name === 'conv2d_stride2_pad1')!; // x [2, 3, 7, 8], weight [4, 3, 3, 3], y [2, 4, 4, 4]

const TOL = 2e-5; // float32 against float64: |a - b| <= TOL (1 + |b|)
const f64 = (shape: number[], data: ArrayLike<number>): TensorInput => ({ shape, data: Float64Array.from(data) });
const nhwc = (t: T) => channelsFirstToLast(t.data, t.shape[0], t.shape[1], t.shape[2], t.shape[3]) as Float32Array;
const bits = (a: Float32Array | Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const convArchitecture: ArchitectureConfig = {
  inputShape: [7, 8, 3],
  layers: [{ type: 'Conv2d', outChannels: 4, kernelSize: 3, stride: 2, padding: 1 }],
};
const convDict = (): Record<string, TensorInput> => ({
  '0.weight': f64(conv.params.weight.shape, conv.params.weight.data),
  '0.bias': f64(conv.params.bias.shape, conv.params.bias.data),
});

// Float64 NCHW reference code, as PyTorch computes (eval mode).
function conv2d(x: ArrayLike<number>, [N, C, H, W]: number[], w: ArrayLike<number>, b: ArrayLike<number>,
  O: number, K: number): { y: Float64Array; shape: number[] } {
  const OH = H - K + 1, OW = W - K + 1, y = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) {
    let s = b[o];
    for (let c = 0; c < C; c++) for (let p = 0; p < K; p++) for (let q = 0; q < K; q++) {
      s += w[((o * C + c) * K + p) * K + q] * x[((n * C + c) * H + i + p) * W + j + q];
    }
    y[((n * O + o) * OH + i) * OW + j] = s;
  }
  return { y, shape: [N, O, OH, OW] };
}
/** Batch norm in eval mode over axis 1 of [N, C, ...rest] (rest = 1 for BatchNorm1d). */
function batchNorm(x: Float64Array, N: number, C: number, rest: number, g: ArrayLike<number>, b: ArrayLike<number>,
  mean: ArrayLike<number>, variance: ArrayLike<number>): Float64Array {
  return x.map((v, i) => {
    const c = Math.floor(i / rest) % C;
    return ((v - mean[c]) / Math.sqrt(variance[c] + 1e-5)) * g[c] + b[c];
  });
}
const relu = (x: Float64Array) => x.map((v) => Math.max(0, v));
/** x [N, I] (a flattened NCHW tensor is (c, h, w)-ordered) → [N, O]. */
function linear(x: Float64Array, N: number, I: number, w: ArrayLike<number>, b: ArrayLike<number>, O: number): Float64Array {
  const y = new Float64Array(N * O);
  for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) {
    let s = b[o];
    for (let i = 0; i < I; i++) s += w[o * I + i] * x[n * I + i];
    y[n * O + o] = s;
  }
  return y;
}

/** Safetensors bytes whose U16 tensors are relabelled F16 or BF16 (the writer cannot write half floats). */
function withHalfFloats(tensors: Record<string, TensorInput>, half: 'F16' | 'BF16'): Uint8Array {
  const bytes = encodeSafetensors(tensors);
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = new TextEncoder().encode(new TextDecoder().decode(bytes.subarray(8, 8 + n)).trim().replaceAll('"U16"', `"${half}"`));
  const out = new Uint8Array(8 + header.length + bytes.length - 8 - n);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  out.set(bytes.subarray(8 + n), 8 + header.length);
  return out;
}

describe('PyTorch import', () => {
  it('a single Conv2d (key 0.weight) reproduces PyTorch\'s output', () => {
    const net = importPytorchStateDict(encodeSafetensors(convDict()), convArchitecture);
    const y = host(net.forward(nhwc(conv.x), 2));
    assertClose(y, nhwc(conv.y), TOL, 'conv forward');
  });

  it('features.* / classifier.* with BatchNorm2d and Flatten → Linear reproduces PyTorch (module order found)', () => {
    // PyTorch: features = Sequential(Conv2d(3, 4, 3, stride=2, padding=1), BatchNorm2d(4), ReLU()),
    //          classifier = Sequential(Flatten(), Linear(64, 5)). The conv output is the fixture's y.
    const [gamma, beta, mean] = [0, 1, 2].map((s) => randomFloats(4, 10 + s));
    const variance = randomFloats(4, 13).map((v) => 0.5 + v * v);
    const W = randomFloats(5 * 64, 14), b = randomFloats(5, 15);
    const dict: Record<string, TensorInput> = {
      'features.0.weight': f64([4, 3, 3, 3], conv.params.weight.data),
      'features.0.bias': f64([4], conv.params.bias.data),
      'features.1.weight': f64([4], gamma), 'features.1.bias': f64([4], beta),
      'features.1.running_mean': f64([4], mean), 'features.1.running_var': f64([4], variance),
      'features.1.num_batches_tracked': { shape: [], data: BigInt64Array.from([7n]) },
      'classifier.1.weight': f64([5, 64], W), 'classifier.1.bias': f64([5], b),
    };
    const expected = linear(relu(batchNorm(Float64Array.from(conv.y.data), 2, 4, 16, gamma, beta, mean, variance)), 2, 64, W, b, 5);
    const architecture: ArchitectureConfig = {
      inputShape: [7, 8, 3],
      layers: [...convArchitecture.layers, { type: 'BatchNorm2d' }, { type: 'ReLU' }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 5 }],
    };
    const net = importPytorchStateDict(encodeSafetensors(dict), architecture);
    assertClose(host(net.forward(nhwc(conv.x), 2)), expected, TOL, 'network forward');
    const same = importPytorchStateDict(encodeSafetensors(dict), architecture, { moduleOrder: ['features', 'classifier'] });
    assert.deepEqual(bits(same.w), bits(net.w));
    assert.throws(() => importPytorchStateDict(encodeSafetensors(dict), architecture, { moduleOrder: ['classifier', 'features'] }),
      /tensor "classifier.1.weight" has shape \[5, 64\], but layer 0 \(Conv2d\) needs \[4, 3, 3, 3\]/);

    // Export names layers by their own Descent index (0, 1, 4), in PyTorch layouts, and re-imports exactly.
    const exported = exportPytorchStateDict(net);
    const { tensors } = decodeSafetensors(exported);
    assert.deepEqual([...tensors.keys()].sort(), ['0.bias', '0.weight', '1.bias', '1.num_batches_tracked',
      '1.running_mean', '1.running_var', '1.weight', '4.bias', '4.weight']);
    assert.deepEqual(tensors.get('1.num_batches_tracked'), { dtype: 'I64', shape: [], data: BigInt64Array.from([0n]) });
    assert.deepEqual(tensors.get('0.weight')?.data, Float32Array.from(conv.params.weight.data));
    assert.deepEqual(tensors.get('4.weight')?.data, Float32Array.from(W));
    assert.deepEqual(tensors.get('1.running_var')?.data, Float32Array.from(variance));
    const again = importPytorchStateDict(exported, architecture);
    assert.deepEqual(bits(again.w), bits(net.w));
    assert.deepEqual(bits(again.buffers), bits(net.buffers));
    const named = decodeSafetensors(exportPytorchStateDict(net, { prefix: 'model', indexOf: (k) => `b${k}` })).tensors;
    assert.ok(named.has('model.b0.weight') && named.has('model.b4.bias'));
  });

  it('permutes Flatten → BatchNorm1d → Linear features from (c, h, w) to (h, w, c)', () => {
    // PyTorch: Sequential(Conv2d(3, 3, 2), ReLU(), Flatten(), BatchNorm1d(12), Linear(12, 4)) on 3×3 images.
    const N = 2, x = randomFloats(N * 3 * 3 * 3, 20);
    const cw = randomFloats(3 * 3 * 2 * 2, 21), cb = randomFloats(3, 22);
    const [g, b, m] = [23, 24, 25].map((s) => randomFloats(12, s));
    const v = randomFloats(12, 26).map((t) => 0.5 + t * t);
    const W = randomFloats(4 * 12, 27), lb = randomFloats(4, 28);
    const c = conv2d(x, [N, 3, 3, 3], cw, cb, 3, 2);
    const expected = linear(batchNorm(relu(c.y), N, 12, 1, g, b, m, v), N, 12, W, lb, 4);
    const dict = {
      '0.weight': f64([3, 3, 2, 2], cw), '0.bias': f64([3], cb),
      '3.weight': f64([12], g), '3.bias': f64([12], b), '3.running_mean': f64([12], m), '3.running_var': f64([12], v),
      '4.weight': f64([4, 12], W), '4.bias': f64([4], lb),
    };
    const architecture: ArchitectureConfig = {
      inputShape: [3, 3, 3],
      layers: [{ type: 'Conv2d', outChannels: 3, kernelSize: 2 }, { type: 'ReLU' }, { type: 'Flatten' },
        { type: 'BatchNorm1d' }, { type: 'Dense', outFeatures: 4 }],
    };
    const net = importPytorchStateDict(encodeSafetensors(dict), architecture);
    const input = channelsFirstToLast(x, N, 3, 3, 3) as Float32Array;
    assertClose(host(net.forward(input, N)), expected, TOL, 'forward');
    // The permutation matters: the unpermuted Linear weights give other outputs.
    const raw = Float32Array.from(net.w);
    net.w.set(Float32Array.from(W), net.paramSlots.find((s) => s.layer === 4 && s.name === 'weight')!.offset);
    assert.ok(host(net.forward(input, N)).some((y, i) => Math.abs(y - expected[i]) > 1e-3));
    net.w.set(raw);
    const again = importPytorchStateDict(exportPytorchStateDict(net), architecture);
    assert.deepEqual(bits(again.w), bits(net.w));
    assert.deepEqual(bits(again.buffers), bits(net.buffers));
  });

  it('accepts F16 and BF16 tensors', () => {
    // 1, -2, 0.5 as half floats (F16) and as the top halves of float32 (BF16).
    const arch: ArchitectureConfig = { inputShape: [1], layers: [{ type: 'Dense', outFeatures: 3 }] };
    const f16 = withHalfFloats({ 'fc.weight': { dtype: 'U16', shape: [3, 1], data: Uint16Array.from([0x3c00, 0xc000, 0x3800]) },
      'fc.bias': { dtype: 'U16', shape: [3], data: Uint16Array.from([0x3c00, 0xc000, 0x3800]) } }, 'F16');
    assert.deepEqual([...importPytorchStateDict(f16, arch).w], [1, -2, 0.5, 1, -2, 0.5]);
    const bf16 = withHalfFloats({ weight: { dtype: 'U16', shape: [3, 1], data: Uint16Array.from([0x3f80, 0xc000, 0x3f00]) },
      bias: { dtype: 'U16', shape: [3], data: Uint16Array.from([0x3f80, 0xc000, 0x3f00]) } }, 'BF16');
    assert.deepEqual([...importPytorchStateDict(bf16, arch).w], [1, -2, 0.5, 1, -2, 0.5]);
  });
});

describe('PyTorch import errors name the tensor', () => {
  const load = (dict: Record<string, TensorInput>, arch = convArchitecture) =>
    () => importPytorchStateDict(encodeSafetensors(dict), arch, { source: 'net.safetensors' });

  it('wrong shape', () => {
    const dict = convDict();
    dict['0.weight'] = f64([4, 3, 5, 5], new Float64Array(300));
    assert.throws(load(dict),
      /net.safetensors: tensor "0.weight" has shape \[4, 3, 5, 5\], but layer 0 \(Conv2d\) needs \[4, 3, 3, 3\] \(\[O, C, KH, KW\]\)/);
  });

  it('missing tensor', () => {
    const dict = convDict();
    delete dict['0.bias'];
    assert.throws(load(dict), /net.safetensors: missing tensor "0.bias" \[4\] for layer 0 \(Conv2d\) \(module "0" has weight\)/);
    const twoLayers: ArchitectureConfig = { ...convArchitecture, layers: [...convArchitecture.layers, { type: 'BatchNorm2d' }] };
    assert.throws(load(convDict(), twoLayers), /missing tensor for layer 1 \(BatchNorm2d\) weight \[4\]: the file's 1 parameter groups/);
  });

  it('extra parameterised tensor, and an unexpected one inside a module', () => {
    assert.throws(load({ ...convDict(), '2.weight': f64([5, 64], new Float64Array(320)) }),
      /net.safetensors: extra parameterised tensor "2.weight" \[5, 64\]: the architecture's 1 layers with parameters/);
    assert.throws(load({ ...convDict(), '0.scale': f64([4], new Float64Array(4)) }),
      /unexpected tensor "0.scale" for layer 0 \(Conv2d\), which has weight, bias/);
  });

  it('a non-float dtype and an unreadable file', () => {
    const dict = convDict();
    dict['0.bias'] = { shape: [4], data: new Int32Array(4) };
    assert.throws(load(dict), /tensor "0.bias" is I32, expected a float dtype/);
    assert.throws(() => importPytorchStateDict(new Uint8Array(3), convArchitecture, { source: 'x.pt' }), /x.pt: 3 bytes is too short/);
  });
});
