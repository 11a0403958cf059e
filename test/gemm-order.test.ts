/**
 * The WebAssembly GEMM's summation order, bit for bit: every element of C is one chain of float32
 * operations, whatever its position, the packing path it goes through (one A block or several, B
 * packed four panels at a time or one, edge panels) and the thread count: its sum over k runs in
 * blocks of KC = 256 in increasing k, each block summed from +0 (C += a·b, k increasing) and then
 * added to C (written when it is the first block and C is not accumulated), then the bias is added.
 * A float32 model of that chain (Math.fround after each operation) must give the engine's bits; a
 * kernel that reorders a sum or packs a panel wrong is caught (last test).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { randomFloats } from './helpers.js';
import { THREADS, threadEngines } from './thread-engines.js';

const engines = threadEngines();
const KC = 256;
const f = Math.fround;

interface Product { M: number; N: number; K: number; transA: boolean; transB: boolean; accumulate: boolean }

/** The chain the header describes, in float32 steps, K in blocks of kc; `bias` is added to column j after the sum. */
function chain(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>, p: Product,
  bias: ArrayLike<number> | null = null, kc = KC): Float32Array {
  const { M, N, K, transA, transB, accumulate } = p;
  const out = new Float32Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let v = accumulate ? c[i * N + j] : 0;
      for (let p0 = 0; p0 < K; p0 += kc) {
        let s = 0;
        for (let k = p0; k < Math.min(K, p0 + kc); k++) {
          s = f(s + f((transA ? a[k * M + i] : a[i * K + k]) * (transB ? b[j * K + k] : b[k * N + j])));
        }
        v = p0 > 0 || accumulate ? f(v + s) : s;
      }
      out[i * N + j] = bias ? f(v + bias[j]) : v;
    }
  }
  return out;
}

/** Index of the first element whose bits differ, or -1. */
function firstDifference(got: Float32Array, want: Float32Array): number {
  const g = new Uint32Array(got.buffer, got.byteOffset, got.length), w = new Uint32Array(want.buffer, want.byteOffset, want.length);
  return g.findIndex((v, i) => v !== w[i]);
}

/** Runs `matmul` of `kernels` on arrays from `floats` and checks it against the chain model; returns the mismatch or null. */
function check(kernels: Kernels, floats: (n: number) => Float32Array, p: Product, seed: number): string | null {
  const take = (src: ArrayLike<number>) => { const t = floats(src.length); t.set(src); return t; };
  const { M, N, K } = p;
  const a = take(randomFloats(M * K, seed)), b = take(randomFloats(K * N, seed + 1)), c = take(randomFloats(M * N, seed + 2));
  for (let i = 0; i < a.length; i += 5) a[i] = 0; // ReLU zeros, as a dense layer's input has
  const want = chain(a, b, c, p);
  kernels.matmul(a, b, c, M, N, K, p.transA, p.transB, p.accumulate);
  const bad = firstDifference(c, want);
  return bad < 0 ? null : `matmul ${M}×${N}×${K} tA=${p.transA} tB=${p.transB} acc=${p.accumulate}: element ${bad} is ` +
    `${c[bad]}, the chain gives ${want[bad]}`;
}

/**
 * M ≤ 128 (one A block: the dense layers' batch) and M > 128; N around the four-panel group (32),
 * the panel (8) and the B block (1024 columns); K = 1, one block exactly, and over one and two blocks.
 */
const SHAPES: [number, number, number][] = [
  [1, 1, 1], [1, 37, 300], [3, 33, 257], [64, 32, 256], [64, 130, 513], [13, 95, 70], [128, 41, 33], [129, 67, 260],
  [5, 8, 9], [7, 31, 2], [5, 1100, 3], [129, 1031, 9],
];

function products(): Product[] {
  const out: Product[] = [];
  for (const [M, N, K] of SHAPES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) out.push({ M, N, K, transA, transB, accumulate: (M + N + K) % 2 === 0 });
    }
  }
  return out;
}

