/**
 * NaN and ±∞ through every kernel: the WebAssembly engine gives what the reference gives (IEEE
 * semantics, and the reference's choices where IEEE leaves one: a NaN passes ReLU and wins a
 * max-pool, as in PyTorch). Kernels that map NaN to 0 must fail the same check.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import type { Floats } from '../src/core/floats.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { ActivationKind, Conv2dGeometry, Kernels } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { KERNEL_METHODS, assertSameIeee, checkNonFiniteAgreement } from './nonfinite-kernels.js';
import { host } from './helpers.js';

let engine: WasmEngine;

before(async () => {
  engine = await createWasmEngine({ threads: 2, minPartNs: 0 });
});

after(async () => {
  await engine.dispose();
});

/** ReLU as max(0, a) written `a >= 0 ? a : 0`: a NaN becomes 0 and disappears from the loss. */
function nanToZero(y: Floats, n: number): void {
  for (let i = 0; i < n; i++) if (!(y[i] >= 0)) y[i] = 0;
}

const heap = () => ({ arena: new HeapArena('float32') });

describe('non-finite numbers in every kernel', () => {
  it('the WebAssembly engine agrees with the reference on NaN, ±∞, zeros and ties in every kernel', () => {
    const called = checkNonFiniteAgreement({ kernels: engine.kernels, arena: engine.arena });
    assert.deepEqual(KERNEL_METHODS.filter((k) => !called.has(k)), [], 'kernels the check did not run');
  });

  it('the check passes on the reference itself (so the failures below come from the breaks alone)', () => {
    const called = checkNonFiniteAgreement({ kernels: ref, ...heap() });
    assert.deepEqual(KERNEL_METHODS.filter((k) => !called.has(k)), []);
  });

  it('the reference semantics: ReLU passes NaN and its gradient, a NaN wins a max-pool, 0·∞ is NaN', () => {
    const x = Float32Array.of(Number.NaN, -1, 0, 2, Infinity, -Infinity), y = new Float32Array(6);
    ref.activationForward('relu', x, y, 6, 0);
    assertSameIeee(y, [Number.NaN, 0, 0, 2, Infinity, 0], 0, 'relu');
    const gy = new Float32Array(6).fill(3), gx = new Float32Array(6);
    ref.activationBackward('relu', x, y, gy, gx, 6, 0);
    assertSameIeee(gx, [3, 0, 3, 3, 3, 0], 0, "relu' (1 at 0 and at NaN, as PyTorch passes a NaN's gradient)");
    const c = new Float32Array(1);
    ref.matmul(Float32Array.of(0, 1), Float32Array.of(Infinity, 1), c, 1, 1, 2, false, false, false);
    assert.ok(Number.isNaN(c[0]), `0·∞ + 1·1 = ${c[0]}`);
  });

  it('a kernel that maps NaN to 0 in ReLU fails the check', () => {
    const broken: Kernels = {
      ...ref,
      activationForward(kind: ActivationKind, x: Floats, y: Floats, n: number, alpha: number) {
        ref.activationForward(kind, x, y, n, alpha);
        if (kind === 'relu') nanToZero(y, n);
      },
    };
    assert.throws(() => checkNonFiniteAgreement({ kernels: broken, ...heap() }), /activationForward relu: element \d+ is 0, the reference gives NaN/);
  });

  it('a fused ReLU epilogue that maps NaN to 0 (dense or convolution) fails the check', () => {
    const brokenDense: Kernels = {
      ...ref,
      denseForward(x, w, b, y, N, I, O, relu) {
        ref.denseForward(x, w, b, y, N, I, O, relu);
        if (relu) nanToZero(host(relu), N * O);
      },
    };
    assert.throws(() => checkNonFiniteAgreement({ kernels: brokenDense, ...heap() }), /denseForward fused ReLU: element \d+ is 0, the reference gives NaN/);
    const brokenConv: Kernels = {
      ...ref,
      conv2dForward(x, w, b, y, g: Conv2dGeometry, relu) {
        ref.conv2dForward(x, w, b, y, g, relu);
        if (relu) nanToZero(host(relu), g.N * g.OH * g.OW * g.O);
      },
    };
    assert.throws(() => checkNonFiniteAgreement({ kernels: brokenConv, ...heap() }), /conv2dForward fused ReLU: element \d+ is 0, the reference gives NaN/);
  });

  it('a kernel that skips zero factors (so 0·∞ is lost) or drops an infinity fails the check', () => {
    const skipsZeros: Kernels = {
      ...ref,
      matmul(at, bt, ct, M, N, K, transA, transB, accumulate) {
        const a = host(at), b = host(bt), c = host(ct);
        if (!accumulate) c.fill(0, 0, M * N);
        for (let i = 0; i < M; i++) {
          for (let k = 0; k < K; k++) {
            const aik = transA ? a[k * M + i] : a[i * K + k];
            if (aik === 0) continue;
            for (let j = 0; j < N; j++) c[i * N + j] += aik * (transB ? b[j * K + k] : b[k * N + j]);
          }
        }
      },
    };
    assert.throws(() => checkNonFiniteAgreement({ kernels: skipsZeros, ...heap() }), /matmul .*the reference gives NaN/);
    const clamps: Kernels = {
      ...ref,
      addBias(y, bias, R, C) {
        ref.addBias(y, bias, R, C);
        const h = host(y);
        for (let i = 0; i < R * C; i++) if (Math.abs(h[i]) === Infinity) h[i] = Math.sign(h[i]) * 3.4e38;
      },
    };
    assert.throws(() => checkNonFiniteAgreement({ kernels: clamps, ...heap() }), /addBias: element \d+ is -?3\.\d+e\+38, the reference gives -?Infinity/);
  });

  it('the comparison itself: NaN only where expected, the same infinities, close finite values', () => {
    assert.doesNotThrow(() => assertSameIeee([Number.NaN, Infinity, -Infinity, 1.000001], [Number.NaN, Infinity, -Infinity, 1], 1e-5, 'ok'));
    assert.throws(() => assertSameIeee([0], [Number.NaN], 1e-5, 'x'), /x: element 0 is 0, the reference gives NaN/);
    assert.throws(() => assertSameIeee([Number.NaN], [0], 1e-5, 'x'), /element 0 is NaN/);
    assert.throws(() => assertSameIeee([-Infinity], [Infinity], 1e-5, 'x'), /element 0 is -Infinity/);
    assert.throws(() => assertSameIeee([Infinity], [3e38], 1e-5, 'x'), /element 0 is Infinity/);
    assert.throws(() => assertSameIeee([1.1], [1], 1e-5, 'x'), /element 0 is 1\.1/);
    // Where padding meets a non-finite weight, a NaN is also right, and nothing else is.
    assert.doesNotThrow(() => assertSameIeee([Number.NaN, 2], [1, 2], 1e-5, 'x', (i) => i === 0));
    assert.throws(() => assertSameIeee([1, Number.NaN], [1, 2], 1e-5, 'x', (i) => i === 0), /element 1 is NaN/);
    assert.throws(() => assertSameIeee([5], [1], 1e-5, 'x', () => true), /element 0 is 5/);
  });
});
