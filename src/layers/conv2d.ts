/**
 * 2-D convolution: each output x_i^(k) is a dense neuron (notes, Appendix) whose weights are shared
 * across positions and whose input is the window of x^(k-1) it sees. The Jacobians are the dense
 * layer's, restricted to that window: ∂y/∂w reads the input under the window, ∂y/∂x the weights.
 * Weights are [O, KH, KW, C/groups] (channels-last); PyTorch's [O, C/groups, KH, KW] is converted
 * on import.
 *
 * Grouped convolution (`groups` = G, PyTorch's and Keras's name): the C input and O output
 * channels are cut into G consecutive groups, and output channel o sees only the C/G input
 * channels of its group, o / (O/G). G = C is a depthwise convolution (see DepthwiseConv2d).
 * Padding: see padding.ts ('same', 'valid', a number, [h, w] or [top, bottom, left, right]).
 */
import type { Tensor } from '../core/tensor.js';
import { fmt, type Shape } from '../core/shape.js';
import type { Conv2dGeometry } from '../kernels/kernels.js';
import { Layer, type LayerConfig, type ParamSpec, type RunContext } from './layer.js';
import { boolean, pair, positiveInt, type Pair } from './options.js';
import { describePads, paddingSpec, resolvePads, windowOutputPadded, type Pads, type PaddingSpec } from './padding.js';

/** A 2-D convolution over channels-last images; sizes may be one number or [height, width]. */
export interface Conv2dOptions {
  /** Output channels O: the number of filters. */
  outChannels: number;
  /** Filter size KH × KW. */
  kernelSize: number | Pair;
  /** Step between windows (default 1). */
  stride?: number | Pair;
  /**
   * Zeros added around the image (default 0): a number or [h, w] on each side, [top, bottom, left, right],
   * 'valid' (0), or 'same', which keeps ⌈size / stride⌉ (TensorFlow's rule, asymmetric where it must be).
   */
  padding?: PaddingSpec;
  /** Spacing between filter taps (default 1). */
  dilation?: number | Pair;
  /** Channel groups G (default 1): both channel counts must be multiples of G. */
  groups?: number;
  /** Add a learned bias per output channel (default true). */
  bias?: boolean;
}

/** Dense neurons with shared weights over windows (notes, Appendix): weights [O, KH, KW, C], output [OH, OW, O]. */
export class Conv2d extends Layer {
  readonly type: string = 'Conv2d';
  /** Output channels O; a DepthwiseConv2d settles it at build. */
  outChannels: number;
  /** Filter size [KH, KW]. */
  readonly kernelSize: Pair;
  /** Stride [SH, SW]. */
  readonly stride: Pair;
  /** The padding as written; `pads` is what it resolves to for the built input. */
  readonly padding: PaddingSpec;
  /** [top, bottom, left, right], resolved at build. */
  pads: Pads = [0, 0, 0, 0];
  /** Dilation [DH, DW]. */
  readonly dilation: Pair;
  /** Groups G; a DepthwiseConv2d settles it at build. */
  groups: number;
  /** Has a bias. */
  readonly bias: boolean;
  private geometry!: Conv2dGeometry;

  /** `channelsAtBuild`: for DepthwiseConv2d, which settles outChannels and groups from the input. */
  constructor(options: Conv2dOptions, channelsAtBuild = false) {
    super();
    this.outChannels = channelsAtBuild ? 0 : positiveInt(options.outChannels, 'Conv2d outChannels');
    this.kernelSize = pair(options.kernelSize, 'Conv2d kernelSize', 1);
    this.stride = pair(options.stride ?? 1, 'Conv2d stride', 1);
    this.padding = paddingSpec(options.padding ?? 0, 'Conv2d padding');
    this.dilation = pair(options.dilation ?? 1, 'Conv2d dilation', 1);
    this.groups = positiveInt(options.groups ?? 1, 'Conv2d groups');
    this.bias = boolean(options.bias, 'Conv2d bias', true);
  }

  protected outputShapeFor(input: Shape): Shape {
    if (input.length !== 3) throw new Error(`${this.type} needs an image input [H, W, C], got ${fmt(input)}`);
    const [H, W, C] = input;
    const G = this.groups, O = this.outChannels;
    if (C % G !== 0 || O % G !== 0) {
      throw new Error(`groups ${G} must divide both the ${C} input channels and the ${O} output channels`);
    }
    const [KH, KW] = this.kernelSize, [SH, SW] = this.stride, [DH, DW] = this.dilation;
    const pads = this.pads = resolvePads(this.padding, H, W, this.kernelSize, this.stride, this.dilation);
    const OH = windowOutputPadded(H, KH, SH, pads[0], pads[1], DH), OW = windowOutputPadded(W, KW, SW, pads[2], pads[3], DW);
    if (OH < 1 || OW < 1) {
      throw new Error(`input ${fmt(input)} (padded to ${H + pads[0] + pads[1]}×${W + pads[2] + pads[3]}) is smaller than the ` +
        `${DH * (KH - 1) + 1}×${DW * (KW - 1) + 1} (dilated) kernel`);
    }
    // The kernels index from the top-left padding; the bottom/right padding only sets OH, OW.
    this.geometry = { N: 0, H, W, C, O, OH, OW, KH, KW, SH, SW, PH: pads[0], PW: pads[2], DH, DW, G };
    return [OH, OW, O];
  }

  override paramSpecs(): ParamSpec[] {
    const [KH, KW] = this.kernelSize, O = this.outChannels, Cg = this.inputShape[2] / this.groups;
    // Fans as PyTorch and Keras compute them from the weight's shape: in = C/G·KH·KW, out = O·KH·KW.
    const specs: ParamSpec[] = [{ name: 'weight', shape: [O, KH, KW, Cg], fan: { in: Cg * KH * KW, out: O * KH * KW } }];
    if (this.bias) specs.push({ name: 'bias', shape: [O] });
    return specs;
  }

  private geometryFor(N: number): Conv2dGeometry {
    this.geometry.N = N;
    return this.geometry;
  }

  override readonly fusesRelu = true;

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext, relu: Tensor | null = null): void {
    ctx.kernels.conv2dForward(x, this.params.weight, this.params.bias ?? null, y, this.geometryFor(N), relu);
  }

  backward(x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    const g = this.geometryFor(N);
    ctx.kernels.conv2dBackwardFilter(x, gy, this.grads.weight, this.grads.bias ?? null, g);
    if (gx) ctx.kernels.conv2dBackwardData(gy, this.params.weight, gx, g);
  }

  /** The padding as JSON: a number or pair as [h, w] (as model files always had it), else as written. */
  protected paddingConfig(): unknown {
    const p = this.padding;
    return typeof p === 'number' ? [p, p] : p;
  }

  config(): LayerConfig {
    return { type: this.type, outChannels: this.outChannels, kernelSize: this.kernelSize, stride: this.stride,
      padding: this.paddingConfig(), dilation: this.dilation, groups: this.groups, bias: this.bias };
  }

  override describe(): string {
    const [KH, KW] = this.kernelSize;
    return `${KH}×${KW}, stride ${this.stride.join('×')}, pad ${describePads(this.padding, this.pads)}` +
      (this.dilation[0] > 1 || this.dilation[1] > 1 ? `, dilation ${this.dilation.join('×')}` : '') +
      (this.groups > 1 ? `, groups ${this.groups}` : '');
  }
}