describe('gemm: one summation chain per element, on every path and thread count', () => {
  it('matmul gives the bits of the float32 chain model (all transpositions, odd sizes, batch 1)', () => {
    for (const [t, engine] of engines.entries()) {
      for (const [n, p] of products().entries()) {
        const mark = engine.arena.mark();
        const bad = check(engine.kernels, (len) => engine.arena.floats(len), p, 10 + n);
        engine.arena.release(mark);
        assert.equal(bad, null, `${THREADS[t]} threads: ${bad}`);
      }
    }
  });

  it('denseForward (bias, fused ReLU) and denseBackward (gx, gw written) give the bits of the chain model', () => {
    for (const [t, engine] of engines.entries()) {
      for (const [N, I, O] of [[1, 300, 33], [64, 600, 40], [3, 9, 130]]) {
        const mark = engine.arena.mark();
        const take = (src: ArrayLike<number>) => { const a = engine.arena.floats(src.length); a.set(src); return a; };
        const x = take(randomFloats(N * I, 1)), w = take(randomFloats(O * I, 2)), b = take(randomFloats(O, 3));
        const gy = take(randomFloats(N * O, 4));
        const y = engine.arena.floats(N * O), r = engine.arena.floats(N * O), gx = engine.arena.floats(N * I);
        const gw = engine.arena.floats(O * I).fill(NaN);
        engine.kernels.denseForward(x, w, b, y, N, I, O, r);
        engine.kernels.denseBackward(x, w, gy, gx, gw, null, N, I, O, true);
        const none = new Float32Array(0);
        const wantY = chain(x, w, none, { M: N, N: O, K: I, transA: false, transB: true, accumulate: false }, b);
        const wantGx = chain(gy, w, none, { M: N, N: I, K: O, transA: false, transB: false, accumulate: false });
        const wantGw = chain(gy, x, none, { M: O, N: I, K: N, transA: true, transB: false, accumulate: false });
        const tag = `${THREADS[t]} threads, dense ${N}×${I}→${O}`;
        assert.equal(firstDifference(y, wantY), -1, `${tag}: y`);
        assert.equal(firstDifference(r, wantY.map((v) => (v < 0 ? 0 : v))), -1, `${tag}: fused ReLU`);
        assert.equal(firstDifference(gx, wantGx), -1, `${tag}: gx`);
        assert.equal(firstDifference(gw, wantGw), -1, `${tag}: gw`);
        engine.arena.release(mark);
      }
    }
  });

  it('a kernel that sums K in one chain, or swaps two panels of a packed group, fails the check', () => {
    const heap = (n: number) => new Float32Array(n);
    const p: Product = { M: 6, N: 40, K: 300, transA: false, transB: false, accumulate: false };
    /** A kernel computing the chain model on a B of its own making, with K in blocks of kc. */
    const model = (alter: (b: Float32Array, N: number, K: number) => Float32Array, kc = KC): Kernels => ({
      ...ref,
      matmul(a, b, c, M, N, K, transA, transB, accumulate) {
        const product = { M, N, K, transA, transB, accumulate };
        (c as Float32Array).set(chain(a as Float32Array, alter(b as Float32Array, N, K), c as Float32Array, product, null, kc));
      },
    });
    assert.equal(check(model((b) => b), heap, p, 5), null, 'the model itself passes');
    assert.match(check(model((b) => b, Infinity), heap, p, 5) ?? '', /matmul 6×40×300 .*element \d+ is .*the chain gives/);
    // Columns 8-15 and 16-23 of B trade places, as a four-panel pack with two destinations crossed would.
    const crossed = (b: Float32Array, N: number, K: number) => {
      const out = Float32Array.from(b);
      for (let k = 0; k < K; k++) {
        for (let j = 0; j < 8; j++) {
          out[k * N + 8 + j] = b[k * N + 16 + j];
          out[k * N + 16 + j] = b[k * N + 8 + j];
        }
      }
      return out;
    };
    assert.match(check(model(crossed), heap, p, 5) ?? '', /matmul 6×40×300 .*element \d+ is/);
  });
});
