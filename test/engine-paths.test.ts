/**
 * The WebAssembly engine's special paths against the reference kernels, with sizes that are not
 * multiples of the tiles, and bitwise across 1, 2 and 3 threads:
 *   - convolutions of inputs with few channels (C ≤ 4: conv2dForwardDirect, conv2dFilterDirect);
 *   - backward-data with stride 1 in scatter form (and the forward-of-gy form it replaced);
 *   - backward-filter by image groups and column slices, its vector im2col packing;
 *   - forward and backward-filter tiles that read x in place where the windows lie inside it;
 *   - 2×2 stride-2 max-pool (ties, NaN, odd sizes, channels not a multiple of 4) and its gather
 *     backward, with the scatter fallback for an arg-max outside its window;
 *   - the optimizer updates (bitwise the reference loops);
 *   - the thread pool under calls that alternate between split and unsplit.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Conv2dGeometry, Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { assertClose, convGeometry } from './helpers.js';
import { THREADS, threadEngines } from './thread-engines.js';

const TOL = 2e-4;
const engines = threadEngines();

function tag(g: Conv2dGeometry): string {
  return `N${g.N} ${g.H}×${g.W}×${g.C}→${g.O} k${g.KH}×${g.KW} s${g.SH},${g.SW} p${g.PH},${g.PW} d${g.DH},${g.DW}`;
}

/** Seeded values written into an engine's memory (and returned as a heap copy for the reference). */
class Inputs {
  private rng: Rng;
  constructor(private readonly engine: WasmEngine, seed: number) {
    this.rng = new Rng(seed);
  }
  normal(n: number, kind: 'normal' | 'ties' | 'relu' = 'normal'): Float32Array {
    const a = this.engine.arena.floats(n);
    for (let i = 0; i < n; i++) {
      const v = this.rng.normal();
      a[i] = kind === 'normal' ? v : kind === 'ties' ? this.rng.int(3) - 1 : Math.max(0, v);
    }
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
 * Runs `body` on every engine with the same seeded inputs; the outputs must be bitwise equal across
 * thread counts (and some call must really have been split), and (when given) close to the
 * reference computed from heap copies of the inputs.
 */
function same(what: string, body: (k: Kernels, inp: Inputs) => Float32Array[],
  check?: (out: Float32Array[]) => void, split = true): void {
  const results = engines.map((engine) => {
    const mark = engine.arena.mark();
    try {
      const before = engine.kernels.splitCalls;
      const out = body(engine.kernels, new Inputs(engine, 31)).map((a) => Float32Array.from(a));
      if (engine.threads > 1 && split) {
        assert.ok(engine.kernels.splitCalls > before, `${what}: ${engine.threads} threads did not split`);
      }
      return out;
    } finally {
      engine.arena.release(mark);
    }
  });
  if (check) check(results[0].map((a) => Float32Array.from(a)));
  for (let t = 1; t < results.length; t++) {
    results[0].forEach((expected, i) => {
      const a = new Uint32Array(expected.buffer), b = new Uint32Array(results[t][i].buffer);
      const bad = a.findIndex((v, j) => v !== b[j]);
      assert.equal(bad, -1, `${what}: output ${i} differs at ${bad} between 1 and ${THREADS[t]} threads`);
    });
  }
}

/** Forward, backward-data and backward-filter of g on every engine, checked against the reference. */
function checkConv(g: Conv2dGeometry, ops: ('fwd' | 'bwdD' | 'bwdF')[] = ['fwd', 'bwdD', 'bwdF']): void {
  const { N, H, W, C, O, OH, OW, KH, KW } = g;
  const nx = N * H * W * C, nw = O * KH * KW * C, ny = N * OH * OW * O;
  for (const op of ops) {
    same(`conv ${op} ${tag(g)}`, (k, inp) => {
      const x = inp.normal(nx), w = inp.normal(nw), b = inp.normal(O), gy = inp.normal(ny);
      if (op === 'fwd') {
        const y = inp.normal(ny);
        k.conv2dForward(x, w, b, y, g);
        return [y, x, w, b];
      }
      if (op === 'bwdD') {
        const gx = inp.normal(nx);
        k.conv2dBackwardData(gy, w, gx, g);
        return [gx, gy, w];
      }
      const gw = inp.normal(nw), gb = inp.normal(O);
      const gw0 = Float32Array.from(gw), gb0 = Float32Array.from(gb);
      k.conv2dBackwardFilter(x, gy, gw, gb, g);
      return [gw, gb, x, gy, gw0, gb0];
    }, (out) => {
      if (op === 'fwd') {
        const [y, x, w, b] = out, y0 = new Float32Array(ny);
        ref.conv2dForward(x, w, b, y0, g);
        assertClose(y, y0, TOL, `forward ${tag(g)}`);
      } else if (op === 'bwdD') {
        const [gx, gy, w] = out, gx0 = new Float32Array(nx);
        ref.conv2dBackwardData(gy, w, gx0, g);
        assertClose(gx, gx0, TOL, `backward-data ${tag(g)}`);
      } else {
        const [gw, gb, x, gy, gw0, gb0] = out;
        ref.conv2dBackwardFilter(x, gy, gw0, gb0, g);
        assertClose(gw, gw0, TOL, `backward-filter ${tag(g)}`);
        assertClose(gb, gb0, TOL, `backward-filter bias ${tag(g)}`);
      }
    });
  }
}

describe('wasm engine: convolutions of inputs with few channels (direct paths)', () => {
  it('forward and backward-filter for C = 1..4, odd widths, any channel count', () => {
    const cases = [
      convGeometry(3, 28, 28, 1, 6, 5, 5, 1, 1, 2, 2), // LeNet's first layer
      convGeometry(3, 28, 28, 1, 32, 3, 3),
      convGeometry(2, 7, 9, 1, 1, 3, 3, 1, 1, 1, 1),
      convGeometry(3, 5, 13, 2, 2, 3, 2),
      convGeometry(2, 9, 7, 3, 5, 3, 3, 2, 1, 1, 1),   // stride 2 in height only
      convGeometry(3, 8, 11, 4, 9, 2, 3, 1, 1, 0, 2, 2, 1),
      convGeometry(2, 6, 26, 3, 7, 3, 3, 1, 1, 0, 0, 1, 2),
      convGeometry(3, 4, 3, 1, 3, 1, 1),
      convGeometry(2, 10, 10, 2, 4, 4, 4, 1, 1, 3, 3), // windows mostly in the padding
      convGeometry(3, 9, 9, 3, 6, 3, 3, 2, 2, 1, 1),   // stride 2: forward goes the general way, filter direct
    ];
    for (const g of cases) checkConv(g, ['fwd', 'bwdF']);
  });

  it('the check sees channels 4 and 5 of a 6-channel tile swapped (negative test)', () => {
    // O = 5 or 6 run as one tile of 6 lanes whose last two channels are stored as a pair: the
    // reference with those channels' weights swapped is what a wrong pair lane would give.
    const g = convGeometry(2, 28, 28, 1, 6, 5, 5, 1, 1, 2, 2);
    const engine = engines[0], mark = engine.arena.mark();
    try {
      const inp = new Inputs(engine, 11), T = g.KH * g.KW;
      const x = inp.normal(g.N * g.H * g.W), w = inp.normal(g.O * T), b = inp.normal(g.O), y = inp.zeros(g.N * g.OH * g.OW * g.O);
      engine.kernels.conv2dForward(x, w, b, y, g);
      const swapped = Float32Array.from(w);
      swapped.set(w.subarray(5 * T, 6 * T), 4 * T);
      swapped.set(w.subarray(4 * T, 5 * T), 5 * T);
      const good = new Float32Array(y.length), bad = new Float32Array(y.length);
      ref.conv2dForward(Float32Array.from(x), Float32Array.from(w), Float32Array.from(b), good, g);
      ref.conv2dForward(Float32Array.from(x), swapped, Float32Array.from(b), bad, g);
      assertClose(y, good, TOL, 'forward');
      assert.throws(() => assertClose(y, bad, TOL, 'forward, channels 4 and 5 swapped'), /scaled error/);
    } finally {
      engine.arena.release(mark);
    }
  });
});

describe('wasm engine: backward-data with stride 1 (scatter form)', () => {
  it('matches the reference for paddings, dilations in height, odd channel counts', () => {
    const cases = [
      convGeometry(3, 14, 14, 6, 16, 5, 5),             // LeNet's second layer
      convGeometry(2, 10, 10, 32, 64, 3, 3),
      convGeometry(3, 7, 9, 3, 5, 3, 3, 1, 1, 1, 1),
      convGeometry(2, 9, 8, 13, 7, 3, 2, 1, 1, 2, 1),
      convGeometry(3, 11, 10, 8, 9, 3, 3, 1, 1, 2, 1, 2, 1),
      convGeometry(2, 6, 7, 5, 3, 1, 1),
      convGeometry(3, 8, 8, 4, 6, 2, 1, 1, 1, 0, 0, 1, 3), // KW = 1 with a width dilation
      convGeometry(3, 3, 4, 12, 20, 5, 5, 1, 1, 3, 3),     // windows mostly in the padding (OW = 6: 2 units of paired images)
      convGeometry(3, 5, 5, 1, 1, 3, 3, 1, 1, 1, 1),
    ];
    for (const g of cases) checkConv(g, ['bwdD']);
  });

  it('the check sees window rows taken in the wrong order (negative test)', () => {
    // The kernel reads gy rows from a strip packed in reverse row order; a strip in forward order
    // would pair gy row oh with the weights of window row KH-1-kh: the reference with w's rows
    // flipped is that result, and the check must refuse it.
    const g = convGeometry(2, 14, 14, 6, 16, 5, 5);
    const engine = engines[0], mark = engine.arena.mark();
    try {
      const inp = new Inputs(engine, 9);
      const gy = inp.normal(g.N * g.OH * g.OW * g.O), w = inp.normal(g.O * g.KH * g.KW * g.C), gx = inp.zeros(g.N * g.H * g.W * g.C);
      engine.kernels.conv2dBackwardData(gy, w, gx, g);
      const rowFloats = g.KW * g.C, flipped = new Float32Array(w.length);
      for (let o = 0; o < g.O; o++) {
        for (let kh = 0; kh < g.KH; kh++) {
          flipped.set(w.subarray((o * g.KH + kh) * rowFloats, (o * g.KH + kh + 1) * rowFloats), (o * g.KH + g.KH - 1 - kh) * rowFloats);
        }
      }
      const good = new Float32Array(gx.length), bad = new Float32Array(gx.length);
      ref.conv2dBackwardData(Float32Array.from(gy), Float32Array.from(w), good, g);
      ref.conv2dBackwardData(Float32Array.from(gy), flipped, bad, g);
      assertClose(gx, good, TOL, 'backward-data');
      assert.throws(() => assertClose(gx, bad, TOL, 'backward-data, window rows flipped'), /scaled error/);
    } finally {
      engine.arena.release(mark);
    }
  });

  it('gives what the forward-of-gy form gives (within rounding)', () => {
    const g = convGeometry(3, 9, 11, 6, 10, 3, 3, 1, 1, 1, 1);
    const engine = engines[1], k = engine.kernels;
    const mark = engine.arena.mark();
    try {
      const inp = new Inputs(engine, 5);
      const gy = inp.normal(g.N * g.OH * g.OW * g.O), w = inp.normal(g.O * 9 * g.C);
      const a = inp.normal(g.N * g.H * g.W * g.C), b = inp.normal(a.length);
      k.conv2dBackwardData(gy, w, a, g);
      k.scatterBackwardData = false;
      k.conv2dBackwardData(gy, w, b, g);
      assertClose(a, b, TOL, 'scatter vs gather backward-data');
    } finally {
      engine.kernels.scatterBackwardData = true;
      engine.arena.release(mark);
    }
  });
});

describe('wasm engine: backward-filter by image groups and column slices', () => {
  it('matches the reference with many groups, few groups and many slices, padding and dilation', () => {
    const cases = [
      convGeometry(20, 6, 6, 6, 16, 5, 5, 1, 1, 2, 2),  // 10 groups of 2 images, padded rows, C % 4 != 0
      convGeometry(1, 9, 9, 64, 8, 3, 3, 1, 1, 1, 1),   // one group, several column slices
      convGeometry(3, 26, 26, 32, 64, 3, 3),            // NET-B's second layer, blocks of 256 pixels
      convGeometry(5, 11, 9, 7, 10, 3, 3, 2, 1, 1, 0, 1, 2),
      convGeometry(2, 12, 12, 8, 5, 3, 3, 1, 1, 0, 0, 2, 2),
      convGeometry(4, 5, 7, 5, 3, 2, 3, 1, 2, 1, 1),
    ];
    for (const g of cases) checkConv(g, ['bwdF']);
  });
});

describe('wasm engine: convolutions that read x in place (windows inside the input)', () => {
  it('forward and backward-filter: batch 1, C and O around 6 and 16, odd sizes, strides, padding, dilation', () => {
    const cases = [
      convGeometry(3, 14, 14, 6, 16, 5, 5),                // LeNet's second layer: every tile and block in place
      convGeometry(1, 14, 14, 6, 16, 5, 5),                // batch 1
      convGeometry(2, 9, 11, 5, 15, 3, 3, 1, 1, 1, 1),     // padding: edge tiles packed, the rest in place
      convGeometry(1, 11, 9, 7, 17, 5, 5, 1, 1, 2, 2),
      convGeometry(2, 13, 10, 6, 16, 3, 3, 2, 2),          // stride 2
      convGeometry(2, 12, 9, 7, 9, 3, 2, 1, 1, 0, 0, 2, 1),  // dilation in height
      convGeometry(2, 9, 10, 6, 8, 3, 3, 1, 1, 0, 0, 1, 2),  // dilation in width: packed
      convGeometry(3, 7, 5, 5, 17, 3, 1),                  // KW = 1: one run per window row
      convGeometry(2, 6, 9, 6, 15, 1, 4),                  // KH = 1
      convGeometry(1, 200, 5, 6, 5, 3, 3, 1, 1, 1, 0),     // padding in height only: inner pixel blocks in place
    ];
    for (const g of cases) checkConv(g, ['fwd', 'bwdF']);
    checkConv(convGeometry(1, 9, 9, 64, 8, 3, 3), ['bwdF']); // one image group, several column slices
  });

  /** Runs `op` on engines[0] and checks it against the reference with good inputs and not with `broken` ones. */
  function caught(g: Conv2dGeometry, op: 'fwd' | 'bwdF', broken: (x: Float32Array, w: Float32Array) => void): void {
    const engine = engines[0], mark = engine.arena.mark();
    try {
      const inp = new Inputs(engine, 17), { N, H, W, C, O, OH, OW, KH, KW } = g;
      const x = inp.normal(N * H * W * C), w = inp.normal(O * KH * KW * C), b = inp.normal(O), gy = inp.normal(N * OH * OW * O);
      const out = op === 'fwd' ? inp.zeros(N * OH * OW * O) : inp.zeros(O * KH * KW * C);
      if (op === 'fwd') engine.kernels.conv2dForward(x, w, b, out, g);
      else engine.kernels.conv2dBackwardFilter(x, gy, out, null, g);
      const run = (xs: Float32Array, ws: Float32Array) => {
        const r = new Float32Array(out.length);
        if (op === 'fwd') ref.conv2dForward(xs, ws, Float32Array.from(b), r, g);
        else ref.conv2dBackwardFilter(xs, Float32Array.from(gy), r, null, g);
        return r;
      };
      const xb = Float32Array.from(x), wb = Float32Array.from(w);
      broken(xb, wb);
      assertClose(out, run(Float32Array.from(x), Float32Array.from(w)), TOL, `${op} ${tag(g)}`);
      assert.throws(() => assertClose(out, run(xb, wb), TOL, `${op} ${tag(g)}, broken`), /scaled error/);
    } finally {
      engine.arena.release(mark);
    }
  }

  it('the check sees a window row read one input row too far (negative test)', () => {
    // A wrong row step between window rows would read window row kh at input row oh + kh + 1 for
    // kh > 0: the reference with x moved up one row beyond the first window row gives that.
    const g = convGeometry(2, 14, 14, 6, 16, 5, 5);
    const shift = (x: Float32Array) => {
      const row = g.W * g.C, img = g.H * row, copy = Float32Array.from(x);
      for (let n = 0; n < g.N; n++) {
        for (let h = 1; h < g.H - 1; h++) x.set(copy.subarray(n * img + (h + 1) * row, n * img + (h + 2) * row), n * img + h * row);
      }
    };
    caught(g, 'fwd', shift);
    caught(g, 'bwdF', shift);
  });

  it('the check sees the im2col columns read one channel off (negative test)', () => {
    // A wrong column offset into the window row (c4 + 1) pairs column j with x's value j + 1: the
    // reference with x's channels rotated by one within each pixel gives that.
    const g = convGeometry(2, 14, 14, 6, 16, 5, 5);
    const rotate = (x: Float32Array) => {
      for (let p = 0; p < x.length; p += g.C) x.set(Float32Array.from(x.subarray(p + 1, p + g.C)), p);
    };
    caught(g, 'bwdF', rotate);
    caught(g, 'fwd', rotate);
  });

  it('the check sees a paired tail taken from the wrong window row (negative test)', () => {
    // LeNet's window rows are 30 columns (L % 4 = 2): backward-filter sums the last two columns of rows
    // 0-1 and of rows 2-3 in one tile (tileGatherPair). A pair whose second half read its own row again
    // would give row kh + 1 the sums of row kh in columns 28-29; the same check must refuse that.
    const g = convGeometry(2, 14, 14, 6, 16, 5, 5), L = g.KW * g.C, J = g.KH * L;
    const engine = engines[0], mark = engine.arena.mark();
    try {
      const inp = new Inputs(engine, 23);
      const x = inp.normal(g.N * g.H * g.W * g.C), gy = inp.normal(g.N * g.OH * g.OW * g.O), gw = inp.zeros(g.O * J);
      engine.kernels.conv2dBackwardFilter(x, gy, gw, null, g);
      const expected = new Float32Array(gw.length);
      ref.conv2dBackwardFilter(Float32Array.from(x), Float32Array.from(gy), expected, null, g);
      assertClose(gw, expected, TOL, `bwdF ${tag(g)}`);
      const wrongPair = Float32Array.from(gw);
      for (let o = 0; o < g.O; o++) {
        for (const kh of [1, 3]) for (const j of [L - 2, L - 1]) wrongPair[o * J + kh * L + j] = gw[o * J + (kh - 1) * L + j];
      }
      assert.throws(() => assertClose(wrongPair, expected, TOL, `bwdF ${tag(g)}, wrong pair`), /scaled error/);
    } finally {
      engine.arena.release(mark);
    }
  });
});

describe('wasm engine: 2×2 stride-2 max-pool', () => {
  function pool(N: number, H: number, W: number, C: number): Pool2dGeometry {
    return { N, H, W, C, OH: Math.floor(H / 2), OW: Math.floor(W / 2), KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 };
  }

  it('forward (maxima, arg-max with the reference tie rule, NaN) and backward match the reference', () => {
    for (const g of [pool(3, 8, 8, 4), pool(2, 9, 7, 6), pool(3, 6, 10, 13), pool(2, 5, 5, 64), pool(2, 4, 6, 3)]) {
      const { N, H, W, C, OH, OW } = g;
      const nIn = N * H * W * C, nOut = N * OH * OW * C;
      for (const kind of ['normal', 'ties', 'relu'] as const) {
        for (const tieSeed of [-1, 777]) {
          same(`max-pool ${JSON.stringify(g)} ${kind} ${tieSeed}`, (k, inp) => {
            const x = inp.normal(nIn, kind);
            if (kind === 'normal') { x[3] = NaN; x[nIn - 1] = NaN; x[C] = NaN; }
            const y = inp.zeros(nOut), am = inp.ints(nOut), gy = inp.normal(nOut), gx = inp.normal(nIn);
            k.maxPool2dForward(x, y, am, g, tieSeed);
            k.maxPool2dBackward(gy, am, gx, g);
            return [y, new Float32Array(am.buffer, am.byteOffset, nOut), gx, x, gy];
          }, ([y, amf, gx, x, gy]) => {
            const y0 = new Float32Array(nOut), am0 = new Int32Array(nOut), gx0 = new Float32Array(nIn);
            ref.maxPool2dForward(x, y0, am0, g, tieSeed);
            assert.deepEqual(Array.from(y), Array.from(y0), `max-pool y ${kind} ${tieSeed}`);
            assert.deepEqual(Array.from(new Int32Array(amf.buffer)), Array.from(am0), `max-pool arg-max ${kind} ${tieSeed}`);
            ref.maxPool2dBackward(gy, am0, gx0, g);
            assertClose(gx, gx0, 1e-6, 'max-pool backward');
          });
        }
      }
    }
  });

  /** First output where y (by Object.is: -0 and +0 differ) or the arg-max differs from the reference's, or -1. */
  function poolMismatch(x: Float32Array, y: Float32Array, am: Int32Array, g: Pool2dGeometry, tieSeed: number): number {
    const n = g.N * g.OH * g.OW * g.C, y0 = new Float32Array(n), am0 = new Int32Array(n);
    ref.maxPool2dForward(x, y0, am0, g, tieSeed);
    for (let i = 0; i < n; i++) if (!Object.is(y[i], y0[i]) || am[i] !== am0[i]) return i;
    return -1;
  }

  // Every window of four taps drawn from these values, one window per (output column, channel).
  const TAP_VALUES = [-0, 0, 1, 0.5, NaN, Infinity, -Infinity];
  const PATTERNS = TAP_VALUES.length ** 4;
  const tapsOf = (p: number) => [0, 1, 2, 3].map((t) => TAP_VALUES[Math.floor(p / TAP_VALUES.length ** t) % TAP_VALUES.length]);

  /**
   * Batch 1, two rows of windows (so that threads split them), every pattern: C = 5 (a last partial
   * vector), 6 and 10 (vectors across two outputs), an odd number of windows in a row.
   */
  const patternPool = (C: number) => pool(1, 4, 2 * (Math.ceil(PATTERNS / (4 * C)) * 2 + 1), C);
  function patternInput(x: Float32Array, g: Pool2dGeometry): void {
    const { W, C, OH, OW } = g;
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          const [a, b, d, e] = tapsOf(((oh * OW + ow) * C + c) % PATTERNS);
          const i0 = (2 * oh * W + 2 * ow) * C + c;
          x[i0] = a; x[i0 + C] = b; x[i0 + W * C] = d; x[i0 + W * C + C] = e;
        }
      }
    }
  }

