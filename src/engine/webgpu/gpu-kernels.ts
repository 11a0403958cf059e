/// <reference types="@webgpu/types" />
/**
 * The kernel interface on a GPU: the methods of `Kernels` (src/kernels/kernels.ts), one for one,
 * taking GPU tensor handles (buffer + element offset + length) instead of Float32Arrays. A call
 * only records a dispatch; `flush()` submits what was recorded, `read()` brings a tensor back
 * (asynchronously: a step loop reads its loss a step late, see README.md). Each pipeline is
 * made once, the first time a call needs it.
 */
import type { ActivationKind, Conv2dGeometry, Pool2dGeometry } from '../../kernels/kernels.js';
import { checkKernel, createVariant, variantKey } from './pipelines.js';
import { BATCH_NORM_BACKWARD, BATCH_NORM_FORWARD, BATCH_NORM_KERNELS } from './shaders/batchnorm.js';
import { CONV_BACKWARD_DATA, CONV_BACKWARD_FILTER, CONV_FORWARD, DENSE_FORWARD, GEMM_KERNELS, MATMUL } from './shaders/gemm.js';
import { OPTIMIZER_KERNELS, ADAGRAD_UPDATE, ADAM_UPDATE, RMSPROP_UPDATE, SGD_UPDATE } from './shaders/optimizers.js';
import { ACTIVATION_BACKWARD, ACTIVATION_CODES, ACTIVATION_FORWARD, ADD_BIAS, DROPOUT, NON_FINITE, POINTWISE_KERNELS,
  SUM_ROWS } from './shaders/pointwise.js';
import { AVG_POOL_BACKWARD, AVG_POOL_FORWARD, MAX_POOL_BACKWARD, MAX_POOL_FORWARD, POOL_KERNELS } from './shaders/pool.js';
import { MEAN_LOSS, QUADRATIC_LOSS, SOFTMAX_BACKWARD, SOFTMAX_CROSS_ENTROPY, SOFTMAX_FORWARD, SOFTMAX_KERNELS } from './shaders/softmax.js';
import { ADD_BROADCAST, ADD_TENSORS, COPY_BLOCK, JOIN_KERNELS, SQUARED_DISTANCE, SUM_BROADCAST } from './shaders/join.js';
import { paramBytes, type KernelSpec } from './shaders/spec.js';
import { type GpuTensor, view } from './tensor.js';
import { MAX_GROUPS, TILE } from './limits.js';

type T = GpuTensor;

/** Every kernel of the WebGPU engine. */
export const ALL_KERNELS: readonly KernelSpec[] = [...GEMM_KERNELS, ...POINTWISE_KERNELS, ...POOL_KERNELS,
  ...SOFTMAX_KERNELS, ...BATCH_NORM_KERNELS, ...OPTIMIZER_KERNELS, ...JOIN_KERNELS];

/** Class labels (int32 tensor, one per sample) or target vectors on the simplex (E per sample). */
export type GpuClassTarget = { labels: T } | { probs: T };

const WG = 64;

export class GpuKernels {
  readonly name = 'webgpu';
  readonly fusesRelu = true;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly spent: GPUBuffer[] = [];
  private readonly errors: Promise<GPUError | null>[] = [];
  private readonly dummy: GPUBuffer;
  private readonly dummyInts: GPUBuffer;
  private rowLoss: GPUBuffer;

  /** The sources by kernel name: the ones `create` compiled, for every later variant too. */
  private readonly specs: Map<string, KernelSpec>;

  /** Pipelines by kernel and aliasing pattern, made on first use. */
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  private constructor(readonly device: GPUDevice, specs: readonly KernelSpec[]) {
    this.specs = new Map(specs.map((s) => [s.name, s]));
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    this.dummy = device.createBuffer({ size: 16, usage, label: 'absent tensor' });
    this.dummyInts = device.createBuffer({ size: 16, usage, label: 'absent int tensor' });
    this.rowLoss = device.createBuffer({ size: 1024, usage, label: 'row losses' });
  }

