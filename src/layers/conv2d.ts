/**
 * 2-D convolution: each output x_i^(k) is a dense neuron (notes, Appendix) whose weights are shared
 * across positions and whose input is the window of x^(k-1) it sees. The Jacobians are the dense
 * layer's, restricted to that window: ∂y/∂w reads the input under the window, ∂y/∂x the weights.
 * Weights are [O, KH, KW, C] (channels-last); PyTorch's [O, C, KH, KW] is converted on import.
 */
import type { Floats } from '../core/floats.js';
import { fmt, type Shape } from '../core/shape.js';
import type { Conv2dGeometry } from '../kernels/kernels.js';
import { Layer, type LayerConfig, type ParamSpec, type RunContext } from './layer.js';
import { boolean, pair, positiveInt, windowOutput, type Pair } from './options.js';

/** A 2-D convolution over channels-last images; sizes may be one number or [height, width]. */
export interface Conv2dOptions {
  /** Output channels O: the number of filters. */
  outChannels: number;
  /** Filter size KH × KW. */
  kernelSize: number | Pair;
  /** Step between windows (default 1). */
  stride?: number | Pair;
  /** Zeros added on each side (default 0; (kernelSize − 1) / 2 keeps the size at stride 1). */
  padding?: number | Pair;
  /** Spacing between filter taps (default 1). */
  dilation?: number | Pair;
  /** Add a learned bias per output channel (default true). */
  bias?: boolean;
}

/** Dense neurons with shared weights over windows (notes, Appendix): weights [O, KH, KW, C], output [OH, OW, O]. */
export class Conv2d extends Layer {
  readonly type = 'Conv2d';
  /** Output channels O. */
  readonly outChannels: number;
  /** Filter size [KH, KW]. */
  readonly kernelSize: Pair;
  /** Stride [SH, SW]. */
  readonly stride: Pair;
  /** Padding [PH, PW]. */
  readonly padding: Pair;
  /** Dilation [DH, DW]. */
  readonly dilation: Pair;
  /** Has a bias. */
  readonly bias: boolean;
  private geometry!: Conv2dGeometry;

  constructor(options: Conv2dOptions) {
    super();
    this.outChannels = positiveInt(options.outChannels, 'Conv2d outChannels');
    this.kernelSize = pair(options.kernelSize, 'Conv2d kernelSize', 1);
    this.stride = pair(options.stride ?? 1, 'Conv2d stride', 1);
    this.padding = pair(options.padding ?? 0, 'Conv2d padding', 0);
    this.dilation = pair(options.dilation ?? 1, 'Conv2d dilation', 1);
    this.bias = boolean(options.bias, 'Conv2d bias', true);
  }

  protected outputShapeFor(input: Shape): Shape {
    if (input.length !== 3) throw new Error(`Conv2d needs an image input [H, W, C], got ${fmt(input)}`);
    const [H, W, C] = input;
    const [KH, KW] = this.kernelSize, [SH, SW] = this.stride, [PH, PW] = this.padding, [DH, DW] = this.dilation;
    const OH = windowOutput(H, KH, SH, PH, DH), OW = windowOutput(W, KW, SW, PW, DW);
    if (OH < 1 || OW < 1) {
      throw new Error(`input ${fmt(input)} (padded to ${H + 2 * PH}×${W + 2 * PW}) is smaller than the ` +
        `${DH * (KH - 1) + 1}×${DW * (KW - 1) + 1} (dilated) kernel`);
    }
    this.geometry = { N: 0, H, W, C, O: this.outChannels, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW };
    return [OH, OW, this.outChannels];
  }

  override paramSpecs(): ParamSpec[] {
    const [KH, KW] = this.kernelSize, C = this.inputShape[2], O = this.outChannels;
    const specs: ParamSpec[] = [{ name: 'weight', shape: [O, KH, KW, C], fan: { in: C * KH * KW, out: O * KH * KW } }];
    if (this.bias) specs.push({ name: 'bias', shape: [O] });
    return specs;
  }

  private geometryFor(N: number): Conv2dGeometry {
    this.geometry.N = N;
    return this.geometry;
  }

  override readonly fusesRelu = true;

  forward(x: Floats, y: Floats, N: number, ctx: RunContext, relu: Floats | null = null): void {
    ctx.kernels.conv2dForward(x, this.params.weight, this.params.bias ?? null, y, this.geometryFor(N), relu);
  }

  backward(x: Floats, _y: Floats, gy: Floats, gx: Floats | null, N: number, ctx: RunContext): void {
    const g = this.geometryFor(N);
    ctx.kernels.conv2dBackwardFilter(x, gy, this.grads.weight, this.grads.bias ?? null, g);
    if (gx) ctx.kernels.conv2dBackwardData(gy, this.params.weight, gx, g);
  }

  config(): LayerConfig {
    return { type: this.type, outChannels: this.outChannels, kernelSize: this.kernelSize, stride: this.stride,
      padding: this.padding, dilation: this.dilation, bias: this.bias };
  }

  override describe(): string {
    const [KH, KW] = this.kernelSize;
    return `${KH}×${KW}, stride ${this.stride.join('×')}, pad ${this.padding.join('×')}` +
      (this.dilation[0] > 1 || this.dilation[1] > 1 ? `, dilation ${this.dilation.join('×')}` : '');
  }
}
