/**
 * The fast kernels: the Kernels interface on the WebAssembly SIMD module (assembly/).
 *
 * Each method checks that its arrays are float32 (int32 for arg-max and labels) views into the
 * engine's memory and long enough for the geometry; if so it writes the parameter block (byte
 * addresses and sizes, each word by its name in kernel-params.ts) and runs the kernel, split over the pool's threads when the call is big
 * enough to repay the hand-off (a few µs to a worker still spinning after the previous call,
 * 40-50 µs to one that sleeps): a call estimated under 2·minPartNs stays on the calling thread.
 * Otherwise (a Float64Array of the gradient proofs, an array from another heap)
 * the call goes to the reference kernel, so every engine call is correct.
 *
 * The split never changes the arithmetic of any output (see assembly/): results are bitwise the
 * same for every thread count.
 */
import { hostInts, type IntTensor, type Tensor } from '../core/tensor.js';
import type { ActivationKind, ClassTarget, Conv2dGeometry, Kernels, Pool2dGeometry } from '../kernels/kernels.js';
import { referenceKernels as ref } from '../kernels/reference/index.js';
import type { KernelName } from './protocol.js';
import {
  ActivationBackward, ActivationForward, Adam, AddBroadcast, AddTensors, BatchNorm, BiasRows, Conv, CopyBlock, Dropout,
  Gemm, Grouped, Pool, Sgd, SoftmaxBackward, SoftmaxCrossEntropy, SoftmaxForward, StepBlock, SumBroadcast,
} from './kernel-params.js';
import type { Runtime } from './runtime.js';
import { type ConvAlgorithm, WinogradConv, winogradFits, winogradPays } from './winograd.js';

/** Rough single-thread speeds, used only to decide how many threads a call deserves. */
const NS_PER_FLOP = 1 / 40;      // ~40 GFLOP/s in the SIMD tiles
const NS_PER_ELEMENT = 0.5;      // memory-bound passes
const NS_PER_TRANSCENDENTAL = 5; // exp, tanh, log1p
/**
 * Matrix products at ~20 GFLOP/s: a small dense layer's products run at about half the tiles' speed
 * (packing and edge tiles weigh more; NET-A's 120→84, 1.3 MFLOP, takes 50-60 µs on one thread), so
 * at 40 they stayed on one thread, where two threads do them in ~0.6 of the time.
 */
const GEMM_NS_PER_FLOP = 1 / 20;

const ACTIVATION_CODES: Record<ActivationKind, number> = { relu: 0, leaky_relu: 1, sigmoid: 2, tanh: 3, softplus: 4 };

const TRANS_A = 1, TRANS_B = 2, ACCUMULATE = 4;

/** Shares per thread of a split call (dynamic balance between threads). */
const SHARES_PER_THREAD = 8;

export interface WasmKernelOptions {
  /**
   * A call runs on more threads only if each is estimated to get at least this many nanoseconds
   * of work (default 20 000: calls under ~40 µs stay on the calling thread, as a hand-off to a
   * spinning worker costs a few µs and to a sleeping one tens of µs). 0 splits every call as far
   * as it goes.
   */
  minPartNs?: number;
  /**
   * 3×3 stride-1 convolutions: 'auto' (default) takes Winograd F(2×2, 3×3) where it pays,
   * 'direct' and 'winograd' force one (for tests and benchmarks; 'winograd' only where it fits).
   */
  convAlgorithm?: ConvAlgorithm;
}

export class WasmKernels implements Kernels {
  readonly name = 'wasm';
  readonly fusesRelu = true;
  /** Threads the last WebAssembly call ran on (1: the calling thread alone). */
  lastParts = 0;
  /** WebAssembly calls so far that ran on more than one thread. */
  splitCalls = 0;
  private readonly minPartNs: number;
  private units = 1;
  /** Backward-data with stride 1 in scatter form (else the forward convolution of gy); for tests and benchmarks. */
  scatterBackwardData = true;

  /** See WasmKernelOptions.convAlgorithm; may be changed between calls. */
  convAlgorithm: ConvAlgorithm;
  /** The Winograd kernels' set-up (its G table is a test hook). */
  readonly winograd: WinogradConv;

  constructor(private readonly rt: Runtime, options: WasmKernelOptions = {}) {
    this.minPartNs = options.minPartNs ?? 20_000;
    this.convAlgorithm = options.convAlgorithm ?? 'auto';
    this.winograd = new WinogradConv({
      rt, parts: (ns, units) => this.parts(ns, units), run: (name, threads, s) => this.run(name, threads, s),
    });
  }

  /** Winograd for a product with inC input and outC output channels of layer g? */
  private useWinograd(g: Conv2dGeometry, inC: number, outC: number): boolean {
    if (this.convAlgorithm === 'direct' || !winogradFits(g)) return false;
    return this.convAlgorithm === 'winograd' || winogradPays(inC, outC, g.OH, g.OW);
  }

  /** A float32 view into the engine's memory with at least n elements. */
  private f(a: Tensor | null | undefined, n: number): a is Float32Array {
    return a instanceof Float32Array && a.length >= n && this.rt.owns(a.buffer);
  }

  private ints(a: IntTensor, n: number): boolean {
    return a instanceof Int32Array && a.length >= n && this.rt.owns(a.buffer);
  }

  /**
   * How many threads a call of estimated cost `ns` (on one thread) with `units` independent work
   * units gets; remembers `units` for the run that follows.
   */
  private parts(ns: number, units: number): number {
    this.units = units;
    const threads = this.rt.threads;
    if (threads <= 1 || units <= 1) return 1;
    const byCost = this.minPartNs <= 0 ? threads : Math.floor(ns / this.minPartNs);
    return Math.max(1, Math.min(threads, units, byCost));
  }

