/**
 * A network's first convolution (few input channels) on the WebAssembly engine: the direct forward
 * by channel vectors (O a multiple of 8) and by pixel vectors (the 4×8 tile with a gathered b, and
 * the tiles of 6 and 2 channels) must give bitwise the float32 sums of
 * the taps in order (+ bias); backward-filter's
 * window-row path (KW = 5, O not a multiple of 8: vectors over a window row's taps) and the bias
 * gradient's column sums (sumRows with 1-3 columns past a multiple of 4) must give bitwise the
 * float32 sums, in their order, that the channel-vector loops gave before them, on 1, 2 and 3
 * threads; and match the reference on odd sizes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { assertClose, convGeometry } from './helpers.js';
import { THREADS, threadEngines } from './thread-engines.js';

const engines = threadEngines();
const f = Math.fround;

function tag(g: Conv2dGeometry): string {
  return `N${g.N} ${g.H}×${g.W}×${g.C}→${g.O} k${g.KH}×${g.KW} s${g.SH},${g.SW} p${g.PH},${g.PW} d${g.DH},${g.DW}`;
}

/**
 * gw and gb of the direct backward-filter (C ≤ 4) as float32 sums in the kernels' order: per image,
 * tap k < K - K mod 4 sums its pixels in order from zero; a later tap sums the even and the odd
 * pixels of each row apart and adds the two (filterDirect1); the images' sums are added in image
 * order, then to gw. gb: each column from its value, rows in order. With `naive`, every tap in
 * pixel order (an order the kernels do not use: the negative test's model).
 */
function directFilterModel(x: Float32Array, gy: Float32Array, gw: Float32Array, gb: Float32Array,
  g: Conv2dGeometry, naive = false): void {
  const { N, H, W, C, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW } = g;
  const K = KH * KW * C, single = naive ? K : K & ~3;
  const at = (n: number, ih: number, iw: number, c: number) =>
    ih >= 0 && ih < H && iw >= 0 && iw < W ? x[((n * H + ih) * W + iw) * C + c] : 0;
  for (let o = 0; o < O; o++) {
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        for (let c = 0; c < C; c++) {
          const k = (kh * KW + kw) * C + c;
          let s = 0;
          for (let n = 0; n < N; n++) {
            let a = 0, b = 0;
            for (let oh = 0; oh < OH; oh++) {
              for (let ow = 0; ow < OW; ow++) {
                const p = f(at(n, oh * SH - PH + kh * DH, ow * SW - PW + kw * DW, c) * gy[((n * OH + oh) * OW + ow) * O + o]);
                if (k < single || (ow & 1) === 0) a = f(a + p);
                else b = f(b + p);
              }
            }
            const image = k < single ? a : f(a + b);
            s = n === 0 ? image : f(s + image);
          }
          gw[o * K + k] = f(gw[o * K + k] + s);
        }
      }
    }
    let s = gb[o];
    for (let r = 0; r < N * OH * OW; r++) s = f(s + gy[r * O + o]);
    gb[o] = s;
  }
}

function normals(rng: Rng, a: Float32Array): Float32Array {
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  return a;
}

/**
 * `call` on every engine, given seeded normal arrays of these lengths in its arena (drawn in order);
 * the arrays it returns, copied out before the arena is released, per engine.
 */
function onEveryEngine(seed: number, lengths: number[],
  call: (engine: WasmEngine, a: Float32Array[]) => Float32Array[]): Float32Array[][] {
  return engines.map((engine) => {
    const mark = engine.arena.mark();
    try {
      const rng = new Rng(seed);
      return call(engine, lengths.map((n) => normals(rng, engine.arena.floats(n)))).map((v) => Float32Array.from(v));
    } finally {
      engine.arena.release(mark);
    }
  });
}

/** Backward-filter of g on every engine from the same seeded inputs: [gw, gb, x, gy, gw0, gb0] per engine. */
function backwardFilter(g: Conv2dGeometry, seed: number): Float32Array[][] {
  const { N, H, W, C, O, OH, OW, KH, KW } = g;
  return onEveryEngine(seed, [N * H * W * C, N * OH * OW * O, O * KH * KW * C, O], (engine, [x, gy, gw, gb]) => {
    const gw0 = Float32Array.from(gw), gb0 = Float32Array.from(gb);
    engine.kernels.conv2dBackwardFilter(x, gy, gw, gb, g);
    return [gw, gb, x, gy, gw0, gb0];
  });
}

function bitwiseEqual(a: Float32Array, b: Float32Array, what: string): void {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length), v = new Uint32Array(b.buffer, b.byteOffset, b.length);
  const bad = u.findIndex((bits, i) => bits !== v[i]);
  assert.equal(bad, -1, `${what}: differs at ${bad} (${a[bad]} against ${b[bad]})`);
}

