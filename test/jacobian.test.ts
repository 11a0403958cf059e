/**
 * Eq. (5), made explicit: for every layer type, on both engines, the Jacobians the backward
 * implies (row i = the backward of g = e_i) equal the dense Jacobians materialised independently
 * from the layer's forward in float64. Awkward inputs on purpose: a = 0 and -0 at the ReLUs,
 * ties in max-pool windows, batch 1, odd sizes, saturated activations. Broken kernels (ReLU's
 * derivative taken as 0 at a = 0, a tie's gradient given to every tied maximum) must fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backwardJacobians, explicitJacobians, firstOfTies, type LayerJacobians, type Matrix } from '../src/check/jacobian.js';
import { maxScaledError } from '../src/check/compare.js';
import { Rng } from '../src/core/rng.js';
import type { Floats } from '../src/core/floats.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { layerFromConfig } from '../src/layers/registry.js';
import { Sequential } from '../src/network/sequential.js';
import { randomFloats, host, hostI } from './helpers.js';

type Values = 'normal' | 'kinks' | 'ties' | 'saturated';

interface Case {
  config: LayerConfig;
  shape: number[];
  N?: number;
  training?: boolean;
  values?: Values;
  /** Batch-norm running statistics to evaluate with (mean, then variance), instead of 0 and 1. */
  buffers?: number[];
}

/** float32-representable inputs, so the float32 engine sits at the very point the float64 Jacobian is taken. */
function inputs(n: number, seed: number, values: Values): Float64Array {
  const rng = new Rng(seed);
  const awkward = [0, -0, 1e-3, -1e-3, 0, 2, -2];
  return Float64Array.from({ length: n }, (_, i) => {
    if (values === 'ties') return rng.int(3) - 1;                             // -1, 0, 1: ties in most windows
    if (values === 'kinks' && i % 3 === 0) return awkward[(i / 3) % awkward.length]; // exact zeros at the cusp
    if (values === 'saturated' && i % 4 === 1) return i % 8 === 1 ? 25 : -30;
    return Math.fround(rng.normal());
  });
}

