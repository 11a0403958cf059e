/**
 * Determinism of the WebAssembly engine: the same inputs give bitwise identical outputs on 1, 2
 * and 3 threads, for every kernel that splits its work (shapes are chosen large enough, and
 * minPartNs: 0 makes every call split as far as it goes; one test uses the default policy), and a
 * whole training run with one seed ends with bitwise the same weights on every thread count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import { Sequential } from '../src/network/sequential.js';
import { fit } from '../src/train/trainer.js';
import { squareConv } from './helpers.js';
import { patches } from './synthetic.js';
import { THREADS, threadEngines } from './thread-engines.js';

const engines = threadEngines();

/** Per engine: fills arrays with the same seeded values. */
class Inputs {
  private rng: Rng;
  constructor(private readonly engine: WasmEngine, seed: number) {
    this.rng = new Rng(seed);
  }
  normal(n: number): Float32Array {
    const a = this.engine.arena.floats(n);
    for (let i = 0; i < n; i++) a[i] = this.rng.normal();
    return a;
  }
  zeros(n: number): Float32Array {
    return this.engine.arena.floats(n);
  }
  ints(n: number): Int32Array {
    return this.engine.arena.ints(n);
  }
}

/**
 * Runs `body` on every engine with identical inputs; the outputs it returns must be bitwise equal
 * across thread counts, and the multi-threaded engines must really have split the last call.
 */
function same(what: string, body: (k: Kernels, inp: Inputs) => Float32Array[]): void {
  const results = engines.map((engine) => {
    const mark = engine.arena.mark();
    const out = body(engine.kernels, new Inputs(engine, 99)).map((a) => new Uint32Array(Float32Array.from(a).buffer));
    if (engine.threads > 1) assert.ok(engine.kernels.lastParts > 1, `${what}: ${engine.threads} threads did not split`);
    engine.arena.release(mark);
    return out;
  });
  for (let t = 1; t < results.length; t++) {
    results[0].forEach((expected, i) => {
      const got = results[t][i];
      const bad = expected.findIndex((v, j) => v !== got[j]);
      assert.equal(bad, -1, `${what}: output ${i} differs at ${bad} between 1 and ${THREADS[t]} threads`);
    });
  }
}

const CONVS = [squareConv(2, 15, 13, 12, 20, 3, 1, 1), squareConv(3, 11, 12, 7, 9, 3, 2, 1, 2), squareConv(2, 17, 17, 5, 13, 5, 1, 2)];

