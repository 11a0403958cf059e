/**
 * Stochastic gradient descent, torch.optim.SGD. Plain SGD is the notes' eq. (6), w ← w − α g.
 * With weight decay λ, momentum μ, dampening τ:
 *   d = g + λw;   b = d on the first step, else b = μb + (1 − τ)d;
 *   d = d + μb (Nesterov) or d = b;   w ← w − α d.
 */
import type { Arena } from '../../core/arena.js';
import { check } from '../../core/errors.js';
import type { Tensor } from '../../core/tensor.js';
import type { Kernels } from '../../kernels/kernels.js';
import { BaseOptimizer, checkNumber, type SgdConfig } from './optimizer.js';

/** Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay (torch.optim.SGD). */
export class SGD extends BaseOptimizer {
  readonly kind = 'sgd';
  /** Momentum factor. */
  readonly momentum: number;
  /** Dampening of the gradient in the momentum buffer. */
  readonly dampening: number;
  /** L2 penalty. */
  readonly weightDecay: number;
  /** Nesterov momentum. */
  readonly nesterov: boolean;
  private readonly buf: Tensor | null;

  constructor(options: Omit<SgdConfig, 'kind'>, paramCount: number, arena?: Arena, kernels?: Kernels) {
    super(options.lr ?? 1e-3, paramCount, arena, kernels);
    this.momentum = checkNumber(options.momentum ?? 0, 'SGD momentum', 0);
    this.dampening = checkNumber(options.dampening ?? 0, 'SGD dampening', 0);
    this.weightDecay = checkNumber(options.weightDecay ?? 0, 'SGD weightDecay', 0);
    this.nesterov = options.nesterov ?? false;
    check(!this.nesterov || (this.momentum > 0 && this.dampening === 0),
      'SGD nesterov needs momentum > 0 and dampening = 0');
    // Plain SGD keeps no state, as in PyTorch.
    this.buf = this.momentum > 0 ? this.buffer('momentum_buffer') : null;
  }

  protected update(w: Tensor, g: Tensor, t: number, squares: Float64Array | null): void {
    this.kernels.sgdUpdate(w, g, this.buf, w.length, this.lr, this.momentum, this.dampening, this.weightDecay,
      this.nesterov, t === 1, squares);
  }

  config(): Required<SgdConfig> {
    return { kind: 'sgd', lr: this.lr, momentum: this.momentum, dampening: this.dampening,
      weightDecay: this.weightDecay, nesterov: this.nesterov };
  }
}
