/**
 * Soft-max (notes, section 1): maps a vector onto the simplex P, p_i = e^{x_i} / Σ_j e^{x_j}.
 * Its own Jacobian is ∂p_i/∂x_j = p_i (δ_ij - p_j). Followed by cross-entropy, the network skips
 * it in backward and uses the fused, stable gradient p - q instead (same numbers, fewer steps).
 */
import type { Tensor } from '../core/tensor.js';
import { fmt, type Shape } from '../core/shape.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';

/** p_i = e^{x_i} / Σ_j e^{x_j}: a point p of the simplex. With cross-entropy the two backward together are p − q. */
export class Softmax extends Layer {
  readonly type = 'Softmax';

  protected outputShapeFor(input: Shape): Shape {
    if (input.length !== 1) throw new Error(`Softmax needs a vector input [E], got ${fmt(input)}`);
    return input;
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    ctx.kernels.softmaxForward(x, y, N, this.inputShape[0]);
  }

  backward(_x: Tensor, y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    if (gx) ctx.kernels.softmaxBackward(y, gy, gx, N, this.inputShape[0]);
  }

  config(): LayerConfig {
    return { type: this.type };
  }
}