const cases: Case[] = [
  { config: { type: 'Dense', outFeatures: 3 }, shape: [4] },
  { config: { type: 'Dense', outFeatures: 2, bias: false }, shape: [5], N: 2 },
  { config: { type: 'Dense', outFeatures: 5 }, shape: [7], N: 3, values: 'kinks' },
  { config: { type: 'Conv2d', outChannels: 2, kernelSize: 3 }, shape: [5, 4, 2] },
  { config: { type: 'Conv2d', outChannels: 3, kernelSize: 3, stride: 2, padding: 1 }, shape: [6, 5, 2] },
  { config: { type: 'Conv2d', outChannels: 2, kernelSize: 3, dilation: 2, padding: 2 }, shape: [6, 6, 1] },
  { config: { type: 'Conv2d', outChannels: 2, kernelSize: [3, 2], stride: [2, 1], padding: [1, 0] }, shape: [5, 4, 2] },
  { config: { type: 'Conv2d', outChannels: 3, kernelSize: 5, padding: 2 }, shape: [5, 5, 1], N: 3 },  // LeNet's first layer, odd
  { config: { type: 'Conv2d', outChannels: 5, kernelSize: 1, bias: false }, shape: [3, 3, 3], N: 2 },
  { config: { type: 'Conv2d', outChannels: 3, kernelSize: 2, stride: 3 }, shape: [5, 5, 9] },       // stride > kernel, 9 channels
  { config: { type: 'MaxPool2d', kernelSize: 2 }, shape: [4, 4, 2] },
  { config: { type: 'MaxPool2d', kernelSize: 2 }, shape: [4, 4, 3], N: 2, values: 'ties' },
  { config: { type: 'MaxPool2d', kernelSize: 3, stride: 2, padding: 1 }, shape: [5, 5, 2], values: 'ties' },
  { config: { type: 'MaxPool2d', kernelSize: 2 }, shape: [5, 7, 1], N: 3, values: 'ties' },          // floor mode drops a row and a column
  { config: { type: 'MaxPool2d', kernelSize: 2 }, shape: [4, 6, 2], values: 'ties', training: false }, // evaluation: the first tie
  { config: { type: 'MaxPool2d', kernelSize: 3, stride: 2, padding: 1 }, shape: [5, 5, 2] },
  { config: { type: 'AvgPool2d', kernelSize: 2, stride: 1, padding: 1 }, shape: [3, 4, 2] },
  { config: { type: 'AvgPool2d', kernelSize: 3, stride: 2, padding: 1 }, shape: [5, 5, 1], N: 3 },
  { config: { type: 'GlobalAvgPool' }, shape: [3, 3, 2] },
  { config: { type: 'GlobalAvgPool' }, shape: [1, 1, 3], N: 2 },
  { config: { type: 'Flatten' }, shape: [2, 3, 2] },
  { config: { type: 'Dropout', p: 0.4 }, shape: [12] },
  { config: { type: 'Dropout', p: 0.5 }, shape: [13], N: 3, values: 'kinks' },
  { config: { type: 'BatchNorm2d' }, shape: [3, 2, 2], N: 2 },
  { config: { type: 'BatchNorm2d' }, shape: [3, 3, 2], N: 1 },                                    // batch 1: statistics over H·W
  { config: { type: 'BatchNorm1d' }, shape: [3], N: 4 },
  { config: { type: 'BatchNorm1d' }, shape: [3], N: 2, training: false, buffers: [0.5, -1, 0, 2, 0.25, 1] },
  { config: { type: 'ReLU' }, shape: [10] },
  { config: { type: 'ReLU' }, shape: [14], values: 'kinks' },
  { config: { type: 'ReLU' }, shape: [13], N: 3, values: 'kinks' },                                 // odd: the SIMD loop's tail
  { config: { type: 'ReLU' }, shape: [2, 3, 2], N: 2, values: 'ties' },
  { config: { type: 'LeakyReLU', negativeSlope: 0.1 }, shape: [10] },
  { config: { type: 'LeakyReLU', negativeSlope: 0.1 }, shape: [14], values: 'kinks' },
  { config: { type: 'LeakyReLU', negativeSlope: 0.1 }, shape: [13], N: 3, values: 'kinks' },
  { config: { type: 'Sigmoid' }, shape: [10], values: 'saturated' },
  { config: { type: 'Tanh' }, shape: [10], values: 'saturated' },
  { config: { type: 'Softplus' }, shape: [10], values: 'saturated' },
  { config: { type: 'Softplus' }, shape: [7], values: 'kinks' },
  { config: { type: 'Softmax' }, shape: [5], N: 2 },
  { config: { type: 'Softmax' }, shape: [4], N: 3, values: 'ties' },                                 // equal entries
  { config: { type: 'Softmax' }, shape: [5], N: 2, values: 'saturated' },                           // e^25 next to e^-30
  { config: { type: 'Softmax' }, shape: [1], N: 3 },
];

/** The same layer on another engine's arena and kernels, at the same w, state, generator and input. */
function onEngine(J: LayerJacobians, c: Case, x: Float64Array, engine: WasmEngine, kernels: Kernels = engine.kernels): Sequential {
  const net = new Sequential([layerFromConfig(c.config)], { inputShape: c.shape, arena: engine.arena, kernels });
  net.setWeights(J.net.w);
  net.setBuffers(J.net.buffers);
  net.rng.setState(J.rngState);
  net.forward(Float32Array.from(x), c.N ?? 1, c.training ?? true);
  return net;
}

/**
 * The expected matrix for a backward's matrix B: the explicit J, except that a row with a max-pool
 * tie takes B's choice when B gives the gradient to exactly ONE of the tied maxima (footnote 2).
 */
