/**
 * The WebAssembly engine against the reference kernels: every fast kernel on random shapes,
 * including sizes that are not multiples of the register tiles (1, 3, 5, 7, 9, 13 …), strides,
 * paddings and dilations. The engine runs with 2 threads and splits every call, so the shared
 * code paths are exercised too; the reference runs on plain float32 copies.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { ActivationKind, Conv2dGeometry, Pool2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { windowOutput } from '../src/layers/options.js';
import { Sequential } from '../src/network/sequential.js';
import { Conv2d } from '../src/layers/conv2d.js';
import { assertClose, convGeometry } from './helpers.js';

const TOL = 2e-4;

let engine: WasmEngine;
let rng: Rng;

before(async () => {
  engine = await createWasmEngine({ threads: 2, minPartNs: 0 });
  rng = new Rng(2024);
});

after(async () => {
  await engine.dispose();
});

/** Random normal float32 values in the engine's memory, and a heap copy for the reference. */
function pair(n: number, kind: 'normal' | 'uniform' | 'ties' = 'normal'): [Float32Array, Float32Array] {
  const w = engine.arena.floats(n);
  for (let i = 0; i < n; i++) {
    w[i] = kind === 'normal' ? rng.normal() : kind === 'uniform' ? rng.uniform() : rng.int(3) - 1;
  }
  return [w, Float32Array.from(w)];
}

function zeros(n: number): [Float32Array, Float32Array] {
  return [engine.arena.floats(n), new Float32Array(n)];
}

/** Runs body with arena allocations released afterwards (keeps the test's memory small). */
function scoped(body: () => void): void {
  const mark = engine.arena.mark();
  try {
    body();
  } finally {
    engine.arena.release(mark);
  }
}

