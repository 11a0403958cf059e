/// <reference types="@webgpu/types" />
/**
 * The WebGPU engine: `GpuKernels` behind the `Kernels` interface, and an arena of GPU buffers.
 * Every tensor the arena hands out is a `GpuTensor` typed as `Tensor` (see DeviceTensors in
 * src/kernels/kernels.ts): layers only pass it on to kernels; the network and trainer move data
 * through `kernels.device` (write the batch, read the loss, fill, view, the step's reductions).
 */
import type { Arena } from '../../core/arena.js';
import type { IntTensor, Tensor } from '../../core/tensor.js';
import type { ActivationKind, ClassTarget, Conv2dGeometry, DeviceTensors, Kernels, Pool2dGeometry } from '../../kernels/kernels.js';
import type { Engine } from '../engine.js';
import type { AdapterDescription, GpuDevice } from './device.js';
import { GpuKernels } from './gpu-kernels.js';
import { gpuTensor, subTensor, type GpuTensor, view } from './tensor.js';
import { unsupportedNode } from './limits.js';

/** A tensor of the kernel interface as this engine's handle (narrowed once per call; see tensor.ts). */
const gpu = gpuTensor;
const opt = (t: Tensor | null | undefined): GpuTensor | null => (t ? gpuTensor(t) : null);

/** GPU buffers, one per request (so no two views of a network's tensors share a writable binding by accident). */
export class GpuArena implements Arena {
  readonly dtype = 'float32' as const;
  private readonly made: GPUBuffer[] = [];
  constructor(private readonly device: GPUDevice) {}

  floats(length: number): GpuTensor {
    return this.tensor(length, 'float tensor');
  }

  ints(length: number): GpuTensor {
    return this.tensor(length, 'int tensor');
  }

  private tensor(length: number, label: string): GpuTensor {
    const buffer = this.device.createBuffer({ size: Math.max(16, Math.ceil(length / 4) * 16), label,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    this.made.push(buffer);
    return view(buffer, 0, length); // WebGPU zeroes a new buffer
  }

  destroy(): void {
    for (const b of this.made.splice(0)) b.destroy();
  }
}

/** The floats one tensor may hold: each is bound whole, as one buffer. */
export function maxElements(device: GPUDevice): number {
  return Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) / 4);
}

/** `GpuKernels` as `Kernels`: the same calls, with class labels and target probabilities taken up from the host. */
export class WebGpuKernels implements Kernels {
  readonly name = 'webgpu';
  readonly fusesRelu = true;
  readonly device: DeviceTensors;
  private labels: GpuTensor | null = null;
  private probs: GpuTensor | null = null;

  constructor(readonly gpu: GpuKernels, private readonly arena: GpuArena, adapter: AdapterDescription) {
    const loss = arena.floats(1);
    const k = gpu;
    this.device = {
      adapter: adapter.name,
      loss,
      view: (t, offset, length) => subTensor(gpuTensor(t), offset, length),
      fill: (t, value) => k.write(gpuTensor(t), new Float32Array(t.length).fill(value)),
      write: (t, data) => k.write(gpuTensor(t), data),
      read: (t) => k.read(gpuTensor(t)),
      squaredDistance: (a, b, n, out) => k.squaredDistance(gpuTensor(a), opt(b), n, gpuTensor(out)),
      nonFinite: (x, n, out) => k.nonFinite(gpuTensor(x), n, gpuTensor(out)),
      unsupported: (node, batch) => unsupportedNode(node, batch, maxElements(gpu.device)),
      quadraticLoss: (y, values, g, N, E) => k.quadraticLoss(gpuTensor(y), this.upload('probs', values.subarray(0, N * E)),
        gpuTensor(g), N, E, gpuTensor(loss)),
    };
  }

