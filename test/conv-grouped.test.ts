/**
 * Grouped and depthwise convolution and 'same' (asymmetric) padding: shapes, explicit Jacobians,
 * finite differences (with a broken grouped backward that must fail), the WebAssembly kernels
 * against the reference on awkward geometries, and bitwise equality across 1, 2 and 3 threads.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import type { Floats } from '../src/core/floats.js';
import { Rng } from '../src/core/rng.js';
import { gradientCheck } from '../src/check/gradcheck.js';
import { explicitJacobians, rowTimes } from '../src/check/jacobian.js';
import { decodeModel, encodeModel } from '../src/io/model-file.js';
import type { Conv2dGeometry, Kernels } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { Conv2d } from '../src/layers/conv2d.js';
import { DepthwiseConv2d } from '../src/layers/depthwise-conv2d.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { samePadding, windowOutputPadded } from '../src/layers/padding.js';
import { Sequential } from '../src/network/sequential.js';
import { assertClose, randomFloats, randomLabels, host } from './helpers.js';
import { THREADS, threadEngines } from './thread-engines.js';

/** A geometry with padding [top, bottom, left, right] and G groups, output size as the layer derives it. */
function geom(N: number, H: number, W: number, C: number, O: number, KH: number, KW: number, S: [number, number],
  pads: [number, number, number, number], D: [number, number] = [1, 1], G = 1): Conv2dGeometry {
  const OH = windowOutputPadded(H, KH, S[0], pads[0], pads[1], D[0]), OW = windowOutputPadded(W, KW, S[1], pads[2], pads[3], D[1]);
  return { N, H, W, C, O, OH, OW, KH, KW, SH: S[0], SW: S[1], PH: pads[0], PW: pads[2], DH: D[0], DW: D[1], G };
}

const build = (layers: LayerConfig[], inputShape: number[]) => Sequential.fromConfig({ inputShape, layers }, { seed: 1 });

describe("Conv2d padding 'same' (TensorFlow's rule)", () => {
  it('gives ⌈size / stride⌉ for odd and even kernels, strides and dilations, the odd padding below and right', () => {
    for (const H of [1, 5, 8, 13]) for (const K of [1, 2, 3, 4]) for (const S of [1, 2, 3]) for (const D of [1, 2]) {
      const net = build([{ type: 'Conv2d', outChannels: 2, kernelSize: K, stride: S, dilation: D, padding: 'same' }], [H, H + 1, 1]);
      assert.deepEqual(net.outputShape, [Math.ceil(H / S), Math.ceil((H + 1) / S), 2], `H=${H} K=${K} S=${S} D=${D}`);
      const [t, b] = samePadding(H, K, S, D);
      assert.ok(b === t || b === t + 1, 'the extra row goes below');
    }
    assert.deepEqual(samePadding(32, 4, 1), [1, 2]);
    assert.deepEqual(samePadding(32, 3, 2), [0, 1]);
    assert.deepEqual(samePadding(5, 1, 3), [0, 0]);
    const conv = build([{ type: 'Conv2d', outChannels: 1, kernelSize: 2, padding: 'same' }], [4, 4, 1]).layers[0] as Conv2d;
    assert.deepEqual(conv.pads, [0, 1, 0, 1]);
    assert.match(conv.describe(), /pad same \(0,1,0,1\)/);
  });

  it("takes 'valid', [h, w] and [top, bottom, left, right]; rejects anything else with one clear line", () => {
    assert.deepEqual(build([{ type: 'Conv2d', outChannels: 1, kernelSize: 3, padding: 'valid' }], [5, 5, 1]).outputShape, [3, 3, 1]);
    assert.deepEqual(build([{ type: 'Conv2d', outChannels: 1, kernelSize: 3, padding: [0, 2, 1, 0] }], [5, 5, 1]).outputShape, [5, 4, 1]);
    for (const bad of ['full', [1, 2, 3], -1, [1.5, 0], {}]) {
      assert.throws(() => new Conv2d({ outChannels: 1, kernelSize: 3, padding: bad as never }), /Conv2d padding must be 'same'/);
    }
  });
});

