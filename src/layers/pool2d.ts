/**
 * Max- and average-pooling over windows of an image (notes, Appendix: p_i = max_{q∈P(i)} h(a_q)).
 * Max-pool's Jacobian routes g_i to the arg-max q̂ of its window; a tie goes to one of the maxima
 * chosen at random with the network's generator (footnote 2), or to the first with tieBreak 'first'.
 * Default: 'random' while training, as the notes say; evaluation needs no gradient and takes the first.
 */
import type { Arena } from '../core/arena.js';
import type { IntTensor, Tensor } from '../core/tensor.js';
import { fmt, type Shape } from '../core/shape.js';
import type { Pool2dGeometry } from '../kernels/kernels.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';
import { pair, type Pair } from './options.js';
import { describePads, resolvePads, windowOutputPadded, type Pads } from './padding.js';

/** Max or average pooling over windows; sizes may be one number or [height, width]. */
export interface Pool2dOptions {
  /** Window size KH × KW. */
  kernelSize: number | Pair;
  /** Defaults to kernelSize, as in PyTorch. */
  stride?: number | Pair;
  /**
   * Padding on each side (default 0), a number or [h, w], at most half the kernel, or 'valid' (0);
   * MaxPool2d also takes 'same' (TensorFlow's rule, see padding.ts). Padding never wins a max
   * (−∞, as in PyTorch) and counts as zeros in a mean.
   */
  padding?: number | Pair | 'same' | 'valid';
}

abstract class Pool2d extends Layer {
  /** Window size [KH, KW]. */
  readonly kernelSize: Pair;
  /** Stride [SH, SW]. */
  readonly stride: Pair;
  /** The padding as written ('same' and 'valid' only for MaxPool2d); `pads` as resolved at build. */
  readonly padding: Pair | 'same' | 'valid';
  /** [top, bottom, left, right], resolved at build. */
  pads: Pads = [0, 0, 0, 0];
  /** The window geometry for one sample, set by build. */
  protected geometry!: Pool2dGeometry;

  constructor(options: Pool2dOptions, type: string, sameAllowed = false) {
    super();
    this.kernelSize = pair(options.kernelSize, `${type} kernelSize`, 1);
    this.stride = pair(options.stride ?? this.kernelSize, `${type} stride`, 1);
    const p = options.padding ?? 0;
    if (p === 'same' || p === 'valid') {
      if (p === 'same' && !sameAllowed) {
        throw new Error(`${type} padding 'same' is not supported: its average would count the padded zeros ` +
          '(PyTorch\'s count_include_pad), unlike Keras\'s; give a number');
      }
      this.padding = p;
      return;
    }
    this.padding = pair(p, `${type} padding`, 0);
    const [KH, KW] = this.kernelSize, [PH, PW] = this.padding;
    if (2 * PH > KH || 2 * PW > KW) {
      throw new Error(`${type} padding ${PH}×${PW} must be at most half the kernel ${KH}×${KW}`);
    }
  }

  protected outputShapeFor(input: Shape): Shape {
    if (input.length !== 3) throw new Error(`${this.type} needs an image input [H, W, C], got ${fmt(input)}`);
    const [H, W, C] = input;
    const [KH, KW] = this.kernelSize, [SH, SW] = this.stride;
    const pads = this.pads = resolvePads(this.padding, H, W, this.kernelSize, this.stride);
    const OH = windowOutputPadded(H, KH, SH, pads[0], pads[1]), OW = windowOutputPadded(W, KW, SW, pads[2], pads[3]);
    if (OH < 1 || OW < 1) throw new Error(`input ${fmt(input)} is smaller than the ${KH}×${KW} window`);
    // The kernels index from the top-left padding; the bottom/right padding only sets OH, OW.
    this.geometry = { N: 0, H, W, C, OH, OW, KH, KW, SH, SW, PH: pads[0], PW: pads[2] };
    return [OH, OW, C];
  }

  /** The geometry for a batch of N. */
  protected geometryFor(N: number): Pool2dGeometry {
    this.geometry.N = N;
    return this.geometry;
  }

  override describe(): string {
    return `${this.kernelSize.join('×')}, stride ${this.stride.join('×')}, pad ${describePads(this.padding, this.pads)}`;
  }
}

/** How ties among a window's maxima are broken: at random with the network's generator, or the first. */
export type TieBreak = 'random' | 'first';

/** p_i = max over the window P(i); the gradient goes to the arg max, ties broken at random but reproducibly (seeded). */
export class MaxPool2d extends Pool2d {
  readonly type = 'MaxPool2d';
  /** How ties among a window's maxima are broken ('random', seeded, by default). */
  readonly tieBreak: TieBreak;
  private argmax: IntTensor = new Int32Array(0);

  constructor(options: Pool2dOptions & { tieBreak?: TieBreak }) {
    super(options, 'MaxPool2d', true);
    this.tieBreak = options.tieBreak ?? 'random';
    if (this.tieBreak !== 'random' && this.tieBreak !== 'first') {
      throw new Error(`MaxPool2d tieBreak must be 'random' or 'first', got ${JSON.stringify(options.tieBreak)}`);
    }
  }

  override allocate(batch: number, arena: Arena): void {
    const [OH, OW, C] = this.outputShape;
    this.argmax = arena.ints(batch * OH * OW * C);
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    const tieSeed = ctx.training && this.tieBreak === 'random' ? ctx.rng.nextU32() >>> 1 : -1;
    ctx.kernels.maxPool2dForward(x, y, this.argmax, this.geometryFor(N), tieSeed);
  }

  backward(_x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    if (gx) ctx.kernels.maxPool2dBackward(gy, this.argmax, gx, this.geometryFor(N));
  }

  /** backward, then the ReLU's before it, in one kernel (Kernels.maxPool2dReluBackward, which the engine must have). */
  override backwardThroughRelu(_x: Tensor, _y: Tensor, gy: Tensor, reluInput: Tensor, gx: Tensor, N: number, ctx: RunContext): void {
    ctx.kernels.maxPool2dReluBackward!(gy, this.argmax, reluInput, gx, this.geometryFor(N));
  }

  config(): LayerConfig {
    return { type: this.type, kernelSize: this.kernelSize, stride: this.stride, padding: this.padding, tieBreak: this.tieBreak };
  }
}

/** The mean over each window. */
export class AvgPool2d extends Pool2d {
  readonly type = 'AvgPool2d';

  constructor(options: Pool2dOptions) {
    super(options, 'AvgPool2d');
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    ctx.kernels.avgPool2dForward(x, y, this.geometryFor(N));
  }

  backward(_x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    if (gx) ctx.kernels.avgPool2dBackward(gy, gx, this.geometryFor(N));
  }

  config(): LayerConfig {
    return { type: this.type, kernelSize: this.kernelSize, stride: this.stride, padding: this.padding };
  }
}
