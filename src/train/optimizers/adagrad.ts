/**
 * Adagrad, torch.optim.Adagrad. With step t and learning-rate decay η:
 *   g ← g + λw;   α_t = α / (1 + (t − 1)η);   s ← s + g²;   w ← w − α_t g / (√s + ε),
 * where s starts at initialAccumulatorValue.
 */
import type { Arena } from '../../core/arena.js';
import { hostFloats, type Tensor } from '../../core/tensor.js';
import type { Kernels } from '../../kernels/kernels.js';
import { StepSquares } from '../../kernels/reference/step-squares.js';
import { BaseOptimizer, checkNumber, type AdagradConfig } from './optimizer.js';

/** Adagrad (torch.optim.Adagrad). */
export class Adagrad extends BaseOptimizer {
  readonly kind = 'adagrad';
  /** Rate decay per step. */
  readonly lrDecay: number;
  /** L2 penalty. */
  readonly weightDecay: number;
  /** Starting value of the accumulated g². */
  readonly initialAccumulatorValue: number;
  /** Added to the root of the accumulator. */
  readonly eps: number;
  private readonly sum: Tensor;

  constructor(options: Omit<AdagradConfig, 'kind'>, paramCount: number, arena?: Arena, kernels?: Kernels) {
    super(options.lr ?? 1e-2, paramCount, arena, kernels);
    this.lrDecay = checkNumber(options.lrDecay ?? 0, 'Adagrad lrDecay', 0);
    this.weightDecay = checkNumber(options.weightDecay ?? 0, 'Adagrad weightDecay', 0);
    this.initialAccumulatorValue = checkNumber(options.initialAccumulatorValue ?? 0, 'Adagrad initialAccumulatorValue', 0);
    this.eps = checkNumber(options.eps ?? 1e-10, 'Adagrad eps', 0);
    this.sum = this.buffer('sum', this.initialAccumulatorValue);
  }

  protected update(wt: Tensor, gt: Tensor, t: number, stepSquares: Float64Array | null): void {
    const { eps } = this, wd = this.weightDecay;
    if (this.engine.adagradUpdate) {
      this.engine.adagradUpdate(wt, gt, this.sum, wt.length, this.lr, this.lrDecay, eps, wd, t);
      return;
    }
    // The reference loop, on the host's arrays.
    const w = hostFloats(wt, 'adagrad update'), g = hostFloats(gt, 'adagrad update'), sum = hostFloats(this.sum, 'adagrad update');
    const clr = this.lr / (1 + (t - 1) * this.lrDecay);
    const squares = stepSquares ? new StepSquares(w.length) : null;
    for (let i = 0; i < w.length; i++) {
      const old = w[i];
      const gi = g[i] + wd * old;
      sum[i] += gi * gi;
      w[i] = old - (clr * gi) / (Math.sqrt(sum[i]) + eps);
      squares?.add(i, w[i] - old);
    }
    if (stepSquares) stepSquares[0] = squares!.total;
  }

  config(): Required<AdagradConfig> {
    return { kind: 'adagrad', lr: this.lr, lrDecay: this.lrDecay, weightDecay: this.weightDecay,
      initialAccumulatorValue: this.initialAccumulatorValue, eps: this.eps };
  }
}
