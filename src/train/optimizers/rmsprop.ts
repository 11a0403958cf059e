/**
 * RMSprop, torch.optim.RMSprop. With smoothing α_s (alpha), momentum μ:
 *   g ← g + λw;   s ← α_s s + (1 − α_s)g²;   centered: ḡ ← α_s ḡ + (1 − α_s)g, s̃ = s − ḡ², else s̃ = s;
 *   d = g / (√s̃ + ε);   μ > 0: b ← μb + d, w ← w − α b;   else w ← w − α d.
 */
import type { Arena } from '../../core/arena.js';
import { hostFloats, type Tensor } from '../../core/tensor.js';
import type { Kernels } from '../../kernels/kernels.js';
import { StepSquares } from '../../kernels/reference/step-squares.js';
import { BaseOptimizer, checkNumber, type RmspropConfig } from './optimizer.js';

/** RMSprop (torch.optim.RMSprop). */
export class RMSprop extends BaseOptimizer {
  readonly kind = 'rmsprop';
  /** Smoothing constant of the running mean of g². */
  readonly alpha: number;
  /** Added to the root mean square. */
  readonly eps: number;
  /** L2 penalty. */
  readonly weightDecay: number;
  /** Momentum factor. */
  readonly momentum: number;
  /** Divide by the estimated variance instead of the second moment. */
  readonly centered: boolean;
  private readonly squareAvg: Tensor;
  private readonly buf: Tensor | null;
  private readonly gradAvg: Tensor | null;

  constructor(options: Omit<RmspropConfig, 'kind'>, paramCount: number, arena?: Arena, kernels?: Kernels) {
    super(options.lr ?? 1e-2, paramCount, arena, kernels);
    this.alpha = checkNumber(options.alpha ?? 0.99, 'RMSprop alpha', 0);
    this.eps = checkNumber(options.eps ?? 1e-8, 'RMSprop eps', 0);
    this.weightDecay = checkNumber(options.weightDecay ?? 0, 'RMSprop weightDecay', 0);
    this.momentum = checkNumber(options.momentum ?? 0, 'RMSprop momentum', 0);
    this.centered = options.centered ?? false;
    this.squareAvg = this.buffer('square_avg');
    this.buf = this.momentum > 0 ? this.buffer('momentum_buffer') : null;
    this.gradAvg = this.centered ? this.buffer('grad_avg') : null;
  }

  protected update(wt: Tensor, gt: Tensor, _t: number, stepSquares: Float64Array | null): void {
    const { alpha, eps, momentum } = this, lr = this.lr, wd = this.weightDecay;
    if (this.engine.rmspropUpdate) {
      this.engine.rmspropUpdate(wt, gt, this.squareAvg, this.buf, this.gradAvg, wt.length, lr, alpha, eps, wd, momentum);
      return;
    }
    // The reference loop, on the host's arrays.
    const h = (t: Tensor | null) => hostFloats(t, 'rmsprop update');
    const w = h(wt)!, g = h(gt)!, squareAvg = h(this.squareAvg)!, buf = h(this.buf), gradAvg = h(this.gradAvg);
    const squares = stepSquares ? new StepSquares(w.length) : null;
    for (let i = 0; i < w.length; i++) {
      const old = w[i];
      const gi = g[i] + wd * old;
      let s = (squareAvg[i] = alpha * squareAvg[i] + (1 - alpha) * gi * gi);
      if (gradAvg) {
        const a = (gradAvg[i] = alpha * gradAvg[i] + (1 - alpha) * gi);
        s -= a * a;
      }
      const d = gi / (Math.sqrt(s) + eps);
      if (buf) w[i] = old - lr * (buf[i] = momentum * buf[i] + d);
      else w[i] = old - lr * d;
      squares?.add(i, w[i] - old);
    }
    if (stepSquares) stepSquares[0] = squares!.total;
  }

  config(): Required<RmspropConfig> {
    return { kind: 'rmsprop', lr: this.lr, alpha: this.alpha, eps: this.eps, weightDecay: this.weightDecay,
      momentum: this.momentum, centered: this.centered };
  }
}
