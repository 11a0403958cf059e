/**
 * Conv2d → ReLU → MaxPool2d fused (src/network/fusion-plan.ts): the WebAssembly engine's
 * conv2dReluMaxPoolForward is bitwise its own conv2dForward (with ReLU output) followed by
 * maxPool2dForward, and maxPool2dReluBackward bitwise maxPool2dBackward followed by the ReLU's
 * activationBackward, on every path (few-channel and tile convolutions, Winograd's fallback, the 2×2
 * gather and the general scatter), on 1, 2 and 3 threads, with random and first tie-breaks, ties, 0
 * at the ReLU, NaN and ±∞; a network gives bitwise the same risk, activations and gradient fused or
 * not. A deliberately wrong fused kernel is caught by the same checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Arena } from '../src/core/arena.js';
import { Rng } from '../src/core/rng.js';
import { sizeOf } from '../src/core/shape.js';
import type { WasmKernels } from '../src/engine/wasm-kernels.js';
import type { Conv2dGeometry, Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { planFusions } from '../src/network/fusion-plan.js';
import { Sequential } from '../src/network/sequential.js';
import { convGeometry } from './helpers.js';
import { threadEngines } from './thread-engines.js';

const engines = threadEngines();

/** Values with exact zeros, ties (few distinct values) and, when asked, NaN and ±∞. */
function filled(arena: Arena, n: number, rng: Rng, special = false): Float32Array {
  const a = arena.floats(n) as Float32Array;
  for (let i = 0; i < n; i++) {
    const r = rng.int(16);
    a[i] = r === 0 ? 0 : r === 1 ? -0 : (rng.int(9) - 4) / 4;
    if (special && r === 2) a[i] = [NaN, Infinity, -Infinity][rng.int(3)];
  }
  return a;
}

function bitsEqual(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  const x = new Uint32Array(Float32Array.from(a).buffer), y = new Uint32Array(Float32Array.from(b).buffer);
  const bad = x.findIndex((v, i) => v !== y[i]);
  assert.equal(bad, -1, `${what}: differs at ${bad} (${a[bad]} vs ${b[bad]})`);
}

/** The pool over a convolution's output [N, OH, OW, O]. */
function poolOver(g: Conv2dGeometry, K: number, S: number, P: number): Pool2dGeometry {
  const OH = Math.floor((g.OH + 2 * P - K) / S) + 1, OW = Math.floor((g.OW + 2 * P - K) / S) + 1;
  return { N: g.N, H: g.OH, W: g.OW, C: g.O, OH, OW, KH: K, KW: K, SH: S, SW: S, PH: P, PW: P };
}

interface Case { name: string; conv: Conv2dGeometry; pool: Pool2dGeometry }
const CASES: Case[] = [
  // Few-channel (direct) path: NET-A's first layer, odd sizes, batch 1.
  ['direct 28×28×1→6 k5 p2, pool 2', convGeometry(3, 28, 28, 1, 6, 5, 5, 1, 1, 2, 2), 2, 2, 0],
  ['direct 11×9×3→5 k3, batch 1, pool 3 s2 p1', convGeometry(1, 11, 9, 3, 5, 3, 3, 1, 1, 0, 0), 3, 2, 1],
  ['direct 9×9×2→3 k3 p1, pool 2 (C < 4)', convGeometry(2, 9, 9, 2, 3, 3, 3, 1, 1, 1, 1), 2, 2, 0],
  // Tile path: NET-A's second layer, odd sizes (tiles straddling samples), channels not divisible by 4.
  ['tile 14×14×6→16 k5, pool 2', convGeometry(5, 14, 14, 6, 16, 5, 5, 1, 1, 0, 0), 2, 2, 0],
  ['tile 7×9×5→13 k3 p1, batch 3, pool 2 (odd)', convGeometry(3, 7, 9, 5, 13, 3, 3, 1, 1, 1, 1), 2, 2, 0],
  ['tile 9×9×8→6 k3 s2, batch 1, pool 3 s2 p1', convGeometry(1, 9, 9, 8, 6, 3, 3, 2, 2, 0, 0), 3, 2, 1],
  // 3×3 stride 1 with many channels: Winograd where it pays, then the pool as its own call.
  ['3×3 12×12×32→64, pool 2', convGeometry(2, 12, 12, 32, 64, 3, 3, 1, 1, 0, 0), 2, 2, 0],
].map(([name, conv, K, S, P]) => ({ name, conv, pool: poolOver(conv as Conv2dGeometry, K as number, S as number, P as number) }) as Case);

