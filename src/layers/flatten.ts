/**
 * Flatten [H, W, C] to [H·W·C]. Its Jacobian is the identity: the numbers do not move, only the
 * shape changes. Note the order is channels-last (h, w, c), not PyTorch's (c, h, w): importers
 * permute the columns of the dense layer that follows.
 */
import type { Tensor } from '../core/tensor.js';
import { sizeOf, type Shape } from '../core/shape.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';

/** [H, W, C] → [H·W·C] (channels-last order); no computation. */
export class Flatten extends Layer {
  readonly type = 'Flatten';

  override readonly reshapesOnly: boolean = true;

  protected outputShapeFor(input: Shape): Shape {
    return [sizeOf(input)];
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    const n = N * sizeOf(this.inputShape);
    if (x !== y) ctx.kernels.copyBlock(x, y, 1, n, n, 0, n, 0);
  }

  backward(_x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    const n = N * sizeOf(this.inputShape);
    if (gx && gx !== gy) ctx.kernels.copyBlock(gy, gx, 1, n, n, 0, n, 0);
  }

  config(): LayerConfig {
    return { type: this.type };
  }
}
