/**
 * The tensor handle is honestly typed: a `Tensor` (a CPU engine's typed array or a device's handle)
 * cannot be indexed, so code outside a kernel that reads an element does not compile; a CPU kernel
 * given a device handle refuses it by name instead of reading `undefined`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Arena } from '../src/core/arena.js';
import { DescentError } from '../src/core/errors.js';
import type { Floats } from '../src/core/floats.js';
import { type DeviceTensor, hostFloats, hostInts, type IntTensor, isDeviceTensor, type Tensor } from '../src/core/tensor.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { gpuTensor } from '../src/engine/webgpu/tensor.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { matmul as rawMatmul } from '../src/kernels/reference/matmul.js';
import { Sequential } from '../src/network/sequential.js';

/** A device handle as another engine's arena hands it out: a length and nothing to index. */
const handle = (length: number): DeviceTensor => ({ device: true, length });
/** An array seen as the kernel interface sees it (a declared type would be narrowed by its initialiser). */
const asTensor = (t: Tensor): Tensor => t;
const asIntTensor = (t: IntTensor): IntTensor => t;

describe('Tensor: the type', () => {
  it('cannot be indexed (the build breaks here if Tensor, IntTensor or a layer tensor becomes indexable again)', () => {
    const t = asTensor(new Float32Array([7, 8]));
    const i = asIntTensor(new Int32Array([3]));
    // @ts-expect-error a Tensor has no elements to read
    const element = t[0];
    // @ts-expect-error nor to write
    t[1] = 0;
    // @ts-expect-error an IntTensor neither
    const index = i[0];
    // @ts-expect-error nor typed-array methods
    t.subarray(0, 1);
    const read = (s: Sequential) => { // never called: only its types are checked
      // @ts-expect-error a layer's parameters are tensors of the engine
      void s.layers[0].params.weight[0];
      // @ts-expect-error so are the activations
      void s.activation(1)[0];
    };
    void read;
    // At run time a CPU tensor still is its array: the narrowing, not a copy, gives the numbers.
    assert.equal(element, 7);
    assert.equal(index, 3);
    assert.equal(hostFloats(t, 'test')[1], 0);
    assert.equal(t.length, 2); // the one thing every tensor tells
  });

  it('hostFloats / hostInts return a CPU tensor itself and refuse a device handle by the name given', () => {
    const f = new Float64Array(3), n = new Int32Array(2);
    assert.equal(hostFloats(f, 'k'), f);
    assert.equal(hostFloats(null, 'k'), null);
    assert.equal(hostInts(n, 'k'), n);
    assert.equal(isDeviceTensor(f), false);
    assert.equal(isDeviceTensor(handle(3)), true);
    assert.throws(() => hostFloats(handle(3), 'myKernel'), (e: Error) => e instanceof DescentError && /^myKernel: got a device tensor/.test(e.message));
    assert.throws(() => hostInts(handle(3), 'pool'), /^DescentError: pool: got a device tensor/);
  });

  it('gpuTensor refuses a JavaScript array where the WebGPU engine needs its own handle', () => {
    assert.throws(() => gpuTensor(new Float32Array(4)), /webgpu engine got a JavaScript array/);
    const own = { device: true as const, length: 4, offset: 0, buffer: {} as GPUBuffer };
    assert.equal(gpuTensor(own), own);
    assert.throws(() => gpuTensor(handle(4)), /webgpu engine got a JavaScript array/); // a handle of another device
  });
});

describe('a CPU kernel given a device handle', () => {
  let wasm: WasmEngine;
  before(async () => {
    wasm = await createWasmEngine({ threads: 1 });
  });
  after(async () => {
    await wasm.dispose();
  });
  const engines = (): [string, Kernels, (n: number) => Tensor][] => [
    ['reference', referenceKernels, (n) => new Float32Array(n)],
    ['wasm', wasm.kernels, (n) => wasm.arena.floats(n)],
  ];

  it('throws one clear line naming the kernel, on every CPU engine', () => {
    for (const [name, k, floats] of engines()) {
      const a = floats(4), c = floats(4);
      assert.throws(() => k.matmul(a, handle(4), c, 2, 2, 2, false, false, false), /^DescentError: matmul: got a device tensor/, name);
      assert.throws(() => k.activationForward('relu', handle(4), c, 4, 0), /activationForward: got a device tensor/, name);
      assert.throws(() => k.conv2dForward(a, a, null, handle(4), { N: 1, H: 2, W: 2, C: 1, O: 1, OH: 2, OW: 2, KH: 1, KW: 1,
        SH: 1, SW: 1, PH: 0, PW: 0, DH: 1, DW: 1 }), /conv2dForward: got a device tensor/, name);
      assert.throws(() => k.maxPool2dForward(a, floats(1), handle(1), { N: 1, H: 2, W: 2, C: 1, OH: 1, OW: 1, KH: 2, KW: 2,
        SH: 2, SW: 2, PH: 0, PW: 0 }, -1), /maxPool2dForward: got a device tensor/, name);
      // A kernel given CPU tensors still runs (the narrowing changes no number).
      const x = floats(4), y = floats(4);
      hostFloats(x, 'test').set([-1, 2, -3, 4]);
      k.activationForward('relu', x, y, 4, 0);
      assert.deepEqual(Array.from(hostFloats(y, 'test')), [0, 2, 0, 4], name);
    }
  });

  it('negative: without the narrowing, the same call silently reads undefined and writes NaN (what the check prevents)', () => {
    const c = new Float32Array(4);
    // The old type lie, spelled out: a device handle typed as an array.
    rawMatmul(new Float32Array(4).fill(1), handle(4) as unknown as Floats, c, 2, 2, 2, false, false, false);
    assert.ok(c.every(Number.isNaN), 'no error, only NaN');
  });

  it('a network whose arena hands out device handles to a CPU engine fails at construction, naming what', () => {
    const deviceArena: Arena = { dtype: 'float32', floats: (n) => handle(n), ints: (n) => handle(n) };
    const layers = [{ type: 'Dense', outFeatures: 2 }];
    assert.throws(() => Sequential.fromConfig({ inputShape: [3], layers }, { arena: deviceArena }),
      /^DescentError: Sequential\.w: got a device tensor/);
  });
});