  /**
   * Checks that every kernel compiles (a ShaderError names the one that does not). Pipelines are
   * then made per call-site pattern on first use, once per network: time the first step apart.
   */
  static async create(device: GPUDevice, specs: readonly KernelSpec[] = ALL_KERNELS): Promise<GpuKernels> {
    await Promise.all(specs.map((s) => checkKernel(device, s)));
    return new GpuKernels(device, specs);
  }

  // ---- matrix products and convolutions (tiled GEMMs) ----

  matmul(a: T, b: T, c: T, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    need([[a, M * K, 'a'], [b, K * N, 'b'], [c, M * N, 'c']], 'matmul');
    if (M * N === 0) return;
    this.gemm(MATMUL, [a, b, c], { GM: M, GN: N, GK: K, transA, transB, accumulate });
  }

  denseForward(x: T, w: T, b: T | null, y: T, N: number, I: number, O: number, relu?: T | null): void {
    need([[x, N * I, 'x'], [w, O * I, 'w'], [b, O, 'b'], [y, N * O, 'y'], [relu ?? null, N * O, 'relu']], 'denseForward');
    this.gemm(DENSE_FORWARD, [x, w, b, y, relu ?? null], { GM: N, GN: O, GK: I, hasBias: b !== null, hasRelu: !!relu });
  }

  denseBackward(x: T, w: T, gy: T, gx: T | null, gw: T, gb: T | null, N: number, I: number, O: number): void {
    if (gx) this.matmul(gy, w, gx, N, I, O, false, false, false);
    this.matmul(gy, x, gw, O, I, N, true, false, true);
    if (gb) this.sumRows(gy, gb, N, O);
  }

  conv2dForward(x: T, w: T, b: T | null, y: T, g: Conv2dGeometry, relu?: T | null): void {
    const { G, Cg, Og } = groups(g, 'conv2dForward');
    const rows = g.N * g.OH * g.OW, K = g.KH * g.KW * Cg;
    need([[x, g.N * g.H * g.W * g.C, 'x'], [w, g.O * K, 'w'], [b, g.O, 'b'], [y, rows * g.O, 'y'],
      [relu ?? null, rows * g.O, 'relu']], 'conv2dForward');
    for (let i = 0; i < G; i++) {
      const [xi, yi] = [shift(x, i * Cg), shift(y, i * Og)];
      this.gemm(CONV_FORWARD, [xi, shift(w, i * Og * K), b && shift(b, i * Og), yi, relu ? shift(relu, i * Og) : null],
        { GM: rows, GN: Og, GK: K, ...groupDims(g, Cg, Og), hasBias: b !== null, hasRelu: !!relu });
    }
  }

  conv2dBackwardData(gy: T, w: T, gx: T, g: Conv2dGeometry): void {
    const { G, Cg, Og } = groups(g, 'conv2dBackwardData');
    const K = g.KH * g.KW * Cg;
    need([[gy, g.N * g.OH * g.OW * g.O, 'gy'], [w, g.O * K, 'w'], [gx, g.N * g.H * g.W * g.C, 'gx']],
      'conv2dBackwardData');
    for (let i = 0; i < G; i++) {
      this.gemm(CONV_BACKWARD_DATA, [shift(gy, i * Og), shift(w, i * Og * K), shift(gx, i * Cg)],
        { GM: g.N * g.H * g.W, GN: Cg, GK: g.KH * g.KW * Og, ...groupDims(g, Cg, Og) });
    }
  }

  conv2dBackwardFilter(x: T, gy: T, gw: T, gb: T | null, g: Conv2dGeometry): void {
    const { G, Cg, Og } = groups(g, 'conv2dBackwardFilter');
    const rows = g.N * g.OH * g.OW, K = g.KH * g.KW * Cg;
    need([[x, g.N * g.H * g.W * g.C, 'x'], [gy, rows * g.O, 'gy'], [gw, g.O * K, 'gw'], [gb, g.O, 'gb']],
      'conv2dBackwardFilter');
    for (let i = 0; i < G; i++) {
      this.gemm(CONV_BACKWARD_FILTER, [shift(x, i * Cg), shift(gy, i * Og), shift(gw, i * Og * K)],
        { GM: Og, GN: K, GK: rows, ...groupDims(g, Cg, Og) });
    }
    if (gb) this.sumRows(gy, gb, rows, g.O);
  }

