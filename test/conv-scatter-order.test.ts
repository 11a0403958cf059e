/**
 * The WebAssembly backward-data's scatter form (stride 1), bit for bit: every gx value is a fixed
 * chain of float32 operations, whatever the thread count. For 4 (or 2) adjacent gy pixels of a
 * row (a strip) and a gx row ih, each window row kh reaching ih gives t_kh = Σ_o gy·w (o
 * increasing, from +0) for every position q < KW·C of the pixel's window row. Where the strip's
 * windows lie inside the row, Z_r = ((t_k0 + t_k1) + ...) (kh increasing) for each pixel r, then
 * S = ((Z_0 + Z_1) + Z_2) + Z_3 at each gx position (a pixel whose window misses it adds 0), and
 * gx += S; elsewhere each t_kh is added to gx as it comes, column blocks of 8 positions, then kh,
 * then pixels. gx starts at +0, strips follow in ow order. (The engine's runs start from their
 * first product rather than +0; gx, which adds a zero sum as +0, cannot tell.) A float32 model of that chain
 * (Math.fround after each operation) must give the engine's bits; a kernel that sums its window
 * rows in one chain (fewer stores, larger error) is caught (last test).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import { convGeometry, randomFloats } from './helpers.js';
import { THREADS, threadEngines } from './thread-engines.js';

const engines = threadEngines();
const f = Math.fround;

/** How the model sums a window row's products: as the engine does, or all rows of a pixel in one chain (the negative test). */
type Rows = 'separate' | 'chained';

/** The chain the header describes, for stride 1 and no width dilation (the scatter form's geometry). */
function scatterChain(gy: Float32Array, w: Float32Array, g: Conv2dGeometry, rows: Rows = 'separate'): Float32Array {
  const { N, H, W, C, O, OH, OW, KH, KW, PH, PW, DH } = g;
  const L = KW * C, JB = Math.ceil(L / 8), gx = new Float32Array(N * H * W * C);
  /** Σ_o gy[n, oh, ow, o]·w[o, kh, q], o increasing, continuing from s. */
  const dot = (s: number, n: number, oh: number, ow: number, kh: number, q: number) => {
    for (let o = 0; o < O; o++) s = f(s + f(gy[((n * OH + oh) * OW + ow) * O + o] * w[(o * KH + kh) * L + q]));
    return s;
  };
  // Strips of 4 pixels; rows of OW = 4m + 2 end in a strip of 2 (which the engine pairs with the next image's).
  const full = (OW & 3) === 2 ? OW - 2 : OW, strips: [number, number][] = [];
  for (let ow0 = 0; ow0 < full; ow0 += 4) strips.push([ow0, Math.min(4, full - ow0)]);
  if (full < OW) strips.push([full, 2]);
  for (let n = 0; n < N; n++) {
    for (const [ow0, np] of strips) {
      const s0 = (ow0 - PW) * C, inside = ow0 - PW >= 0 && ow0 + np - 1 - PW + KW <= W;
      for (let ih = 0; ih < H; ih++) {
        const khs: number[] = [];
        for (let kh = 0; kh < KH; kh++) if (ih + PH - kh * DH >= 0 && ih + PH - kh * DH < OH) khs.push(kh);
        const row = (n * H + ih) * W * C;
        const z = (r: number, q: number) => {
          if (q < 0 || q >= L) return 0;
          let s = 0;
          khs.forEach((kh, i) => {
            const t = dot(rows === 'chained' ? s : 0, n, ih + PH - kh * DH, ow0 + r, kh, q);
            s = rows === 'chained' || i === 0 ? t : f(s + t);
          });
          return s;
        };
        if (khs.length === 0) continue;
        if (inside) {
          for (let t = 0; t < (np - 1) * C + L; t++) {
            let s = z(0, t);
            for (let r = 1; r < np; r++) s = f(s + z(r, t - r * C));
            gx[row + s0 + t] = f(gx[row + s0 + t] + s);
          }
          continue;
        }
        for (let jb = 0; jb < JB; jb++) {
          for (const kh of khs) {
            for (let r = 0; r < np; r++) {
              for (let q = jb * 8; q < Math.min(L, jb * 8 + 8); q++) {
                const at = s0 + r * C + q;
                if (at >= 0 && at < W * C) gx[row + at] = f(gx[row + at] + dot(0, n, ih + PH - kh * DH, ow0 + r, kh, q));
              }
            }
          }
        }
      }
    }
  }
  return gx;
}

/** Index of the first element whose bits differ, or -1. */
function firstDifference(got: Float32Array, want: Float32Array): number {
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length), b = new Uint32Array(want.buffer, want.byteOffset, want.length);
  return a.findIndex((v, i) => v !== b[i]);
}