function int(lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

/** Fixed awkward cases, then random ones. */
function convCases(): Conv2dGeometry[] {
  const cases: Conv2dGeometry[] = [
    convGeometry(1, 1, 1, 1, 1, 1, 1),
    convGeometry(2, 5, 5, 1, 8, 3, 3),
    convGeometry(1, 7, 9, 3, 5, 3, 3, 1, 1, 1, 1),
    convGeometry(3, 9, 7, 5, 7, 3, 3, 2, 2, 1, 1),
    convGeometry(2, 13, 13, 7, 13, 5, 5, 1, 1, 2, 2),
    convGeometry(1, 11, 10, 9, 9, 3, 3, 1, 1, 2, 2, 2, 2),
    convGeometry(2, 8, 8, 16, 16, 3, 3, 1, 1, 1, 1),
    convGeometry(1, 10, 12, 4, 3, 2, 3, 3, 2, 1, 0, 1, 2),
    convGeometry(1, 6, 6, 8, 4, 1, 1, 2, 2),
    convGeometry(2, 9, 9, 3, 17, 4, 2, 3, 3, 2, 1, 2, 3),
    convGeometry(1, 5, 5, 2, 3, 3, 3, 4, 4, 2, 2),  // stride larger than the kernel
    convGeometry(1, 3, 4, 12, 20, 5, 5, 1, 1, 3, 3), // windows mostly in the padding
  ];
  for (let k = 0; k < 16; k++) {
    const KH = int(1, 4), KW = int(1, 4), DH = int(1, 2), DW = int(1, 2), SH = int(1, 3), SW = int(1, 3);
    const PH = int(0, KH - 1), PW = int(0, KW - 1);
    const H = int(DH * (KH - 1) + 1, 12), W = int(DW * (KW - 1) + 1, 12);
    cases.push(convGeometry(int(1, 3), H, W, int(1, 13), int(1, 19), KH, KW, SH, SW, PH, PW, DH, DW));
  }
  return cases.filter((g) => g.OH >= 1 && g.OW >= 1);
}

function describeConv(g: Conv2dGeometry): string {
  return `N${g.N} ${g.H}×${g.W}×${g.C}→${g.O} k${g.KH}×${g.KW} s${g.SH},${g.SW} p${g.PH},${g.PW} d${g.DH},${g.DW}`;
}

describe('wasm engine: matrix multiply and dense layers', () => {
  it('matmul matches the reference for all transpositions, accumulation and odd sizes', () => {
    const sizes = [[1, 1, 1], [3, 5, 7], [4, 8, 16], [5, 9, 13], [13, 7, 1], [37, 29, 45], [64, 33, 300], [9, 130, 257]];
    for (const [M, N, K] of sizes) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const accumulate of [false, true]) {
            scoped(() => {
              const [a, a0] = pair(M * K), [b, b0] = pair(K * N), [c, c0] = pair(M * N);
              engine.kernels.matmul(a, b, c, M, N, K, transA, transB, accumulate);
              ref.matmul(a0, b0, c0, M, N, K, transA, transB, accumulate);
              assertClose(c, c0, TOL, `matmul ${M}×${N}×${K} tA=${transA} tB=${transB} acc=${accumulate}`);
            });
          }
        }
      }
    }
  });

  it('matmul with K = 0 writes zeros or leaves C', () => {
    scoped(() => {
      const [c] = pair(12);
      const before = Float32Array.from(c);
      const [a] = zeros(1), [b] = zeros(1);
      engine.kernels.matmul(a, b, c, 3, 4, 0, false, false, true);
      assert.deepEqual(c, before);
      engine.kernels.matmul(a, b, c, 3, 4, 0, false, false, false);
      assert.ok(c.every((v) => v === 0));
    });
  });

  it('denseForward and denseBackward match the reference', () => {
    for (const [N, I, O] of [[1, 1, 1], [3, 7, 5], [8, 13, 9], [17, 100, 10], [64, 65, 33]]) {
      for (const withBias of [true, false]) {
        scoped(() => {
          const [x, x0] = pair(N * I), [w, w0] = pair(O * I), [b, b0] = pair(O);
          const [y, y0] = zeros(N * O);
          engine.kernels.denseForward(x, w, withBias ? b : null, y, N, I, O);
          ref.denseForward(x0, w0, withBias ? b0 : null, y0, N, I, O);
          assertClose(y, y0, TOL, `denseForward ${N},${I},${O}`);
          const [gy, gy0] = pair(N * O), [gx, gx0] = zeros(N * I), [gw, gw0] = pair(O * I), [gb, gb0] = pair(O);
          engine.kernels.denseBackward(x, w, gy, withBias ? gx : null, gw, withBias ? gb : null, N, I, O);
          ref.denseBackward(x0, w0, gy0, withBias ? gx0 : null, gw0, withBias ? gb0 : null, N, I, O);
          assertClose(gx, gx0, TOL, `denseBackward gx ${N},${I},${O}`);
          assertClose(gw, gw0, TOL, `denseBackward gw ${N},${I},${O}`);
          assertClose(gb, gb0, TOL, `denseBackward gb ${N},${I},${O}`);
        });
      }
    }
  });
});

