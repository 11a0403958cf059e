/** Global average pooling: [H, W, C] → [C], the mean of each channel (PyTorch AdaptiveAvgPool2d(1) + flatten). */
import type { Tensor } from '../core/tensor.js';
import { fmt, type Shape } from '../core/shape.js';
import type { Pool2dGeometry } from '../kernels/kernels.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';

/** The mean of each channel over the whole image: [H, W, C] → [C]. */
export class GlobalAvgPool extends Layer {
  readonly type = 'GlobalAvgPool';
  private geometry!: Pool2dGeometry;

  protected outputShapeFor(input: Shape): Shape {
    if (input.length !== 3) throw new Error(`GlobalAvgPool needs an image input [H, W, C], got ${fmt(input)}`);
    const [H, W, C] = input;
    // One window covering the whole image: the average-pool kernel computes it.
    this.geometry = { N: 0, H, W, C, OH: 1, OW: 1, KH: H, KW: W, SH: 1, SW: 1, PH: 0, PW: 0 };
    return [C];
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    this.geometry.N = N;
    ctx.kernels.avgPool2dForward(x, y, this.geometry);
  }

  backward(_x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    this.geometry.N = N;
    if (gx) ctx.kernels.avgPool2dBackward(gy, gx, this.geometry);
  }

  config(): LayerConfig {
    return { type: this.type };
  }
}