/** The fused forward against the unfused calls on the same kernels: everything bitwise. */
function checkForward(kernels: Kernels, arena: Arena, c: Case, tieSeed: number, special: boolean): void {
  const { conv: g, pool: pg } = c, rng = new Rng(g.C * 31 + g.O + tieSeed);
  const x = filled(arena, g.N * g.H * g.W * g.C, rng, special), w = filled(arena, g.O * g.KH * g.KW * g.C, rng, special);
  const b = filled(arena, g.O, rng), out = g.N * g.OH * g.OW * g.O, pooled = pg.N * pg.OH * pg.OW * pg.C;
  const [y0, r0, p0, y1, r1, p1] = [out, out, pooled, out, out, pooled].map((n) => arena.floats(n) as Float32Array);
  const [a0, a1] = [arena.ints(pooled) as Int32Array, arena.ints(pooled) as Int32Array];
  kernels.conv2dForward(x, w, b, y0, g, r0);
  kernels.maxPool2dForward(r0, p0, a0, pg, tieSeed);
  kernels.conv2dReluMaxPoolForward!(x, w, b, y1, r1, p1, a1, g, pg, tieSeed);
  bitsEqual(y1, y0, 'y'); bitsEqual(r1, r0, 'ReLU(y)'); bitsEqual(p1, p0, 'pooled');
  assert.deepEqual(Array.from(a1), Array.from(a0), 'arg max');
}

/** The fused backward against the unfused calls: gx bitwise, from the arg-max of a forward with ties. */
function checkBackward(kernels: Kernels, arena: Arena, pg: Pool2dGeometry, tieSeed: number, special: boolean,
  stray = false): void {
  const rng = new Rng(pg.C * 7 + pg.H + tieSeed), n = pg.N * pg.H * pg.W * pg.C, out = pg.N * pg.OH * pg.OW * pg.C;
  const x = filled(arena, n, rng, special), relu = arena.floats(n) as Float32Array;
  kernels.activationForward('relu', x, relu, n, 0);
  const pooled = arena.floats(out), argmax = arena.ints(out) as Int32Array;
  kernels.maxPool2dForward(relu, pooled, argmax, pg, tieSeed);
  // An arg-max elsewhere in its window's sample sends the 2×2 gather path to the scatter.
  if (stray) argmax[out - 1] = (pg.N - 1) * pg.H * pg.W * pg.C;
  const gy = filled(arena, out, rng, special);
  const [g0, gr0, g1] = [n, n, n].map((m) => arena.floats(m) as Float32Array);
  g1.fill(12345); // nothing of it may survive
  kernels.maxPool2dBackward(gy, argmax, g0, pg);
  kernels.activationBackward('relu', x, relu, g0, gr0, n, 0);
  kernels.maxPool2dReluBackward!(gy, argmax, x, g1, pg);
  bitsEqual(g1, gr0, 'gx of the ReLU input');
}

describe('fused convolution + ReLU + max-pool forward', () => {
  for (const c of CASES) {
    it(`${c.name}: bitwise the unfused calls, 1/2/3 threads, ties random and first, NaN/Inf`, () => {
      for (const e of engines) {
        for (const tieSeed of [12345, -1]) {
          for (const special of [false, true]) {
            try {
              checkForward(e.kernels, e.arena, c, tieSeed, special);
            } catch (err) {
              throw new Error(`${e.threads}T tieSeed ${tieSeed}${special ? ' NaN/Inf' : ''}: ${(err as Error).message}`);
            }
          }
        }
      }
    });
  }

  it('the tile path with Winograd forced off and on, and the ReLU output shared by both calls', () => {
    for (const e of engines) {
      const k = e.kernels as WasmKernels, was = k.convAlgorithm;
      try {
        for (const algo of ['direct', 'winograd'] as const) {
          k.convAlgorithm = algo;
          checkForward(k, e.arena, CASES[CASES.length - 1], 99, false);
        }
      } finally {
        k.convAlgorithm = was;
      }
    }
  });
});