describe('wasm engine: convolution', () => {
  it('forward (with and without bias) matches the reference', () => {
    for (const g of convCases()) {
      scoped(() => {
        const { N, H, W, C, O, OH, OW, KH, KW } = g;
        const [x, x0] = pair(N * H * W * C), [w, w0] = pair(O * KH * KW * C), [b, b0] = pair(O);
        const [y, y0] = pair(N * OH * OW * O);
        const [z, z0] = pair(N * OH * OW * O);
        engine.kernels.conv2dForward(x, w, b, y, g);
        ref.conv2dForward(x0, w0, b0, y0, g);
        assertClose(y, y0, TOL, `conv forward ${describeConv(g)}`);
        engine.kernels.conv2dForward(x, w, null, z, g);
        ref.conv2dForward(x0, w0, null, z0, g);
        assertClose(z, z0, TOL, `conv forward, no bias, ${describeConv(g)}`);
      });
    }
  });

  it('backward-data matches the reference (gx is overwritten)', () => {
    for (const g of convCases()) {
      scoped(() => {
        const { N, H, W, C, O, OH, OW, KH, KW } = g;
        const [gy, gy0] = pair(N * OH * OW * O), [w, w0] = pair(O * KH * KW * C);
        const [gx, gx0] = pair(N * H * W * C); // garbage in gx must not survive
        engine.kernels.conv2dBackwardData(gy, w, gx, g);
        ref.conv2dBackwardData(gy0, w0, gx0, g);
        assertClose(gx, gx0, TOL, `conv backward-data ${describeConv(g)}`);
      });
    }
  });

  it('backward-filter accumulates gw and gb like the reference', () => {
    for (const g of convCases()) {
      scoped(() => {
        const { N, H, W, C, O, OH, OW, KH, KW } = g;
        const [x, x0] = pair(N * H * W * C), [gy, gy0] = pair(N * OH * OW * O);
        const [gw, gw0] = pair(O * KH * KW * C), [gb, gb0] = pair(O);
        engine.kernels.conv2dBackwardFilter(x, gy, gw, gb, g);
        ref.conv2dBackwardFilter(x0, gy0, gw0, gb0, g);
        assertClose(gw, gw0, TOL, `conv backward-filter gw ${describeConv(g)}`);
        assertClose(gb, gb0, TOL, `conv backward-filter gb ${describeConv(g)}`);
        engine.kernels.conv2dBackwardFilter(x, gy, gw, null, g);
        ref.conv2dBackwardFilter(x0, gy0, gw0, null, g);
        assertClose(gw, gw0, TOL, `conv backward-filter gw, second accumulation, ${describeConv(g)}`);
      });
    }
  });

  it('a larger layer (several pixel blocks and channel panels) matches the reference', () => {
    scoped(() => {
      const g = convGeometry(2, 21, 19, 20, 24, 3, 3, 1, 1, 1, 1);
      const { N, H, W, C, O, OH, OW, KH, KW } = g;
      const [x, x0] = pair(N * H * W * C), [w, w0] = pair(O * KH * KW * C), [b, b0] = pair(O);
      const [y, y0] = zeros(N * OH * OW * O), [gx, gx0] = zeros(N * H * W * C);
      const [gw, gw0] = zeros(O * KH * KW * C), [gb, gb0] = zeros(O);
      engine.kernels.conv2dForward(x, w, b, y, g);
      ref.conv2dForward(x0, w0, b0, y0, g);
      assertClose(y, y0, TOL, 'forward');
      y.set(y0); // the backward passes get the same gradient
      engine.kernels.conv2dBackwardData(y, w, gx, g);
      ref.conv2dBackwardData(y0, w0, gx0, g);
      assertClose(gx, gx0, TOL, 'backward-data');
      engine.kernels.conv2dBackwardFilter(x, y, gw, gb, g);
      ref.conv2dBackwardFilter(x0, y0, gw0, gb0, g);
      assertClose(gw, gw0, TOL, 'backward-filter');
      assertClose(gb, gb0, TOL, 'bias gradient');
    });
  });
});

function poolGeometry(N: number, H: number, W: number, C: number, KH: number, KW: number, SH: number, SW: number,
  PH: number, PW: number): Pool2dGeometry {
  return { N, H, W, C, OH: windowOutput(H, KH, SH, PH), OW: windowOutput(W, KW, SW, PW), KH, KW, SH, SW, PH, PW };
}

function poolCases(): Pool2dGeometry[] {
  const cases = [
    poolGeometry(1, 1, 1, 1, 1, 1, 1, 1, 0, 0),
    poolGeometry(2, 6, 6, 4, 2, 2, 2, 2, 0, 0),
    poolGeometry(2, 7, 5, 3, 3, 3, 2, 2, 1, 1),
    poolGeometry(1, 9, 9, 13, 3, 2, 1, 3, 1, 1),
    poolGeometry(3, 5, 7, 8, 5, 7, 1, 1, 0, 0), // global pooling
    poolGeometry(1, 8, 8, 9, 4, 4, 3, 3, 2, 2),
    // 2×2 stride 2 'same' on odd sizes: bottom/right padding only (it sets OH, OW; PH = PW = 0).
    { ...poolGeometry(2, 5, 7, 6, 2, 2, 2, 2, 0, 0), OH: 3, OW: 4 },
  ];
  for (let k = 0; k < 8; k++) {
    const KH = int(1, 4), KW = int(1, 4);
    cases.push(poolGeometry(int(1, 3), int(KH, 11), int(KW, 11), int(1, 13), KH, KW, int(1, 3), int(1, 3),
      int(0, KH >> 1), int(0, KW >> 1)));
  }
  return cases;
}