const ROW_PATH = [
  convGeometry(2, 28, 28, 1, 6, 5, 5, 1, 1, 2, 2),       // LeNet's first layer
  convGeometry(1, 9, 11, 1, 7, 5, 5, 1, 1, 1, 1),        // batch 1, O = 7: an unpaired channel, a group of 6 and 1
  convGeometry(3, 7, 13, 1, 5, 5, 5),                    // no padding, O = 5
  convGeometry(2, 10, 9, 1, 5, 4, 5, 1, 2, 0, 2),        // KH = 4 (no row left over), stride 2 in width
  convGeometry(1, 12, 8, 1, 3, 9, 5, 2, 1, 4, 2),        // KH = 9: two groups of four rows and one left, stride 2 in height
  convGeometry(3, 4, 9, 1, 6, 1, 5, 1, 1, 0, 2),         // KH = 1: a row alone, column 4 by its single-tap loop
  convGeometry(2, 13, 9, 1, 6, 5, 5, 1, 1, 2, 2, 2, 1),  // dilation 2 in height
  convGeometry(2, 6, 7, 1, 1, 5, 5, 1, 1, 2, 2),         // one output channel
  convGeometry(1, 5, 5, 1, 13, 5, 5, 1, 1, 0, 0),        // one pixel; O = 13 (O8 = 16)
];
const OTHER_PATHS = [
  convGeometry(2, 10, 10, 1, 32, 3, 3),                  // NET-B's first layer: channel vectors
  convGeometry(2, 9, 9, 1, 8, 5, 5, 1, 1, 2, 2),         // O = 8: channel vectors waste no lane
  convGeometry(2, 8, 9, 1, 6, 2, 5, 1, 1, 1, 1),         // K mod 4 = 2: channel vectors
  convGeometry(2, 8, 9, 2, 6, 5, 5, 1, 1, 2, 2),         // two input channels
  // Channel vectors (filterDirect4: the 4×8 tile, rows 4 taps, b gy's rows O floats apart) on odd sizes:
  convGeometry(1, 9, 7, 1, 11, 3, 3, 2, 2, 1, 1),        // batch 1, O = 11, stride 2, padding, odd width
  convGeometry(3, 8, 11, 3, 13, 3, 2, 1, 2, 0, 1, 1, 2), // three channels, K = 18, O = 13, stride and dilation 2 in width
  convGeometry(1, 6, 5, 4, 16, 2, 2, 2, 1, 1, 0),        // four channels, K = 16 (no single tap), two groups of 8
  convGeometry(2, 3, 9, 1, 8, 3, 3),                     // one output row per image (a single run)
  convGeometry(1, 1, 1, 1, 3, 1, 1),                     // one pixel, one tap (filterDirect1 alone)
];

describe('wasm engine: first-layer backward-filter (one input channel)', () => {
  it('the window-row and channel-vector paths match the reference on odd sizes, on 1, 2 and 3 threads bitwise', () => {
    for (const g of [...ROW_PATH, ...OTHER_PATHS]) {
      const runs = backwardFilter(g, 3);
      const [gw, gb, x, gy, gw0, gb0] = runs[0];
      ref.conv2dBackwardFilter(x, gy, gw0, gb0, g);
      assertClose(gw, gw0, 2e-4, `backward-filter ${tag(g)}`);
      assertClose(gb, gb0, 2e-4, `backward-filter bias ${tag(g)}`);
      for (let t = 1; t < runs.length; t++) {
        bitwiseEqual(runs[t][0], gw, `gw ${tag(g)}, 1 and ${THREADS[t]} threads`);
        bitwiseEqual(runs[t][1], gb, `gb ${tag(g)}, 1 and ${THREADS[t]} threads`);
      }
    }
  });

  it('gives bitwise the float32 sums of the channel-vector loops, in their order (both paths, every thread count)', () => {
    for (const g of [...ROW_PATH, ...OTHER_PATHS]) {
      for (const [t, [gw, gb, x, gy, gw0, gb0]] of backwardFilter(g, 5).entries()) {
        directFilterModel(x, gy, gw0, gb0, g);
        bitwiseEqual(gw, gw0, `gw ${tag(g)}, ${THREADS[t]} threads`);
        bitwiseEqual(gb, gb0, `gb ${tag(g)}, ${THREADS[t]} threads`);
      }
    }
  });

  it('the bitwise check sees a sum in another order, and the reference check a swapped pair of taps (negative tests)', () => {
    const g = ROW_PATH[0], K = g.KH * g.KW;
    const [gw, , x, gy, gw0, gb0] = backwardFilter(g, 7)[0];
    // Tap 24 (K mod 4 = 1) summed straight through instead of even and odd pixels apart.
    const naive = Float32Array.from(gw0);
    directFilterModel(x, gy, naive, Float32Array.from(gb0), g, true);
    assert.throws(() => bitwiseEqual(gw, naive, 'gw against every tap in pixel order'), /differs at/);
    // A window-row vector whose lanes 0 and 1 went to each other's taps.
    const good = Float32Array.from(gw0), swapped = new Float32Array(good.length);
    ref.conv2dBackwardFilter(x, gy, good, Float32Array.from(gb0), g);
    swapped.set(good);
    for (let o = 0; o < g.O; o++) {
      for (let kh = 0; kh < g.KH; kh++) {
        swapped[o * K + kh * g.KW] = good[o * K + kh * g.KW + 1];
        swapped[o * K + kh * g.KW + 1] = good[o * K + kh * g.KW];
      }
    }
    assertClose(gw, good, 2e-4, 'backward-filter');
    assert.throws(() => assertClose(gw, swapped, 2e-4, 'backward-filter, taps 0 and 1 swapped'), /scaled error/);
  });
});