describe('fused max-pool + ReLU backward', () => {
  const pools: [string, Pool2dGeometry][] = [
    ['2×2 gather, C 6', { N: 3, H: 10, W: 10, C: 6, OH: 5, OW: 5, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 }],
    ['2×2 gather, odd 9×7, C 13, batch 1', { N: 1, H: 9, W: 7, C: 13, OH: 4, OW: 3, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 }],
    ['2×2 scatter, C 3', { N: 2, H: 8, W: 8, C: 3, OH: 4, OW: 4, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 }],
    ['3×3 s2 p1 scatter, C 5', { N: 2, H: 9, W: 11, C: 5, OH: 5, OW: 6, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1 }],
  ];
  for (const [name, pg] of pools) {
    it(`${name}: bitwise the unfused calls, 1/2/3 threads`, () => {
      for (const e of engines) {
        for (const tieSeed of [777, -1]) {
          for (const special of [false, true]) checkBackward(e.kernels, e.arena, pg, tieSeed, special);
        }
      }
    });
  }
  it('an arg-max outside its 2×2 window falls back to the scatter, still bitwise', () => {
    for (const e of engines) checkBackward(e.kernels, e.arena, pools[0][1], 5, true, true);
  });
});

/** The WebAssembly kernels a call ran, by name (a spy on the engine's private dispatch). */
function kernelsRun(k: Kernels, call: () => void): string[] {
  const engine = k as unknown as { run: (name: string, ...rest: unknown[]) => void };
  const run = engine.run, names: string[] = [];
  engine.run = function (this: unknown, name: string, ...rest: unknown[]) {
    names.push(name);
    return run.call(this, name, ...rest);
  };
  try {
    call();
  } finally {
    engine.run = run;
  }
  return names;
}

describe('the fused calls are one kernel each', () => {
  it('direct and tile convolutions pool inside; the backward gates inside', () => {
    for (const e of engines) {
      for (const [c, kernel] of [[CASES[0], 'conv2dForwardDirect'], [CASES[3], 'conv2dForward']] as const) {
        assert.deepEqual(kernelsRun(e.kernels, () => checkForward(e.kernels, e.arena, c, 1, false)),
          [kernel, 'maxPool2dForward', kernel], `${e.threads}T ${c.name}: unfused two calls, fused one`);
      }
      const pg: Pool2dGeometry = { N: 2, H: 8, W: 8, C: 6, OH: 4, OW: 4, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 };
      assert.deepEqual(kernelsRun(e.kernels, () => checkBackward(e.kernels, e.arena, pg, 1, false)),
        ['activationForward', 'maxPool2dForward', 'maxPool2dBackward', 'activationBackward', 'maxPool2dBackward']);
    }
  });
});

describe('a deliberately wrong fused kernel is caught', () => {
  it('a forward that drops the tie-break seed, a backward that forgets the ReLU', () => {
    const e = engines[0], k = e.kernels;
    const wrong: Kernels = Object.assign(Object.create(Object.getPrototypeOf(k)), k, {
      conv2dReluMaxPoolForward: (...a: Parameters<NonNullable<Kernels['conv2dReluMaxPoolForward']>>) => {
        a[9] = -1;
        k.conv2dReluMaxPoolForward!(...a);
      },
      maxPool2dReluBackward: (...a: Parameters<NonNullable<Kernels['maxPool2dReluBackward']>>) =>
        k.maxPool2dBackward(a[0], a[1], a[3], a[4]),
    });
    assert.throws(() => checkForward(wrong, e.arena, CASES[3], 12345, false), /arg max|pooled/);
    assert.throws(() => checkBackward(wrong, e.arena, { N: 2, H: 8, W: 8, C: 6, OH: 4, OW: 4, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 },
      3, false), /gx of the ReLU input/);
  });
});