  /**
   * Runs a kernel on `threads` threads. A split call is cut into up to SHARES_PER_THREAD shares
   * per thread, claimed by whichever thread is free, so a thread that is slowed down does less.
   */
  private run(name: KernelName, threads: number, sharesPerThread = SHARES_PER_THREAD): void {
    this.lastParts = threads;
    if (threads > 1) this.splitCalls++;
    this.rt.run(name, threads > 1 ? Math.min(this.units, threads * sharesPerThread) : 1, threads);
  }

  // ---- matrix multiply and dense layers -------------------------------------------------

  private gemm(a: Float32Array, b: Float32Array, c: Float32Array, M: number, N: number, K: number, flags: number,
    bias: Float32Array | null, relu: Float32Array | null = null): void {
    if (M === 0 || N === 0) return;
    const units = Math.max(Math.ceil(M / 4), Math.ceil(N / 8));
    const parts = this.parts(2 * M * N * K * GEMM_NS_PER_FLOP, units);
    const per = this.rt.exports.gemmScratchBytes();
    const scratch = this.rt.scratch(per * parts);
    const u = this.rt.u32;
    u[Gemm.A] = a.byteOffset; u[Gemm.B] = b.byteOffset; u[Gemm.C] = c.byteOffset;
    u[Gemm.M] = M; u[Gemm.N] = N; u[Gemm.K] = K; u[Gemm.Flags] = flags; u[Gemm.Bias] = bias ? bias.byteOffset : 0;
    u[Gemm.Scratch] = scratch; u[Gemm.ScratchPer] = per; u[Gemm.Relu] = relu ? relu.byteOffset : 0;
    // One share per thread: a share packs the whole operand it does not split.
    this.run('gemm', parts, 1);
  }

  matmul(a: Tensor, b: Tensor, c: Tensor, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean): void {
    if (!(this.f(a, M * K) && this.f(b, K * N) && this.f(c, M * N))) {
      ref.matmul(a, b, c, M, N, K, transA, transB, accumulate);
      return;
    }
    this.gemm(a, b, c, M, N, K, (transA ? TRANS_A : 0) | (transB ? TRANS_B : 0) | (accumulate ? ACCUMULATE : 0), null);
  }

  denseForward(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, N: number, I: number, O: number,
    relu: Tensor | null = null): void {
    if (!(this.f(x, N * I) && this.f(w, O * I) && this.f(y, N * O) && (b === null || this.f(b, O)) &&
      (relu === null || this.f(relu, N * O)))) {
      ref.denseForward(x, w, b, y, N, I, O, relu);
      return;
    }
    this.gemm(x, w, y, N, O, I, TRANS_B, b as Float32Array | null, relu as Float32Array | null);
  }

  denseBackward(x: Tensor, w: Tensor, gy: Tensor, gx: Tensor | null, gw: Tensor, gb: Tensor | null,
    N: number, I: number, O: number, writeGw = false): void {
    if (!(this.f(x, N * I) && this.f(w, O * I) && this.f(gy, N * O) && this.f(gw, O * I) &&
      (gx === null || this.f(gx, N * I)) && (gb === null || this.f(gb, O)))) {
      ref.denseBackward(x, w, gy, gx, gw, gb, N, I, O, writeGw);
      return;
    }
    if (gx) this.gemm(gy, w, gx as Float32Array, N, I, O, 0, null);
    // The tile's sums start from +0, so writing them gives the bits 0 + sum gives.
    this.gemm(gy, x, gw, O, I, N, TRANS_A | (writeGw ? 0 : ACCUMULATE), null);
    if (gb) this.sumRowsFast(gy, gb as Float32Array, N, O);
  }

  // ---- convolution ----------------------------------------------------------------------

  private convOk(g: Conv2dGeometry): boolean {
    const { N, H, W, C, O, OH, OW, KH, KW, SH, SW, DH, DW } = g;
    const G = g.G ?? 1;
    return [N, H, W, C, O, OH, OW, KH, KW, SH, SW, DH, DW, g.PH, g.PW, G].every(Number.isInteger) &&
      [N, H, W, C, O, OH, OW, KH, KW].every((v) => v >= 0) && SH >= 1 && SW >= 1 && DH >= 1 && DW >= 1 &&
      G >= 1 && C % G === 0 && O % G === 0;
  }

  /** Weights of a convolution: [O, KH, KW, C/G]. */
  private static convWeights(g: Conv2dGeometry): number {
    return g.O * g.KH * g.KW * (g.C / (g.G ?? 1));
  }

  /**
   * A grouped convolution (G > 1): the direct kernels of assembly/conv-grouped.ts. Depthwise
   * (one filter per channel) gets its weights packed [KH·KW][O] (forward, backward-data) and
   * per-thread tap accumulators (backward-filter) in the scratch.
   */
  private grouped(name: 'conv2dGroupedForward' | 'conv2dGroupedBackwardData' | 'conv2dGroupedBackwardFilter',
    a: number, b: number, bias: number, out: number, g: Conv2dGeometry, relu: number, units: number,
    weights: Float32Array | null): void {
    const flops = 2 * g.N * g.OH * g.OW * g.O * g.KH * g.KW * (g.C / g.G!);
    // Direct loops: about a quarter of the tiles' speed.
    const parts = this.parts(flops * NS_PER_FLOP * 4, units);
    const T = g.KH * g.KW, depthwise = g.C === g.G && g.O === g.G;
    let packed = 0, accumulators = 0, per = 0;
    if (depthwise && weights) {
      packed = this.rt.scratch(T * g.O * 4);
      const dst = new Float32Array(this.rt.currentBuffer, packed, T * g.O);
      for (let o = 0; o < g.O; o++) for (let t = 0; t < T; t++) dst[t * g.O + o] = weights[o * T + t];
    } else if (depthwise) {
      per = align64(T * 16);
      accumulators = this.rt.scratch(per * this.rt.threads);
    }
    this.setConv(a, b, bias, out, g, 0, 0, 0);
    const u = this.rt.u32;
    u[Grouped.G] = g.G!; u[Grouped.Relu] = relu; u[Grouped.Packed] = packed;
    u[Grouped.Accumulators] = accumulators; u[Grouped.AccumulatorsPer] = per;
    this.run(name, parts);
  }