  it('forward takes the reference maximum and arg-max on every window of -0, +0, ties, NaN and ±∞, for any tie seed', () => {
    for (const [C, tieSeed] of [[5, -1], [5, 0], [5, 1], [5, 777], [5, 0x7fffffff], [6, -1], [6, 777], [10, 1]]) {
      const g = patternPool(C), nIn = g.H * g.W * g.C, n = g.OH * g.OW * g.C;
      same(`max-pool tie patterns, C ${C}, seed ${tieSeed}`, (k, inp) => {
        const x = inp.zeros(nIn), y = inp.zeros(n), am = inp.ints(n);
        patternInput(x, g);
        k.maxPool2dForward(x, y, am, g, tieSeed);
        return [y, new Float32Array(am.buffer, am.byteOffset, n), x];
      }, ([y, amf, x]) => {
        assert.equal(poolMismatch(x, y, new Int32Array(amf.buffer), g, tieSeed), -1, `seed ${tieSeed}`);
      });
    }
  });

  it('the tie-pattern check sees a wrong tie pick and a +0 for a -0 (negative test)', () => {
    const g = patternPool(6), n = g.OH * g.OW * g.C;
    const x = new Float32Array(g.H * g.W * g.C), y = new Float32Array(n), am = new Int32Array(n);
    patternInput(x, g);
    ref.maxPool2dForward(x, y, am, g, 777);
    assert.equal(poolMismatch(x, y, am, g, 777), -1);
    // Pattern 0: four -0 taps (all tied): another tap than the one drawn.
    const wrong = Int32Array.from(am);
    wrong[0] = wrong[0] === 0 ? g.C : 0;
    assert.equal(poolMismatch(x, y, wrong, g, 777), 0);
    const plusZero = Float32Array.from(y);
    plusZero[0] = 0;
    assert.equal(poolMismatch(x, plusZero, am, g, 777), 0);
  });