  // ---- pooling ----

  /** argmax: an int32 tensor; indices are relative to x's first element, as on the CPU. */
  maxPool2dForward(x: T, y: T, argmax: T, g: Pool2dGeometry, tieSeed: number): void {
    const total = g.N * g.OH * g.OW * g.C;
    need([[x, g.N * g.H * g.W * g.C, 'x'], [y, total, 'y'], [argmax, total, 'argmax']], 'maxPool2dForward');
    this.flat(MAX_POOL_FORWARD, [x, y, argmax], total, { total, ...g, tieSeed: Math.max(tieSeed, 0), useTies: tieSeed >= 0 });
  }

  maxPool2dBackward(gy: T, argmax: T, gx: T, g: Pool2dGeometry): void {
    const total = g.N * g.H * g.W * g.C, outs = g.N * g.OH * g.OW * g.C;
    need([[gy, outs, 'gy'], [argmax, outs, 'argmax'], [gx, total, 'gx']], 'maxPool2dBackward');
    this.flat(MAX_POOL_BACKWARD, [gy, argmax, gx], total, { total, ...g });
  }

  avgPool2dForward(x: T, y: T, g: Pool2dGeometry): void {
    const total = g.N * g.OH * g.OW * g.C;
    need([[x, g.N * g.H * g.W * g.C, 'x'], [y, total, 'y']], 'avgPool2dForward');
    this.flat(AVG_POOL_FORWARD, [x, y], total, { total, ...g, scale: 1 / (g.KH * g.KW) });
  }

  avgPool2dBackward(gy: T, gx: T, g: Pool2dGeometry): void {
    const total = g.N * g.H * g.W * g.C;
    need([[gy, g.N * g.OH * g.OW * g.C, 'gy'], [gx, total, 'gx']], 'avgPool2dBackward');
    this.flat(AVG_POOL_BACKWARD, [gy, gx], total, { total, ...g, scale: 1 / (g.KH * g.KW) });
  }

  // ---- point-wise ----

  activationForward(kind: ActivationKind, x: T, y: T, n: number, alpha: number): void {
    need([[x, n, 'x'], [y, n, 'y']], 'activationForward');
    this.flat(ACTIVATION_FORWARD, [x, y], n, { n, kind: ACTIVATION_CODES[kind], alpha });
  }

  activationBackward(kind: ActivationKind, x: T, y: T, gy: T, gx: T, n: number, alpha: number): void {
    need([[x, n, 'x'], [y, n, 'y'], [gy, n, 'gy'], [gx, n, 'gx']], 'activationBackward');
    this.flat(ACTIVATION_BACKWARD, [x, y, gy, gx], n, { n, kind: ACTIVATION_CODES[kind], alpha });
  }

  dropoutForward(x: T, y: T, n: number, p: number, seed: number): void {
    need([[x, n, 'x'], [y, n, 'y']], 'dropoutForward');
    this.flat(DROPOUT, [x, y], n, { n, seed, ...dropThreshold(p) });
  }

  dropoutBackward(gy: T, gx: T, n: number, p: number, seed: number): void {
    need([[gy, n, 'gy'], [gx, n, 'gx']], 'dropoutBackward');
    this.flat(DROPOUT, [gy, gx], n, { n, seed, ...dropThreshold(p) });
  }

  addBias(y: T, bias: T, R: number, C: number): void {
    need([[y, R * C, 'y'], [bias, C, 'bias']], 'addBias');
    this.flat(ADD_BIAS, [y, bias], R * C, { n: R * C, C });
  }

  sumRows(gy: T, gb: T, R: number, C: number): void {
    need([[gy, R * C, 'gy'], [gb, C, 'gb']], 'sumRows');
    if (C > MAX_GROUPS) throw new RangeError(`sumRows: ${C} columns is too many for one dispatch`);
    if (C > 0) this.dispatch(SUM_ROWS, [gy, gb], { R, C }, C, 1);
  }

