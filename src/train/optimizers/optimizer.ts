/**
 * The optimizer contract. Every optimizer updates the whole parameter vector w (all layers, one
 * Float32Array) from its gradient twin g in a single loop, a refinement of the notes' eq. (6):
 *   w_{t+1} = w_t − α_t ∇L_T(w_t).
 * Hyper-parameter names and defaults are PyTorch's (torch.optim), so a config reads like Python.
 * State buffers (momentum, exp_avg, ...) come from the Arena once, at construction, never per step.
 */
import { HeapArena, type Arena } from '../../core/arena.js';
import { check, DescentError } from '../../core/errors.js';
import type { Floats } from '../../core/floats.js';
import { hostFloats, type Tensor } from '../../core/tensor.js';
import type { DeviceTensors, Kernels } from '../../kernels/kernels.js';
import { referenceKernels } from '../../kernels/reference/index.js';

/** Stochastic gradient descent (torch.optim.SGD): w ← w − α (g + momentum buffer); the notes' eq. (6) with momentum 0. */
export interface SgdConfig {
  /** Selects SGD. */
  kind: 'sgd';
  /** Learning rate α (default 1e-3, PyTorch ≥ 2.2; the CLI uses 0.01). */
  lr?: number; // PyTorch ≥ 2.2 default 1e-3
  /** Momentum factor μ: the buffer b ← μ b + (1 − dampening) g is the step (default 0: none). */
  momentum?: number;
  /** Dampening of the gradient's share in the momentum buffer (default 0). */
  dampening?: number;
  /** L2 penalty λ: g + λ w is used for g (default 0). */
  weightDecay?: number;
  /** Nesterov momentum: step along g + μ b instead of b (default false; needs momentum > 0, dampening 0). */
  nesterov?: boolean;
}
/** Adam or AdamW (torch.optim.Adam / AdamW): steps scaled by running estimates of the gradient's first and second moments. */
export interface AdamConfig {
  /** 'adam' (L2 weight decay added to g) or 'adamw' (decoupled weight decay). */
  kind: 'adam' | 'adamw';
  /** Learning rate α (default 1e-3). */
  lr?: number;
  /** Decay rates [β1, β2] of the first- and second-moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to the square root of the second moment, for stability (default 1e-8). */
  eps?: number;
  /** Adam: L2 penalty added to g (default 0); AdamW: decoupled decay, w ← w (1 − α λ) (default 1e-2). */
  weightDecay?: number; // Adam: L2 added to g (default 0); AdamW: decoupled, w *= 1 − lr·wd (default 1e-2)
  /** Use the largest second-moment estimate seen so far (AMSGrad; default false). */
  amsgrad?: boolean;
}
/** RMSprop (torch.optim.RMSprop): steps divided by a running root mean square of g. */
export interface RmspropConfig {
  /** Selects RMSprop. */
  kind: 'rmsprop';
  /** Learning rate α (default 1e-2). */
  lr?: number;
  /** Smoothing constant of the running mean of g² (default 0.99). */
  alpha?: number;
  /** Added to the root mean square, for stability (default 1e-8). */
  eps?: number;
  /** L2 penalty λ added to g (default 0). */
  weightDecay?: number;
  /** Momentum factor (default 0: none). */
  momentum?: number;
  /** Divide by the estimated variance of g instead of its second moment (default false). */
  centered?: boolean;
}
/** Adagrad (torch.optim.Adagrad): per-coordinate rates that shrink with the accumulated g². */
export interface AdagradConfig {
  /** Selects Adagrad. */
  kind: 'adagrad';
  /** Learning rate α (default 1e-2). */
  lr?: number;
  /** The rate at step t is α / (1 + (t − 1) lrDecay) (default 0). */
  lrDecay?: number;
  /** L2 penalty λ added to g (default 0). */
  weightDecay?: number;
  /** Starting value of the accumulated g² (default 0). */
  initialAccumulatorValue?: number;
  /** Added to the root of the accumulator, for stability (default 1e-10). */
  eps?: number;
}
/** An optimizer as JSON, as FitOptions, the CLI and checkpoints carry it; names and defaults are PyTorch's, in camelCase. */
export type OptimizerConfig = SgdConfig | AdamConfig | RmspropConfig | AdagradConfig;
/** The optimizer names: 'sgd', 'adam', 'adamw', 'rmsprop', 'adagrad'. */
export type OptimizerKind = OptimizerConfig['kind'];