  matmul(a: Tensor, b: Tensor, c: Tensor, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    this.gpu.matmul(gpu(a), gpu(b), gpu(c), M, N, K, transA, transB, accumulate);
  }
  denseForward(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, N: number, I: number, O: number, relu?: Tensor | null): void {
    this.gpu.denseForward(gpu(x), gpu(w), opt(b), gpu(y), N, I, O, opt(relu));
  }
  denseBackward(x: Tensor, w: Tensor, gy: Tensor, gx: Tensor | null, gw: Tensor, gb: Tensor | null, N: number, I: number, O: number): void {
    this.gpu.denseBackward(gpu(x), gpu(w), gpu(gy), opt(gx), gpu(gw), opt(gb), N, I, O);
  }
  conv2dForward(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, g: Conv2dGeometry, relu?: Tensor | null): void {
    this.gpu.conv2dForward(gpu(x), gpu(w), opt(b), gpu(y), g, opt(relu));
  }
  conv2dBackwardData(gy: Tensor, w: Tensor, gx: Tensor, g: Conv2dGeometry): void {
    this.gpu.conv2dBackwardData(gpu(gy), gpu(w), gpu(gx), g);
  }
  conv2dBackwardFilter(x: Tensor, gy: Tensor, gw: Tensor, gb: Tensor | null, g: Conv2dGeometry): void {
    this.gpu.conv2dBackwardFilter(gpu(x), gpu(gy), gpu(gw), opt(gb), g);
  }
  maxPool2dForward(x: Tensor, y: Tensor, argmax: IntTensor, g: Pool2dGeometry, tieSeed: number): void {
    this.gpu.maxPool2dForward(gpu(x), gpu(y), gpu(argmax), g, tieSeed);
  }
  maxPool2dBackward(gy: Tensor, argmax: IntTensor, gx: Tensor, g: Pool2dGeometry): void {
    this.gpu.maxPool2dBackward(gpu(gy), gpu(argmax), gpu(gx), g);
  }
  avgPool2dForward(x: Tensor, y: Tensor, g: Pool2dGeometry): void {
    this.gpu.avgPool2dForward(gpu(x), gpu(y), g);
  }
  avgPool2dBackward(gy: Tensor, gx: Tensor, g: Pool2dGeometry): void {
    this.gpu.avgPool2dBackward(gpu(gy), gpu(gx), g);
  }
  activationForward(kind: ActivationKind, x: Tensor, y: Tensor, n: number, alpha: number): void {
    this.gpu.activationForward(kind, gpu(x), gpu(y), n, alpha);
  }
  activationBackward(kind: ActivationKind, x: Tensor, y: Tensor, gy: Tensor, gx: Tensor, n: number, alpha: number): void {
    this.gpu.activationBackward(kind, gpu(x), gpu(y), gpu(gy), gpu(gx), n, alpha);
  }
  dropoutForward(x: Tensor, y: Tensor, n: number, p: number, seed: number): void {
    this.gpu.dropoutForward(gpu(x), gpu(y), n, p, seed);
  }
  dropoutBackward(gy: Tensor, gx: Tensor, n: number, p: number, seed: number): void {
    this.gpu.dropoutBackward(gpu(gy), gpu(gx), n, p, seed);
  }
  softmaxForward(x: Tensor, p: Tensor, N: number, E: number): void {
    this.gpu.softmaxForward(gpu(x), gpu(p), N, E);
  }
  softmaxBackward(p: Tensor, gy: Tensor, gx: Tensor, N: number, E: number): void {
    this.gpu.softmaxBackward(gpu(p), gpu(gy), gpu(gx), N, E);
  }
  /** The risk goes to `device.loss` on the GPU; returns NaN (read it with `device.read`). Host targets are taken up first. */
  softmaxCrossEntropy(z: Tensor, target: ClassTarget, p: Tensor, gz: Tensor, N: number, E: number): number {
    const up = 'labels' in target
      ? { labels: this.upload('labels', target.labels.subarray(0, N)) }
      : { probs: this.upload('probs', Float32Array.from(target.probs.subarray(0, N * E))) };
    this.gpu.softmaxCrossEntropy(gpu(z), up, gpu(p), gpu(gz), N, E, gpuTensor(this.device.loss));
    return NaN;
  }
  batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor, R: number, C: number, training: boolean, eps: number,
    momentum: number, runningMean: Tensor, runningVar: Tensor, saveMean: Tensor, saveInvStd: Tensor): void {
    this.gpu.batchNormForward(gpu(x), gpu(gamma), gpu(beta), gpu(y), R, C, training, eps, momentum, gpu(runningMean),
      gpu(runningVar), gpu(saveMean), gpu(saveInvStd));
  }
  batchNormBackward(x: Tensor, gamma: Tensor, gy: Tensor, gx: Tensor, ggamma: Tensor, gbeta: Tensor, R: number, C: number,
    training: boolean, saveMean: Tensor, saveInvStd: Tensor): void {
    this.gpu.batchNormBackward(gpu(x), gpu(gamma), gpu(gy), gpu(gx), gpu(ggamma), gpu(gbeta), R, C, training, gpu(saveMean),
      gpu(saveInvStd));
  }
  sgdUpdate(w: Tensor, g: Tensor, buf: Tensor | null, n: number, lr: number, momentum: number, dampening: number,
    weightDecay: number, nesterov: boolean, firstStep: boolean): void {
    this.gpu.sgdUpdate(gpu(w), gpu(g), opt(buf), n, lr, momentum, dampening, weightDecay, nesterov, firstStep);
  }
  adamUpdate(w: Tensor, g: Tensor, m: Tensor, v: Tensor, vMax: Tensor | null, n: number, lr: number, beta1: number,
    beta2: number, eps: number, l2: number, shrink: number, t: number): void {
    this.gpu.adamUpdate(gpu(w), gpu(g), gpu(m), gpu(v), opt(vMax), n, lr, beta1, beta2, eps, l2, shrink, t);
  }
  rmspropUpdate(w: Tensor, g: Tensor, squareAvg: Tensor, buf: Tensor | null, gradAvg: Tensor | null, n: number, lr: number,
    alpha: number, eps: number, weightDecay: number, momentum: number): void {
    this.gpu.rmspropUpdate(gpu(w), gpu(g), gpu(squareAvg), opt(buf), opt(gradAvg), n, lr, alpha, eps, weightDecay, momentum);
  }
  adagradUpdate(w: Tensor, g: Tensor, sum: Tensor, n: number, lr: number, lrDecay: number, eps: number, weightDecay: number,
    t: number): void {
    this.gpu.adagradUpdate(gpu(w), gpu(g), gpu(sum), n, lr, lrDecay, eps, weightDecay, t);
  }
  addBias(y: Tensor, bias: Tensor, R: number, C: number): void {
    this.gpu.addBias(gpu(y), gpu(bias), R, C);
  }
  sumRows(gy: Tensor, gb: Tensor, R: number, C: number): void {
    this.gpu.sumRows(gpu(gy), gpu(gb), R, C);
  }
  addTensors(a: Tensor, b: Tensor, y: Tensor, n: number): void {
    this.gpu.addTensors(gpu(a), gpu(b), gpu(y), n);
  }
  addBroadcast(x: Tensor, b: Tensor, y: Tensor, N: number, R: number, C: number): void {
    this.gpu.addBroadcast(gpu(x), gpu(b), gpu(y), N, R, C);
  }
  sumBroadcast(gy: Tensor, gb: Tensor, N: number, R: number, C: number): void {
    this.gpu.sumBroadcast(gpu(gy), gpu(gb), N, R, C);
  }
  copyBlock(src: Tensor, dst: Tensor, R: number, C: number, srcStride: number, srcOffset: number, dstStride: number,
    dstOffset: number): void {
    this.gpu.copyBlock(gpu(src), gpu(dst), R, C, srcStride, srcOffset, dstStride, dstOffset);
  }

  /** Host labels or probabilities in a device scratch tensor that grows as needed. */
  private upload(kind: 'labels' | 'probs', data: Int32Array | Float32Array): GpuTensor {
    let t = this[kind];
    if (!t || t.length < data.length) {
      t = kind === 'labels' ? this.arena.ints(data.length) : this.arena.floats(data.length);
      this[kind] = t;
    }
    const view = subTensor(t, 0, data.length);
    this.gpu.write(view, data);
    return view;
  }
}


/** The engine's parts on an open device (Node: openNodeGpu; browser: openDevice(navigator.gpu, ...)). */
export async function webGpuParts(opened: GpuDevice): Promise<{ kernels: WebGpuKernels; arena: GpuArena }> {
  const kernels = await GpuKernels.create(opened.device);
  const arena = new GpuArena(opened.device);
  return { kernels: new WebGpuKernels(kernels, arena, opened.adapter), arena };
}

/** The WebGPU engine on an opened device (any `GPU`: Dawn in Node, navigator.gpu in a browser). */
export async function webGpuEngine(opened: GpuDevice): Promise<Engine> {
  const { kernels, arena } = await webGpuParts(opened);
  return {
    name: 'webgpu', adapter: opened.adapter.name, kernels, arena, threads: 1,
    dispose: async () => {
      await kernels.gpu.finish().catch(() => {});
      arena.destroy();
      opened.device.destroy();
    },
  };
}