  /** The Conv words of a convolution call (Partials 0: backward-filter sets it; relu: fused ReLU output or 0). */
  private setConv(a: number, b: number, bias: number, out: number, g: Conv2dGeometry, scratch: number, per: number,
    w: number, relu = 0): void {
    const u = this.rt.u32;
    u[Conv.In] = a; u[Conv.Packed] = b; u[Conv.Bias] = bias; u[Conv.Out] = out;
    u[Conv.N] = g.N; u[Conv.H] = g.H; u[Conv.W] = g.W; u[Conv.C] = g.C; u[Conv.O] = g.O; u[Conv.OH] = g.OH; u[Conv.OW] = g.OW;
    u[Conv.KH] = g.KH; u[Conv.KW] = g.KW; u[Conv.SH] = g.SH; u[Conv.SW] = g.SW; u[Conv.PH] = g.PH; u[Conv.PW] = g.PW;
    u[Conv.DH] = g.DH; u[Conv.DW] = g.DW;
    u[Conv.Scratch] = scratch; u[Conv.ScratchPer] = per; u[Conv.Weights] = w; u[Conv.Partials] = 0; u[Conv.Relu] = relu;
  }

  /** Inputs with at most this many channels take the direct (pixel-vectorised) paths. */
  private static readonly DIRECT_C = 4;

  conv2dForward(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, g: Conv2dGeometry, relu: Tensor | null = null): void {
    const { N, H, W, C, O, OH, OW, KH, KW } = g;
    if (!(this.convOk(g) && this.f(x, N * H * W * C) && this.f(w, WasmKernels.convWeights(g)) && this.f(y, N * OH * OW * O) &&
      (b === null || this.f(b, O)) && (relu === null || this.f(relu, N * OH * OW * O)))) {
      ref.conv2dForward(x, w, b, y, g, relu);
      return;
    }
    const P = N * OH * OW;
    if (P === 0 || O === 0) return;
    if ((g.G ?? 1) > 1) {
      this.grouped('conv2dGroupedForward', x.byteOffset, w.byteOffset, b ? (b as Float32Array).byteOffset : 0, y.byteOffset,
        g, relu ? (relu as Float32Array).byteOffset : 0, N * OH, w);
      return;
    }
    if (this.useWinograd(g, C, O)) {
      this.winograd.forward(x, w, b as Float32Array | null, y, N, g.H, g.W, C, O, OH, OW, g.PH, g.PW,
        relu as Float32Array | null, false);
      return;
    }
    const ex = this.rt.exports, u = this.rt.u32;
    const flops = 2 * P * O * KH * KW * C;
    this.setConv(x.byteOffset, 0, b ? (b as Float32Array).byteOffset : 0, y.byteOffset, g, 0, 0, w.byteOffset,
      relu ? (relu as Float32Array).byteOffset : 0);
    if (C <= WasmKernels.DIRECT_C && g.SW === 1 && KH * KW * C > 0) {
      const parts = this.parts(flops * NS_PER_FLOP, N);
      const packed = align64(ex.convDirectPackedBytes(C, O, KH, KW));
      const per = align64(ex.convDirectScratchBytes(this.rt.params));
      const scratch = this.rt.scratch(packed + per * parts);
      u[Conv.Packed] = scratch; u[Conv.Scratch] = scratch + packed; u[Conv.ScratchPer] = per;
      ex.convPackDirect(this.rt.params);
      this.run('conv2dForwardDirect', parts);
      return;
    }
    const parts = this.parts(flops * NS_PER_FLOP, Math.ceil(P / 4));
    const packed = align64(ex.convPackedBytes(C, O, KH, KW, 0));
    const per = align64(ex.convForwardScratchBytes(C, KH, KW));
    const scratch = this.rt.scratch(packed + per * parts);
    u[Conv.Packed] = scratch; u[Conv.Scratch] = scratch + packed; u[Conv.ScratchPer] = per;
    ex.convPackForward(this.rt.params);
    this.run('conv2dForward', parts);
  }