describe('wasm engine: bias gradient column sums', () => {
  it('every column (blocks of 32, 16, 4 and the last 1-3) is summed in row order from its value, bitwise, on every thread count', () => {
    for (const C of [1, 2, 3, 5, 6, 7, 9, 17, 19, 32, 35, 50]) {
      const R = 37;
      const results = engines.map((engine) => {
        const mark = engine.arena.mark();
        try {
          const rng = new Rng(C), a = engine.arena;
          const rows = normals(rng, a.floats(R * C)), gb = normals(rng, a.floats(C));
          const host = Float32Array.from(gb);
          // Dense's backward writes gb by the same column sums (gw and gx beside it).
          const x = normals(rng, a.floats(R)), w = normals(rng, a.floats(C)), gx = a.floats(R), gw = a.floats(C);
          engine.kernels.denseBackward(x, w, rows, gx, gw, gb, R, 1, C);
          return [Float32Array.from(gb), host, Float32Array.from(rows)];
        } finally {
          engine.arena.release(mark);
        }
      });
      for (const [t, [gb, start, rows]] of results.entries()) {
        const want = Float32Array.from(start);
        for (let c = 0; c < C; c++) for (let r = 0; r < R; r++) want[c] = f(want[c] + rows[r * C + c]);
        bitwiseEqual(gb, want, `column sums of ${C} columns, ${THREADS[t]} threads`);
        // Negative: the rows taken last to first give other bits somewhere.
        const reversed = Float32Array.from(start);
        for (let c = 0; c < C; c++) for (let r = R - 1; r >= 0; r--) reversed[c] = f(reversed[c] + rows[r * C + c]);
        if (t === 0 && C === 19) assert.throws(() => bitwiseEqual(gb, reversed, 'rows reversed'), /differs at/);
      }
    }
  });
});

/**
 * The direct forward (C ≤ 4, SW = 1) as float32 sums: each output from zero over the taps in
 * weight order (padding taps included, as zeros), then + bias. With `reversed`, the taps last to
 * first (the negative test's model).
 */
function directForwardModel(x: Float32Array, w: Float32Array, b: Float32Array, g: Conv2dGeometry, reversed = false): Float32Array {
  const { N, H, W, C, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW } = g;
  const K = KH * KW * C, y = new Float32Array(N * OH * OW * O);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let o = 0; o < O; o++) {
          let s = 0;
          for (let i = 0; i < K; i++) {
            const k = reversed ? K - 1 - i : i, c = k % C, kw = Math.floor(k / C) % KW, kh = Math.floor(k / (C * KW));
            const ih = oh * SH - PH + kh * DH, iw = ow * SW - PW + kw * DW;
            const v = ih >= 0 && ih < H && iw >= 0 && iw < W ? x[((n * H + ih) * W + iw) * C + c] : 0;
            s = f(s + f(v * w[o * K + k]));
          }
          y[((n * OH + oh) * OW + ow) * O + o] = f(s + b[o]);
        }
      }
    }
  }
  return y;
}

/** Forward (with a fused ReLU output) of g on every engine from the same seeded inputs: [y, relu, x, w, b] per engine. */
function forward(g: Conv2dGeometry, seed: number): Float32Array[][] {
  const { N, H, W, C, O, OH, OW, KH, KW } = g;
  const out = N * OH * OW * O;
  return onEveryEngine(seed, [N * H * W * C, O * KH * KW * C, O, out, out], (engine, [x, w, b, y, relu]) => {
    engine.kernels.conv2dForward(x, w, b, y, g, relu);
    return [y, relu, x, w, b];
  });
}