describe('grouped and depthwise Conv2d: shapes, options, model files', () => {
  it('weights are [O, KH, KW, C/G]; groups must divide both channel counts', () => {
    const net = build([{ type: 'Conv2d', outChannels: 6, kernelSize: 3, groups: 3 }], [5, 5, 9]);
    assert.deepEqual(net.paramSlots.map((s) => s.shape), [[6, 3, 3, 3], [6]]);
    assert.throws(() => build([{ type: 'Conv2d', outChannels: 6, kernelSize: 3, groups: 4 }], [5, 5, 8]),
      /groups 4 must divide both the 8 input channels and the 6 output channels/);
    assert.throws(() => new Conv2d({ outChannels: 4, kernelSize: 3, groups: 0 }), /groups must be a positive integer/);
  });

  it('DepthwiseConv2d is groups = C, outChannels = C · depthMultiplier', () => {
    const net = build([{ type: 'DepthwiseConv2d', kernelSize: 3, depthMultiplier: 2, padding: 'same', stride: 2 }], [7, 6, 5]);
    const layer = net.layers[0] as DepthwiseConv2d;
    assert.equal(layer.groups, 5);
    assert.deepEqual(net.outputShape, [4, 3, 10]);
    assert.deepEqual(net.paramSlots.map((s) => s.shape), [[10, 3, 3, 1], [10]]);
    assert.match(net.summary(), /DepthwiseConv2d/);
    assert.throws(() => new DepthwiseConv2d({ kernelSize: 3, depthMultiplier: 0 }), /depthMultiplier must be a positive integer/);
  });

  it('model files keep groups, depthwise and padding, and the weights', () => {
    const layers: LayerConfig[] = [
      { type: 'Conv2d', outChannels: 6, kernelSize: 2, padding: 'same', groups: 2 },
      { type: 'DepthwiseConv2d', kernelSize: 3, padding: [0, 2, 1, 1], depthMultiplier: 2 },
      { type: 'Conv2d', outChannels: 3, kernelSize: 1, padding: 1 },
    ];
    const net = build(layers, [6, 6, 4]);
    const loaded = decodeModel(encodeModel(net));
    assert.deepEqual(loaded.net.config().layers, net.config().layers);
    assert.deepEqual(Array.from(loaded.net.w), Array.from(net.w));
    assert.deepEqual(loaded.net.config().layers.map((l) => l.padding), ['same', [0, 2, 1, 1], [1, 1]]);
    assert.equal(loaded.net.config().layers[0].groups, 2);
  });
});

interface JacobianCase { config: LayerConfig; shape: number[]; N?: number }
const jacobianCases: JacobianCase[] = [
  { config: { type: 'Conv2d', outChannels: 4, kernelSize: 3, groups: 2, padding: 1 }, shape: [4, 5, 4] },
  { config: { type: 'Conv2d', outChannels: 6, kernelSize: 2, groups: 3, stride: 2, padding: 'same' }, shape: [5, 4, 3], N: 2 },
  { config: { type: 'DepthwiseConv2d', kernelSize: 3, depthMultiplier: 2, dilation: 2, padding: 'same' }, shape: [5, 5, 3] },
  { config: { type: 'DepthwiseConv2d', kernelSize: [2, 3], stride: [1, 2], padding: [0, 1, 2, 0] }, shape: [4, 5, 5] },
  { config: { type: 'Conv2d', outChannels: 2, kernelSize: 4, padding: 'same' }, shape: [5, 5, 2] },
  { config: { type: 'MaxPool2d', kernelSize: 2, stride: 2, padding: 'same' }, shape: [5, 3, 2] },
];