/** gx of the engine on `threads` threads for seeded gy and w (gx filled with noise first: the kernel must overwrite it). */
function engineGx(index: number, g: Conv2dGeometry, seed: number): { gx: Float32Array; gy: Float32Array; w: Float32Array } {
  const engine = engines[index], mark = engine.arena.mark(), was = engine.kernels.convAlgorithm;
  try {
    const take = (src: ArrayLike<number>) => { const t = engine.arena.floats(src.length); t.set(src); return t; };
    const gy = take(randomFloats(g.N * g.OH * g.OW * g.O, seed)), w = take(randomFloats(g.O * g.KH * g.KW * g.C, seed + 1));
    for (let i = 0; i < gy.length; i += 7) gy[i] = 0; // a ReLU's zeros
    const gx = take(randomFloats(g.N * g.H * g.W * g.C, seed + 2));
    engine.kernels.convAlgorithm = 'direct'; // 3×3 layers would otherwise go Winograd's way
    engine.kernels.conv2dBackwardData(gy, w, gx, g);
    return { gx: Float32Array.from(gx), gy: Float32Array.from(gy), w: Float32Array.from(w) };
  } finally {
    engine.kernels.convAlgorithm = was;
    engine.arena.release(mark);
  }
}

const CASES = [
  convGeometry(3, 14, 14, 6, 16, 5, 5),              // NET-A's second layer (OW = 10: pairs of images)
  convGeometry(1, 14, 14, 6, 16, 5, 5),              // batch 1: the last pair has one image
  convGeometry(2, 9, 11, 5, 15, 5, 5),               // C = 5, O = 15, odd sizes
  convGeometry(2, 11, 9, 7, 17, 3, 3, 1, 1, 1, 1),   // C = 7, O = 17, padding: edge strips
  convGeometry(3, 10, 10, 32, 64, 3, 3),             // NET-B's second layer, smaller
  convGeometry(2, 11, 10, 8, 9, 3, 3, 1, 1, 2, 1, 2, 1), // dilation in height
  convGeometry(3, 3, 4, 12, 20, 5, 5, 1, 1, 3, 3),   // windows mostly in the padding
  convGeometry(2, 6, 7, 5, 3, 1, 1),
];

const tag = (g: Conv2dGeometry) => `N${g.N} ${g.H}×${g.W}×${g.C}→${g.O} k${g.KH}×${g.KW} p${g.PH},${g.PW} d${g.DH}`;

describe('scatter backward-data: one summation chain per gx value, on every path and thread count', () => {
  it('gives the bits of the float32 chain model (strips inside and at the edges, pairs, odd sizes, batch 1)', () => {
    for (const [c, g] of CASES.entries()) {
      for (const [t] of THREADS.entries()) {
        const { gx, gy, w } = engineGx(t, g, 40 + c);
        const want = scatterChain(gy, w, g), bad = firstDifference(gx, want);
        assert.equal(bad, -1, `${THREADS[t]} threads, ${tag(g)}: element ${bad} is ${gx[bad]}, the chain gives ${want[bad]}`);
      }
    }
  });

  it('gives +0, as the chain does, where every product is -0 (gy of zeros against negative weights)', () => {
    // The kernel's runs start from their first product (-0 here), not from +0: gx must still read +0.
    const g = CASES[0], engine = engines[1], mark = engine.arena.mark();
    try {
      const gy = engine.arena.floats(g.N * g.OH * g.OW * g.O).fill(0), w = engine.arena.floats(g.O * g.KH * g.KW * g.C).fill(-1.5);
      const gx = engine.arena.floats(g.N * g.H * g.W * g.C).fill(-0);
      engine.kernels.conv2dBackwardData(gy, w, gx, g);
      const bits = new Uint32Array(Float32Array.from(gx).buffer), want = scatterChain(Float32Array.from(gy), Float32Array.from(w), g);
      assert.equal(bits.findIndex((b) => b !== 0), -1, 'gx holds a -0 or a non-zero');
      assert.equal(firstDifference(Float32Array.from(gx), want), -1);
    } finally {
      engine.arena.release(mark);
    }
  });

  it('the check sees window rows summed in one chain (negative test)', () => {
    const g = CASES[0], { gx, gy, w } = engineGx(0, g, 40);
    assert.equal(firstDifference(gx, scatterChain(gy, w, g)), -1);
    assert.notEqual(firstDifference(gx, scatterChain(gy, w, g, 'chained')), -1, 'the chained model gave the engine\'s bits');
  });
});