/** What a checkpoint stores: the step count and copies of the state buffers, by PyTorch's names. */
export interface OptimizerState {
  /** Steps taken. */
  stepCount: number;
  /** State buffers by PyTorch's names (momentum_buffer, exp_avg, ...). */
  buffers: Record<string, Floats>;
}

/** An optimizer bound to one parameter vector: `step(w, g)` moves w, the rest is its configuration and state. */
export interface Optimizer {
  /** Which optimizer. */
  readonly kind: OptimizerKind;
  /**
   * α_t, the rate of the next step, as PyTorch's param_groups[0]['lr']: set it between steps (validated).
   * Under a Trainer it is written before every step from the trainer's LearningRate: change it there.
   */
  lr: number;
  /** Steps taken. */
  readonly stepCount: number;
  /** Length of the parameter vector it updates. */
  readonly paramCount: number;
  /** One update of w from gradient g (both of length paramCount). */
  step(w: Tensor, g: Tensor): void;
  /**
   * step(w, g), returning Σ (w_new − w_old)², the squared step size, as the update computed it (in
   * the order of src/kernels/reference/step-squares.ts: the same on every CPU engine and thread
   * count), with no copy of w or pass over it of its own; NaN on an engine with a device.
   */
  stepMeasured(w: Tensor, g: Tensor): number;
  /** Every hyper-parameter with defaults filled in, including kind and the current lr; JSON-safe. */
  config(): Required<OptimizerConfig>;
  /** Copies of the state, so a checkpoint is not changed by later steps. */
  state(): OptimizerState;
  /** Exact restore (buffers are copied into the arena's arrays); throws on a name or length mismatch. */
  loadState(s: OptimizerState): void;
  /** On an engine with a device (WebGPU), reads the state back so that `state()` can copy it; else nothing. */
  download(): Promise<void>;
}

/** The shared bookkeeping: lr validation, step counting, buffer allocation, state round trip. */
export abstract class BaseOptimizer implements Optimizer {
  abstract readonly kind: OptimizerKind;
  #lr = 0;
  #t = 0;
  /** State buffers by PyTorch's names. */
  protected readonly buffers: Record<string, Tensor> = {};
  readonly paramCount: number;
  /** Where the state buffers live. */
  protected readonly arena: Arena;
  /** The engine whose update kernels run the step (the reference loops where it has none). */
  protected readonly kernels: Required<Pick<Kernels, 'sgdUpdate' | 'adamUpdate'>>;
  /** The engine itself: its device (WebGPU) and the updates only such an engine has (RMSprop, Adagrad). */
  protected readonly engine: Kernels;
  /** On a device: host copies of the state, as last read by `download()`, or null when a step has changed it since. */
  #host: Record<string, Float32Array> | null = {};
  /** Where a measured step's Σ (w_new − w_old)² comes back. */
  readonly #squares = new Float64Array(1);

  constructor(lr: number, paramCount: number, arena: Arena = new HeapArena('float32'), kernels: Kernels = referenceKernels) {
    check(Number.isInteger(paramCount) && paramCount >= 0, `paramCount must be a non-negative integer, got ${paramCount}`);
    this.lr = lr;
    this.paramCount = paramCount;
    this.arena = arena;
    this.engine = kernels;
    this.kernels = {
      sgdUpdate: (kernels.sgdUpdate ?? referenceKernels.sgdUpdate!).bind(kernels),
      adamUpdate: (kernels.adamUpdate ?? referenceKernels.adamUpdate!).bind(kernels),
    };
  }

  get lr(): number {
    return this.#lr;
  }
  set lr(value: number) {
    checkNumber(value, 'lr', 0);
    this.#lr = value;
  }
  get stepCount(): number {
    return this.#t;
  }