describe('explicit Jacobians (eq. 5) of grouped, depthwise and asymmetrically padded convolutions', () => {
  jacobianCases.forEach((c, i) => {
    it(`${JSON.stringify(c.config)} on ${JSON.stringify(c.shape)}`, () => {
      const N = c.N ?? 1, d0 = N * c.shape.reduce((a, b) => a * b, 1);
      const { net, jx, jw } = explicitJacobians(c.config, c.shape, randomFloats(d0, 300 + i), N, { training: true });
      const g = randomFloats(jx.rows, 400 + i);
      host(net.activationGradient(1)).set(g);
      net.g.fill(0);
      net.backwardFrom(0, N, true, true);
      assertClose(host(net.activationGradient(0)).subarray(0, d0), rowTimes(g, jx), 1e-6, 'g·∂x/∂x^(k-1)', 1e-3);
      assertClose(net.g, rowTimes(g, jw), 1e-6, 'g·∂x/∂w', 1e-3);
    });
  });
});

const mobile: LayerConfig[] = [
  { type: 'Conv2d', outChannels: 4, kernelSize: 3, stride: 2, padding: 'same' }, { type: 'ReLU' },
  { type: 'DepthwiseConv2d', kernelSize: 3, padding: 'same' }, { type: 'BatchNorm2d' }, { type: 'Tanh' },
  { type: 'Conv2d', outChannels: 6, kernelSize: 2, groups: 2, padding: 'same' }, { type: 'Softplus' },
  { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
];

function float64Net(kernels: Kernels = ref): Sequential {
  return Sequential.fromConfig({ inputShape: [7, 6, 2], layers: mobile }, { arena: new HeapArena('float64'), seed: 5, kernels });
}

/** Swaps the input-gradient blocks of the first and last channel group: only wrong when G > 1. */
const swappedGroups: Kernels = {
  ...ref,
  conv2dBackwardData(gy: Floats, w: Floats, gx: Floats, g: Conv2dGeometry) {
    ref.conv2dBackwardData(gy, w, gx, g);
    const G = g.G ?? 1, Cg = g.C / G;
    if (G === 1) return;
    for (let p = 0; p < g.N * g.H * g.W; p++) {
      for (let c = 0; c < Cg; c++) {
        const a = p * g.C + c, b = p * g.C + (G - 1) * Cg + c;
        [gx[a], gx[b]] = [gx[b], gx[a]];
      }
    }
  },
};

describe('finite differences through a depthwise-separable network', () => {
  it('∂L/∂w and ∂L/∂x agree with central differences', () => {
    const net = float64Net();
    const r = gradientCheck(net, randomFloats(3 * 84, 11), { labels: randomLabels(3, 3, 12) }, 3);
    assert.ok(r.weightError < 1e-6, `∂L/∂w error ${r.weightError}`);
    assert.ok(r.inputError < 1e-6, `∂L/∂x error ${r.inputError}`);
  });

  it('a backward-data that mixes up the channel groups is caught', () => {
    const r = gradientCheck(float64Net(swappedGroups), randomFloats(3 * 84, 11), { labels: randomLabels(3, 3, 12) }, 3);
    assert.ok(r.weightError > 1e-2 || r.inputError > 1e-2, `errors ${r.weightError}, ${r.inputError} should expose the bug`);
  });
});

const engines = threadEngines();

/** Awkward geometries: batch 1, channel counts not multiples of 4, strides, dilations, asymmetric padding. */
const CASES: Conv2dGeometry[] = [
  geom(1, 1, 1, 2, 2, 1, 1, [1, 1], [0, 0, 0, 0], [1, 1], 2),
  geom(1, 5, 6, 7, 7, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], 7),      // depthwise, C = 7
  geom(2, 9, 8, 13, 13, 3, 3, [2, 2], [0, 1, 0, 1], [1, 1], 13),   // depthwise, stride 2, 'same'
  geom(3, 8, 7, 8, 16, 3, 2, [1, 2], [2, 0, 1, 1], [2, 1], 8),     // multiplier 2, dilation, asymmetric
  geom(1, 7, 7, 6, 9, 2, 2, [1, 1], [0, 1, 0, 1], [1, 1], 3),      // groups of 2 → 3, even kernel 'same'
  geom(2, 6, 5, 12, 8, 3, 3, [3, 2], [1, 2, 0, 2], [1, 2], 4),
  geom(1, 4, 4, 5, 5, 4, 4, [1, 1], [3, 3, 3, 3], [1, 1], 5),      // windows mostly in the padding
  geom(2, 10, 9, 16, 16, 5, 5, [1, 1], [2, 2, 2, 2], [1, 1], 16),
  // Plain convolutions (G = 1) with asymmetric padding, on every path: few channels, general, scatter, strided.
  geom(2, 8, 8, 3, 5, 4, 4, [1, 1], [1, 2, 1, 2]),
  geom(1, 9, 7, 10, 12, 2, 2, [1, 1], [0, 1, 0, 1]),
  geom(2, 9, 9, 6, 7, 3, 3, [2, 2], [0, 1, 0, 1]),
  geom(1, 7, 8, 9, 4, 3, 3, [1, 1], [0, 2, 2, 0], [2, 1]),
];

