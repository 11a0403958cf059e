/**
 * Algorithm 1 of the notes, run literally sample by sample with explicit Jacobian matrices built
 * from the layers' forward alone, gives the batched, fused backward's gradient on both engines;
 * a deliberately broken backward disagrees with it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { algorithm1 } from '../src/check/algorithm1.js';
import { maxScaledError } from '../src/check/compare.js';
import { HeapArena } from '../src/core/arena.js';
import type { Floats } from '../src/core/floats.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Conv2dGeometry, Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { LossKind, Target } from '../src/losses/loss.js';
import { type ArchitectureConfig, Sequential } from '../src/network/sequential.js';
import { assertClose, randomFloats, randomLabels, host } from './helpers.js';

const cnn: ArchitectureConfig = {
  inputShape: [6, 6, 1],
  layers: [
    { type: 'Conv2d', outChannels: 3, kernelSize: 3 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 }, { type: 'Sigmoid' }, { type: 'Dense', outFeatures: 3 },
    { type: 'Softmax' },
  ],
};
const regression: ArchitectureConfig = {
  inputShape: [4], layers: [{ type: 'Dense', outFeatures: 5 }, { type: 'Tanh' }, { type: 'Dense', outFeatures: 2 }],
};
/** Every layer type that works sample by sample, batch-norm with its running statistics. */
const everything: ArchitectureConfig = {
  inputShape: [7, 5, 2],
  layers: [
    { type: 'Conv2d', outChannels: 3, kernelSize: 3, padding: 1 }, { type: 'BatchNorm2d' }, { type: 'LeakyReLU', negativeSlope: 0.1 },
    { type: 'AvgPool2d', kernelSize: 2, stride: 1 }, { type: 'Conv2d', outChannels: 2, kernelSize: [2, 3], stride: 2 },
    { type: 'Softplus' }, { type: 'GlobalAvgPool' }, { type: 'Dropout', p: 0.3 }, { type: 'Dense', outFeatures: 3 },
    { type: 'Tanh' }, { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
  ],
};

function float64Net(config: ArchitectureConfig, seed: number, kernels: Kernels = referenceKernels): Sequential {
  const net = Sequential.fromConfig(config, { arena: new HeapArena('float64'), seed, kernels });
  for (let i = 0; i < net.w.length; i++) net.w[i] = Math.fround(net.w[i]); // so a float32 engine can sit at the same w
  return net;
}

/** The batched backward's gradient (evaluation mode, as Algorithm 1), as float64. */
function batched(net: Sequential, x: Floats, target: Target, N: number, loss: LossKind): Float64Array {
  net.gradient(x, target, N, loss, { training: false });
  return Float64Array.from(net.g);
}

/** A copy of `base` with some kernels replaced (the rest inherited). */
function patched(base: Kernels, patch: Partial<Kernels>): Kernels {
  return Object.assign(Object.create(base) as Kernels, patch);
}

/** Kernels with every backward removed: Algorithm 1 must not need any of them. */
const noBackward = patched(referenceKernels, Object.fromEntries(
  ['denseBackward', 'conv2dBackwardData', 'conv2dBackwardFilter', 'maxPool2dBackward', 'avgPool2dBackward', 'activationBackward',
    'dropoutBackward', 'softmaxBackward', 'softmaxCrossEntropy', 'batchNormBackward', 'sumRows']
    .map((name) => [name, () => { throw new Error(`Algorithm 1 called ${name}`); }])) as Partial<Kernels>);

/** Images whose left half is exactly 0: with zero biases, convolution outputs a = 0 at ReLUs and ties of zeros at max-pools. */
function halfBlank(N: number, seed: number): Float64Array {
  const x = randomFloats(N * 36, seed).map(Math.fround);
  for (let i = 0; i < x.length; i++) if (i % 6 < 3) x[i] = 0;
  return x;
}

let engine: WasmEngine;
before(async () => {
  engine = await createWasmEngine({ threads: 2, minPartNs: 0 });
});
after(async () => {
  await engine.dispose();
});

/** The same network on the WebAssembly engine, at the same w and running statistics. */
function onWasm(net: Sequential): Sequential {
  const copy = Sequential.fromConfig(net.config(), { arena: engine.arena, kernels: engine.kernels });
  copy.setWeights(net.w);
  copy.setBuffers(net.buffers);
  return copy;
}

interface Case { name: string; config: ArchitectureConfig; N: number; x: Float64Array; target: Target; loss: LossKind; zeroBias?: boolean; buffers?: boolean }

const cases: Case[] = [
  { name: 'a CNN with cross-entropy', config: cnn, N: 5, x: randomFloats(5 * 36, 12).map(Math.fround), target: { labels: randomLabels(5, 3, 13) }, loss: 'cross_entropy' },
  { name: 'the quadratic loss', config: regression, N: 6, x: randomFloats(24, 2).map(Math.fround), target: { values: randomFloats(12, 3) }, loss: 'quadratic' },
  { name: 'batch 1', config: cnn, N: 1, x: randomFloats(36, 4).map(Math.fround), target: { labels: Int32Array.from([2]) }, loss: 'cross_entropy' },
  { name: 'a = 0 at the ReLUs and ties of zeros at the max-pools (zero biases, half-blank images)', config: cnn, N: 3, x: halfBlank(3, 5),
    target: { labels: Int32Array.from([0, 1, 2]) }, loss: 'cross_entropy', zeroBias: true },
  { name: 'every sample-wise layer type (batch-norm, leaky ReLU, average pools, softplus, dropout, odd sizes)', config: everything, N: 3,
    x: randomFloats(3 * 70, 6).map(Math.fround), target: { labels: randomLabels(3, 4, 7) }, loss: 'cross_entropy', buffers: true },
];

/** The case's network in float64, with the case's awkward weights and statistics. */
function build(c: Case, kernels: Kernels = referenceKernels): Sequential {
  const net = float64Net(c.config, 11, kernels);
  if (c.zeroBias) for (const s of net.paramSlots) if (s.name === 'bias') net.w.fill(0, s.offset, s.offset + s.length);
  if (c.buffers) net.setBuffers(randomFloats(net.buffers.length, 8, 'uniform').map((v) => Math.fround(0.5 + v)));
  return net;
}

describe('Algorithm 1 (explicit Jacobians, sample by sample) against the batched backward', () => {
  for (const c of cases) {
    it(`${c.name}: reference engine (float64)`, () => {
      const net = build(c);
      net.kernels = noBackward;
      const literal = algorithm1(net, c.x, c.target as never, c.N, c.loss);
      net.kernels = referenceKernels;
      assertClose(batched(net, c.x, c.target, c.N, c.loss), literal, 1e-6, 'batched backward vs Algorithm 1', 1e-3);
    });

    it(`${c.name}: WebAssembly engine (float32)`, () => {
      const mark = engine.arena.mark();
      try {
        const net = build(c);
        const literal = algorithm1(net, c.x, c.target as never, c.N, c.loss);
        assertClose(batched(onWasm(net), Float32Array.from(c.x), c.target, c.N, c.loss), literal, 2e-3, 'wasm batched backward vs Algorithm 1', 1e-2);
      } finally {
        engine.arena.release(mark);
      }
    });
  }

  it('is not fooled: a deliberately broken backward disagrees with it', () => {
    const brokenFilter = patched(referenceKernels, {
      conv2dBackwardFilter(x: Floats, gy: Floats, gw: Floats, gb: Floats | null, g: Conv2dGeometry) {
        referenceKernels.conv2dBackwardFilter(x, gy, gw, gb, { ...g, PH: g.PH + 1 }); // the window one row off
      },
    });
    const strictRelu = patched(referenceKernels, {
      activationBackward(kind, x, y, gy, gx, n, alpha) {
        referenceKernels.activationBackward(kind, x, y, gy, gx, n, alpha);
        if (kind === 'relu') for (let i = 0; i < n; i++) if (host(x)[i] === 0) host(gx)[i] = 0; // '>' for '>='
      },
    });
    const transposedDense = patched(referenceKernels, {
      denseBackward(x, w, gy, gx, gw, gb, N, I, O) {
        referenceKernels.denseBackward(x, w, gy, gx, gw, gb, N, I, O);
        if (gx && N > 1) host(gx).copyWithin(0, I, 2 * I); // sample 1's input gradient given to sample 0
      },
    });
    const broken: [Kernels, Case][] = [[brokenFilter, cases[0]], [strictRelu, cases[3]], [transposedDense, cases[1]]];
    for (const [kernels, c] of broken) {
      const net = build(c, kernels);
      const literal = algorithm1(net, c.x, c.target as never, c.N, c.loss);
      const err = maxScaledError(batched(net, c.x, c.target, c.N, c.loss), literal, 1e-3);
      assert.ok(err > 1e-2, `${c.name}: the broken backward should be exposed, scaled error ${err}`);
    }
  });

  it('needs a final Softmax for cross-entropy, labels for it and values for the quadratic loss', () => {
    const net = float64Net(regression, 1);
    assert.throws(() => algorithm1(net, randomFloats(4, 1), { labels: Int32Array.from([0]) }, 1, 'cross_entropy'), /final Softmax/);
    assert.throws(() => algorithm1(net, randomFloats(4, 1), { labels: Int32Array.from([0]) }, 1, 'quadratic'), /takes values/);
  });
});
