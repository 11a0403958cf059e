/**
 * A Conv2d or Dense followed by a ReLU writes both outputs in one pass (Sequential's fuseRelu):
 * the layer's own output y is the same as unfused, and the ReLU output is bitwise ReLU(y) as the
 * ReLU layer computes it, on every kernel path of the WebAssembly engine (general and few-channel
 * convolutions, full and edge tiles, split over threads) and on the reference kernels; a whole
 * network gives bitwise the same activations and gradient fused or not.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Arena } from '../src/core/arena.js';
import { HeapArena } from '../src/core/arena.js';
import { Rng } from '../src/core/rng.js';
import { sizeOf } from '../src/core/shape.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';
import { squareConv, host } from './helpers.js';

let engines: WasmEngine[] = [];
before(async () => {
  engines = await Promise.all([1, 2].map((threads) => createWasmEngine({ threads, minPartNs: 0 })));
});
after(async () => {
  await Promise.all(engines.map((e) => e.dispose()));
});

interface Backend { name: string; kernels: Kernels; arena: Arena }
const backends = (): Backend[] => [
  { name: 'reference', kernels: referenceKernels, arena: new HeapArena('float32') },
  ...engines.map((e) => ({ name: `wasm ${e.threads}T`, kernels: e.kernels, arena: e.arena })),
];

function filled(arena: Arena, n: number, rng: Rng): Float32Array {
  const a = arena.floats(n) as Float32Array;
  // Exact zeros too, where ReLU's a >= 0 rule matters.
  for (let i = 0; i < n; i++) a[i] = rng.int(7) === 0 ? 0 : rng.normal();
  return a;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(Float32Array.from(a).buffer);
}

function assertBitwise(a: Float32Array, b: Float32Array, what: string): void {
  const x = bits(a), y = bits(b);
  const bad = x.findIndex((v, i) => v !== y[i]);
  assert.equal(bad, -1, `${what}: differs at ${bad} (${a[bad]} vs ${b[bad]})`);
}

describe('fused ReLU in the forward kernels', () => {
  const CONVS = [
    squareConv(3, 9, 11, 1, 6, 5, 1, 2), squareConv(2, 8, 13, 3, 5, 3, 1, 1), squareConv(2, 9, 9, 2, 9, 3, 1, 0, 2),
    squareConv(3, 10, 10, 6, 16, 5), squareConv(2, 11, 9, 12, 20, 3, 2, 1), squareConv(2, 7, 12, 5, 13, 3, 1, 1, 2),
  ];
  for (const g of CONVS) {
    it(`conv2dForward ${g.H}×${g.W}×${g.C}→${g.O} k${g.KH} s${g.SH} p${g.PH} d${g.DH}`, () => {
      for (const { name, kernels, arena } of backends()) {
        const rng = new Rng(g.C * 100 + g.O);
        const x = filled(arena, g.N * g.H * g.W * g.C, rng), w = filled(arena, g.O * g.KH * g.KW * g.C, rng);
        const b = filled(arena, g.O, rng), out = g.N * g.OH * g.OW * g.O;
        const y0 = arena.floats(out) as Float32Array, y = arena.floats(out) as Float32Array;
        const r = arena.floats(out) as Float32Array, r0 = arena.floats(out) as Float32Array;
        kernels.conv2dForward(x, w, b, y0, g);
        kernels.activationForward('relu', y0, r0, out, 0);
        kernels.conv2dForward(x, w, b, y, g, r);
        assertBitwise(y, y0, `${name}: y`);
        assertBitwise(r, r0, `${name}: ReLU(y)`);
        assert.ok(r0.some((v) => v === 0) && r0.some((v) => v > 0), 'the case has both signs');
      }
    });
  }
  for (const [N, I, O] of [[5, 7, 13], [64, 400, 120], [9, 30, 8], [3, 1, 2]]) {
    it(`denseForward N${N} ${I}→${O}`, () => {
      for (const { name, kernels, arena } of backends()) {
        const rng = new Rng(N * I + O);
        const x = filled(arena, N * I, rng), w = filled(arena, O * I, rng), b = filled(arena, O, rng);
        const y0 = arena.floats(N * O) as Float32Array, y = arena.floats(N * O) as Float32Array;
        const r = arena.floats(N * O) as Float32Array, r0 = arena.floats(N * O) as Float32Array;
        kernels.denseForward(x, w, b, y0, N, I, O);
        kernels.activationForward('relu', y0, r0, N * O, 0);
        kernels.denseForward(x, w, b, y, N, I, O, r);
        assertBitwise(y, y0, `${name}: y`);
        assertBitwise(r, r0, `${name}: ReLU(y)`);
      }
    });
  }
});

describe('Sequential with and without ReLU fusion', () => {
  const layers: LayerConfig[] = [
    { type: 'Conv2d', outChannels: 6, kernelSize: 5, padding: 2 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Conv2d', outChannels: 10, kernelSize: 3 }, { type: 'ReLU' }, { type: 'Flatten' },
    { type: 'Dense', outFeatures: 20 }, { type: 'ReLU' }, { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
  ];
  it('gives bitwise the same activations, risk and gradient', () => {
    for (const { name, kernels, arena } of backends()) {
      const nets = [true, false].map((fuseRelu) =>
        Sequential.fromConfig({ inputShape: [12, 12, 1], layers }, { seed: 3, arena, kernels, fuseRelu }));
      const rng = new Rng(5);
      const N = 16, x = Float32Array.from({ length: N * 144 }, () => rng.normal());
      const labels = Int32Array.from({ length: N }, () => rng.int(4));
      const risks = nets.map((net) => net.gradient(x, { labels }, N));
      assert.equal(risks[0], risks[1], `${name}: risk`);
      for (let k = 0; k <= layers.length; k++) {
        const d = sizeOf(k === 0 ? nets[0].inputShape : nets[0].layers[k - 1].outputShape);
        const [a, b] = nets.map((net) => (net.activation(k) as Float32Array).subarray(0, N * d));
        assertBitwise(a, b, `${name}: x^(${k})`);
      }
      assertBitwise(nets[0].g as Float32Array, nets[1].g as Float32Array, `${name}: g`);
    }
  });

  it('runs every layer when the kernels do not say they fuse', () => {
    // Kernels from before fusion: no flag, and forward kernels that never write a relu output.
    const { fusesRelu: _, ...rest } = referenceKernels;
    const plain: Kernels = {
      ...rest, name: 'plain',
      conv2dForward: (x, w, b, y, g) => referenceKernels.conv2dForward(x, w, b, y, g),
      denseForward: (x, w, b, y, N, I, O) => referenceKernels.denseForward(x, w, b, y, N, I, O),
    };
    const net = Sequential.fromConfig({ inputShape: [12, 12, 1], layers }, { seed: 3, kernels: plain });
    const reference = Sequential.fromConfig({ inputShape: [12, 12, 1], layers }, { seed: 3, fuseRelu: false });
    const x = Float32Array.from({ length: 2 * 144 }, (_, i) => Math.sin(i));
    assert.deepEqual(Array.from(host(net.forward(x, 2))), Array.from(host(reference.forward(x, 2))));
    const relu = layers.findIndex((l) => l.type === 'ReLU');
    assert.ok((net.activation(relu + 1) as Float32Array).some((v) => v > 0), 'the ReLU output was written');
  });
});
