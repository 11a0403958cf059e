/**
 * Dense writes its weight gradient instead of adding to a zeroed g (denseBackward's writeGw, and
 * Sequential leaving that range unzeroed): the same bits as before on every engine and thread count,
 * whatever g held; a layer that claims to write but adds is caught.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { ReLU } from '../src/layers/activation.js';
import { Conv2d } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import type { RunContext } from '../src/layers/layer.js';
import { Softmax } from '../src/layers/softmax.js';
import { Sequential } from '../src/network/sequential.js';
import { randomFloats, randomLabels } from './helpers.js';
import { THREADS, threadEngines } from './thread-engines.js';

const engines = threadEngines();
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** Reference and WebAssembly (1, 2, 3 threads), each with a way to get float32 arrays it can read. */
function each(): { name: string; kernels: Kernels; floats: (n: number) => Float32Array }[] {
  return [{ name: 'reference', kernels: referenceKernels, floats: (n: number) => new Float32Array(n) },
    ...engines.map((e, i) => ({ name: `wasm ${THREADS[i]}T`, kernels: e.kernels, floats: (n: number) => e.arena.floats(n) }))];
}

describe('denseBackward writeGw', () => {
  // Odd sizes, batch 1, and a batch over the GEMM's K block (256), where later blocks still add.
  for (const [N, I, O] of [[1, 1, 1], [3, 7, 5], [9, 13, 11], [300, 9, 6]]) {
    it(`writes gyᵀ·x over NaN garbage with the bits of 0 + gyᵀ·x (${N}×${I}→${O})`, () => {
      for (const { name, kernels, floats } of each()) {
        const take = (src: ArrayLike<number>) => { const t = floats(src.length); t.set(src); return t; };
        const x = take(randomFloats(N * I, 1)), w = take(randomFloats(O * I, 2)), gy = take(randomFloats(N * O, 3));
        for (let i = 0; i < gy.length; i += 3) gy[i] = 0; // ReLU zeros, a whole zero row of gy when N = 1
        const added = floats(O * I), written = floats(O * I).fill(NaN), stale = floats(O * I).fill(NaN);
        kernels.denseBackward(x, w, gy, null, added, null, N, I, O);
        kernels.denseBackward(x, w, gy, null, written, null, N, I, O, true);
        assert.deepEqual(bits(written), bits(added), `${name}: written ≠ added to zeros`);
        // The negative: adding to garbage keeps it, so the comparison above can fail.
        kernels.denseBackward(x, w, gy, null, stale, null, N, I, O);
        assert.ok(stale.some(Number.isNaN), `${name}: adding did not keep the garbage`);
      }
    });
  }
});

/** A Dense that says it writes its weight gradient but adds (the bug the network test must catch). */
class AddingDense extends Dense {
  override backward(x: Tensor, y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    super.backward(x, y, gy, gx, N, { ...ctx, writeGradients: undefined });
  }
}

/** A Dense that writes its weight gradient whenever the network writes any (what the network must not ask of a shared layer). */
class WritingDense extends Dense {
  override backward(x: Tensor, y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    super.backward(x, y, gy, gx, N, ctx.writeGradients ? { ...ctx, writeGradients: new Set([this]) } : ctx);
  }
}

describe('Sequential.gradient with written Dense gradients', () => {
  const layers = (DenseKind: typeof Dense) => [new Conv2d({ outChannels: 3, kernelSize: 3 }), new ReLU(), new Flatten(),
    new DenseKind({ outFeatures: 7 }), new ReLU(), new DenseKind({ outFeatures: 4 }), new Softmax()];
  const N = 5, x = randomFloats(N * 6 * 6 * 2, 4), labels = randomLabels(N, 4, 5);

  /** g after one gradient with g full of NaN beforehand, and the old way: g zeroed, every layer adding. */
  function both(options: { engine?: (typeof engines)[number] }, DenseKind: typeof Dense,
    list = layers(DenseKind)): [number[], number[]] {
    const net = new Sequential(list, { inputShape: [6, 6, 2], seed: 7, ...options });
    net.g.fill(NaN);
    net.gradient(x, { labels }, N);
    const written = bits(Float32Array.from(net.g));
    net.g.fill(0);
    const { from } = net.loss(x, { labels }, N, 'cross_entropy', true);
    net.backwardFrom(from, N, true);
    return [written, bits(Float32Array.from(net.g))];
  }

  it('gives the bits of zeroing g and adding, on every engine and thread count', () => {
    const [ref, refOld] = both({}, Dense);
    assert.deepEqual(ref, refOld, 'reference');
    const wasm = engines.map((engine) => both({ engine }, Dense));
    wasm.forEach(([now, old], i) => assert.deepEqual(now, old, `wasm ${THREADS[i]}T`));
    wasm.forEach(([now], i) => assert.deepEqual(now, wasm[0][0], `wasm ${THREADS[i]}T against 1T`));
  });

  // One Dense object listed twice: its two backwards share one gradient, so it must keep adding.
  const shared = (DenseKind: typeof Dense) => {
    const d = new DenseKind({ outFeatures: 7 });
    return [new Flatten(), new Dense({ outFeatures: 7 }), new ReLU(), d, new ReLU(), d, new Softmax()];
  };

  it('keeps adding for a layer listed twice, on every engine and thread count', () => {
    const [ref, refOld] = both({}, Dense, shared(Dense));
    assert.deepEqual(ref, refOld, 'reference');
    engines.forEach((engine, i) => {
      const [now, old] = both({ engine }, Dense, shared(Dense));
      assert.deepEqual(now, old, `wasm ${THREADS[i]}T`);
    });
  });

  it('catches a layer listed twice that writes its gradient each time (the negative)', () => {
    const [now, old] = both({}, WritingDense, shared(WritingDense));
    assert.notDeepEqual(now, old);
  });

  it('catches a layer that claims to write its gradient but adds (the negative)', () => {
    const [now] = both({}, AddingDense);
    assert.ok(now.some((b) => (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0), 'NaN garbage should survive');
  });
});
