/**
 * Stochastic gradient descent, torch.optim.SGD. Plain SGD is the notes' eq. (6), w ← w − α g.
 * With weight decay λ, momentum μ, dampening τ:
 *   d = g + λw;   b = d on the first step, else b = μb + (1 − τ)d;
 *   d = d + μb (Nesterov) or d = b;   w ← w − α d.
 */
import type { Arena } from '../../core/arena.js';
import { check } from '../../core/errors.js';
import type { Floats } from '../../core/floats.js';
import { BaseOptimizer, checkNumber, type SgdConfig } from './optimizer.js';

export class SGD extends BaseOptimizer {
  readonly kind = 'sgd';
  readonly momentum: number;
  readonly dampening: number;
  readonly weightDecay: number;
  readonly nesterov: boolean;
  private readonly buf: Floats | null;

  constructor(options: Omit<SgdConfig, 'kind'>, paramCount: number, arena?: Arena) {
    super(options.lr ?? 1e-3, paramCount, arena);
    this.momentum = checkNumber(options.momentum ?? 0, 'SGD momentum', 0);
    this.dampening = checkNumber(options.dampening ?? 0, 'SGD dampening', 0);
    this.weightDecay = checkNumber(options.weight_decay ?? 0, 'SGD weight_decay', 0);
    this.nesterov = options.nesterov ?? false;
    check(!this.nesterov || (this.momentum > 0 && this.dampening === 0),
      'SGD nesterov needs momentum > 0 and dampening = 0');
    // Plain SGD keeps no state, as in PyTorch.
    this.buf = this.momentum > 0 ? this.buffer('momentum_buffer') : null;
  }

  protected update(w: Floats, g: Floats, t: number): void {
    const lr = this.lr, mu = this.momentum, keep = 1 - this.dampening, wd = this.weightDecay, buf = this.buf;
    for (let i = 0; i < w.length; i++) {
      let d = g[i] + wd * w[i];
      if (buf) {
        // PyTorch's first step: the buffer starts as the gradient itself, undamped.
        const b = t === 1 ? d : mu * buf[i] + keep * d;
        buf[i] = b;
        d = this.nesterov ? d + mu * b : b;
      }
      w[i] -= lr * d;
    }
  }

  config(): Required<SgdConfig> {
    return { kind: 'sgd', lr: this.lr, momentum: this.momentum, dampening: this.dampening,
      weight_decay: this.weightDecay, nesterov: this.nesterov };
  }
}