  conv2dBackwardData(gy: Tensor, w: Tensor, gx: Tensor, g: Conv2dGeometry): void {
    const { N, H, W, C, O, OH, OW, KH, KW } = g;
    if (!(this.convOk(g) && this.f(gy, N * OH * OW * O) && this.f(w, WasmKernels.convWeights(g)) && this.f(gx, N * H * W * C))) {
      ref.conv2dBackwardData(gy, w, gx, g);
      return;
    }
    if (N * H * W * C === 0) return;
    if ((g.G ?? 1) > 1) {
      this.grouped('conv2dGroupedBackwardData', gy.byteOffset, w.byteOffset, 0, gx.byteOffset, g, 0, N * H, w);
      return;
    }
    if (OH * OW * O > 0 && this.useWinograd(g, O, C)) {
      // The forward convolution of gy with the flipped, transposed weights, padding 2 - P.
      this.winograd.forward(gy, w, null, gx, N, OH, OW, O, C, H, W, 2 - g.PH, 2 - g.PW, null, true);
      return;
    }
    const ex = this.rt.exports;
    const flops = 2 * N * OH * OW * O * KH * KW * C;
    if (g.SH === 1 && g.SW === 1 && (g.DW === 1 || KW === 1) && OH * OW * O > 0 && this.scatterBackwardData) {
      // Stride 1: Z = gy·W, 4 pixels × 8 columns at a time, added to the gx rows the windows cover.
      const parts = this.parts(flops * NS_PER_FLOP, ex.convScatterUnits(N, OW));
      const packed = align64(ex.convScatterPackedBytes(C, O, KH, KW));
      const per = align64(ex.convScatterScratchBytes(C, O, KW, OH));
      const scratch = this.rt.scratch(packed + per * parts);
      this.setConv(gy.byteOffset, scratch, 0, gx.byteOffset, g, scratch + packed, per, w.byteOffset);
      ex.convPackScatter(this.rt.params);
      this.run('conv2dBackwardDataScatter', parts);
      return;
    }
    if (g.SH === 1 && g.SW === 1 && OH * OW * O > 0) {
      // Stride 1: the forward convolution of gy (padded by (K-1)·D - P) with the flipped, transposed weights.
      const P = N * H * W;
      const parts = this.parts(flops * NS_PER_FLOP, Math.ceil(P / 4));
      const packed = align64(ex.convPackedBytes(C, O, KH, KW, 1));
      const per = align64(ex.convForwardScratchBytes(O, KH, KW));
      const scratch = this.rt.scratch(packed + per * parts);
      this.setConv(gy.byteOffset, scratch, 0, gx.byteOffset, g, 0, 0, w.byteOffset);
      ex.convPackFlipped(this.rt.params);
      const flipped = { ...g, H: OH, W: OW, C: O, O: C, OH: H, OW: W, SH: 1, SW: 1,
        PH: (KH - 1) * g.DH - g.PH, PW: (KW - 1) * g.DW - g.PW };
      this.setConv(gy.byteOffset, scratch, 0, gx.byteOffset, flipped, scratch + packed, per, w.byteOffset);
      this.run('conv2dForward', parts);
      return;
    }
    const parts = this.parts(flops * NS_PER_FLOP, N * H);
    const packed = align64(ex.convPackedBytes(C, O, KH, KW, 1));
    const per = align64(ex.convScratchBytes(C, O, KH, KW));
    const scratch = this.rt.scratch(packed + per * parts);
    this.setConv(gy.byteOffset, scratch, 0, gx.byteOffset, g, scratch + packed, per, w.byteOffset);
    ex.convPackBackwardData(this.rt.params);
    this.run('conv2dBackwardData', parts);
  }

  conv2dBackwardFilter(x: Tensor, gy: Tensor, gw: Tensor, gb: Tensor | null, g: Conv2dGeometry): void {
    const { N, H, W, C, O, OH, OW, KH, KW } = g;
    if (!(this.convOk(g) && this.f(x, N * H * W * C) && this.f(gy, N * OH * OW * O) && this.f(gw, WasmKernels.convWeights(g)) &&
      (gb === null || this.f(gb, O)))) {
      ref.conv2dBackwardFilter(x, gy, gw, gb, g);
      return;
    }
    const P = N * OH * OW;
    const G = g.G ?? 1;
    if (G > 1 && P > 0 && O > 0 && KH * KW * C > 0) {
      const depthwise = C === G && O === G;
      this.grouped('conv2dGroupedBackwardFilter', x.byteOffset, gy.byteOffset, 0, gw.byteOffset, g, 0,
        depthwise ? Math.ceil(O / 4) : O, null);
    } else if (P > 0 && O > 0 && KH * KW * C > 0) {
      const ex = this.rt.exports, u = this.rt.u32;
      const flops = 2 * P * O * KH * KW * C;
      if (this.useWinograd(g, C, O)) {
        this.winograd.backwardFilter(x, gy, gw, g);
      } else if (C <= WasmKernels.DIRECT_C) {
        this.setConv(x.byteOffset, gy.byteOffset, 0, gw.byteOffset, g, 0, 0, 0);
        const parts = this.parts(flops * NS_PER_FLOP, N);
        const partials = align64(ex.convFilterPartialBytes(N, C, O, KH, KW));
        const per = align64(ex.convFilterDirectScratchBytes(this.rt.params));
        const scratch = this.rt.scratch(partials + per * parts);
        u[Conv.Scratch] = scratch + partials; u[Conv.ScratchPer] = per; u[Conv.Partials] = scratch;
        this.run('conv2dFilterDirect', parts);
        ex.convFilterReduce(this.rt.params);
      } else {
        const parts = this.parts(flops * NS_PER_FLOP, ex.convFilterUnits(N, C, O, KH, KW));
        const sums = align64(ex.convFilterSumBytes(N, C, O, KH, KW));
        const per = align64(ex.convFilterScratchBytes(C, O, KH, KW));
        const scratch = this.rt.scratch(sums + per * parts);
        this.setConv(x.byteOffset, gy.byteOffset, 0, gw.byteOffset, g, scratch + sums, per, 0);
        u[Conv.Partials] = scratch;
        this.run('conv2dBackwardFilter', parts);
        // gw += the units' partial sums, in unit order.
        this.run('convFilterSum', this.parts(O * KH * KW * C * 16 * NS_PER_ELEMENT, Math.ceil(O * KH * KW * C / 64)));
      }
    }
    if (gb) this.sumRowsFast(gy, gb as Float32Array, P, O);
  }

  // ---- pooling --------------------------------------------------------------------------

  private setPool(a: number, b: number, argmax: number, g: Pool2dGeometry): void {
    const u = this.rt.u32;
    u[Pool.In] = a; u[Pool.Out] = b; u[Pool.Argmax] = argmax;
    u[Pool.N] = g.N; u[Pool.H] = g.H; u[Pool.W] = g.W; u[Pool.C] = g.C; u[Pool.OH] = g.OH; u[Pool.OW] = g.OW;
    u[Pool.KH] = g.KH; u[Pool.KW] = g.KW; u[Pool.SH] = g.SH; u[Pool.SW] = g.SW; u[Pool.PH] = g.PH; u[Pool.PW] = g.PW;
    u[Pool.ReluX] = 0;
  }

