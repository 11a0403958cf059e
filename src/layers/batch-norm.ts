/**
 * Batch normalisation over channels (last axis): y = γ (x - μ)/sqrt(σ² + eps) + β.
 * Training uses the mini-batch statistics and updates running ones; evaluation uses the running ones.
 * In training its Jacobian couples every sample of the batch (μ and σ depend on all of them).
 * γ and β are trainable and live in w; the running mean and variance are buffers, saved with the model.
 */
import type { Arena } from '../core/arena.js';
import type { Tensor } from '../core/tensor.js';
import { fmt, sizeOf, type Shape } from '../core/shape.js';
import { Layer, type LayerConfig, type ParamSpec, type RunContext } from './layer.js';
import { numberIn } from './options.js';

/** Batch normalisation (PyTorch's BatchNorm names and defaults). */
export interface BatchNormOptions {
  /** Added to the variance before the square root (default 1e-5). */
  eps?: number;
  /** Weight of the current batch in the running statistics (default 0.1). */
  momentum?: number;
}

abstract class BatchNorm extends Layer {
  /** Added to the variance before the square root. */
  readonly eps: number;
  /** Weight of the current batch in the running statistics. */
  readonly momentum: number;
  private saveMean!: Tensor;
  private saveInvStd!: Tensor;
  /** Where the first layer's unused input gradient goes: the kernel computes it with the rest. */
  private unusedGx!: Tensor;

  constructor(options: BatchNormOptions, private readonly rank: number, type: string) {
    super();
    this.eps = numberIn(options.eps ?? 1e-5, `${type} eps`, 0, Infinity);
    this.momentum = numberIn(options.momentum ?? 0.1, `${type} momentum`, 0, 1);
  }

  private get channels(): number {
    return this.inputShape[this.inputShape.length - 1];
  }

  protected outputShapeFor(input: Shape): Shape {
    if (input.length !== this.rank) {
      const want = this.rank === 3 ? 'an image input [H, W, C]' : 'a vector input [F]';
      throw new Error(`${this.type} needs ${want}, got ${fmt(input)}`);
    }
    return input;
  }

  override paramSpecs(): ParamSpec[] {
    return [{ name: 'weight', shape: [this.channels], fill: 1 }, { name: 'bias', shape: [this.channels] }];
  }

  override bufferSpecs(): ParamSpec[] {
    return [{ name: 'running_mean', shape: [this.channels] }, { name: 'running_var', shape: [this.channels], fill: 1 }];
  }

  override allocate(batch: number, arena: Arena): void {
    this.saveMean = arena.floats(this.channels);
    this.saveInvStd = arena.floats(this.channels);
    this.unusedGx = arena.floats(batch * sizeOf(this.inputShape));
  }

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    const C = this.channels, R = (N * sizeOf(this.inputShape)) / C;
    ctx.kernels.batchNormForward(x, this.params.weight, this.params.bias, y, R, C, ctx.training, this.eps,
      this.momentum, this.buffers.running_mean, this.buffers.running_var, this.saveMean, this.saveInvStd);
  }

  backward(x: Tensor, _y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    const C = this.channels, R = (N * sizeOf(this.inputShape)) / C;
    ctx.kernels.batchNormBackward(x, this.params.weight, gy, gx ?? this.unusedGx, this.grads.weight,
      this.grads.bias, R, C, ctx.training, this.saveMean, this.saveInvStd);
  }

  config(): LayerConfig {
    return { type: this.type, eps: this.eps, momentum: this.momentum };
  }
}

/** Normalises each channel of [H, W, C] images over the batch and positions; learned scale γ and shift β. */
export class BatchNorm2d extends BatchNorm {
  readonly type = 'BatchNorm2d';
  constructor(options: BatchNormOptions = {}) {
    super(options, 3, 'BatchNorm2d');
  }
}

/** Normalises each feature of [F] vectors over the batch; learned scale γ and shift β. */
export class BatchNorm1d extends BatchNorm {
  readonly type = 'BatchNorm1d';
  constructor(options: BatchNormOptions = {}) {
    super(options, 1, 'BatchNorm1d');
  }
}
