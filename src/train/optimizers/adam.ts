/**
 * Adam (Kingma & Ba, the notes' ref. [4]) and AdamW, torch.optim.Adam / AdamW. With step t, betas β₁, β₂:
 *   Adam:  g ← g + λw (L2);      AdamW: w ← w(1 − αλ) (decoupled decay)
 *   m ← β₁m + (1 − β₁)g;   v ← β₂v + (1 − β₂)g²;   (amsgrad: v̂ ← max(v̂, v), used in place of v)
 *   w ← w − (α / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε).
 */
import type { Arena } from '../../core/arena.js';
import type { Tensor } from '../../core/tensor.js';
import type { Kernels } from '../../kernels/kernels.js';
import { BaseOptimizer, checkNumber, type AdamConfig } from './optimizer.js';

/** Adam (torch.optim.Adam); AdamW is the same with decoupled weight decay. Fields are the config, filled with defaults. */
export class Adam extends BaseOptimizer {
  /** 'adam' or 'adamw'. */
  readonly kind: 'adam' | 'adamw';
  /** Decay rate of the first-moment estimate. */
  readonly beta1: number;
  /** Decay rate of the second-moment estimate. */
  readonly beta2: number;
  /** Added to the root of the second moment. */
  readonly eps: number;
  /** L2 penalty (Adam) or decoupled decay (AdamW). */
  readonly weightDecay: number;
  /** AMSGrad: the largest second moment so far. */
  readonly amsgrad: boolean;
  private readonly m: Tensor;
  private readonly v: Tensor;
  private readonly vMax: Tensor | null;

  constructor(options: Omit<AdamConfig, 'kind'>, paramCount: number, arena?: Arena, kind: 'adam' | 'adamw' = 'adam', kernels?: Kernels) {
    super(options.lr ?? 1e-3, paramCount, arena, kernels);
    this.kind = kind;
    const name = kind === 'adam' ? 'Adam' : 'AdamW';
    const betas = options.betas ?? [0.9, 0.999];
    this.beta1 = checkNumber(betas[0], `${name} betas[0]`, 0, 1);
    this.beta2 = checkNumber(betas[1], `${name} betas[1]`, 0, 1);
    this.eps = checkNumber(options.eps ?? 1e-8, `${name} eps`, 0);
    this.weightDecay = checkNumber(options.weightDecay ?? (kind === 'adam' ? 0 : 1e-2), `${name} weightDecay`, 0);
    this.amsgrad = options.amsgrad ?? false;
    this.m = this.buffer('exp_avg');
    this.v = this.buffer('exp_avg_sq');
    this.vMax = this.amsgrad ? this.buffer('max_exp_avg_sq') : null;
  }

  protected update(w: Tensor, g: Tensor, t: number, squares: Float64Array | null): void {
    const l2 = this.kind === 'adam' ? this.weightDecay : 0;
    const shrink = this.kind === 'adamw' ? 1 - this.lr * this.weightDecay : 1;
    this.kernels.adamUpdate(w, g, this.m, this.v, this.vMax, w.length, this.lr, this.beta1, this.beta2, this.eps, l2, shrink, t,
      squares);
  }

  config(): Required<AdamConfig> {
    return { kind: this.kind, lr: this.lr, betas: [this.beta1, this.beta2], eps: this.eps,
      weightDecay: this.weightDecay, amsgrad: this.amsgrad };
  }
}

/** AdamW: Adam with decoupled weight decay (default 1e-2), Loshchilov & Hutter. */
export class AdamW extends Adam {
  constructor(options: Omit<AdamConfig, 'kind'>, paramCount: number, arena?: Arena, kernels?: Kernels) {
    super(options, paramCount, arena, 'adamw', kernels);
  }
}