describe('wasm engine: pooling', () => {
  it('max-pool forward gives the reference maxima and arg-max, ties included', () => {
    for (const g of poolCases()) {
      for (const kind of ['normal', 'ties'] as const) {
        for (const tieSeed of [-1, 12345]) {
          scoped(() => {
            const { N, H, W, C, OH, OW } = g;
            const [x, x0] = pair(N * H * W * C, kind), [y, y0] = zeros(N * OH * OW * C);
            const am = engine.arena.ints(N * OH * OW * C), am0 = new Int32Array(N * OH * OW * C);
            engine.kernels.maxPool2dForward(x, y, am, g, tieSeed);
            ref.maxPool2dForward(x0, y0, am0, g, tieSeed);
            assert.deepEqual(y, y0, `max-pool y ${JSON.stringify(g)} ${kind} seed ${tieSeed}`);
            assert.deepEqual(am, am0, `max-pool arg-max ${JSON.stringify(g)} ${kind} seed ${tieSeed}`);
            const [gy, gy0] = pair(N * OH * OW * C), [gx, gx0] = pair(N * H * W * C);
            engine.kernels.maxPool2dBackward(gy, am, gx, g);
            ref.maxPool2dBackward(gy0, am0, gx0, g);
            assertClose(gx, gx0, 1e-6, 'max-pool backward');
          });
        }
      }
    }
  });

  it('average-pool forward and backward match the reference', () => {
    for (const g of poolCases()) {
      scoped(() => {
        const { N, H, W, C, OH, OW } = g;
        const [x, x0] = pair(N * H * W * C), [y, y0] = zeros(N * OH * OW * C);
        engine.kernels.avgPool2dForward(x, y, g);
        ref.avgPool2dForward(x0, y0, g);
        assertClose(y, y0, 1e-5, `avg-pool forward ${JSON.stringify(g)}`);
        const [gy, gy0] = pair(N * OH * OW * C), [gx, gx0] = pair(N * H * W * C);
        engine.kernels.avgPool2dBackward(gy, gx, g);
        ref.avgPool2dBackward(gy0, gx0, g);
        assertClose(gx, gx0, 1e-5, `avg-pool backward ${JSON.stringify(g)}`);
      });
    }
  });
});

describe('wasm engine: point-wise kernels', () => {
  const kinds: ActivationKind[] = ['relu', 'leaky_relu', 'sigmoid', 'tanh', 'softplus'];
  it('activations and their derivatives match the reference', () => {
    for (const kind of kinds) {
      for (const n of [1, 3, 4, 5, 13, 1000, 4099]) {
        scoped(() => {
          const [x, x0] = pair(n);
          for (let i = 0; i < n; i += 7) { x[i] *= 12; x0[i] = x[i]; } // reach the saturated regions
          if (n > 2) { x[1] = 0; x0[1] = 0; x[2] = 25; x0[2] = 25; }
          const [y, y0] = zeros(n);
          engine.kernels.activationForward(kind, x, y, n, 0.1);
          ref.activationForward(kind, x0, y0, n, 0.1);
          assertClose(y, y0, 1e-5, `${kind} forward n=${n}`);
          const [gy, gy0] = pair(n), [gx, gx0] = zeros(n);
          engine.kernels.activationBackward(kind, x, y, gy, gx, n, 0.1);
          ref.activationBackward(kind, x0, y0, gy0, gx0, n, 0.1);
          assertClose(gx, gx0, 1e-5, `${kind} backward n=${n}`);
        });
      }
    }
  });

  it('dropout draws the reference mask and scales exactly alike', () => {
    for (const [n, p] of [[1, 0.5], [13, 0.2], [5000, 0.5], [777, 0.9], [10, 0]] as const) {
      scoped(() => {
        const [x, x0] = pair(n), [y, y0] = zeros(n), [gx, gx0] = zeros(n);
        engine.kernels.dropoutForward(x, y, n, p, 0xdeadbeef);
        ref.dropoutForward(x0, y0, n, p, 0xdeadbeef);
        assert.deepEqual(y, y0);
        engine.kernels.dropoutBackward(x, gx, n, p, 77);
        ref.dropoutBackward(x0, gx0, n, p, 77);
        assert.deepEqual(gx, gx0);
      });
    }
  });

  it('addBias and sumRows match the reference', () => {
    for (const [R, C] of [[1, 1], [3, 5], [7, 16], [100, 37], [13, 70]]) {
      scoped(() => {
        const [y, y0] = pair(R * C), [b, b0] = pair(C);
        engine.kernels.addBias(y, b, R, C);
        ref.addBias(y0, b0, R, C);
        assertClose(y, y0, 1e-6, `addBias ${R}×${C}`);
        engine.kernels.sumRows(y, b, R, C);
        ref.sumRows(y0, b0, R, C);
        assertClose(b, b0, 1e-5, `sumRows ${R}×${C}`);
      });
    }
  });
});

