/**
 * Depthwise convolution (Keras's DepthwiseConv2D, PyTorch's Conv2d with groups = in_channels):
 * each input channel c is convolved with `depthMultiplier` filters of its own, giving output
 * channels c·m … c·m + m − 1. It is a Conv2d with groups = C and outChannels = C·m, both settled
 * when the input shape is known; weights are [C·m, KH, KW, 1].
 */
import { fmt, type Shape } from '../core/shape.js';
import { Conv2d } from './conv2d.js';
import type { LayerConfig } from './layer.js';
import { positiveInt, type Pair } from './options.js';
import type { PaddingSpec } from './padding.js';

export interface DepthwiseConv2dOptions {
  kernelSize: number | Pair;
  /** Filters per input channel (default 1). */
  depthMultiplier?: number;
  stride?: number | Pair;
  padding?: PaddingSpec;
  dilation?: number | Pair;
  bias?: boolean;
}

export class DepthwiseConv2d extends Conv2d {
  override readonly type: string = 'DepthwiseConv2d';
  readonly depthMultiplier: number;

  constructor(options: DepthwiseConv2dOptions) {
    super({ ...options, outChannels: 0 }, true);
    this.depthMultiplier = positiveInt(options.depthMultiplier ?? 1, 'DepthwiseConv2d depthMultiplier');
  }

  protected override outputShapeFor(input: Shape): Shape {
    if (input.length !== 3) throw new Error(`DepthwiseConv2d needs an image input [H, W, C], got ${fmt(input)}`);
    this.groups = input[2];
    this.outChannels = input[2] * this.depthMultiplier;
    return super.outputShapeFor(input);
  }

  override describe(): string {
    return super.describe().replace(/, groups \d+$/, '') + (this.depthMultiplier > 1 ? `, ×${this.depthMultiplier} per channel` : '');
  }

  override config(): LayerConfig {
    return { type: this.type, kernelSize: this.kernelSize, depthMultiplier: this.depthMultiplier, stride: this.stride,
      padding: this.paddingConfig(), dilation: this.dilation, bias: this.bias };
  }
}