  private poolOk(g: Pool2dGeometry): boolean {
    const { N, H, W, C, OH, OW, KH, KW, SH, SW } = g;
    return [N, H, W, C, OH, OW, KH, KW, SH, SW, g.PH, g.PW].every(Number.isInteger) &&
      [N, H, W, C, OH, OW, KH, KW].every((v) => v >= 0) && SH >= 1 && SW >= 1;
  }

  maxPool2dForward(x: Tensor, y: Tensor, argmax: IntTensor, g: Pool2dGeometry, tieSeed: number): void {
    const { N, H, W, C, OH, OW, KH, KW } = g;
    const out = N * OH * OW * C;
    if (!(this.poolOk(g) && this.f(x, N * H * W * C) && this.f(y, out) && this.ints(argmax, out) &&
      Number.isInteger(tieSeed) && tieSeed <= 0x7fffffff)) {
      ref.maxPool2dForward(x, y, argmax, g, tieSeed);
      return;
    }
    this.setPool(x.byteOffset, y.byteOffset, hostInts(argmax, 'maxPool2dForward').byteOffset, g);
    this.rt.i32[Pool.TieSeed] = tieSeed < 0 ? -1 : tieSeed;
    this.run('maxPool2dForward', this.parts(out * KH * KW * NS_PER_ELEMENT * (tieSeed >= 0 ? 4 : 1), N * OH));
  }

  /** maxPool2dBackward, then the ReLU backward on each sample of gx while it is in cache: one call. */
  maxPool2dReluBackward(gy: Tensor, argmax: IntTensor, x: Tensor, gx: Tensor, g: Pool2dGeometry): void {
    const { N, H, W, C, OH, OW } = g;
    const out = N * OH * OW * C, n = N * H * W * C;
    if (!(this.poolOk(g) && this.f(gy, out) && this.ints(argmax, out) && this.f(gx, n) && this.f(x, n))) {
      this.maxPool2dBackward(gy, argmax, gx, g);
      this.activationBackward('relu', x, x, gx, gx, n, 0);
      return;
    }
    this.setPool(gy.byteOffset, gx.byteOffset, hostInts(argmax, 'maxPool2dReluBackward').byteOffset, g);
    this.rt.u32[Pool.ReluX] = x.byteOffset;
    this.run('maxPool2dBackward', this.parts((out + 2 * n) * NS_PER_ELEMENT, N));
  }

  maxPool2dBackward(gy: Tensor, argmax: IntTensor, gx: Tensor, g: Pool2dGeometry): void {
    const { N, H, W, C, OH, OW } = g;
    const out = N * OH * OW * C;
    if (!(this.poolOk(g) && this.f(gy, out) && this.ints(argmax, out) && this.f(gx, N * H * W * C))) {
      ref.maxPool2dBackward(gy, argmax, gx, g);
      return;
    }
    this.setPool(gy.byteOffset, gx.byteOffset, hostInts(argmax, 'maxPool2dBackward').byteOffset, g);
    this.run('maxPool2dBackward', this.parts((out + N * H * W * C) * NS_PER_ELEMENT, N));
  }

  avgPool2dForward(x: Tensor, y: Tensor, g: Pool2dGeometry): void {
    const { N, H, W, C, OH, OW, KH, KW } = g;
    const out = N * OH * OW * C;
    if (!(this.poolOk(g) && this.f(x, N * H * W * C) && this.f(y, out))) {
      ref.avgPool2dForward(x, y, g);
      return;
    }
    this.setPool(x.byteOffset, y.byteOffset, 0, g);
    this.rt.f32[Pool.Scale] = 1 / (KH * KW);
    this.run('avgPool2dForward', this.parts(out * KH * KW * NS_PER_ELEMENT / 4, N * OH));
  }

  avgPool2dBackward(gy: Tensor, gx: Tensor, g: Pool2dGeometry): void {
    const { N, H, W, C, OH, OW, KH, KW } = g;
    const out = N * OH * OW * C;
    if (!(this.poolOk(g) && this.f(gy, out) && this.f(gx, N * H * W * C))) {
      ref.avgPool2dBackward(gy, gx, g);
      return;
    }
    this.setPool(gy.byteOffset, gx.byteOffset, 0, g);
    this.rt.f32[Pool.Scale] = 1 / (KH * KW);
    this.run('avgPool2dBackward', this.parts(out * KH * KW * NS_PER_ELEMENT / 4, N));
  }

  // ---- point-wise -----------------------------------------------------------------------

  activationForward(kind: ActivationKind, x: Tensor, y: Tensor, n: number, alpha: number): void {
    const code = ACTIVATION_CODES[kind];
    if (code === undefined || !(this.f(x, n) && this.f(y, n))) {
      ref.activationForward(kind, x, y, n, alpha);
      return;
    }
    const u = this.rt.u32;
    u[ActivationForward.X] = x.byteOffset; u[ActivationForward.Y] = y.byteOffset;
    u[ActivationForward.Count] = n; u[ActivationForward.Kind] = code; this.rt.f32[ActivationForward.Alpha] = alpha;
    this.run('activationForward', this.parts(n * (code < 2 ? NS_PER_ELEMENT : NS_PER_TRANSCENDENTAL), n >> 10));
  }

  activationBackward(kind: ActivationKind, x: Tensor, y: Tensor, gy: Tensor, gx: Tensor, n: number, alpha: number): void {
    const code = ACTIVATION_CODES[kind];
    if (code === undefined || !(this.f(x, n) && this.f(y, n) && this.f(gy, n) && this.f(gx, n))) {
      ref.activationBackward(kind, x, y, gy, gx, n, alpha);
      return;
    }
    const u = this.rt.u32;
    u[ActivationBackward.X] = x.byteOffset; u[ActivationBackward.Y] = y.byteOffset;
    u[ActivationBackward.Gy] = gy.byteOffset; u[ActivationBackward.Gx] = gx.byteOffset;
    u[ActivationBackward.Count] = n; u[ActivationBackward.Kind] = code; this.rt.f32[ActivationBackward.Alpha] = alpha;
    this.run('activationBackward', this.parts(n * (code === 4 ? NS_PER_TRANSCENDENTAL : NS_PER_ELEMENT), n >> 10));
  }