describe('Sequential with and without the pool fusion', () => {
  const NET_A: LayerConfig[] = [
    { type: 'Conv2d', outChannels: 6, kernelSize: 5, padding: 2 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Conv2d', outChannels: 5, kernelSize: 3 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 7 }, { type: 'ReLU' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
  ];

  it('recognises the chains once at build (NET-A: two forward and two backward fusions)', () => {
    const net = Sequential.fromConfig({ inputShape: [13, 13, 1], layers: NET_A }, { seed: 1 });
    const plan = planFusions(net.layers, net.topology, { relu: true, pool: true });
    assert.deepEqual(plan.pool.flatMap((f, k) => (f ? [k] : [])), [0, 3]);
    assert.deepEqual(plan.poolRelu.flatMap((f, k) => (f ? [k] : [])), [2, 5]);
    assert.deepEqual(planFusions(net.layers, net.topology, { relu: true, pool: false }).pool.some((f) => f), false);
  });

  for (const N of [1, 5]) {
    it(`batch ${N}, 13×13 input: bitwise the same risk, activations and gradient on 1/2/3 threads`, () => {
      const results: Float32Array[] = [];
      for (const e of engines) {
        const nets = [true, false].map((fusePool) => Sequential.fromConfig({ inputShape: [13, 13, 1], layers: NET_A },
          { seed: 3, engine: e, fusePool }));
        const rng = new Rng(N);
        const x = Float32Array.from({ length: N * 169 }, () => (rng.int(5) === 0 ? 0 : rng.normal()));
        const labels = Int32Array.from({ length: N }, () => rng.int(3));
        const risks = nets.map((net) => net.gradient(x, { labels }, N));
        assert.equal(risks[0], risks[1], 'risk');
        for (let k = 0; k <= NET_A.length; k++) {
          const d = sizeOf(k === 0 ? nets[0].inputShape : nets[0].layers[k - 1].outputShape);
          const [a, b] = nets.map((net) => (net.activation(k) as Float32Array).subarray(0, N * d));
          bitsEqual(a, b, `${e.threads}T x^(${k})`);
        }
        bitsEqual(nets[0].g, nets[1].g, `${e.threads}T g`);
        assert.throws(() => nets[0].activationGradient(2), /not kept: the max-pool's and the ReLU's backward run as one kernel/);
        bitsEqual(nets[0].activationGradient(1) as Float32Array, nets[1].activationGradient(1) as Float32Array, 'ReLU input gradient');
        results.push(Float32Array.from(nets[0].g));
      }
      for (const g of results) bitsEqual(g, results[0], 'g across thread counts');
    });
  }

  it('a graph (shared gradient slots) and shared inference activations give the same numbers', () => {
    const graph: LayerConfig[] = [
      { name: 'c1', type: 'Conv2d', outChannels: 8, kernelSize: 3, padding: 1 }, { name: 'r1', type: 'ReLU' },
      { name: 'p1', type: 'MaxPool2d', kernelSize: 2 },
      { name: 'c2', type: 'Conv2d', outChannels: 8, kernelSize: 3, padding: 1 }, { name: 'r2', type: 'ReLU' },
      { name: 'p2', type: 'MaxPool2d', kernelSize: 2 },
      { name: 'skip', type: 'MaxPool2d', kernelSize: 2, inputs: ['p1'] },
      { name: 'sum', type: 'Add', inputs: ['p2', 'skip'] },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
    ];
    const e = engines[1], N = 3;
    const nets = [true, false].map((fusePool) => Sequential.fromConfig({ inputShape: [12, 12, 2], layers: graph },
      { seed: 5, engine: e, fusePool, shareActivations: true }));
    const rng = new Rng(9);
    const x = Float32Array.from({ length: N * 288 }, () => rng.normal());
    const labels = Int32Array.from({ length: N }, () => rng.int(4));
    const risks = nets.map((net) => net.gradient(x, { labels }, N));
    assert.equal(risks[0], risks[1], 'risk');
    bitsEqual(nets[0].g, nets[1].g, 'g');
    const [p0, p1] = nets.map((net) => net.predict(x, N).p);
    bitsEqual(p0, p1, 'inference on shared activations');
  });
});