function describeConv(g: Conv2dGeometry): string {
  return JSON.stringify(g);
}

function runAll(k: Kernels, alloc: (n: number) => Float32Array, g: Conv2dGeometry, seed: number): Float32Array[] {
  const rng = new Rng(seed);
  const fill = (n: number, zeroEvery = 0) => {
    const a = alloc(n);
    for (let i = 0; i < n; i++) a[i] = zeroEvery && i % zeroEvery === 0 ? 0 : rng.normal();
    return a;
  };
  const G = g.G ?? 1;
  const x = fill(g.N * g.H * g.W * g.C), w = fill(g.O * g.KH * g.KW * (g.C / G)), b = fill(g.O);
  const gy = fill(g.N * g.OH * g.OW * g.O, 5), y = alloc(gy.length), relu = alloc(gy.length);
  const gx = fill(x.length), gw = fill(w.length), gb = fill(g.O);
  k.conv2dForward(x, w, b, y, g, relu);
  k.conv2dBackwardData(gy, w, gx, g);
  k.conv2dBackwardFilter(x, gy, gw, gb, g);
  return [y, relu, gx, gw, gb].map((a) => Float32Array.from(a));
}

describe('wasm engine: grouped, depthwise and asymmetric convolutions', () => {
  it('match the reference kernels', () => {
    CASES.forEach((g, i) => {
      const engine = engines[1], mark = engine.arena.mark();
      try {
        const fast = runAll(engine.kernels, (n) => engine.arena.floats(n), g, 50 + i);
        const slow = runAll(ref, (n) => new Float32Array(n), g, 50 + i);
        ['forward', 'fused ReLU', 'backward-data', 'backward-filter', 'bias gradient'].forEach((what, j) =>
          assertClose(fast[j], slow[j], 2e-4, `${what} ${describeConv(g)}`));
      } finally {
        engine.arena.release(mark);
      }
    });
  });

  it('are bitwise identical on 1, 2 and 3 threads, and really split', () => {
    CASES.filter((g) => (g.G ?? 1) > 1).forEach((g, i) => {
      const results = engines.map((engine) => {
        const mark = engine.arena.mark();
        const out = runAll(engine.kernels, (n) => engine.arena.floats(n), g, 70 + i);
        engine.arena.release(mark);
        return out.map((a) => new Uint32Array(a.buffer));
      });
      for (let t = 1; t < THREADS.length; t++) {
        results[0].forEach((expected, j) =>
          assert.deepEqual(results[t][j], expected, `output ${j} of ${describeConv(g)} on ${THREADS[t]} threads`));
      }
    });
    // A big depthwise call is split over the threads.
    const engine = engines[2], mark = engine.arena.mark();
    runAll(engine.kernels, (n) => engine.arena.floats(n), geom(4, 16, 16, 32, 32, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], 32), 1);
    assert.ok(engine.kernels.lastParts > 1, 'the depthwise backward-filter did not split');
    engine.arena.release(mark);
  });

  it('give NaN where the reference does: 0·∞ in a zero gradient is not skipped', () => {
    for (const g of [geom(1, 4, 4, 8, 8, 3, 3, [1, 1], [1, 1, 1, 1], [1, 1], 8), geom(2, 4, 5, 6, 6, 2, 2, [1, 1], [0, 1, 0, 1], [1, 1], 3)]) {
      const nanMasks = [ref, engines[1].kernels].map((k, e) => {
        const alloc = (n: number) => (e === 1 ? engines[1].arena.floats(n) : new Float32Array(n));
        const mark = engines[1].arena.mark();
        const x = alloc(g.N * g.H * g.W * g.C).fill(1), w = alloc(g.O * g.KH * g.KW * (g.C / g.G!)).fill(1);
        const gy = alloc(g.N * g.OH * g.OW * g.O).fill(0), gx = alloc(x.length), gw = alloc(w.length).fill(0);
        x[5] = Infinity;
        w[3] = Infinity;
        k.conv2dBackwardFilter(x, gy, gw, null, g);
        k.conv2dBackwardData(gy, w, gx, g);
        const mask = [...gw, ...gx].map((v) => Number.isNaN(v));
        engines[1].arena.release(mark);
        return mask;
      });
      assert.ok(nanMasks[0].some((v) => v), 'the reference gives NaN');
      assert.deepEqual(nanMasks[1], nanMasks[0], `NaN positions of ${describeConv(g)}`);
    }
  });

  it('a training network with depthwise and grouped layers runs on the engine like on the reference', () => {
    const nets = [ref, engines[1].kernels].map((kernels, e) => Sequential.fromConfig({ inputShape: [7, 6, 2], layers: mobile },
      { seed: 5, kernels, ...(e === 1 ? { arena: engines[1].arena } : {}) }));
    const x = Float32Array.from(randomFloats(4 * 84, 21)), labels = randomLabels(4, 3, 22);
    const risks = nets.map((net) => net.gradient(x, { labels }, 4));
    assert.ok(Math.abs(risks[0] - risks[1]) < 1e-5, `risk ${risks[0]} vs ${risks[1]}`);
    assertClose(nets[1].g, nets[0].g, 2e-4, 'gradient');
  });
});