  private dropout(name: 'dropoutForward' | 'dropoutBackward', x: Float32Array, y: Float32Array, n: number, p: number,
    seed: number): void {
    const u = this.rt.u32, f64 = this.rt.f64;
    u[Dropout.In] = x.byteOffset; u[Dropout.Out] = y.byteOffset; u[Dropout.Count] = n; u[Dropout.Seed] = seed >>> 0;
    f64[Dropout.Scale / 2] = 1 / (1 - p);
    f64[Dropout.Threshold / 2] = p * 4294967296;
    this.run(name, this.parts(n * NS_PER_ELEMENT * 2, n >> 10));
  }

  dropoutForward(x: Tensor, y: Tensor, n: number, p: number, seed: number): void {
    if (!(this.f(x, n) && this.f(y, n))) return ref.dropoutForward(x, y, n, p, seed);
    this.dropout('dropoutForward', x, y, n, p, seed);
  }

  dropoutBackward(gy: Tensor, gx: Tensor, n: number, p: number, seed: number): void {
    if (!(this.f(gy, n) && this.f(gx, n))) return ref.dropoutBackward(gy, gx, n, p, seed);
    this.dropout('dropoutBackward', gy, gx, n, p, seed);
  }

  // ---- soft-max -------------------------------------------------------------------------

  softmaxForward(x: Tensor, p: Tensor, N: number, E: number): void {
    if (!(this.f(x, N * E) && this.f(p, N * E))) return ref.softmaxForward(x, p, N, E);
    const u = this.rt.u32;
    u[SoftmaxForward.X] = x.byteOffset; u[SoftmaxForward.P] = p.byteOffset; u[SoftmaxForward.N] = N; u[SoftmaxForward.E] = E;
    this.run('softmaxForward', this.parts(N * E * NS_PER_TRANSCENDENTAL, N));
  }

  softmaxBackward(p: Tensor, gy: Tensor, gx: Tensor, N: number, E: number): void {
    if (!(this.f(p, N * E) && this.f(gy, N * E) && this.f(gx, N * E))) return ref.softmaxBackward(p, gy, gx, N, E);
    const u = this.rt.u32;
    u[SoftmaxBackward.P] = p.byteOffset; u[SoftmaxBackward.Gy] = gy.byteOffset; u[SoftmaxBackward.Gx] = gx.byteOffset;
    u[SoftmaxBackward.N] = N; u[SoftmaxBackward.E] = E;
    this.run('softmaxBackward', this.parts(N * E * NS_PER_ELEMENT, N));
  }

  softmaxCrossEntropy(z: Tensor, target: ClassTarget, p: Tensor, gz: Tensor, N: number, E: number): number {
    const labels = 'labels' in target ? target.labels : null;
    const probs = 'probs' in target ? target.probs : null;
    const ok = this.f(z, N * E) && this.f(p, N * E) && this.f(gz, N * E) &&
      (labels ? labels.length >= N && labels.subarray(0, N).every((y) => y >= 0 && y < E) : probs!.length >= N * E);
    if (!ok) return ref.softmaxCrossEntropy(z, target, p, gz, N, E);
    // Per-row losses (float64), then labels or target probabilities copied in if they live elsewhere.
    let bytes = N * 8;
    const needLabels = labels !== null && !this.ints(labels, N);
    const needProbs = probs !== null && !this.f(probs, N * E);
    if (needLabels) bytes += N * 4;
    if (needProbs) bytes += N * E * 4;
    const scratch = this.rt.scratch(bytes + 64);
    const buffer = this.rt.currentBuffer;
    let at = scratch + N * 8;
    let labelPtr = 0, probPtr = 0;
    if (labels) {
      if (needLabels) {
        new Int32Array(buffer, at, N).set(labels.subarray(0, N));
        labelPtr = at;
        at += N * 4;
      } else labelPtr = labels.byteOffset;
    } else if (probs) {
      if (needProbs) {
        new Float32Array(buffer, at, N * E).set(probs.subarray(0, N * E));
        probPtr = at;
      } else probPtr = probs.byteOffset;
    }
    const u = this.rt.u32;
    u[SoftmaxCrossEntropy.Z] = z.byteOffset; u[SoftmaxCrossEntropy.Labels] = labelPtr; u[SoftmaxCrossEntropy.Probs] = probPtr;
    u[SoftmaxCrossEntropy.P] = p.byteOffset; u[SoftmaxCrossEntropy.Gz] = gz.byteOffset;
    u[SoftmaxCrossEntropy.N] = N; u[SoftmaxCrossEntropy.E] = E; u[SoftmaxCrossEntropy.Losses] = scratch;
    this.run('softmaxCrossEntropy', this.parts(N * E * NS_PER_TRANSCENDENTAL * 2, N));
    const losses = new Float64Array(buffer, scratch, N);
    let risk = 0;
    for (let n = 0; n < N; n++) risk += losses[n];
    return risk / N;
  }

  // ---- batch norm, bias -----------------------------------------------------------------

  batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor, R: number, C: number,
    training: boolean, eps: number, momentum: number,
    runningMean: Tensor, runningVar: Tensor, saveMean: Tensor, saveInvStd: Tensor): void {
    if (!(this.f(x, R * C) && this.f(y, R * C) && this.f(gamma, C) && this.f(beta, C) && this.f(runningMean, C) &&
      this.f(runningVar, C) && this.f(saveMean, C) && this.f(saveInvStd, C))) {
      ref.batchNormForward(x, gamma, beta, y, R, C, training, eps, momentum, runningMean, runningVar, saveMean,
        saveInvStd);
      return;
    }
    const scratch = this.rt.scratch(32 * C + 64);
    const u = this.rt.u32;
    u[BatchNorm.X] = x.byteOffset; u[BatchNorm.Gamma] = gamma.byteOffset; u[BatchNorm.Beta] = beta.byteOffset;
    u[BatchNorm.Y] = y.byteOffset; u[BatchNorm.R] = R; u[BatchNorm.C] = C; u[BatchNorm.Training] = training ? 1 : 0;
    u[BatchNorm.RunningMean] = runningMean.byteOffset; u[BatchNorm.RunningVar] = runningVar.byteOffset;
    u[BatchNorm.SaveMean] = saveMean.byteOffset; u[BatchNorm.SaveInvStd] = saveInvStd.byteOffset; u[BatchNorm.Scratch] = scratch;
    this.rt.f64[BatchNorm.Eps / 2] = eps;
    this.rt.f64[BatchNorm.Momentum / 2] = momentum;
    this.run('batchNormForward', this.parts(R * C * NS_PER_ELEMENT * 3, Math.ceil(C / 8)));
  }

  batchNormBackward(x: Tensor, gamma: Tensor, gy: Tensor, gx: Tensor, ggamma: Tensor, gbeta: Tensor,
    R: number, C: number, training: boolean, saveMean: Tensor, saveInvStd: Tensor): void {
    if (!(this.f(x, R * C) && this.f(gy, R * C) && this.f(gx, R * C) && this.f(gamma, C) && this.f(ggamma, C) &&
      this.f(gbeta, C) && this.f(saveMean, C) && this.f(saveInvStd, C))) {
      ref.batchNormBackward(x, gamma, gy, gx, ggamma, gbeta, R, C, training, saveMean, saveInvStd);
      return;
    }
    const scratch = this.rt.scratch(32 * C + 64);
    const u = this.rt.u32;
    u[BatchNorm.X] = x.byteOffset; u[BatchNorm.Gamma] = gamma.byteOffset; u[BatchNorm.Gy] = gy.byteOffset;
    u[BatchNorm.Gx] = gx.byteOffset; u[BatchNorm.R] = R; u[BatchNorm.C] = C; u[BatchNorm.Training] = training ? 1 : 0;
    u[BatchNorm.GGamma] = ggamma.byteOffset; u[BatchNorm.GBeta] = gbeta.byteOffset;
    u[BatchNorm.SaveMean] = saveMean.byteOffset; u[BatchNorm.SaveInvStd] = saveInvStd.byteOffset; u[BatchNorm.Scratch] = scratch;
    this.run('batchNormBackward', this.parts(R * C * NS_PER_ELEMENT * 3, Math.ceil(C / 8)));
  }

  // ---- optimizer updates ----------------------------------------------------------------

  /**
   * One SGD step over the whole vector: bitwise the reference loop's (float64 inside, float32 stored);
   * with `stepSquares`, also stepSquares[0] = Σ (w_new − w_old)² in the order of StepBlock.
   */
  sgdUpdate(w: Tensor, g: Tensor, buf: Tensor | null, n: number, lr: number, momentum: number, dampening: number,
    weightDecay: number, nesterov: boolean, firstStep: boolean, stepSquares: Float64Array | null = null): void {
    if (!(Number.isInteger(n) && n >= 0 && this.f(w, n) && this.f(g, n) && (buf === null || this.f(buf, n)))) {
      ref.sgdUpdate!(w, g, buf, n, lr, momentum, dampening, weightDecay, nesterov, firstStep, stepSquares);
      return;
    }
    if (stepSquares) stepSquares[0] = 0;
    if (n === 0) return;
    const u = this.rt.u32, f64 = this.rt.f64;
    u[Sgd.W] = w.byteOffset; u[Sgd.G] = g.byteOffset; u[Sgd.Buf] = buf ? (buf as Float32Array).byteOffset : 0;
    u[Sgd.Count] = n; u[Sgd.Flags] = (nesterov ? 1 : 0) | (firstStep ? 2 : 0);
    f64[Sgd.Lr / 2] = lr; f64[Sgd.Momentum / 2] = momentum; f64[Sgd.Keep / 2] = 1 - dampening;
    f64[Sgd.WeightDecay / 2] = weightDecay;
    u[Sgd.Sums] = stepSquares ? this.rt.scratch(blocks(n) * 8) : 0;
    this.run('sgdUpdate', this.parts(n * NS_PER_ELEMENT * (buf ? 4 : 3), blocks(n)));
    if (stepSquares) stepSquares[0] = this.blockTotal(u[Sgd.Sums], blocks(n));
  }

  /**
   * One Adam/AdamW step over the whole vector: bitwise the reference loop's; with `stepSquares`, also
   * stepSquares[0] = Σ (w_new − w_old)² in the order of StepBlock.
   */
  adamUpdate(w: Tensor, g: Tensor, m: Tensor, v: Tensor, vMax: Tensor | null, n: number, lr: number,
    beta1: number, beta2: number, eps: number, l2: number, shrink: number, t: number,
    stepSquares: Float64Array | null = null): void {
    if (!(Number.isInteger(n) && n >= 0 && this.f(w, n) && this.f(g, n) && this.f(m, n) && this.f(v, n) &&
      (vMax === null || this.f(vMax, n)))) {
      ref.adamUpdate!(w, g, m, v, vMax, n, lr, beta1, beta2, eps, l2, shrink, t, stepSquares);
      return;
    }
    if (stepSquares) stepSquares[0] = 0;
    if (n === 0) return;
    const u = this.rt.u32, f64 = this.rt.f64;
    u[Adam.W] = w.byteOffset; u[Adam.G] = g.byteOffset; u[Adam.M] = m.byteOffset; u[Adam.V] = v.byteOffset;
    u[Adam.VMax] = vMax ? (vMax as Float32Array).byteOffset : 0; u[Adam.Count] = n;
    f64[Adam.Beta1 / 2] = beta1; f64[Adam.OneMinusBeta1 / 2] = 1 - beta1; f64[Adam.Beta2 / 2] = beta2;
    f64[Adam.OneMinusBeta2 / 2] = 1 - beta2; f64[Adam.Eps / 2] = eps; f64[Adam.L2 / 2] = l2; f64[Adam.Shrink / 2] = shrink;
    f64[Adam.StepSize / 2] = lr / (1 - beta1 ** t); f64[Adam.SqrtBc2 / 2] = Math.sqrt(1 - beta2 ** t);
    u[Adam.Sums] = stepSquares ? this.rt.scratch(blocks(n) * 8) : 0;
    this.run('adamUpdate', this.parts(n * NS_PER_ELEMENT * 8, blocks(n)));
    if (stepSquares) stepSquares[0] = this.blockTotal(u[Adam.Sums], blocks(n));
  }

  /** The blocks' step-size sums at `at` (float64), added in order. */
  private blockTotal(at: number, count: number): number {
    const sums = new Float64Array(this.rt.currentBuffer, at, count);
    let total = 0;
    for (let b = 0; b < count; b++) total += sums[b];
    return total;
  }

  addBias(y: Tensor, bias: Tensor, R: number, C: number): void {
    if (!(this.f(y, R * C) && this.f(bias, C))) return ref.addBias(y, bias, R, C);
    this.setBiasRows(y.byteOffset, bias.byteOffset, R, C);
    this.run('addBias', this.parts(R * C * NS_PER_ELEMENT, R));
  }

  sumRows(gy: Tensor, gb: Tensor, R: number, C: number): void {
    if (!(this.f(gy, R * C) && this.f(gb, C))) return ref.sumRows(gy, gb, R, C);
    this.sumRowsFast(gy, gb, R, C);
  }

  private setBiasRows(rows: number, bias: number, R: number, C: number): void {
    const u = this.rt.u32;
    u[BiasRows.Rows] = rows; u[BiasRows.Bias] = bias; u[BiasRows.R] = R; u[BiasRows.C] = C;
  }

  private sumRowsFast(gy: Float32Array, gb: Float32Array, R: number, C: number): void {
    this.setBiasRows(gy.byteOffset, gb.byteOffset, R, C);
    this.run('sumRows', this.parts(R * C * NS_PER_ELEMENT, Math.ceil(C / 4)));
  }

  // ---- graph joins (Add, Concat, Identity) and the fan-out gradient sum ---------------------

  addTensors(a: Tensor, b: Tensor, y: Tensor, n: number): void {
    if (!(this.f(a, n) && this.f(b, n) && this.f(y, n))) return ref.addTensors(a, b, y, n);
    if (n === 0) return;
    const u = this.rt.u32;
    u[AddTensors.A] = a.byteOffset; u[AddTensors.B] = b.byteOffset; u[AddTensors.Y] = y.byteOffset; u[AddTensors.Count] = n;
    this.run('addTensors', this.parts(n * NS_PER_ELEMENT, Math.ceil(n / 1024)));
  }

  addBroadcast(x: Tensor, b: Tensor, y: Tensor, N: number, R: number, C: number): void {
    if (!(this.f(x, N * R * C) && this.f(b, N * C) && this.f(y, N * R * C))) return ref.addBroadcast(x, b, y, N, R, C);
    if (N * R * C === 0) return;
    const u = this.rt.u32;
    u[AddBroadcast.X] = x.byteOffset; u[AddBroadcast.B] = b.byteOffset; u[AddBroadcast.Y] = y.byteOffset;
    u[AddBroadcast.N] = N; u[AddBroadcast.R] = R; u[AddBroadcast.C] = C;
    this.run('addBroadcast', this.parts(N * R * C * NS_PER_ELEMENT, N * R));
  }

  sumBroadcast(gy: Tensor, gb: Tensor, N: number, R: number, C: number): void {
    if (!(this.f(gy, N * R * C) && this.f(gb, N * C))) return ref.sumBroadcast(gy, gb, N, R, C);
    if (N * C === 0) return;
    const u = this.rt.u32;
    u[SumBroadcast.Gy] = gy.byteOffset; u[SumBroadcast.Gb] = gb.byteOffset;
    u[SumBroadcast.N] = N; u[SumBroadcast.R] = R; u[SumBroadcast.C] = C;
    this.run('sumBroadcast', this.parts(N * R * C * NS_PER_ELEMENT, N));
  }

  copyBlock(src: Tensor, dst: Tensor, R: number, C: number,
    srcStride: number, srcOffset: number, dstStride: number, dstOffset: number): void {
    const need = (stride: number, offset: number) => (R - 1) * stride + offset + C;
    if (R === 0 || C === 0) return;
    if (!(this.f(src, need(srcStride, srcOffset)) && this.f(dst, need(dstStride, dstOffset)))) {
      return ref.copyBlock(src, dst, R, C, srcStride, srcOffset, dstStride, dstOffset);
    }
    const u = this.rt.u32;
    u[CopyBlock.Src] = src.byteOffset; u[CopyBlock.Dst] = dst.byteOffset; u[CopyBlock.R] = R; u[CopyBlock.C] = C;
    u[CopyBlock.SrcStride] = srcStride; u[CopyBlock.SrcOffset] = srcOffset;
    u[CopyBlock.DstStride] = dstStride; u[CopyBlock.DstOffset] = dstOffset;
    this.run('copyBlock', this.parts(R * C * NS_PER_ELEMENT, R));
  }
}

/** Blocks of StepBlock.Size in n elements: the optimizer updates' units of work. */
function blocks(n: number): number {
  return Math.ceil(n / StepBlock.Size);
}

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}
