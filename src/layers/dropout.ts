/**
 * Inverted dropout: in training each unit is zeroed with probability p and the rest scaled by
 * 1/(1-p); in evaluation it is the identity. The mask comes from the network's seeded generator
 * (one draw per step), so runs with one seed are identical.
 */
import type { Tensor } from '../core/tensor.js';
import { sizeOf, type Shape } from '../core/shape.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';
import { numberIn } from './options.js';

/** Zeroes each input with probability p during training and scales the rest by 1 / (1 − p); the identity at inference. */
export class Dropout extends Layer {
  readonly type = 'Dropout';
  /** Probability of zeroing an input during training. */
  readonly p: number;
  private seed = 0;

  /** `p`: the probability of zeroing an input during training (default 0.5). */
  constructor(options: { p?: number } = {}) {
    super();
    this.p = numberIn(options.p ?? 0.5, 'Dropout p', 0, 1, true);
  }

  protected outputShapeFor(input: Shape): Shape {
    return input;
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    const n = N * sizeOf(this.inputShape);
    if (!ctx.training || this.p === 0) {
      ctx.kernels.copyBlock(x, y, 1, n, n, 0, n, 0);
      return;
    }
    this.seed = ctx.rng.nextU32();
    ctx.kernels.dropoutForward(x, y, n, this.p, this.seed);
  }

  backward(_x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    if (!gx) return;
    const n = N * sizeOf(this.inputShape);
    if (!ctx.training || this.p === 0) ctx.kernels.copyBlock(gy, gx, 1, n, n, 0, n, 0);
    else ctx.kernels.dropoutBackward(gy, gx, n, this.p, this.seed);
  }

  config(): LayerConfig {
    return { type: this.type, p: this.p };
  }
}