describe("MaxPool2d padding 'same'", () => {
  it('gives ⌈size / stride⌉, and the WebAssembly engine agrees with the reference on the asymmetric windows', () => {
    for (const [H, K, S] of [[7, 2, 2], [8, 3, 2], [5, 3, 1], [9, 2, 3], [1, 3, 2]]) {
      const layers: LayerConfig[] = [{ type: 'MaxPool2d', kernelSize: K, stride: S, padding: 'same', tieBreak: 'first' }];
      const nets = [Sequential.fromConfig({ inputShape: [H, H + 2, 3], layers }, { seed: 1 }),
        Sequential.fromConfig({ inputShape: [H, H + 2, 3], layers }, { seed: 1, arena: engines[1].arena, kernels: engines[1].kernels })];
      assert.deepEqual(nets[0].outputShape, [Math.ceil(H / S), Math.ceil((H + 2) / S), 3]);
      const x = Float32Array.from(randomFloats(2 * H * (H + 2) * 3, H * 10 + K).map((v) => -Math.abs(v)));
      const ys = nets.map((net) => Float32Array.from(host(net.forward(x, 2, false)).subarray(0, 2 * nets[0].outputShape.reduce((a, b) => a * b))));
      assert.deepEqual(ys[1], ys[0], `H=${H} K=${K} S=${S}`);
      assert.ok(ys[0].every((v) => v < 0), 'all-negative inputs: a padded zero never wins the maximum');
    }
    assert.throws(() => Sequential.fromConfig({ inputShape: [4, 4, 1], layers: [{ type: 'AvgPool2d', kernelSize: 2, padding: 'same' }] }),
      /AvgPool2d padding 'same' is not supported/);
  });
});