  /** flag[0] = 1 when x holds a NaN or ±∞, else 0 (the device-side check of a step). */
  nonFinite(x: T, n: number, flag: T): void {
    need([[x, n, 'x'], [flag, 1, 'flag']], 'nonFinite');
    this.dispatch(NON_FINITE, [x, flag], { n }, 1, 1);
  }

  // ---- graph joins, copies, and the trainer's one reduction ----

  addTensors(a: T, b: T, y: T, n: number): void {
    need([[a, n, 'a'], [b, n, 'b'], [y, n, 'y']], 'addTensors');
    this.flat(ADD_TENSORS, [a, b, y], n, { n });
  }

  addBroadcast(x: T, b: T, y: T, N: number, R: number, C: number): void {
    const total = N * R * C;
    need([[x, total, 'x'], [b, N * C, 'b'], [y, total, 'y']], 'addBroadcast');
    this.flat(ADD_BROADCAST, [x, b, y], total, { total, R, C });
  }

  sumBroadcast(gy: T, gb: T, N: number, R: number, C: number): void {
    need([[gy, N * R * C, 'gy'], [gb, N * C, 'gb']], 'sumBroadcast');
    this.flat(SUM_BROADCAST, [gy, gb], N * C, { NC: N * C, R, C });
  }

  copyBlock(src: T, dst: T, R: number, C: number, srcStride: number, srcOffset: number, dstStride: number,
    dstOffset: number): void {
    if (R * C === 0) return;
    need([[src, (R - 1) * srcStride + srcOffset + C, 'src'], [dst, (R - 1) * dstStride + dstOffset + C, 'dst']], 'copyBlock');
    this.flat(COPY_BLOCK, [src, dst], R * C, { R, C, srcStride, srcOffset, dstStride, dstOffset });
  }

  /** out[0] = Σ (a − b)² over n elements, or Σ a² when b is null (a fixed order: the same bits every run). */
  squaredDistance(a: T, b: T | null, n: number, out: T): void {
    need([[a, n, 'a'], [b, n, 'b'], [out, 1, 'out']], 'squaredDistance');
    this.dispatch(SQUARED_DISTANCE, [a, b, out], { n, hasB: b !== null }, 1, 1);
  }

  // ---- soft-max and the loss ----

  softmaxForward(x: T, p: T, N: number, E: number): void {
    need([[x, N * E, 'x'], [p, N * E, 'p']], 'softmaxForward');
    this.flat(SOFTMAX_FORWARD, [x, p], N, { N, E });
  }

  softmaxBackward(p: T, gy: T, gx: T, N: number, E: number): void {
    need([[p, N * E, 'p'], [gy, N * E, 'gy'], [gx, N * E, 'gx']], 'softmaxBackward');
    this.flat(SOFTMAX_BACKWARD, [p, gy, gx], N, { N, E });
  }

  /** As Kernels.softmaxCrossEntropy, but the risk goes to loss[0] on the device instead of being returned. */
  softmaxCrossEntropy(z: T, target: GpuClassTarget, p: T, gz: T, N: number, E: number, loss: T): void {
    const labels = 'labels' in target ? target.labels : null, probs = 'probs' in target ? target.probs : null;
    need([[z, N * E, 'z'], [labels, N, 'labels'], [probs, N * E, 'probs'], [p, N * E, 'p'], [gz, N * E, 'gz'],
      [loss, 1, 'loss']], 'softmaxCrossEntropy');
    const rows = this.rowLosses(N);
    this.flat(SOFTMAX_CROSS_ENTROPY, [z, labels, probs, p, gz, rows], N, { N, E, useLabels: labels !== null });
    this.dispatch(MEAN_LOSS, [rows, loss], { N }, 1, 1);
  }

