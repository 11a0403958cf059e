/**
 * Winograd F(2×2, 3×3) on the WebAssembly engine: forward (bias, fused ReLU), backward-data and
 * backward-filter against the reference on awkward shapes (batch 1, channel counts not divisible
 * by 4, odd and even sizes, padding 0, 1 and 2), bitwise the same on 1, 2 and 3 threads, and a
 * broken transform matrix caught by the same check. The selection rule is checked too.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { WINOGRAD_G, winogradFits, winogradPays } from '../src/engine/winograd.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';
import { createOptimizer } from '../src/train/optimizers/index.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { assertClose, squareConv } from './helpers.js';

const TOL = 2e-4;
const engines: WasmEngine[] = [];

before(async () => {
  for (const threads of [1, 2, 3]) {
    engines.push(await createWasmEngine({ threads, minPartNs: 0, convAlgorithm: 'winograd' }));
  }
});

after(async () => {
  for (const e of engines) await e.dispose();
});

function cases(): Conv2dGeometry[] {
  return [
    squareConv(1, 3, 3, 1, 1, 3, 1, 0),     // one output pixel
    squareConv(1, 5, 5, 5, 7, 3, 1, 1),     // odd output, channels not divisible by 4
    squareConv(2, 6, 7, 9, 3, 3, 1, 0),     // odd and even sides
    squareConv(1, 8, 8, 16, 16, 3, 1, 1),
    squareConv(3, 9, 6, 13, 17, 3, 1, 1),
    squareConv(1, 4, 5, 3, 10, 3, 1, 2),    // padding 2 (backward-data with padding 0)
    { ...squareConv(2, 7, 8, 6, 9, 3, 1, 0), ...{ PH: 1, OH: 7 } }, // padding 1 down, 0 across
    squareConv(9, 14, 13, 20, 24, 3, 1, 1), // several tile blocks and partial-sum groups
  ];
}

const label = (g: Conv2dGeometry) => `N${g.N} ${g.H}×${g.W}×${g.C}→${g.O} pad ${g.PH},${g.PW}`;

/** Runs body on every engine with the same inputs; returns each engine's outputs (copied). */
function onEngines(sizes: number[], inputs: Float32Array[], outs: number[],
  body: (e: WasmEngine, a: Float32Array[]) => void): Float32Array[][] {
  return engines.map((e) => {
    const mark = e.arena.mark();
    try {
      const a = sizes.map((n, i) => {
        const v = e.arena.floats(n);
        if (inputs[i]) v.set(inputs[i]);
        return v;
      });
      body(e, a);
      return outs.map((i) => Float32Array.from(a[i]));
    } finally {
      e.arena.release(mark);
    }
  });
}

