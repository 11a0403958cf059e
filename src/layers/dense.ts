/**
 * Fully connected layer (notes, Appendix): a_i = Σ_j W_ij x̃_j, with x̃ = [x; 1] folding the bias in.
 * Local Jacobians: ∂a_i/∂W_qj = δ_iq x̃_j (so g·∂a/∂W is the outer product gᵀx̃) and
 * ∂a_i/∂x_j = W_ij (so g·∂a/∂x = g W).
 */
import type { Tensor } from '../core/tensor.js';
import { fmt, type Shape } from '../core/shape.js';
import { Layer, type LayerConfig, type ParamSpec, type RunContext } from './layer.js';
import { boolean, positiveInt } from './options.js';

/** A fully connected layer a = W x̃, x̃ = [x; 1]. */
export interface DenseOptions {
  /** Output features O (neurons). */
  outFeatures: number;
  /** Add a learned bias per output (default true). */
  bias?: boolean;
}

/** A fully connected layer on vectors: weights [O, I] (PyTorch's layout), bias [O]. */
export class Dense extends Layer {
  readonly type = 'Dense';
  /** Output features O. */
  readonly outFeatures: number;
  /** Has a bias. */
  readonly bias: boolean;

  constructor(options: DenseOptions) {
    super();
    this.outFeatures = positiveInt(options.outFeatures, 'Dense outFeatures');
    this.bias = boolean(options.bias, 'Dense bias', true);
  }

  protected outputShapeFor(input: Shape): Shape {
    if (input.length !== 1) {
      throw new Error(`Dense needs a vector input, got ${fmt(input)}; put a Flatten (or GlobalAvgPool) before it`);
    }
    return [this.outFeatures];
  }

  override paramSpecs(): ParamSpec[] {
    const I = this.inputShape[0], O = this.outFeatures;
    const specs: ParamSpec[] = [{ name: 'weight', shape: [O, I], fan: { in: I, out: O } }];
    if (this.bias) specs.push({ name: 'bias', shape: [O] });
    return specs;
  }

  override readonly fusesRelu = true;

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext, relu: Tensor | null = null): void {
    ctx.kernels.denseForward(x, this.params.weight, this.params.bias ?? null, y, N, this.inputShape[0], this.outFeatures,
      relu);
  }

  backward(x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    ctx.kernels.denseBackward(x, this.params.weight, gy, gx, this.grads.weight, this.grads.bias ?? null,
      N, this.inputShape[0], this.outFeatures, ctx.writeGradients?.has(this) === true);
  }

  /** Its weight gradient has one producer, this backward, which can write it (RunContext.writeGradients). */
  override readonly writesGradients: readonly string[] = ['weight'];

  config(): LayerConfig {
    return { type: this.type, outFeatures: this.outFeatures, bias: this.bias };
  }
}