describe('wasm engine: bitwise identical results on 1, 2 and 3 threads', () => {
  it('matmul, all transpositions', () => {
    for (const [M, N, K] of [[67, 45, 300], [5, 190, 70], [130, 9, 260]]) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          same(`matmul ${M}×${N}×${K} ${tA} ${tB}`, (k, inp) => {
            const a = inp.normal(M * K), b = inp.normal(K * N), c = inp.normal(M * N);
            k.matmul(a, b, c, M, N, K, tA, tB, true);
            return [c];
          });
        }
      }
    }
  });

  it('dense forward and backward', () => {
    const [N, I, O] = [48, 300, 70];
    same('dense forward', (k, inp) => {
      const x = inp.normal(N * I), w = inp.normal(O * I), b = inp.normal(O), y = inp.zeros(N * O);
      k.denseForward(x, w, b, y, N, I, O);
      return [y];
    });
    same('dense backward', (k, inp) => {
      const x = inp.normal(N * I), w = inp.normal(O * I), gy = inp.normal(N * O);
      const gx = inp.zeros(N * I), gw = inp.normal(O * I), gb = inp.normal(O);
      k.denseBackward(x, w, gy, gx, gw, null, N, I, O);
      k.denseBackward(x, w, gy, gx, gw, gb, N, I, O);
      return [gx, gw, gb];
    });
  });

  it('convolution forward, backward-data and backward-filter', () => {
    for (const g of CONVS) {
      const { N, H, W, C, O, OH, OW, KH, KW } = g;
      const tag = `${N}×${H}×${W}×${C}→${O} k${KH} s${g.SH} p${g.PH} d${g.DH}`;
      same(`conv forward ${tag}`, (k, inp) => {
        const x = inp.normal(N * H * W * C), w = inp.normal(O * KH * KW * C), b = inp.normal(O);
        const y = inp.zeros(N * OH * OW * O);
        k.conv2dForward(x, w, b, y, g);
        return [y];
      });
      same(`conv backward-data ${tag}`, (k, inp) => {
        const gy = inp.normal(N * OH * OW * O), w = inp.normal(O * KH * KW * C), gx = inp.zeros(N * H * W * C);
        k.conv2dBackwardData(gy, w, gx, g);
        return [gx];
      });
      same(`conv backward-filter ${tag}`, (k, inp) => {
        const x = inp.normal(N * H * W * C), gy = inp.normal(N * OH * OW * O);
        const gw = inp.normal(O * KH * KW * C), gb = inp.normal(O);
        k.conv2dBackwardFilter(x, gy, gw, gb, g);
        return [gw, gb];
      });
    }
  });

  it('a conv layer with more than one block of 256 pixels', () => {
    const g = squareConv(4, 14, 14, 16, 24, 3, 1, 1);
    const { N, H, W, C, O, OH, OW, KH, KW } = g;
    same('conv backward-filter, large', (k, inp) => {
      const x = inp.normal(N * H * W * C), gy = inp.normal(N * OH * OW * O);
      const gw = inp.zeros(O * KH * KW * C);
      k.conv2dBackwardFilter(x, gy, gw, null, g);
      return [gw];
    });
  });

  it('pooling, activations, soft-max and bias gradients', () => {
    const g: Pool2dGeometry = { N: 4, H: 12, W: 12, C: 9, OH: 6, OW: 6, KH: 3, KW: 3, SH: 2, SW: 2, PH: 1, PW: 1 };
    const nIn = 4 * 12 * 12 * 9, nOut = 4 * 6 * 6 * 9;
    same('max-pool', (k, inp) => {
      const x = inp.normal(nIn), y = inp.zeros(nOut), gx = inp.zeros(nIn), gy = inp.normal(nOut);
      const am = inp.ints(nOut);
      k.maxPool2dForward(x, y, am, g, 7);
      k.maxPool2dBackward(gy, am, gx, g);
      return [y, gx];
    });
    same('avg-pool', (k, inp) => {
      const x = inp.normal(nIn), y = inp.zeros(nOut), gx = inp.zeros(nIn), gy = inp.normal(nOut);
      k.avgPool2dForward(x, y, g);
      k.avgPool2dBackward(gy, gx, g);
      return [y, gx];
    });
    same('activations', (k, inp) => {
      const n = 5003, x = inp.normal(n), y = inp.zeros(n), gy = inp.normal(n), gx = inp.zeros(n);
      k.activationForward('tanh', x, y, n, 0);
      k.activationBackward('softplus', x, y, gy, gx, n, 0);
      return [y, gx];
    });
    same('soft-max cross-entropy', (k, inp) => {
      const N = 40, E = 10, z = inp.normal(N * E), p = inp.zeros(N * E), gz = inp.zeros(N * E);
      const labels = Int32Array.from({ length: N }, (_, i) => (i * 7) % E);
      const risk = k.softmaxCrossEntropy(z, { labels }, p, gz, N, E);
      return [p, gz, Float32Array.of(risk)];
    });
    same('batch norm', (k, inp) => {
      const R = 300, C = 37, x = inp.normal(R * C), gamma = inp.normal(C), beta = inp.normal(C);
      const rm = inp.normal(C), rv = inp.zeros(C).fill(1), sm = inp.zeros(C), si = inp.zeros(C);
      const y = inp.zeros(R * C), gy = inp.normal(R * C), gx = inp.zeros(R * C), gg = inp.zeros(C), gb = inp.zeros(C);
      k.batchNormForward(x, gamma, beta, y, R, C, true, 1e-5, 0.1, rm, rv, sm, si);
      k.batchNormBackward(x, gamma, gy, gx, gg, gb, R, C, true, sm, si);
      return [y, rm, rv, sm, si, gx, gg, gb];
    });
    same('sumRows', (k, inp) => {
      const R = 300, C = 37, gy = inp.normal(R * C), gb = inp.normal(C);
      k.sumRows(gy, gb, R, C);
      return [gb];
    });
  });

  it('with the default split policy, a large matmul is split and still identical', async () => {
    const defaults = await Promise.all([1, 2].map((threads) => createWasmEngine({ threads })));
    try {
      const [M, N, K] = [256, 256, 512];
      const outs = defaults.map((engine) => {
        const inp = new Inputs(engine, 3);
        const a = inp.normal(M * K), b = inp.normal(K * N), c = inp.zeros(M * N);
        engine.kernels.matmul(a, b, c, M, N, K, false, false, false);
        return { c: new Uint32Array(Float32Array.from(c).buffer), parts: engine.kernels.lastParts };
      });
      assert.equal(outs[0].parts, 1);
      assert.equal(outs[1].parts, 2);
      assert.deepEqual(outs[0].c, outs[1].c);
      // A small call stays on one thread.
      const engine = defaults[1], inp = new Inputs(engine, 4);
      engine.kernels.matmul(inp.normal(64), inp.normal(64), inp.zeros(64), 8, 8, 8, false, false, false);
      assert.equal(engine.kernels.lastParts, 1);
    } finally {
      await Promise.all(defaults.map((e) => e.dispose()));
    }
  });

  it('with the default split policy, a small dense layer\'s products (NET-A\'s 120→84) split, bitwise as on one thread', async () => {
    const defaults = await Promise.all([1, 2].map((threads) => createWasmEngine({ threads })));
    try {
      /** The three products of a dense I→O layer on a batch of 64 (y with bias and ReLU, gx, gw), each with the parts it ran on. */
      const dense = (engine: WasmEngine, I: number, O: number) => {
        const inp = new Inputs(engine, 5), N = 64, out: { parts: number; bits: Uint32Array[] }[] = [];
        const x = inp.normal(N * I), w = inp.normal(O * I), b = inp.normal(O), y = inp.zeros(N * O), r = inp.zeros(N * O);
        const gy = inp.normal(N * O), gx = inp.zeros(N * I), gw = inp.zeros(O * I);
        const bits = (...a: Float32Array[]) => a.map((v) => new Uint32Array(Float32Array.from(v).buffer));
        const calls = [
          () => { engine.kernels.denseForward(x, w, b, y, N, I, O, r); return bits(y, r); },
          () => { engine.kernels.matmul(gy, w, gx, N, I, O, false, false, false); return bits(gx); },
          () => { engine.kernels.denseBackward(x, w, gy, null, gw, null, N, I, O, true); return bits(gw); },
        ];
        for (const call of calls) out.push({ bits: call(), parts: engine.kernels.lastParts });
        return out;
      };
      const [one, two] = defaults.map((engine) => dense(engine, 120, 84));
      two.forEach((call, i) => {
        assert.equal(one[i].parts, 1);
        assert.equal(call.parts, 2, `call ${i} of dense 120→84 stayed on one thread`);
        assert.deepEqual(call.bits, one[i].bits);
      });
      for (const call of dense(defaults[1], 84, 10)) assert.equal(call.parts, 1, 'dense 84→10 was split');
    } finally {
      await Promise.all(defaults.map((e) => e.dispose()));
    }
  });

  it('the same seed trains to bitwise identical weights on 1, 2 and 3 threads', async () => {
    // Every layer kind whose kernels split, dropout and max-pool ties drawn from the seed, Adam.
    const layers = [
      { type: 'Conv2d', outChannels: 6, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
      { type: 'Conv2d', outChannels: 12, kernelSize: 3 }, { type: 'BatchNorm2d' }, { type: 'ReLU' }, { type: 'Flatten' },
      { type: 'Dropout', p: 0.2 }, { type: 'Dense', outFeatures: 16 }, { type: 'ReLU' }, { type: 'Dense', outFeatures: 4 },
      { type: 'Softmax' },
    ];
    const data = patches(96, 21, 4, 16);
    const runs = [];
    for (const engine of engines) {
      const net = Sequential.fromConfig({ inputShape: [16, 16, 1], layers }, { seed: 12, arena: engine.arena, kernels: engine.kernels });
      const split = engine.kernels.splitCalls;
      const history = await fit(net, data, { epochs: 2, batchSize: 32, optimizer: { kind: 'adam', lr: 0.01 }, augment: { shift: 1 } });
      if (engine.threads > 1) assert.ok(engine.kernels.splitCalls - split > 100, `${engine.threads} threads split too few calls`);
      runs.push({ w: new Uint32Array(net.getWeights().buffer), buffers: new Uint32Array(net.getBuffers().buffer), losses: history.stepLosses });
    }
    for (let t = 1; t < runs.length; t++) {
      assert.deepEqual(runs[t].losses, runs[0].losses, `loss curve on ${THREADS[t]} threads`);
      assert.deepEqual(runs[t].w, runs[0].w, `w on ${THREADS[t]} threads`);
      assert.deepEqual(runs[t].buffers, runs[0].buffers, `running statistics on ${THREADS[t]} threads`);
    }
  });
});
