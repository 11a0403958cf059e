/**
 * A small batch of WebGPU kernels against the reference, runnable in Node and in a page (no Node
 * API): a strided, padded, dilated convolution, a max-pool with ties, dropout and the loss.
 * Returns the worst scaled errors and whether the exact parts (arg-max, dropout mask) are exact.
 */
import { Rng } from '../src/core/rng.js';
import { openDevice } from '../src/engine/webgpu/device.js';
import { GpuKernels } from '../src/engine/webgpu/gpu-kernels.js';
import { GpuStorage, type GpuTensor } from '../src/engine/webgpu/tensor.js';
import type { Conv2dGeometry, Pool2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';

export interface SampleResult {
  adapter: string;
  software: boolean;
  convError: number;
  lossError: number;
  argmaxExact: boolean;
  dropoutExact: boolean;
  /** The convolution's output and the loss, as float32 bit patterns. */
  bits: number[];
}

function worst(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < b.length; i++) e = Math.max(e, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])));
  return e;
}

export async function webgpuSample(gpu: GPU | undefined): Promise<SampleResult> {
  const { device, adapter } = await openDevice(gpu, () => 'no adapter in this browser');
  const k = await GpuKernels.create(device);
  const floats = new GpuStorage(device, 1 << 16), ints = new GpuStorage(device, 1 << 12);
  const rng = new Rng(11);
  const up = (d: Float32Array | Int32Array): GpuTensor => {
    const t = (d instanceof Int32Array ? ints : floats).alloc(d.length);
    k.write(t, d);
    return t;
  };
  const data = (n: number, tie = false) => Float32Array.from({ length: n }, () => (tie ? rng.int(3) - 1 : rng.normal()));

  const c: Conv2dGeometry = { N: 2, H: 7, W: 6, C: 3, O: 5, OH: 3, OW: 4, KH: 3, KW: 2, SH: 2, SW: 1, PH: 1, PW: 1, DH: 1, DW: 2 };
  const x = data(c.N * c.H * c.W * c.C), w = data(c.O * c.KH * c.KW * c.C), b = data(c.O);
  const y = new Float32Array(c.N * c.OH * c.OW * c.O), ty = up(y);
  k.conv2dForward(up(x), up(w), up(b), ty, c);
  ref.conv2dForward(x, w, b, y, c);
  const gotY = await k.read(ty);
  const convError = worst(gotY, y);

  const p: Pool2dGeometry = { N: 1, H: 6, W: 6, C: 3, OH: 3, OW: 3, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 };
  const px = data(108, true), py = new Float32Array(27), am = new Int32Array(27), tam = up(am);
  k.maxPool2dForward(up(px), up(py), tam, p, 99);
  ref.maxPool2dForward(px, py, am, p, 99);
  const gotAm = await k.readInts(tam);

  const dx = data(500), dy = new Float32Array(500), tdy = up(dy);
  k.dropoutForward(up(dx), tdy, 500, 0.3, 1234);
  ref.dropoutForward(dx, dy, 500, 0.3, 1234);
  const gotDy = await k.read(tdy);

  const z = data(40), labels = Int32Array.from({ length: 4 }, () => rng.int(10)), loss = up(new Float32Array(1));
  k.softmaxCrossEntropy(up(z), { labels: up(labels) }, up(new Float32Array(40)), up(new Float32Array(40)), 4, 10, loss);
  const risk = ref.softmaxCrossEntropy(z, { labels }, new Float32Array(40), new Float32Array(40), 4, 10);
  const gotLoss = await k.read(loss);
  const lossError = worst(gotLoss, [risk]);
  device.destroy();
  return {
    adapter: adapter.name, software: adapter.software, convError, lossError,
    argmaxExact: gotAm.every((v, i) => v === am[i]),
    dropoutExact: gotDy.every((v, i) => (v === 0) === (dy[i] === 0)),
    bits: [...new Uint32Array(gotY.buffer), ...new Uint32Array(gotLoss.buffer)],
  };
}