function expected(J: Matrix, kinks: Set<number>, B: Matrix, ties: 'any' | 'first'): Matrix {
  const first = firstOfTies(J, kinks); // J's tie rows list every tied maximum: one of them is expected
  if (ties === 'first') return first;
  const data = first.data;
  const rows = new Map<number, number[]>();
  for (const e of kinks) {
    const row = Math.floor(e / J.cols);
    rows.set(row, [...(rows.get(row) ?? []), e]);
  }
  for (const entries of rows.values()) {
    if (entries.length < 2) continue; // one kink in the row: a ReLU-like cusp, the right derivative stands
    const ones = entries.filter((e) => Math.abs(B.data[e] - 1) < 1e-6).length;
    const zeros = entries.filter((e) => Math.abs(B.data[e]) < 1e-6).length;
    if (ones === 1 && zeros === entries.length - 1) for (const e of entries) data[e] = B.data[e];
  }
  return { rows: J.rows, cols: J.cols, data };
}

/** Throws unless B equals the explicit Jacobian entry by entry: |B - J| <= tol·(atol + |J|). */
function assertSameMatrix(B: Matrix, J: Matrix, tol: number, atol: number, what: string): void {
  const err = maxScaledError(B.data, J.data, atol);
  if (err <= tol) return;
  let worst = 0;
  for (let e = 1; e < J.data.length; e++) {
    if (Math.abs(B.data[e] - J.data[e]) / (atol + Math.abs(J.data[e])) > Math.abs(B.data[worst] - J.data[worst]) / (atol + Math.abs(J.data[worst]))) worst = e;
  }
  const i = Math.floor(worst / J.cols), j = worst % J.cols;
  assert.fail(`${what}: entry (${i}, ${j}) is ${B.data[worst]} from the backward, ${J.data[worst]} from the forward (scaled error ${err.toExponential(2)})`);
}

/** The whole check of one layer: explicit Jacobians (float64, reference forward) against the backward on `engine`. */
function check(c: Case, i: number, engine: WasmEngine | null, kernels?: Kernels): { chosenNotFirst: number } {
  const N = c.N ?? 1, training = c.training ?? true;
  const x = inputs(N * c.shape.reduce((a, b) => a * b, 1), 100 + i, c.values ?? 'normal');
  const J = explicitJacobians(c.config, c.shape, x, N, { training, buffers: c.buffers });
  let net = J.net;
  if (engine) {
    net = onEngine(J, c, x, engine, kernels);
  } else if (kernels) {
    net.kernels = kernels;
    net.rng.setState(J.rngState);
    net.forward(x, N, training);
  }
  const B = backwardJacobians(net, N, training);
  const ties = training ? 'any' : 'first';
  const [tol, atol] = engine ? [2e-4, 1e-2] : [1e-6, 1e-3];
  assertSameMatrix(B.jx, expected(J.jx, J.kinks.x, B.jx, ties), tol, atol, `∂x/∂x^(k-1) of ${JSON.stringify(c.config)}`);
  assertSameMatrix(B.jw, expected(J.jw, J.kinks.w, B.jw, ties), tol, atol, `∂x/∂w of ${JSON.stringify(c.config)}`);
  if (c.config.type === 'Dense' || c.config.type === 'Conv2d') assert.ok(J.jw.cols > 0);
  return { chosenNotFirst: countChosenNotFirst(J, B.jx) };
}

/** Rows of a tie whose gradient went to a tied maximum other than the first. */
function countChosenNotFirst(J: LayerJacobians, B: Matrix): number {
  const first = firstOfTies(J.jx, J.kinks.x);
  let n = 0;
  for (const e of J.kinks.x) if (first.data[e] === 0 && Math.abs(B.data[e] - 1) < 1e-6) n++;
  return n;
}

/** A copy of `base` with some kernels replaced (works for class instances: the rest stay inherited). */
function patched(base: Kernels, patch: Partial<Kernels>): Kernels {
  return Object.assign(Object.create(base) as Kernels, patch);
}

