/**
 * The layer contract (notes, section 3): a layer is x^(k) = f^(k)(x^(k-1), w^(k)). It knows only
 * its own local Jacobians: `backward` receives g = ∂ℓ/∂x^(k) for the mini-batch, accumulates
 * g·∂x^(k)/∂w^(k) into its gradient views (eq. 2) and writes g·∂x^(k)/∂x^(k-1) (eq. 3).
 *
 * Life cycle: the network calls `build` once with the input shape (shapes are settled there and
 * every error is thrown there), then binds parameter views carved out of the one vector w, then
 * `allocate`s per-batch scratch through the arena. `forward`/`backward` never allocate.
 */
import type { Arena } from '../core/arena.js';
import type { Tensor } from '../core/tensor.js';
import type { Rng } from '../core/rng.js';
import { type Shape } from '../core/shape.js';
import type { Kernels } from '../kernels/kernels.js';

/** What a layer's forward and backward receive besides the arrays. */
export interface RunContext {
  /** The kernels to call. */
  kernels: Kernels;
  /** Training mode: dropout drops, batch-norm uses batch statistics, max-pool ties are random. */
  training: boolean;
  /** The network's seeded generator: every random choice of a step is drawn from it. */
  rng: Rng;
  /**
   * Layers whose `writesGradients` the network left unzeroed: they write those gradients instead of
   * adding to them (saves a pass over g and a read of it; Dense's 9216×128 weight in NET-B).
   */
  writeGradients?: ReadonlySet<Layer>;
}

/** A named tensor of a layer: its shape and, once bound, its view into w (or the state vector). */
export interface ParamSpec {
  /** Its name within the layer (weight, bias, running_mean, ...). */
  name: string;
  /** Its shape. */
  shape: number[];
  /** Fan-in and fan-out for initialisation; biases have none and start at zero. */
  fan?: { in: number; out: number };
  /** Initial value for tensors that do not start random (batch-norm γ = 1, running variance = 1). */
  fill?: number;
}

/** A layer as JSON: its type and its constructor options. Model files store a list of these. */
export interface LayerConfig {
  /** The layer type (Conv2d, Dense, ..., or one added with registerLayer). */
  type: string;
  [option: string]: unknown;
}

/** A layer: shape inference, forward and backward side by side. Subclass it for a custom layer, and registerLayer its type. */
export abstract class Layer {
  /** The layer's type name, as in its config and registerLayer. */
  abstract readonly type: string;
  /** The input shape of one sample, set by build. */
  inputShape: Shape = [];
  /** The output shape of one sample, set by build. */
  outputShape: Shape = [];
  /** Trainable tensors, in their order inside w; filled by the network. */
  params: Record<string, Tensor> = {};
  /** Gradients of the trainable tensors, views into the network's g. */
  grads: Record<string, Tensor> = {};
  /** Non-trainable tensors (running statistics), saved with the model but not optimised. */
  buffers: Record<string, Tensor> = {};

  /** Check the input shape and settle the output shape; throw a plain Error saying what is wrong. */
  build(inputShape: Shape): Shape {
    this.inputShape = inputShape;
    this.outputShape = this.outputShapeFor(inputShape);
    return this.outputShape;
  }

  /** The output shape for an input shape; throw a plain Error if the input does not fit. */
  protected abstract outputShapeFor(inputShape: Shape): Shape;

  /** Trainable tensors this layer needs, given its settled shapes. */
  paramSpecs(): ParamSpec[] {
    return [];
  }

  /** Non-trainable tensors this layer needs. */
  bufferSpecs(): ParamSpec[] {
    return [];
  }

  /** Scratch for batches of up to `batch` samples (masks, arg-max indices, saved statistics). */
  allocate(_batch: number, _arena: Arena): void {}

  /**
   * Can forward also write ReLU of its output, for a ReLU layer right after it? The network then
   * skips that layer's forward pass (its backward still runs, reading this layer's output).
   */
  readonly fusesRelu: boolean = false;

  /** y = f(x); `relu`, only for layers that fuse it, receives ReLU(y) as well. */
  abstract forward(x: Tensor, y: Tensor, N: number, ctx: RunContext, relu?: Tensor | null): void;

  /** gx is null for the first layer, whose input gradient nobody needs. */
  abstract backward(x: Tensor, y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void;

  /**
   * y = x with another shape (Flatten, Identity): the network may give y x's memory (and gx gy's),
   * and forward/backward then copy nothing.
   */
  readonly reshapesOnly: boolean = false;

  /**
   * Parameters whose gradient backward writes outright when RunContext.writeGradients is set (the
   * network then leaves them unzeroed before a gradient pass).
   */
  readonly writesGradients: readonly string[] = [];

  /**
   * For a layer whose input x is a ReLU's output: this layer's backward and then the ReLU's, in a
   * fused kernel, gx being ∂L/∂ of the ReLU's input `reluInput` (src/network/fusion-plan.ts names
   * the layers and kernels; MaxPool2d has it).
   */
  backwardThroughRelu?(x: Tensor, y: Tensor, gy: Tensor, reluInput: Tensor, gx: Tensor, N: number, ctx: RunContext): void;

  /** The constructor options, as JSON. */
  abstract config(): LayerConfig;

  /** One line for the summary table, beyond type and shapes. */
  describe(): string {
    return '';
  }
}
