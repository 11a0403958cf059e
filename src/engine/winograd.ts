/**
 * Winograd F(2×2, 3×3) convolution on the WebAssembly engine (assembly/winograd.ts): when it
 * applies, when it pays, and the calls that set up its parameter blocks.
 *
 * F(2×2, 3×3) needs 16 multiplies per 2×2 outputs and channel pair instead of 36 (2.25× fewer)
 * and its transforms only add, subtract and halve, so its float32 error stays close to the
 * direct kernels' (bench/winograd-error.ts). F(4×4, 3×3) would save 4× but its transforms have
 * entries up to 8: modelled in float32 on NET-B's layers, its largest forward error is 11× F(2×2)'s
 * (2.65e-6 of the largest output, bench/results/winograd-error.txt), beyond the 2e-6 to which
 * gradients must match PyTorch's. F(3×3, 3×3) (25 multiplies per 3×3 outputs, 1.44× fewer than
 * F(2×2)) models at 5× F(2×2)'s error (1.23e-6), too close to that bound for a ~1.1× faster step.
 * Neither is built.
 */
import type { Conv2dGeometry } from '../kernels/kernels.js';
import { Conv } from './kernel-params.js';
import type { KernelName } from './protocol.js';
import type { Runtime } from './runtime.js';

/** Which convolution kernels a WasmKernels uses for 3×3 stride-1 layers. */
export type ConvAlgorithm = 'auto' | 'direct' | 'winograd';

/** G of F(2×2, 3×3) (4×3, row-major): U = G g Gᵀ. Bᵀ and Aᵀ are written into the kernels. */
export const WINOGRAD_G: readonly number[] = [1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1];

/** Can Winograd run this layer (3×3, stride 1, no dilation, padding at most 2 for backward-data)? */
export function winogradFits(g: Conv2dGeometry): boolean {
  return g.KH === 3 && g.KW === 3 && g.SH === 1 && g.SW === 1 && g.DH === 1 && g.DW === 1 &&
    g.PH >= 0 && g.PW >= 0 && g.PH <= 2 && g.PW <= 2 && g.OH === g.H + 2 * g.PH - 2 && g.OW === g.W + 2 * g.PW - 2;
}

/**
 * Does Winograd beat the direct kernels for a product with `inC` input and `outC` output
 * channels? The transforms cost per channel what the products cost per channel pair, so both
 * counts must be large enough that the products dominate. Measured (batch 64, one thread, each
 * pass against the direct kernel): 8→8, 8→16 and 16→8 channels on 28×28 pay 1.3-2.2×, 4→16 and
 * 1→32 lose (0.45-1.1×); 4×4 outputs pay (1.3-2.3×), 3×3 ones (half of each tile wasted) not always.
 */
export function winogradPays(inC: number, outC: number, OH: number, OW: number): boolean {
  return inC >= 8 && outC >= 8 && OH >= 4 && OW >= 4;
}

/** What Winograd needs from the kernels object that owns it. */
export interface WinogradHost {
  readonly rt: Runtime;
  /** Threads for a call of `ns` estimated nanoseconds over `units` work units. */
  parts(ns: number, units: number): number;
  run(name: KernelName, threads: number, sharesPerThread?: number): void;
}

const NS_PER_FLOP = 1 / 40;

function align64(n: number): number {
  return Math.ceil(n / 64) * 64;
}

export class WinogradConv {
  /** G as the kernels read it; tests break it to see the checks fail. */
  G: number[] = [...WINOGRAD_G];

  constructor(private readonly host: WinogradHost) {}

  /** Writes the G table (and packing work space) at `at` (128 bytes). */
  private table(at: number): void {
    new Float32Array(this.host.rt.currentBuffer, at, 12).set(this.G);
  }

  /** The Conv words of a Winograd call (3×3, stride 1, no dilation). */
  private words(x: number, b: number, bias: number, out: number, N: number, H: number, W: number, C: number, O: number,
    OH: number, OW: number, PH: number, PW: number, scratch: number, per: number, w: number, partials: number,
    relu: number, table: number, flip: number): void {
    const u = this.host.rt.u32;
    u[Conv.In] = x; u[Conv.Packed] = b; u[Conv.Bias] = bias; u[Conv.Out] = out;
    u[Conv.N] = N; u[Conv.H] = H; u[Conv.W] = W; u[Conv.C] = C; u[Conv.O] = O; u[Conv.OH] = OH; u[Conv.OW] = OW;
    u[Conv.KH] = 3; u[Conv.KW] = 3; u[Conv.SH] = 1; u[Conv.SW] = 1; u[Conv.PH] = PH; u[Conv.PW] = PW;
    u[Conv.DH] = 1; u[Conv.DW] = 1; u[Conv.Scratch] = scratch; u[Conv.ScratchPer] = per; u[Conv.Weights] = w;
    u[Conv.Partials] = partials; u[Conv.Relu] = relu; u[Conv.WinogradG] = table; u[Conv.WinogradFlip] = flip;
  }

  /**
   * y = conv(x, w) (+ b) with input channels C and output channels O; `flip`: w is the layer's
   * [C][3][3][O] seen by backward-data (flipped, transposed).
   */
  forward(x: Float32Array, w: Float32Array, b: Float32Array | null, y: Float32Array, N: number, H: number, W: number,
    C: number, O: number, OH: number, OW: number, PH: number, PW: number, relu: Float32Array | null, flip: boolean): void {
    const { rt } = this.host, ex = rt.exports;
    const tiles = N * Math.ceil(OH / 2) * Math.ceil(OW / 2);
    const parts = this.host.parts(tiles * 16 * C * O * 2 * NS_PER_FLOP, Math.ceil(tiles / 32));
    const packed = align64(ex.winogradPackedBytes(C, O));
    const per = align64(ex.winogradForwardScratchBytes(C, O));
    const scratch = rt.scratch(128 + packed + per * parts);
    this.table(scratch);
    this.words(x.byteOffset, scratch + 128, b ? b.byteOffset : 0, y.byteOffset, N, H, W, C, O, OH, OW, PH, PW,
      scratch + 128 + packed, per, w.byteOffset, 0, relu ? relu.byteOffset : 0, scratch, flip ? 1 : 0);
    ex.winogradPack(rt.params);
    this.host.run('winogradForward', parts, 4);
  }

  /** gw += ∂L/∂w by the transposed algorithm (g: the layer's geometry). */
  backwardFilter(x: Float32Array, gy: Float32Array, gw: Float32Array, g: Conv2dGeometry): void {
    const { rt } = this.host, ex = rt.exports;
    const { N, H, W, C, O, OH, OW } = g;
    const groups = ex.winogradFilterGroups(N, OH, OW, C, O);
    const tiles = N * Math.ceil(OH / 2) * Math.ceil(OW / 2);
    const partials = align64(ex.winogradFilterPartialBytes(N, OH, OW, C, O));
    const per = align64(ex.winogradFilterScratchBytes(C, O));
    const threads = rt.threads;
    const scratch = rt.scratch(128 + partials + per * threads);
    this.table(scratch);
    this.words(x.byteOffset, gy.byteOffset, 0, gw.byteOffset, N, H, W, C, O, OH, OW, g.PH, g.PW,
      scratch + 128 + partials, per, 0, scratch + 128, 0, scratch, 0);
    this.host.run('winogradFilter', this.host.parts(tiles * 16 * C * O * 2 * NS_PER_FLOP, groups), 4);
    this.host.run('winogradFilterReduce', this.host.parts(groups * 16 * C * O * 0.5, C), 1);
  }
}
