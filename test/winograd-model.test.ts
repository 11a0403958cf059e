/**
 * The float32 Winograd model behind bench/results/winograd-error.txt's F(3×3) and F(4×4) rows
 * (bench/winograd-model.ts): each F(m×m, 3×3) is a 3×3 convolution (against the float64 reference,
 * odd sizes and partial tiles), its F(2×2) is the engine's kernel bit for bit, and a matrix with one
 * wrong entry is caught by the same check.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WINOGRAD_MATRICES, winogradModelForward } from '../bench/winograd-model.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { assertClose, randomFloats, squareConv } from './helpers.js';

const g = squareConv(2, 9, 8, 5, 7, 3);  // 7×6 outputs: partial tiles for m = 2, 3 and 4
const x = Float32Array.from(randomFloats(2 * 9 * 8 * 5, 1));
const w = Float32Array.from(randomFloats(7 * 9 * 5, 2));
const exact = new Float64Array(2 * 7 * 6 * 7);
ref.conv2dForward(Float64Array.from(x), Float64Array.from(w), null, exact, g);

describe('Winograd float32 model', () => {
  for (const m of [2, 3, 4] as const) {
    it(`F(${m}×${m}, 3×3) is the convolution`, () => {
      assertClose(winogradModelForward(m, x, w, g), exact, 1e-4, `F(${m}×${m})`);
    });
  }

  it('a wrong entry in Aᵀ is caught', () => {
    const broken = structuredClone(WINOGRAD_MATRICES[3]);
    broken.AT[1][3] = 2;
    assert.throws(() => assertClose(winogradModelForward(3, x, w, g, broken), exact, 1e-4, 'broken'), /exceeds/);
  });

  it('F(2×2) is the engine\'s kernel bit for bit', async () => {
    const engine = await createWasmEngine({ threads: 1, convAlgorithm: 'winograd' });
    try {
      const f = (a: Float32Array) => { const v = engine.arena.floats(a.length); v.set(a); return v; };
      const y = engine.arena.floats(exact.length);
      engine.kernels.conv2dForward(f(x), f(w), null, y, g);
      assert.deepEqual(winogradModelForward(2, x, w, g), Float32Array.from(y));
    } finally {
      await engine.dispose();
    }
  });
});