  it('backward scatters like the reference when an arg-max lies outside its window', () => {
    const g = pool(3, 6, 6, 8);
    const nIn = 3 * 6 * 6 * 8, nOut = 3 * 3 * 3 * 8;
    same('max-pool backward, foreign arg-max', (k, inp) => {
      const gy = inp.normal(nOut), gx = inp.normal(nIn), am = inp.ints(nOut);
      // Within each sample (an arg-max into another sample is not supported), and one -1.
      const rng = new Rng(3), per = nIn / 3;
      for (let i = 0; i < nOut; i++) am[i] = Math.floor(i / (nOut / 3)) * per + rng.int(per);
      am[5] = -1;
      k.maxPool2dBackward(gy, am, gx, g);
      return [gx, gy, new Float32Array(am.buffer, am.byteOffset, nOut)];
    }, ([gx, gy, amf]) => {
      const gx0 = new Float32Array(nIn);
      const am = new Int32Array(amf.buffer);
      gx0.fill(0);
      for (let i = 0; i < nOut; i++) if (am[i] >= 0 && am[i] < nIn) gx0[am[i]] += gy[i];
      assertClose(gx, gx0, 1e-6, 'foreign arg-max');
    });
  });
});

describe('wasm engine: optimizer updates', () => {
  const sizes = [1, 2, 3, 5, 1000, 4099, 20001];
  it('SGD (plain, momentum, dampening, Nesterov, weight decay) is bitwise the reference loop', () => {
    const variants: [number, number, number, boolean][] = [[0, 0, 0, false], [0.9, 0, 0, false], [0.9, 0.1, 1e-2, false],
      [0.8, 0, 5e-3, true]];
    for (const n of sizes) {
      for (const [momentum, dampening, wd, nesterov] of variants) {
        for (const first of [true, false]) {
          same(`sgd n${n} μ${momentum} τ${dampening} λ${wd} ${nesterov} ${first}`, (k, inp) => {
            const w = inp.normal(n), g = inp.normal(n), buf = momentum > 0 ? inp.normal(n) : null;
            const out = [Float32Array.from(w), Float32Array.from(g), buf ? Float32Array.from(buf) : new Float32Array(0)];
            k.sgdUpdate!(w, g, buf, n, 0.05, momentum, dampening, wd, nesterov, first);
            return [w, buf ?? new Float32Array(0), ...out];
          }, ([w, buf, w0, g0, b0]) => {
            ref.sgdUpdate!(w0, g0, momentum > 0 ? b0 : null, n, 0.05, momentum, dampening, wd, nesterov, first);
            assert.deepEqual(w, w0, `sgd w n${n}`);
            if (momentum > 0) assert.deepEqual(buf, b0, `sgd buffer n${n}`);
          }, n >= 4096);
        }
      }
    }
  });

  it('Adam, AdamW and AMSGrad are bitwise the reference loop', () => {
    const variants: [number, number, boolean][] = [[0, 1, false], [1e-2, 1, false], [0, 1 - 1e-3 * 1e-2, false], [0, 1, true]];
    for (const n of sizes) {
      for (const [l2, shrink, amsgrad] of variants) {
        for (const t of [1, 7]) {
          same(`adam n${n} l2 ${l2} shrink ${shrink} ams ${amsgrad} t${t}`, (k, inp) => {
            const w = inp.normal(n), g = inp.normal(n), m = inp.normal(n), v = inp.normal(n).map(Math.abs);
            const vMax = amsgrad ? inp.normal(n).map(Math.abs) : null;
            const vv = inp.zeros(n); vv.set(v);
            const vm = vMax ? inp.zeros(n) : null; if (vm && vMax) vm.set(vMax);
            const copies = [w, g, m, vv, vm ?? new Float32Array(0)].map((a) => Float32Array.from(a));
            k.adamUpdate!(w, g, m, vv, vm, n, 1e-3, 0.9, 0.999, 1e-8, l2, shrink, t);
            return [w, m, vv, vm ?? new Float32Array(0), ...copies];
          }, ([w, m, v, vm, w0, g0, m0, v0, vm0]) => {
            ref.adamUpdate!(w0, g0, m0, v0, amsgrad ? vm0 : null, n, 1e-3, 0.9, 0.999, 1e-8, l2, shrink, t);
            assert.deepEqual(w, w0, `adam w n${n}`);
            assert.deepEqual(m, m0, `adam m n${n}`);
            assert.deepEqual(v, v0, `adam v n${n}`);
            if (amsgrad) assert.deepEqual(vm, vm0, `adam vMax n${n}`);
          }, n >= 4096);
        }
      }
    }
  });

  it('arrays outside the engine memory go to the reference loop', () => {
    const k = engines[1].kernels;
    const w = new Float32Array([1, 2, 3]), g = new Float32Array([0.5, -1, 2]), w0 = Float32Array.from(w);
    k.sgdUpdate(w, g, null, 3, 0.1, 0, 0, 0, false, true);
    ref.sgdUpdate!(w0, g, null, 3, 0.1, 0, 0, 0, false, true);
    assert.deepEqual(w, w0);
  });
});

describe('wasm engine: the thread pool', () => {
  it('calls that alternate between split, unsplit and idle gaps all complete with the reference results', async () => {
    const engine = engines[2], k = engine.kernels;
    const mark = engine.arena.mark();
    try {
      const inp = new Inputs(engine, 11);
      const n = 5000, x = inp.normal(n), y = inp.zeros(n), y0 = new Float32Array(n);
      ref.activationForward('relu', x, y0, n, 0);
      for (let i = 0; i < 300; i++) {
        const m = i % 3 === 0 ? 7 : n; // a 7-element call stays on one thread
        y.fill(-1);
        k.activationForward('relu', x, y, m, 0);
        for (let j = 0; j < m; j++) assert.equal(y[j], y0[j]);
        if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5)); // let the workers fall asleep
      }
    } finally {
      engine.arena.release(mark);
    }
  });
});