/** ReLU's derivative taken as 0 at a = 0 (`>` for `>=`), and LeakyReLU's as the slope. */
function strictAtZero(base: Kernels): Kernels {
  return patched(base, {
    activationBackward(kind, x, y, gy, gx, n, alpha) {
      base.activationBackward(kind, x, y, gy, gx, n, alpha);
      const [xh, gxh, gyh] = [host(x), host(gx), host(gy)];
      if (kind === 'relu' || kind === 'leaky_relu') for (let i = 0; i < n; i++) if (xh[i] === 0) gxh[i] = kind === 'relu' ? 0 : alpha * gyh[i];
    },
  });
}

/** A tie's gradient given to every tied maximum (the right derivative), not to one of them. */
function everyTiedMaximum(base: Kernels): Kernels {
  let input: Floats | null = null;
  return patched(base, {
    maxPool2dForward(x, y, argmax, g, tieSeed) {
      input = host(x);
      base.maxPool2dForward(x, y, argmax, g, tieSeed);
    },
    maxPool2dBackward(gyt, argmaxt, gxt, g: Pool2dGeometry) {
      base.maxPool2dBackward(gyt, argmaxt, gxt, g);
      const x = input as Floats, gy = host(gyt), gx = host(gxt), argmax = hostI(argmaxt);
      for (let o = 0; o < g.N * g.OH * g.OW * g.C; o++) {
        const c = o % g.C, n = Math.floor(o / (g.OH * g.OW * g.C)), p = Math.floor(o / g.C) % (g.OH * g.OW);
        const oh = Math.floor(p / g.OW), ow = p % g.OW;
        for (let kh = 0; kh < g.KH; kh++) {
          for (let kw = 0; kw < g.KW; kw++) {
            const h = oh * g.SH - g.PH + kh, w = ow * g.SW - g.PW + kw;
            if (h < 0 || h >= g.H || w < 0 || w >= g.W) continue;
            const j = ((n * g.H + h) * g.W + w) * g.C + c;
            if (j !== argmax[o] && x[j] === x[argmax[o]]) gx[j] += gy[o];
          }
        }
      }
    },
  });
}

let engine: WasmEngine;
before(async () => {
  engine = await createWasmEngine({ threads: 2, minPartNs: 0 });
});
after(async () => {
  await engine.dispose();
});

/** Runs body with the engine's arena allocations released afterwards. */
function scoped<T>(body: () => T): T {
  const mark = engine.arena.mark();
  try {
    return body();
  } finally {
    engine.arena.release(mark);
  }
}