describe('wasm engine: batch normalisation', () => {
  it('forward and backward, training and evaluation, match the reference (float64 inside, same order)', () => {
    for (const [R, C] of [[1, 1], [5, 3], [64, 7], [200, 16], [37, 13]]) {
      for (const training of [true, false]) {
        scoped(() => {
          const [x, x0] = pair(R * C), [gamma, gamma0] = pair(C), [beta, beta0] = pair(C);
          const [rm, rm0] = pair(C), [rv, rv0] = pair(C, 'uniform');
          const [sm, sm0] = zeros(C), [si, si0] = zeros(C), [y, y0] = zeros(R * C);
          engine.kernels.batchNormForward(x, gamma, beta, y, R, C, training, 1e-5, 0.1, rm, rv, sm, si);
          ref.batchNormForward(x0, gamma0, beta0, y0, R, C, training, 1e-5, 0.1, rm0, rv0, sm0, si0);
          assertClose(y, y0, 1e-6, `batch-norm y ${R}×${C} training=${training}`);
          assertClose(rm, rm0, 1e-6, 'running mean');
          assertClose(rv, rv0, 1e-6, 'running variance');
          assertClose(sm, sm0, 1e-6, 'saved mean');
          assertClose(si, si0, 1e-6, 'saved 1/σ');
          const [gy, gy0] = pair(R * C), [gx, gx0] = zeros(R * C), [gg, gg0] = pair(C), [gbt, gbt0] = pair(C);
          engine.kernels.batchNormBackward(x, gamma, gy, gx, gg, gbt, R, C, training, sm, si);
          ref.batchNormBackward(x0, gamma0, gy0, gx0, gg0, gbt0, R, C, training, sm0, si0);
          assertClose(gx, gx0, 1e-6, `batch-norm gx ${R}×${C} training=${training}`);
          assertClose(gg, gg0, 1e-6, 'γ gradient');
          assertClose(gbt, gbt0, 1e-6, 'β gradient');
        });
      }
    }
  });
});

describe('wasm engine: soft-max', () => {
  it('soft-max forward and backward match the reference', () => {
    for (const [N, E] of [[1, 1], [3, 10], [17, 7], [64, 100]]) {
      scoped(() => {
        const [x, x0] = pair(N * E), [p, p0] = zeros(N * E);
        engine.kernels.softmaxForward(x, p, N, E);
        ref.softmaxForward(x0, p0, N, E);
        assertClose(p, p0, 1e-6, `softmax ${N}×${E}`);
        const [gy, gy0] = pair(N * E), [gx, gx0] = zeros(N * E);
        engine.kernels.softmaxBackward(p, gy, gx, N, E);
        ref.softmaxBackward(p0, gy0, gx0, N, E);
        assertClose(gx, gx0, 1e-5, `softmax backward ${N}×${E}`);
      });
    }
  });

  it('fused soft-max cross-entropy matches the reference, for labels and for probabilities', () => {
    for (const [N, E] of [[1, 2], [5, 10], [33, 7]]) {
      scoped(() => {
        const [z, z0] = pair(N * E);
        for (let i = 0; i < z.length; i++) { z[i] *= 5; z0[i] = z[i]; }
        const heapLabels = Int32Array.from({ length: N }, () => rng.int(E));
        const wasmLabels = engine.arena.ints(N);
        wasmLabels.set(heapLabels);
        const [p, p0] = zeros(N * E), [gz, gz0] = zeros(N * E);
        const r0 = ref.softmaxCrossEntropy(z0, { labels: heapLabels }, p0, gz0, N, E);
        for (const labels of [heapLabels, wasmLabels]) {
          const r = engine.kernels.softmaxCrossEntropy(z, { labels }, p, gz, N, E);
          assert.ok(Math.abs(r - r0) <= 1e-6 * (1 + Math.abs(r0)), `risk ${r} vs ${r0}`);
          assertClose(p, p0, 1e-6, 'p');
          assertClose(gz, gz0, 1e-6, 'gz');
        }
        const [q, q0] = pair(N * E, 'uniform');
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let e = 0; e < E; e++) s += q[n * E + e];
          for (let e = 0; e < E; e++) { q[n * E + e] /= s; q0[n * E + e] = q[n * E + e]; }
        }
        const rq0 = ref.softmaxCrossEntropy(z0, { probs: q0 }, p0, gz0, N, E);
        for (const probs of [q, q0]) {
          const rq = engine.kernels.softmaxCrossEntropy(z, { probs }, p, gz, N, E);
          assert.ok(Math.abs(rq - rq0) <= 1e-6 * (1 + Math.abs(rq0)), `risk ${rq} vs ${rq0}`);
          assertClose(gz, gz0, 1e-6, 'gz (probabilities)');
        }
      });
    }
  });
});