  /** Allocates a named state buffer once, from the arena (so its dtype follows the arena's). */
  protected buffer(name: string, fill = 0): Tensor {
    const b = this.arena.floats(this.paramCount);
    if (fill !== 0 && this.device) this.device.fill(b, fill);
    else if (fill !== 0) hostFloats(b, `${this.kind} state`).fill(fill);
    if (this.device && this.#host) this.#host[name] = new Float32Array(this.paramCount).fill(fill);
    this.buffers[name] = b;
    return b;
  }

  step(w: Tensor, g: Tensor): void {
    this.update(w, g, this.begin(w, g), null);
  }

  stepMeasured(w: Tensor, g: Tensor): number {
    const t = this.begin(w, g);
    if (this.device) {
      this.update(w, g, t, null);
      return NaN;
    }
    const squares = this.#squares;
    this.update(w, g, t, squares);
    return squares[0];
  }

  /** Checks the lengths and counts the step; returns its number t. */
  private begin(w: Tensor, g: Tensor): number {
    check(w.length === this.paramCount && g.length === this.paramCount,
      () => `${this.kind}: w (${w.length}) and g (${g.length}) must both have paramCount = ${this.paramCount} entries`);
    this.#t++;
    if (this.device) this.#host = null;
    return this.#t;
  }

  /** The engine's device, when its tensors are not JavaScript arrays (WebGPU). */
  protected get device(): DeviceTensors | undefined {
    return this.engine.device;
  }

  /** On a device, reads the state into host copies for `state()`; nothing to do on the CPU engines. */
  async download(): Promise<void> {
    const device = this.device;
    if (!device || this.#host) return;
    const host: Record<string, Float32Array> = {};
    for (const [name, b] of Object.entries(this.buffers)) host[name] = await device.read(b);
    this.#host = host;
  }

  /**
   * The update rule proper; t is the 1-based number of this step (PyTorch's state['step']). With
   * `squares` (CPU engines only), also squares[0] = Σ (w_new − w_old)² in StepSquares' order.
   */
  protected abstract update(w: Tensor, g: Tensor, t: number, squares: Float64Array | null): void;
  abstract config(): Required<OptimizerConfig>;

  state(): OptimizerState {
    const buffers: Record<string, Floats> = {};
    const host = this.device ? this.#host : this.buffers;
    if (!host) throw new DescentError(`the ${this.kind} state has changed on the device since it was last read: await optimizer.download() first`);
    for (const [name, b] of Object.entries(host)) buffers[name] = hostFloats(b, `${this.kind} state`).slice();
    return { stepCount: this.#t, buffers };
  }

  loadState(s: OptimizerState): void {
    check(Number.isInteger(s.stepCount) && s.stepCount >= 0, `${this.kind} state: stepCount must be a non-negative integer, got ${s.stepCount}`);
    const want = Object.keys(this.buffers).sort(), got = Object.keys(s.buffers).sort();
    check(want.join() === got.join(), `${this.kind} state: expected buffers [${want.join(', ')}], got [${got.join(', ')}]`);
    for (const name of want) {
      check(s.buffers[name].length === this.paramCount,
        `${this.kind} state: buffer ${name} has ${s.buffers[name].length} entries, the optimizer has ${this.paramCount} parameters`);
    }
    for (const name of want) {
      const device = this.device;
      if (!device) hostFloats(this.buffers[name], `${this.kind} state`).set(s.buffers[name]);
      else device.write(this.buffers[name], Float32Array.from(s.buffers[name]));
    }
    if (this.device) this.#host = Object.fromEntries(want.map((name) => [name, Float32Array.from(s.buffers[name])]));
    this.#t = s.stepCount;
  }
}

/** A finite number >= min (and < max when given): the one validation every option needs. */
export function checkNumber(value: unknown, name: string, min: number, maxExclusive = Infinity): number {
  check(typeof value === 'number' && Number.isFinite(value) && value >= min && value < maxExclusive,
    () => `${name} must be a finite number ${maxExclusive === Infinity ? `>= ${min}` : `in [${min}, ${maxExclusive})`}, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * torch.nn.utils.clip_grad_norm_: n = ‖g‖₂ over the whole vector, then g *= min(1, maxNorm/(n + 1e-6)).
 * Returns n, before clipping. A non-finite norm leaves g untouched (PyTorch would fill it with NaN or 0),
 * so the caller can see the norm and decide to skip the step.
 */
export function clipGradNorm(g: Floats, maxNorm: number): number {
  checkNumber(maxNorm, 'maxNorm', 0);
  let sum = 0;
  for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  const norm = Math.sqrt(sum);
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(norm) && coef < 1) {
    for (let i = 0; i < g.length; i++) g[i] *= coef;
  }
  return norm;
}

/**
 * clipGradNorm on an engine with a device: the norm is computed there and read back (one wait per
 * step), and g is scaled there, as SGD's update g ← g − (1 − coef)·g.
 */
export async function clipGradNormOnDevice(kernels: Kernels, g: Tensor, maxNorm: number): Promise<number> {
  checkNumber(maxNorm, 'maxNorm', 0);
  const device = kernels.device!;
  device.squaredDistance(g, null, g.length, device.loss);
  const norm = Math.sqrt((await device.read(device.loss))[0]);
  const coef = maxNorm / (norm + 1e-6);
  if (Number.isFinite(norm) && coef < 1) kernels.sgdUpdate!(g, g, null, g.length, 1 - coef, 0, 0, 0, false, true);
  return norm;
}
