/** Identity: y = x, Jacobian I. A named pass-through in a graph (e.g. the shortcut of a residual block). */
import type { Tensor } from '../core/tensor.js';
import { sizeOf, type Shape } from '../core/shape.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';

/**
 * A layer whose output holds its input's numbers unchanged (Jacobian I), whatever its shape: the
 * forward and backward copy, or nothing where the network gave y x's memory (reshapesOnly).
 */
export abstract class PassThrough extends Layer {
  override readonly reshapesOnly: boolean = true;

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

export class Identity extends PassThrough {
  readonly type = 'Identity';

  protected outputShapeFor(input: Shape): Shape {
    return input;
  }
}