const FORWARDS = [
  convGeometry(2, 28, 28, 1, 32, 3, 3),                  // NET-B's first layer: channel vectors
  convGeometry(1, 9, 11, 1, 8, 3, 3, 1, 1, 1, 1),        // batch 1, OW = 11 (3 pixels in the last tile)
  convGeometry(3, 7, 10, 2, 16, 3, 2, 1, 1, 0, 1),       // two channels, OW = 11, KW = 2
  convGeometry(2, 6, 9, 3, 24, 3, 3, 2, 1, 1, 0, 1, 2),  // three channels, stride 2 in height, dilation 2 in width
  convGeometry(2, 8, 5, 4, 8, 5, 5, 1, 1, 2, 2),         // four channels, OW = 5
  convGeometry(1, 1, 1, 1, 8, 1, 1),                     // one pixel
  convGeometry(2, 28, 28, 1, 6, 5, 5, 1, 1, 2, 2),       // LeNet's first layer: pixel vectors (6-channel tile)
  convGeometry(2, 9, 13, 1, 7, 3, 3, 1, 1, 1, 1),        // pixel vectors, O = 7
  // The 4×8 tile by pixels (directTile: groups of 4 channels, then 3; 8 pixels, then the rest).
  convGeometry(1, 6, 9, 3, 11, 3, 3, 1, 1, 1, 1),        // batch 1, three channels, OW = 9 (a tile of 1 pixel), O = 11
  convGeometry(1, 5, 12, 1, 3, 5, 5, 1, 1, 2, 2),        // batch 1, O = 3 (one group of 3), OW = 12 (8 + 4)
  convGeometry(3, 4, 7, 4, 4, 3, 2, 1, 1, 2, 0, 1, 3),   // four channels, O = 4, OW = 4 (one short tile), dilation 3 in width
];
/** FORWARDS' first case on directTile (the 4×8 tile, its b gathered through the tap offsets). */
const DIRECT_TILE = FORWARDS.length - 3;

describe('wasm engine: first-layer forward (few input channels)', () => {
  it('gives bitwise the float32 sums of its taps in order (+ bias), its ReLU the reference\'s, on 1, 2 and 3 threads', () => {
    for (const g of FORWARDS) {
      for (const [t, [y, relu, x, w, b]] of forward(g, 9).entries()) {
        bitwiseEqual(y, directForwardModel(x, w, b, g), `forward ${tag(g)}, ${THREADS[t]} threads`);
        const y0 = new Float32Array(y.length), r0 = new Float32Array(y.length);
        ref.conv2dForward(x, w, b, y0, g, r0);
        assertClose(y, y0, 2e-4, `forward ${tag(g)}`);
        assertClose(relu, r0, 2e-4, `forward ReLU ${tag(g)}`);
      }
    }
  });

  it('the bitwise check sees the taps summed in another order, the reference check a pixel shifted (negative tests)', () => {
    const g = FORWARDS[1];
    const [y, , x, w, b] = forward(g, 4)[0];
    assert.throws(() => bitwiseEqual(y, directForwardModel(x, w, b, g, true), 'taps reversed'), /differs at/);
    // Pixel 1 of a tile given pixel 0's sums: what a wrong splat offset would store.
    const good = new Float32Array(y.length);
    ref.conv2dForward(x, w, b, good, g);
    const shifted = Float32Array.from(good);
    shifted.copyWithin(g.O, 0, g.O);
    assert.throws(() => assertClose(y, shifted, 2e-4, 'forward, pixel 1 given pixel 0'), /scaled error/);
  });

  it('directTile\'s checks see the taps reversed, a channel given its neighbour\'s weights and pixels 4-7 given 0-3\'s inputs (negative tests)', () => {
    const g = FORWARDS[DIRECT_TILE], { O, OW } = g;
    const [y, , x, w, b] = forward(g, 6)[0];
    assert.throws(() => bitwiseEqual(y, directForwardModel(x, w, b, g, true), 'taps reversed'), /differs at/);
    const good = new Float32Array(y.length);
    ref.conv2dForward(x, w, b, good, g);
    assertClose(y, good, 2e-4, 'forward');
    // A tile row (channel) reading the panel at the wrong offset: channel 1 with channel 0's weights.
    const wrongRow = Float32Array.from(good);
    for (let p = 0; p < y.length / O; p++) wrongRow[p * O + 1] = good[p * O] - b[0] + b[1];
    assert.throws(() => assertClose(y, wrongRow, 2e-4, 'forward, channel 1 given channel 0'), /scaled error/);
    // The gathered b's second vector read without its 16-byte offset: pixels 4-7 of a tile get 0-3's sums.
    const wrongLanes = Float32Array.from(good);
    for (let row = 0; row < y.length / (OW * O); row++) {
      for (let p = 4; p < Math.min(8, OW); p++) {
        for (let o = 0; o < O; o++) wrongLanes[(row * OW + p) * O + o] = good[(row * OW + p - 4) * O + o];
      }
    }
    assert.throws(() => assertClose(y, wrongLanes, 2e-4, 'forward, pixels 4-7 given 0-3'), /scaled error/);
  });
});