  /** As quadraticLoss (src/losses/quadratic.ts) with target values t: g = ∂risk/∂y, the risk to loss[0]. */
  quadraticLoss(y: T, t: T, g: T, N: number, E: number, loss: T): void {
    need([[y, N * E, 'y'], [t, N * E, 't'], [g, N * E, 'g'], [loss, 1, 'loss']], 'quadraticLoss');
    const rows = this.rowLosses(N);
    this.flat(QUADRATIC_LOSS, [y, t, g, rows], N, { N, E });
    this.dispatch(MEAN_LOSS, [rows, loss], { N }, 1, 1);
  }

  // ---- batch normalisation ----

  batchNormForward(x: T, gamma: T, beta: T, y: T, R: number, C: number, training: boolean, eps: number, momentum: number,
    runningMean: T, runningVar: T, saveMean: T, saveInvStd: T): void {
    need([[x, R * C, 'x'], [gamma, C, 'gamma'], [beta, C, 'beta'], [y, R * C, 'y'], [runningMean, C, 'runningMean'],
      [runningVar, C, 'runningVar'], [saveMean, C, 'saveMean'], [saveInvStd, C, 'saveInvStd']], 'batchNormForward');
    this.dispatch(BATCH_NORM_FORWARD, [x, gamma, beta, y, runningMean, runningVar, saveMean, saveInvStd],
      { R, C, training, eps, momentum }, C, 1);
  }

  batchNormBackward(x: T, gamma: T, gy: T, gx: T, ggamma: T, gbeta: T, R: number, C: number, training: boolean,
    saveMean: T, saveInvStd: T): void {
    need([[x, R * C, 'x'], [gamma, C, 'gamma'], [gy, R * C, 'gy'], [gx, R * C, 'gx'], [ggamma, C, 'ggamma'],
      [gbeta, C, 'gbeta'], [saveMean, C, 'saveMean'], [saveInvStd, C, 'saveInvStd']], 'batchNormBackward');
    this.dispatch(BATCH_NORM_BACKWARD, [x, gamma, gy, gx, ggamma, gbeta, saveMean, saveInvStd], { R, C, training }, C, 1);
  }

  // ---- optimizers: one dispatch over the whole parameter vector ----
  // `guard`: a one-element flag (nonFinite of g); when it is set, w and the state stay as they are.

  sgdUpdate(w: T, g: T, buf: T | null, n: number, lr: number, momentum: number, dampening: number, weightDecay: number,
    nesterov: boolean, firstStep: boolean, guard: T | null = null): void {
    need([[w, n, 'w'], [g, n, 'g'], [buf, n, 'buf'], [guard, 1, 'guard']], 'sgdUpdate');
    this.flat(SGD_UPDATE, [w, g, buf, guard], n, { n, hasGuard: guard !== null, lr, momentum, keep: 1 - dampening, weightDecay, hasBuf: buf !== null,
      nesterov, firstStep });
  }

  adamUpdate(w: T, g: T, m: T, v: T, vMax: T | null, n: number, lr: number, beta1: number, beta2: number, eps: number,
    l2: number, shrink: number, t: number, guard: T | null = null): void {
    need([[w, n, 'w'], [g, n, 'g'], [m, n, 'm'], [v, n, 'v'], [vMax, n, 'vMax'], [guard, 1, 'guard']], 'adamUpdate');
    this.flat(ADAM_UPDATE, [w, g, m, v, vMax, guard], n, { n, hasGuard: guard !== null, stepSize: lr / (1 - beta1 ** t), beta1, beta2, eps, l2, shrink,
      sqrtBc2: Math.sqrt(1 - beta2 ** t), amsgrad: vMax !== null });
  }

  /** torch.optim.RMSprop (src/train/optimizers/rmsprop.ts): buf with momentum > 0, gradAvg when centered. */
  rmspropUpdate(w: T, g: T, squareAvg: T, buf: T | null, gradAvg: T | null, n: number, lr: number, alpha: number,
    eps: number, weightDecay: number, momentum: number, guard: T | null = null): void {
    need([[w, n, 'w'], [g, n, 'g'], [squareAvg, n, 'squareAvg'], [buf, n, 'buf'], [gradAvg, n, 'gradAvg'],
      [guard, 1, 'guard']], 'rmspropUpdate');
    this.flat(RMSPROP_UPDATE, [w, g, squareAvg, buf, gradAvg, guard], n, { n, hasGuard: guard !== null, lr, alpha, eps, weightDecay, momentum,
      hasBuf: buf !== null, centered: gradAvg !== null });
  }

