/**
 * A ReLU's backward fused into the max-pool's after it (src/network/fusion-plan.ts): the WebAssembly
 * engine's maxPool2dReluBackward is bitwise maxPool2dBackward followed by the ReLU's
 * activationBackward, on every path (the 2×2 gather, the general scatter, a gather that falls back
 * to the scatter), on 1, 2 and 3 threads, after random and first tie-breaks, with ties, 0 and −0 at
 * the ReLU, NaN and ±∞, batch 1, odd sizes and channel counts not divisible by 4; a network (chains
 * like NET-A and NET-B, and a graph with shared gradient slots) gives bitwise the same risk,
 * activations, activation gradients and gradient fused or not. Deliberately wrong fused kernels are
 * caught by the same check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Arena } from '../src/core/arena.js';
import { Rng } from '../src/core/rng.js';
import { sizeOf } from '../src/core/shape.js';
import type { Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { planFusions } from '../src/network/fusion-plan.js';
import { Sequential } from '../src/network/sequential.js';
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

describe('the fused call is one kernel', () => {
  it('the pool backward gates by the ReLU input inside, with no activationBackward', () => {
    for (const e of engines) {
      const pg: Pool2dGeometry = { N: 2, H: 8, W: 8, C: 6, OH: 4, OW: 4, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 };
      assert.deepEqual(kernelsRun(e.kernels, () => checkBackward(e.kernels, e.arena, pg, 1, false)),
        ['activationForward', 'maxPool2dForward', 'maxPool2dBackward', 'activationBackward', 'maxPool2dBackward']);
    }
  });
});

describe('a deliberately wrong fused kernel is caught', () => {
  it('a pool backward that forgets the ReLU, and one that gates by the wrong tensor', () => {
    const e = engines[0], k = e.kernels;
    const pg: Pool2dGeometry = { N: 2, H: 8, W: 8, C: 6, OH: 4, OW: 4, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 };
    const wrong = (f: NonNullable<Kernels['maxPool2dReluBackward']>): Kernels =>
      Object.assign(Object.create(Object.getPrototypeOf(k)), k, { maxPool2dReluBackward: f });
    assert.throws(() => checkBackward(wrong((gy, argmax, _x, gx, g) => k.maxPool2dBackward(gy, argmax, gx, g)), e.arena, pg, 3, false),
      /gx of the ReLU input/);
    // Gated by the gradient itself instead of the ReLU's input.
    assert.throws(() => checkBackward(wrong((gy, argmax, _x, gx, g) => {
      k.maxPool2dBackward(gy, argmax, gx, g);
      k.activationBackward('relu', gx, gx, gx, gx, g.N * g.H * g.W * g.C, 0);
    }), e.arena, pg, 3, false), /gx of the ReLU input/);
  });
});

describe('Sequential with and without the ReLU backward fusion', () => {
  const NET_A: LayerConfig[] = [
    { type: 'Conv2d', outChannels: 6, kernelSize: 5, padding: 2 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Conv2d', outChannels: 5, kernelSize: 3 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 7 }, { type: 'ReLU' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
  ];

  const NET_B: LayerConfig[] = [
    { type: 'Conv2d', outChannels: 16, kernelSize: 3 }, { type: 'ReLU' }, { type: 'Conv2d', outChannels: 20, kernelSize: 3 },
    { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 9 }, { type: 'ReLU' },
    { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
  ];
  const fused = (plan: ReturnType<typeof planFusions>) => plan.throughRelu.flatMap((f, k) => (f ? [`${k} ${f}`] : []));

  it('recognises the chains once at build (NET-A: the two pools; NET-B: the pool)', () => {
    const net = Sequential.fromConfig({ inputShape: [13, 13, 1], layers: NET_A }, { seed: 1 });
    const plan = planFusions(net.layers, net.topology, { relu: true, reluBackward: true });
    assert.deepEqual(fused(plan), ['2 maxPool2dReluBackward', '5 maxPool2dReluBackward']);
    assert.deepEqual(plan.relu.flatMap((f, k) => (f ? [k] : [])), [0, 3, 7]);
    assert.deepEqual(fused(planFusions(net.layers, net.topology, { relu: true, reluBackward: false })), []);
    const b = Sequential.fromConfig({ inputShape: [10, 10, 1], layers: NET_B }, { seed: 1 });
    assert.deepEqual(fused(planFusions(b.layers, b.topology, { relu: true, reluBackward: true })),
      ['4 maxPool2dReluBackward']);
    // A ReLU reading the network's input, a Dense after a ReLU: left alone.
    const c = Sequential.fromConfig({ inputShape: [6, 6, 1], layers: [{ type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 2 }] as LayerConfig[] }, { seed: 1 });
    assert.deepEqual(fused(planFusions(c.layers, c.topology, { relu: true, reluBackward: true })), []);
    const shared = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: [
      { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { name: 'r', type: 'ReLU' }, { name: 'p', type: 'MaxPool2d', kernelSize: 2 },
      { name: 'q', type: 'MaxPool2d', kernelSize: 2, inputs: ['r'] }, { type: 'Add', inputs: ['p', 'q'] },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 2 },
    ] as LayerConfig[] }, { seed: 1 });
    assert.deepEqual(fused(planFusions(shared.layers, shared.topology, { relu: true, reluBackward: true })), [], 'a ReLU output read twice');
  });

  const CHAINS: [string, LayerConfig[], number[], number, number[]][] = [
    ['NET-A, 13×13', NET_A, [13, 13, 1], 1, [2, 5]], ['NET-A, 13×13', NET_A, [13, 13, 1], 5, [2, 5]],
    ['NET-B, 11×11', NET_B, [11, 11, 1], 1, [4]], ['NET-B, 11×11', NET_B, [11, 11, 1], 4, [4]],
  ];
  for (const [name, layers, inputShape, N, skipped] of CHAINS) {
    it(`${name}, batch ${N}: bitwise the same risk, activations and gradient on 1/2/3 threads`, () => {
      const results: Float32Array[] = [];
      const d0 = sizeOf(inputShape);
      for (const e of engines) {
        const nets = [true, false].map((fuseReluBackward) => Sequential.fromConfig({ inputShape, layers },
          { seed: 3, engine: e, fuseReluBackward }));
        const rng = new Rng(N);
        const x = Float32Array.from({ length: N * d0 }, () => (rng.int(5) === 0 ? 0 : rng.normal()));
        const labels = Int32Array.from({ length: N }, () => rng.int(3));
        const risks = nets.map((net) => net.gradient(x, { labels }, N));
        assert.equal(risks[0], risks[1], 'risk');
        for (let k = 0; k <= layers.length; k++) {
          const d = sizeOf(k === 0 ? nets[0].inputShape : nets[0].layers[k - 1].outputShape);
          const [a, b] = nets.map((net) => (net.activation(k) as Float32Array).subarray(0, N * d));
          bitsEqual(a, b, `${e.threads}T x^(${k})`);
          if (skipped.includes(k)) {
            assert.throws(() => nets[0].activationGradient(k), /not kept: the ReLU's backward runs in layer \d+'s kernel/);
          } else {
            const [ga, gb] = nets.map((net) => (net.activationGradient(k) as Float32Array).subarray(0, N * d));
            bitsEqual(ga, gb, `${e.threads}T ∂L/∂x^(${k})`);
          }
        }
        bitsEqual(nets[0].g, nets[1].g, `${e.threads}T g`);
        results.push(Float32Array.from(nets[0].g));
      }
      for (const g of results) bitsEqual(g, results[0], 'g across thread counts');
    });
  }

  it('a graph (shared gradient slots) and shared inference activations give the same numbers', () => {
    // c1's output feeds r1 (whose backward p1 runs) and the shortcut: an edge buffer written early.
    const graph: LayerConfig[] = [
      { name: 'c1', type: 'Conv2d', outChannels: 8, kernelSize: 3, padding: 1 }, { name: 'r1', type: 'ReLU' },
      { name: 'p1', type: 'MaxPool2d', kernelSize: 2 },
      { name: 'c2', type: 'Conv2d', outChannels: 8, kernelSize: 3, padding: 1 }, { name: 'r2', type: 'ReLU' },
      { name: 'p2', type: 'MaxPool2d', kernelSize: 2 },
      { name: 'skip', type: 'MaxPool2d', kernelSize: 4, inputs: ['c1'] },
      { name: 'sum', type: 'Add', inputs: ['p2', 'skip'] },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
    ];
    const e = engines[1], N = 3;
    const nets = [true, false].map((fuseReluBackward) => Sequential.fromConfig({ inputShape: [12, 12, 2], layers: graph },
      { seed: 5, engine: e, fuseReluBackward, shareActivations: true }));
    assert.deepEqual(fused(planFusions(nets[0].layers, nets[0].topology, { relu: true, reluBackward: true })),
      ['2 maxPool2dReluBackward', '5 maxPool2dReluBackward']);
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