function random(rng: Rng, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function assertBitwise(results: Float32Array[][], what: string): void {
  for (let t = 1; t < results.length; t++) {
    for (let k = 0; k < results[0].length; k++) {
      assert.deepEqual(new Uint32Array(results[t][k].buffer), new Uint32Array(results[0][k].buffer),
        `${what}: ${t + 1} threads differ from 1`);
    }
  }
}

/** Forward with bias and fused ReLU on every engine; returns y and relu of each. */
function forward(g: Conv2dGeometry, x: Float32Array, w: Float32Array, b: Float32Array): Float32Array[][] {
  const out = g.N * g.OH * g.OW * g.O;
  return onEngines([x.length, w.length, b.length, out, out], [x, w, b], [3, 4],
    (e, [xe, we, be, ye, re]) => e.kernels.conv2dForward(xe, we, be, ye, g, re));
}

describe('wasm engine: Winograd F(2×2, 3×3)', () => {
  const rng = new Rng(77);

  it('forward (bias, fused ReLU) matches the reference, bitwise on 1, 2 and 3 threads', () => {
    for (const g of cases()) {
      assert.ok(winogradFits(g), label(g));
      const x = random(rng, g.N * g.H * g.W * g.C), w = random(rng, g.O * 9 * g.C), b = random(rng, g.O);
      const res = forward(g, x, w, b);
      const y0 = new Float32Array(g.N * g.OH * g.OW * g.O), r0 = new Float32Array(y0.length);
      ref.conv2dForward(x, w, b, y0, g, r0);
      assertClose(res[0][0], y0, TOL, `forward ${label(g)}`);
      assertClose(res[0][1], r0, TOL, `fused ReLU ${label(g)}`);
      assertBitwise(res, `forward ${label(g)}`);
    }
  });

  it('backward-data overwrites gx with the reference gradient, bitwise on 1, 2 and 3 threads', () => {
    for (const g of cases()) {
      const gy = random(rng, g.N * g.OH * g.OW * g.O), w = random(rng, g.O * 9 * g.C);
      const garbage = random(rng, g.N * g.H * g.W * g.C);
      const res = onEngines([gy.length, w.length, garbage.length], [gy, w, garbage], [2],
        (e, [gye, we, gxe]) => e.kernels.conv2dBackwardData(gye, we, gxe, g));
      const gx0 = new Float32Array(garbage.length);
      ref.conv2dBackwardData(gy, w, gx0, g);
      assertClose(res[0][0], gx0, TOL, `backward-data ${label(g)}`);
      assertBitwise(res, `backward-data ${label(g)}`);
    }
  });

  it('backward-filter accumulates gw (and gb) like the reference, bitwise on 1, 2 and 3 threads', () => {
    for (const g of cases()) {
      const x = random(rng, g.N * g.H * g.W * g.C), gy = random(rng, g.N * g.OH * g.OW * g.O);
      const gw = random(rng, g.O * 9 * g.C), gb = random(rng, g.O);
      const res = onEngines([x.length, gy.length, gw.length, gb.length], [x, gy, gw, gb], [2, 3],
        (e, [xe, gye, gwe, gbe]) => e.kernels.conv2dBackwardFilter(xe, gye, gwe, gbe, g));
      const gw0 = Float32Array.from(gw), gb0 = Float32Array.from(gb);
      ref.conv2dBackwardFilter(x, gy, gw0, gb0, g);
      assertClose(res[0][0], gw0, TOL, `backward-filter ${label(g)}`);
      assertClose(res[0][1], gb0, TOL, `bias gradient ${label(g)}`);
      assertBitwise(res, `backward-filter ${label(g)}`);
    }
  });

  it('a broken transform matrix G fails the check (forward, backward-data, backward-filter)', () => {
    const g = squareConv(2, 8, 7, 6, 10, 3, 1, 1);
    const e = engines[1];
    const x = random(rng, g.N * g.H * g.W * g.C), w = random(rng, g.O * 9 * g.C), b = random(rng, g.O);
    const gy = random(rng, g.N * g.OH * g.OW * g.O);
    const y0 = new Float32Array(gy.length), gw0 = new Float32Array(w.length), gx0 = new Float32Array(x.length);
    ref.conv2dForward(x, w, b, y0, g);
    ref.conv2dBackwardData(gy, w, gx0, g);
    ref.conv2dBackwardFilter(x, gy, gw0, null, g);
    try {
      e.kernels.winograd.G[4] = 0.4; // G[1][1]: 0.5 → 0.4
      const [y] = forward(g, x, w, b)[1];
      assert.throws(() => assertClose(y, y0, TOL, 'forward, broken G'), /scaled error/);
      const [gx] = onEngines([gy.length, w.length, x.length], [gy, w], [2],
        (en, [gye, we, gxe]) => en.kernels.conv2dBackwardData(gye, we, gxe, g))[1];
      assert.throws(() => assertClose(gx, gx0, TOL, 'backward-data, broken G'), /scaled error/);
      const [gw] = onEngines([x.length, gy.length, w.length], [x, gy], [2],
        (en, [xe, gye, gwe]) => en.kernels.conv2dBackwardFilter(xe, gye, gwe, null, g))[1];
      assert.throws(() => assertClose(gw, gw0, TOL, 'backward-filter, broken G'), /scaled error/);
    } finally {
      e.kernels.winograd.G = [...WINOGRAD_G];
    }
    const [y] = forward(g, x, w, b)[1];
    assertClose(y, y0, TOL, 'forward, G restored');
  });

  it('training follows the direct kernels: same losses within float32 noise', () => {
    const layers: LayerConfig[] = [
      { type: 'Conv2d', outChannels: 16, kernelSize: 3, padding: 1 }, { type: 'ReLU' },
      { type: 'Conv2d', outChannels: 20, kernelSize: 3 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
    ];
    const data = random(new Rng(3), 16 * 10 * 10 * 3), labels = Int32Array.from({ length: 16 }, (_, i) => i % 4);
    const e = engines[1];
    const losses = (['direct', 'winograd'] as const).map((alg) => {
      e.kernels.convAlgorithm = alg;
      const mark = e.arena.mark();
      try {
        const net = Sequential.fromConfig({ inputShape: [10, 10, 3], layers }, { seed: 9, arena: e.arena, kernels: e.kernels });
        const opt = createOptimizer({ kind: 'sgd', lr: 0.05, momentum: 0.9 }, net.parameterCount, e.arena, e.kernels);
        const out: number[] = [];
        for (let s = 0; s < 12; s++) {
          out.push(net.gradient(data, { labels }, 16));
          opt.step(net.w, net.g);
        }
        return out;
      } finally {
        e.arena.release(mark);
        e.kernels.convAlgorithm = 'winograd';
      }
    });
    assert.ok(losses[0][11] < 0.5 * losses[0][0], `the direct run learns: ${losses[0].join(', ')}`);
    for (let s = 0; s < 12; s++) {
      assert.ok(Math.abs(losses[1][s] - losses[0][s]) <= 1e-4 * Math.abs(losses[0][s]) + 1e-5,
        `step ${s + 1}: winograd ${losses[1][s]}, direct ${losses[0][s]}`);
    }
  });

  it('runs only where it fits; auto takes it only where it pays', () => {
    assert.equal(winogradFits(squareConv(1, 8, 8, 4, 4, 3, 2, 1)), false); // stride 2
    assert.equal(winogradFits(squareConv(1, 8, 8, 4, 4, 5, 1, 2)), false); // 5×5
    assert.equal(winogradFits(squareConv(1, 9, 9, 4, 4, 3, 1, 1, 2)), false); // dilation 2
    assert.equal(winogradFits(squareConv(1, 9, 9, 4, 4, 3, 1, 3)), false); // padding 3
    assert.equal(winogradPays(32, 64, 24, 24), true); // NET-B's second convolution
    assert.equal(winogradPays(1, 32, 26, 26), false); // a first layer
    assert.equal(winogradPays(8, 8, 28, 28), true);
    assert.equal(winogradPays(4, 16, 28, 28), false);
    assert.equal(winogradPays(16, 16, 3, 3), false);
  });
});