  /** torch.optim.Adagrad (src/train/optimizers/adagrad.ts), step t ≥ 1. */
  adagradUpdate(w: T, g: T, sum: T, n: number, lr: number, lrDecay: number, eps: number, weightDecay: number, t: number,
    guard: T | null = null): void {
    need([[w, n, 'w'], [g, n, 'g'], [sum, n, 'sum'], [guard, 1, 'guard']], 'adagradUpdate');
    this.flat(ADAGRAD_UPDATE, [w, g, sum, guard], n, { n, hasGuard: guard !== null, clr: lr / (1 + (t - 1) * lrDecay), eps, weightDecay });
  }

  // ---- moving data, submitting work ----

  /** Copies data into t (after the work recorded so far, which is submitted first to keep the order). */
  write(t: T, data: Float32Array | Int32Array): void {
    need([[t, data.length, 'destination']], 'write');
    this.flush();
    this.device.queue.writeBuffer(t.buffer, t.offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Submits the recorded work and brings t back. Resolves after the GPU has finished it. */
  async read(t: T): Promise<Float32Array> {
    return new Float32Array(await this.readBytes(t));
  }

  async readInts(t: T): Promise<Int32Array> {
    return new Int32Array(await this.readBytes(t));
  }

  /** Submits what was recorded (a step's worth of dispatches in one command buffer). */
  flush(): void {
    if (!this.encoder) return;
    this.pass!.end();
    this.device.pushErrorScope('validation');
    this.device.queue.submit([this.encoder.finish()]);
    this.errors.push(this.device.popErrorScope());
    this.encoder = this.pass = null;
    for (const b of this.spent.splice(0)) b.destroy(); // destroyed once the submitted work is done
  }

  /** Waits for everything submitted; throws the first validation error a dispatch raised. */
  async finish(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    const errors = await Promise.all(this.errors.splice(0));
    const first = errors.find((e) => e !== null);
    if (first) throw new Error(`WebGPU rejected a dispatch: ${first.message.split('\n')[0]}`);
  }

  private async readBytes(t: T): Promise<ArrayBuffer> {
    const size = t.length * 4;
    this.flush();
    const staging = this.device.createBuffer({ size: Math.max(4, size), usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = this.device.createCommandEncoder();
    if (size > 0) encoder.copyBufferToBuffer(t.buffer, t.offset * 4, staging, 0, size);
    this.device.queue.submit([encoder.finish()]);
    await this.finish();
    await staging.mapAsync(GPUMapMode.READ);
    const bytes = staging.getMappedRange(0, size).slice(0);
    staging.destroy();
    return bytes;
  }

  private rowLosses(N: number): T {
    if (this.rowLoss.size < N * 4) {
      this.spent.push(this.rowLoss);
      this.rowLoss = this.device.createBuffer({ size: N * 8, usage: GPUBufferUsage.STORAGE, label: 'row losses' });
    }
    return view(this.rowLoss, 0, N);
  }

  /** A GEMM variant: one 8×8 workgroup per 32×32 output tile. */
  private gemm(spec: KernelSpec, tensors: (T | null)[], scalars: Record<string, number | boolean>): void {
    const gx = Math.ceil((scalars.GN as number) / TILE), gy = Math.ceil((scalars.GM as number) / TILE);
    if (gx > MAX_GROUPS || gy > MAX_GROUPS) throw new RangeError(`${spec.name}: ${scalars.GM}×${scalars.GN} output is too large for one dispatch`);
    if (gx * gy > 0) this.dispatch(spec, tensors, scalars, gx, gy);
  }

  /** An element-wise kernel over `count` threads, 64 a group. */
  private flat(spec: KernelSpec, tensors: (T | null)[], count: number, scalars: Record<string, number | boolean>): void {
    const groups = Math.ceil(count / WG);
    if (groups === 0) return;
    this.dispatch(spec, tensors, scalars, Math.min(groups, MAX_GROUPS), Math.ceil(groups / MAX_GROUPS));
  }

  private dispatch(kernel: KernelSpec, tensors: (T | null)[], scalars: Record<string, number | boolean>, x: number, y: number): void {
    const spec = this.specs.get(kernel.name);
    if (!spec) throw new Error(`WebGPU kernel ${kernel.name} was not compiled`);
    const buffers = this.bufferOf(spec, tensors);
    const alias = buffers.map((b) => buffers.indexOf(b));
    const key = variantKey(spec, alias);
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      pipeline = createVariant(this.device, spec, alias);
      this.pipelines.set(key, pipeline);
    }
    const bytes = paramBytes(spec, tensors.map((t) => t?.offset ?? 0), scalars);
    const params = this.device.createBuffer({ size: bytes.byteLength, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint8Array(params.getMappedRange()).set(new Uint8Array(bytes));
    params.unmap();
    this.spent.push(params);
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: params } },
      ...buffers.flatMap((b, i) => (alias[i] === i ? [{ binding: i + 1, resource: { buffer: b } }] : []))];
    const group = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries });
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    this.pass!.setPipeline(pipeline);
    this.pass!.setBindGroup(0, group);
    this.pass!.dispatchWorkgroups(x, y);
  }

