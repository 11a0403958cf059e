/**
 * Point-wise activations x_i = f(a_i) (notes, Appendix): the Jacobian is diagonal, df/da_i.
 * ReLU: df/da = 1 for a >= 0 and 0 otherwise, exactly as the notes define it.
 * Softplus log(1 + e^a) is the notes' "rounded cusp": a differentiable ReLU.
 */
import type { Tensor } from '../core/tensor.js';
import { sizeOf, type Shape } from '../core/shape.js';
import type { ActivationKind } from '../kernels/kernels.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';
import { numberIn } from './options.js';

abstract class Activation extends Layer {
  /** The activation the kernels compute. */
  protected abstract readonly kind: ActivationKind;
  /** LeakyReLU's negative slope (0 for the others). */
  protected alpha = 0;

  protected outputShapeFor(input: Shape): Shape {
    return input;
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    ctx.kernels.activationForward(this.kind, x, y, N * sizeOf(this.inputShape), this.alpha);
  }

  backward(x: Tensor, y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    if (gx) ctx.kernels.activationBackward(this.kind, x, y, gy, gx, N * sizeOf(this.inputShape), this.alpha);
  }

  config(): LayerConfig {
    return { type: this.type };
  }
}

/** max(0, a); derivative 1 for a ≥ 0. */
export class ReLU extends Activation {
  readonly type = 'ReLU';
  protected readonly kind = 'relu';
}

/** a for a ≥ 0, alpha · a below. */
export class LeakyReLU extends Activation {
  readonly type = 'LeakyReLU';
  protected readonly kind = 'leaky_relu';
  /** `negativeSlope`: alpha, the slope below 0 (default 0.01). */
  constructor(options: { negativeSlope?: number } = {}) {
    super();
    this.alpha = numberIn(options.negativeSlope ?? 0.01, 'LeakyReLU negativeSlope', 0, 1);
  }
  override config(): LayerConfig {
    return { type: this.type, negativeSlope: this.alpha };
  }
}

/** 1 / (1 + e^−a). */
export class Sigmoid extends Activation {
  readonly type = 'Sigmoid';
  protected readonly kind = 'sigmoid';
}

/** tanh a. */
export class Tanh extends Activation {
  readonly type = 'Tanh';
  protected readonly kind = 'tanh';
}

/** log(1 + e^a), the notes' rounded cusp. */
export class Softplus extends Activation {
  readonly type = 'Softplus';
  protected readonly kind = 'softplus';
}