describe('wasm engine: fallbacks and the arena', () => {
  it('float64 arrays and arrays outside the engine memory go to the reference kernels', () => {
    const M = 5, N = 6, K = 7;
    const a = Float64Array.from({ length: M * K }, () => rng.normal());
    const b = Float64Array.from({ length: K * N }, () => rng.normal());
    const c = new Float64Array(M * N), c0 = new Float64Array(M * N);
    engine.kernels.matmul(a, b, c, M, N, K, false, true, false);
    ref.matmul(a, b, c0, M, N, K, false, true, false);
    assert.deepEqual(c, c0);
    const g = convGeometry(1, 5, 5, 2, 3, 3, 3, 1, 1, 1, 1);
    const heap = new HeapArena('float32');
    const x = heap.floats(50), w = heap.floats(54), y = heap.floats(75), y0 = new Float32Array(75);
    x.fill(0.5); w.fill(0.25);
    engine.kernels.conv2dForward(x, w, null, y, g);
    ref.conv2dForward(x, w, null, y0, g);
    assert.deepEqual(y, y0);
  });

  it('the arena hands out zeroed, aligned views into the engine memory', () => {
    const mark = engine.arena.mark();
    const a = engine.arena.floats(13), b = engine.arena.ints(7);
    assert.ok(a.every((v) => v === 0) && b.every((v) => v === 0));
    assert.equal(a.byteOffset % 16, 0);
    assert.equal(b.byteOffset % 16, 0);
    assert.ok(a.buffer instanceof SharedArrayBuffer);
    a.fill(3);
    engine.arena.release(mark);
    const again = engine.arena.floats(13);
    assert.ok(again.every((v) => v === 0));
    const big = engine.arena.floats(8 << 20); // grows the memory; earlier views stay valid
    big[big.length - 1] = 1;
    again[0] = 2;
    assert.equal(again[0], 2);
    engine.arena.release(mark);
  });

  it('a network built on the engine computes the reference gradient', () => {
    const layers = () => [new Conv2d({ outChannels: 6, kernelSize: 3, padding: 1 }),
      new Conv2d({ outChannels: 5, kernelSize: 3, stride: 2 })];
    const fast = new Sequential(layers(), { inputShape: [9, 9, 3], seed: 5, arena: engine.arena, kernels: engine.kernels });
    const slow = new Sequential(layers(), { inputShape: [9, 9, 3], seed: 5 });
    assert.deepEqual(Float32Array.from(fast.w), Float32Array.from(slow.w));
    const N = 4;
    const input = Float32Array.from({ length: N * 9 * 9 * 3 }, () => rng.normal());
    const values = Float32Array.from({ length: N * 4 * 4 * 5 }, () => rng.normal());
    const rf = fast.gradient(input, { values }, N, 'quadratic');
    const rs = slow.gradient(input, { values }, N, 'quadratic');
    assert.ok(Math.abs(rf - rs) <= 1e-4 * (1 + Math.abs(rs)));
    assertClose(fast.g, slow.g, TOL, 'network gradient');
  });
});