  /**
   * The buffer behind each tensor. An absent tensor (never read: its flag is off) borrows the buffer
   * of a present one of its element type, so it costs no binding and no extra variant.
   */
  private bufferOf(spec: KernelSpec, tensors: (T | null)[]): GPUBuffer[] {
    return tensors.map((t, i) => {
      if (t) return t.buffer;
      const type = spec.tensors[i][1];
      const other = tensors.find((u, j) => u && spec.tensors[j][1] === type);
      return other ? other.buffer : type === 'i32' ? this.dummyInts : this.dummy;
    });
  }
}

/** Dropout's integer test: hash < ⌈p·2³²⌉ is hash < p·2³² for an integer hash; p = 1 drops all. */
function dropThreshold(p: number): { threshold: number; dropAll: boolean; scale: number } {
  const t = Math.ceil(p * 4294967296);
  return { threshold: Math.min(t, 4294967295), dropAll: t >= 4294967296, scale: 1 / (1 - p) };
}

/** The group count and a group's input and output channels; a geometry whose groups do not divide C and O is refused. */
export function groups(g: Conv2dGeometry, kernel: string): { G: number; Cg: number; Og: number } {
  const G = g.G ?? 1;
  if (!Number.isInteger(G) || G < 1 || g.C % G !== 0 || g.O % G !== 0) {
    throw new RangeError(`${kernel}: ${G} groups do not divide ${g.C} input and ${g.O} output channels`);
  }
  return { G, Cg: g.C / G, Og: g.O / G };
}

/**
 * A group's dispatch sees C = Cg and O = Og channels; XC and YC (the channels per pixel of x and y)
 * stay the whole tensor's, and the group's first channel is in each tensor's offset (see `shift`).
 */
function groupDims(g: Conv2dGeometry, Cg: number, Og: number): Conv2dGeometry & { XC: number; YC: number } {
  return { ...g, C: Cg, O: Og, XC: g.C, YC: g.O };
}

/** t from element `by` on: a group's first channel (the loaders stride over pixels by XC / YC). */
function shift(t: T, by: number): T {
  return by === 0 ? t : view(t.buffer, t.offset + by, t.length - by);
}

/** Each tensor (when given) must hold what the call reads or writes: the views share buffers. */
function need(checks: [T | null, number, string][], kernel: string): void {
  for (const [t, n, what] of checks) {
    if (t && t.length < n) throw new RangeError(`${kernel}: ${what} holds ${t.length} elements, the call needs ${n}`);
  }
}