for (const engineName of ['reference', 'wasm'] as const) {
  describe(`explicit Jacobians (eq. 5) against the backward, ${engineName} engine`, () => {
    const on = () => (engineName === 'wasm' ? engine : null);
    cases.forEach((c, i) => {
      const label = `${JSON.stringify(c.config)} on ${c.N ?? 1}×${JSON.stringify(c.shape)}${c.values ? ` (${c.values})` : ''}` +
        `${c.training === false ? ' in evaluation' : ''}`;
      it(`${label}: the backward's Jacobians are the forward's`, () => {
        scoped(() => check(c, i, on()));
      });
    });

    it('max-pool ties in training go to one tied maximum chosen at random, not always the first', () => {
      let notFirst = 0;
      cases.forEach((c, i) => {
        if (c.config.type === 'MaxPool2d' && c.values === 'ties' && c.training !== false) notFirst += scoped(() => check(c, i, on())).chosenNotFirst;
      });
      assert.ok(notFirst > 0, 'every tie went to the first maximum');
    });

    it('fails when ReLU\'s derivative at a = 0 is 0 (`>` for `>=`), and likewise LeakyReLU\'s', () => {
      cases.forEach((c, i) => {
        if ((c.config.type !== 'ReLU' && c.config.type !== 'LeakyReLU') || c.values !== 'kinks') return;
        const base = engineName === 'wasm' ? engine.kernels : referenceKernels;
        assert.throws(() => scoped(() => check(c, i, on(), strictAtZero(base))), /∂x\/∂x\^\(k-1\).*entry \((\d+), \1\)/);
      });
    });

    it('fails when a max-pool tie sends its gradient to every tied maximum', () => {
      cases.forEach((c, i) => {
        if (c.config.type !== 'MaxPool2d' || c.values !== 'ties') return;
        const base = engineName === 'wasm' ? engine.kernels : referenceKernels;
        assert.throws(() => scoped(() => check(c, i, on(), everyTiedMaximum(base))), /∂x\/∂x\^\(k-1\) of \{"type":"MaxPool2d"/);
      });
    });
  });
}

describe('the Appendix formulas, entry by entry', () => {
  it('Dense: ∂x_i/∂W_qj = δ_iq x̃_j and ∂x_i/∂x_j = W_ij', () => {
    const x = randomFloats(4, 1);
    const { net, jx, jw } = explicitJacobians({ type: 'Dense', outFeatures: 3 }, [4], x, 1);
    const W = host(net.layers[0].params.weight);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        assert.ok(Math.abs(jx.data[i * 4 + j] - W[i * 4 + j]) < 1e-8);
        for (let q = 0; q < 3; q++) {
          const expected = i === q ? x[j] : 0;
          assert.ok(Math.abs(jw.data[i * jw.cols + q * 4 + j] - expected) < 1e-8);
        }
      }
      // the bias is the weight of x̃'s constant 1
      for (let q = 0; q < 3; q++) assert.ok(Math.abs(jw.data[i * jw.cols + 12 + q] - (i === q ? 1 : 0)) < 1e-8);
    }
  });

  it('ReLU: the Jacobian is diagonal with df/da = 1 for a >= 0 (a = 0 and -0 included), 0 otherwise', () => {
    const x = Float64Array.from([-2, -0.5, 0.25, 3, -1e-3, 1e-3, 0, -0]);
    const { jx, kinks } = explicitJacobians({ type: 'ReLU' }, [8], x, 1, { h: 1e-5 });
    for (let i = 0; i < 8; i++)
      for (let j = 0; j < 8; j++) assert.ok(Math.abs(jx.data[i * 8 + j] - (i === j && x[i] >= 0 ? 1 : 0)) < 1e-9, `(${i}, ${j})`);
    assert.deepEqual([...kinks.x].sort((a, b) => a - b), [6 * 8 + 6, 7 * 8 + 7], 'the cusps are at a = 0 and -0 only');
  });

  it('MaxPool2d: row i of ∂x/∂x^(k-1) selects the arg max q̂ of window P(i); a tie marks every tied maximum', () => {
    const x = randomFloats(16, 3);
    x[0] = x[1] = 5; // a tie in the first window
    const { jx, kinks } = explicitJacobians({ type: 'MaxPool2d', kernelSize: 2 }, [4, 4, 1], x, 1);
    for (let oh = 0; oh < 2; oh++) {
      for (let ow = 0; ow < 2; ow++) {
        const window = [0, 1, 4, 5].map((o) => oh * 8 + ow * 2 + o);
        const best = window.reduce((a, b) => (x[b] > x[a] ? b : a));
        const i = oh * 2 + ow;
        for (let j = 0; j < 16; j++) {
          const tied = i === 0 && (j === 0 || j === 1);
          assert.ok(Math.abs(jx.data[i * 16 + j] - (j === best || tied ? 1 : 0)) < 1e-9);
        }
      }
    }
    assert.deepEqual([...kinks.x].sort((a, b) => a - b), [0, 1]);
    assert.deepEqual(Array.from(firstOfTies(jx, kinks.x).data.subarray(0, 4), Math.round), [1, 0, 0, 0]);
  });
});
