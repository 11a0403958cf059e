/**
 * A network as a chain of layers x^(k) = f^(k)(x^(k-1), w^(k)), k = 1..K (notes, section 3).
 *
 * Memory (llm.c style): at build time shapes are inferred layer by layer and every parameter is
 * a view into ONE vector w (the notes' w = [w^(1); …; w^(K)]), with its gradient in a twin vector
 * g of the same length; running statistics live in a third vector, `buffers`. The activations
 * x^(0..K) and their gradients are allocated once per batch capacity and reused on every step.
 * All of it comes from one Arena, so an engine can place it in its own memory.
 *
 * Batches are N-major and channels-last: sample n of x^(k) is [n·d_k, (n+1)·d_k).
 */
import { type Arena, HeapArena } from '../core/arena.js';
import { DescentError, ShapeError } from '../core/errors.js';
import type { Floats } from '../core/floats.js';
import { MAX_PARAMETERS, MAX_SAMPLE_VALUES } from '../core/limits.js';
import { Rng, type RngState } from '../core/rng.js';
import { fmt, sizeOf, type Shape } from '../core/shape.js';
import type { Kernels } from '../kernels/kernels.js';
import { referenceKernels } from '../kernels/reference/index.js';
import type { Layer, LayerConfig, ParamSpec, RunContext } from '../layers/layer.js';
import { layerFromConfig } from '../layers/registry.js';
import { quadraticLoss } from '../losses/quadratic.js';
import type { LossKind, Target } from '../losses/loss.js';
import { checkArchitectureShape, checkKnownOptions } from './config-check.js';
import { DEFAULT_INIT, type InitScheme, initTensor } from './init.js';
import { summaryTable } from './summary.js';

/** How a Sequential is built: the input shape, the seed, the engine. */
export interface SequentialOptions {
  /** Shape of one input sample: [H, W, C] for images (channels-last), [F] for vectors. */
  inputShape: Shape;
  /** Seeds initialisation and every later random choice (dropout, ties, shuffling). */
  seed?: number;
  /** How w is drawn (src/network/init.ts); default 'pytorch', PyTorch's own Conv2d/Linear init. */
  init?: InitScheme;
  /**
   * The engine to run on: its arena and kernels (from `createEngine` of `descent-cnn/node` or
   * `descent-cnn/browser`). Default: the reference kernels on the JavaScript heap.
   */
  engine?: {
    /** The engine's arena. */
    arena: Arena;
    /** The engine's kernels. */
    kernels: Kernels;
  };
  /** Where w, g and the activations live (default: the engine's, else the JavaScript heap). */
  arena?: Arena;
  /** The kernels every layer calls (default: the engine's, else the reference kernels). */
  kernels?: Kernels;
  /**
   * Let a Conv2d or Dense write the output of the ReLU that follows it in the same pass (default
   * true): one pass over the activations fewer, the same numbers. Every x^(k) is still kept.
   */
  fuseRelu?: boolean;
}

/** The JSON form of an architecture: what a model file stores beside the weights. */
export interface ArchitectureConfig {
  /** Shape of one input sample. */
  inputShape: number[];
  /** The layers' configs, in order. */
  layers: LayerConfig[];
}

/** Where one named tensor sits inside w (or inside the buffer vector). */
export interface TensorSlot {
  /** Index of the layer. */
  layer: number;
  /** The tensor's name within the layer. */
  name: string;
  /** Its shape. */
  shape: number[];
  /** Where it starts in the vector. */
  offset: number;
  /** How many elements it has. */
  length: number;
}

/** A stack of layers with one parameter vector w and its gradient g: forward, back-propagation, prediction. */
export class Sequential {
  /** The layers, in order. */
  readonly layers: Layer[];
  /** Shape of one input sample. */
  readonly inputShape: Shape;
  /** Shape of one output sample (E classes after a Softmax). */
  readonly outputShape: Shape;
  /** Where w, g and the activations live. */
  readonly arena: Arena;
  /** The kernels every layer calls. */
  kernels: Kernels;
  /** The seeded generator: initialisation, shuffling, dropout, tie-breaking. */
  readonly rng: Rng;
  /** The notes' parameter vector w, and ∂L/∂w in the same order. */
  readonly w: Floats;
  /** ∂L/∂w, the twin of w (each layer's grads are views into it). */
  readonly g: Floats;
  /** Non-trainable state (batch-norm running statistics). */
  readonly buffers: Floats;
  /** Where each layer's parameters sit inside w. */
  readonly paramSlots: TensorSlot[] = [];
  /** Where each layer's buffers (running statistics) sit inside buffers. */
  readonly bufferSlots: TensorSlot[] = [];
  /** x^(0..K) and g^(0..K) = ∂L/∂x^(k), each for `capacity` samples. */
  private xs: Floats[] = [];
  private gs: Floats[] = [];
  private capacity = 0;
  private scratch: Floats | null = null;
  private readonly sizes: number[];
  /** fused[k]: layer k also computes layer k+1, a ReLU, in its forward pass. */
  private readonly fused: boolean[];

  constructor(layers: Layer[], options: SequentialOptions) {
    this.layers = layers;
    this.inputShape = [...options.inputShape];
    this.arena = options.arena ?? options.engine?.arena ?? new HeapArena('float32');
    this.kernels = options.kernels ?? options.engine?.kernels ?? referenceKernels;
    this.rng = new Rng(options.seed ?? 0);
    if (this.inputShape.length === 0 || !this.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`input shape must be positive integers like [28, 28, 1], got ${fmt(this.inputShape)}`);
    }
    if (layers.length === 0) throw new ShapeError('a network needs at least one layer');

    // Shape inference, layer by layer: a stack that does not fit fails here, naming the layer.
    let shape: Shape = this.inputShape;
    this.sizes = [sizeOf(shape)];
    layers.forEach((layer, k) => {
      try {
        shape = layer.build(shape);
      } catch (e) {
        throw new ShapeError(`layer ${k} (${layer.type}): ${(e as Error).message}`);
      }
      this.sizes.push(sizeOf(shape));
    });
    this.outputShape = shape;
    checkSize(layers, this.sizes);
    const fuse = options.fuseRelu ?? true;
    this.fused = layers.map((l, k) => fuse && l.fusesRelu && layers[k + 1]?.type === 'ReLU');

    const paramSpecs = layers.map((l) => l.paramSpecs());
    const bufferSpecs = layers.map((l) => l.bufferSpecs());
    this.w = this.arena.floats(countOf(paramSpecs));
    this.g = this.arena.floats(this.w.length);
    this.buffers = this.arena.floats(countOf(bufferSpecs));
    carve(layers, paramSpecs, this.w, this.paramSlots, (l, name, view) => (l.params[name] = view));
    carve(layers, paramSpecs, this.g, [], (l, name, view) => (l.grads[name] = view));
    carve(layers, bufferSpecs, this.buffers, this.bufferSlots, (l, name, view) => (l.buffers[name] = view));
    this.initialize(options.init ?? DEFAULT_INIT);
  }

  /** Build from the JSON architecture (model files, spec files). */
  static fromConfig(config: ArchitectureConfig, options: Omit<SequentialOptions, 'inputShape'> = {}): Sequential {
    checkArchitectureShape(config);
    const layers = config.layers.map((c, k) => {
      let layer: Layer;
      try {
        layer = layerFromConfig(c);
      } catch (e) {
        throw new ShapeError(`layer ${k} (${(c as LayerConfig)?.type ?? '?'}): ${(e as Error).message}`);
      }
      checkKnownOptions(c, layer, k);
      return layer;
    });
    return new Sequential(layers, { ...options, inputShape: config.inputShape });
  }

  config(): ArchitectureConfig {
    return { inputShape: [...this.inputShape], layers: this.layers.map((l) => l.config()) };
  }

  /** The length of w. */
  get parameterCount(): number {
    return this.w.length;
  }

  /** Re-draw w from the network's generator (default: PyTorch's init; 'auto': He before ReLU, Glorot otherwise). */
  initialize(scheme: InitScheme = DEFAULT_INIT): void {
    for (const slot of this.paramSlots) {
      const specs = this.layers[slot.layer].paramSpecs();
      const spec = specs.find((s) => s.name === slot.name) as ParamSpec;
      const chosen = scheme === 'auto' ? (feedsRelu(this.layers, slot.layer) ? 'he' : 'glorot') : scheme;
      const layerFan = specs.find((s) => s.fan)?.fan;
      initTensor(this.w.subarray(slot.offset, slot.offset + slot.length), spec, chosen, this.rng, layerFan);
    }
    for (const slot of this.bufferSlots) {
      const spec = this.layers[slot.layer].bufferSpecs().find((s) => s.name === slot.name) as ParamSpec;
      this.buffers.fill(spec.fill ?? 0, slot.offset, slot.offset + slot.length);
    }
  }

  /** Make room for batches of up to `batch` samples. Allocates only when the capacity grows. */
  reserve(batch: number): void {
    if (batch <= this.capacity) return;
    this.xs = this.sizes.map((d) => this.arena.floats(batch * d));
    this.gs = this.sizes.map((d) => this.arena.floats(batch * d));
    for (const layer of this.layers) layer.allocate(batch, this.arena);
    this.capacity = batch;
  }

  /** x^(0): write a batch here to avoid a copy (see `forward`). */
  inputBuffer(batch: number): Floats {
    this.reserve(batch);
    return this.xs[0];
  }

  /** x^(k) for the last batch (k = 0 input, k = K output); valid until the next call. */
  activation(k: number): Floats {
    return this.xs[k];
  }

  /** ∂L/∂x^(k) for the last backward pass. */
  activationGradient(k: number): Floats {
    return this.gs[k];
  }

  private context(training: boolean): RunContext {
    return { kernels: this.kernels, training, rng: this.rng };
  }

  /**
   * Forward pass (Algorithm 1, first loop): computes and keeps every x^(k). `input` holds N samples;
   * pass the network's own inputBuffer to skip the copy. Returns x^(K) (valid for N·d_K numbers).
   */
  forward(input: Floats, N: number, training = false): Floats {
    this.checkBatch(input, N);
    this.reserve(N);
    if (input !== this.xs[0]) this.xs[0].set(input.subarray(0, N * this.sizes[0]));
    const ctx = this.context(training);
    const fuse = this.kernels.fusesRelu === true;
    for (let k = 0; k < this.layers.length; k++) {
      if (fuse && this.fused[k]) {
        this.layers[k].forward(this.xs[k], this.xs[k + 1], N, ctx, this.xs[k + 2]);
        k++; // layer k + 1, the ReLU, is done
      } else {
        this.layers[k].forward(this.xs[k], this.xs[k + 1], N, ctx);
      }
    }
    return this.xs[this.layers.length];
  }

  /**
   * Backward recursion (eqs. 2-3) from layer `from` down: gs[from + 1] must hold ∂L/∂x^(from+1).
   * Each layer accumulates its parameter gradient into g and writes the gradient for the layer below.
   */
  backwardFrom(from: number, N: number, training = true, inputGradient = false): void {
    const ctx = this.context(training);
    for (let k = from; k >= 0; k--) {
      const gx = k > 0 || inputGradient ? this.gs[k] : null;
      this.layers[k].backward(this.xs[k], this.xs[k + 1], this.gs[k + 1], gx, N, ctx);
    }
  }

  /** The loss this network implies: cross-entropy if it ends in Softmax, else quadratic. */
  get defaultLoss(): LossKind {
    return this.endsInSoftmax ? 'cross_entropy' : 'quadratic';
  }

  private get endsInSoftmax(): boolean {
    return this.layers[this.layers.length - 1].type === 'Softmax';
  }

  /**
   * One mini-batch of back-propagation: zero g, forward in training mode, the risk L (mean loss
   * over the N samples) and its gradient ∂L/∂w accumulated into g. Returns L.
   * Cross-entropy after a final Softmax uses the fused gradient p - q on the logits (the same
   * numbers as eq. 4 followed by the Softmax Jacobian, computed stably).
   */
  gradient(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss,
    options: { inputGradient?: boolean; training?: boolean } = {}): number {
    const training = options.training ?? true;
    this.g.fill(0);
    const { risk, from } = this.loss(input, target, N, loss, training);
    this.backwardFrom(from, N, training, options.inputGradient ?? false);
    return risk;
  }

  /**
   * Forward pass and the risk, without back-propagation. Leaves the start of the backward
   * recursion in the activation gradients and returns the layer from which it continues.
   */
  loss(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss, training = false): { risk: number; from: number } {
    this.forward(input, N, training);
    const K = this.layers.length, E = this.sizes[K];
    if (loss === 'cross_entropy') {
      if ('values' in target) throw new DescentError('cross-entropy needs class labels or target probabilities');
      if ('labels' in target) this.checkLabels(target.labels, N, E);
      const logits = this.endsInSoftmax ? K - 1 : K;
      // The fused kernel writes p; after a final Softmax that is x^(K) (unchanged), else scratch.
      const p = this.endsInSoftmax ? this.xs[K] : this.pScratch(N * E);
      const risk = this.kernels.softmaxCrossEntropy(this.xs[logits], target, p, this.gs[logits], N, E);
      return { risk, from: logits - 1 };
    }
    if (!('values' in target)) throw new DescentError('the quadratic loss needs regression targets ({ values })');
    return { risk: quadraticLoss(this.xs[K], target.values, this.gs[K], N, E), from: K - 1 };
  }

  /** p for cross-entropy on a network without a final Softmax; allocated once. */
  private pScratch(n: number): Floats {
    if (!this.scratch || this.scratch.length < n) this.scratch = this.arena.floats(n);
    return this.scratch;
  }

  /**
   * p on the soft-max simplex for each of N samples (notes, section 1), and the class arg max p.
   * A network that does not end in Softmax has its outputs passed through one here.
   */
  predict(input: Floats, N: number): { p: Float32Array; classes: Int32Array } {
    const out = this.forward(input, N, false);
    const E = this.sizes[this.layers.length];
    const p = new Float32Array(N * E);
    if (this.endsInSoftmax) p.set(out.subarray(0, N * E));
    else this.kernels.softmaxForward(out, p, N, E);
    return { p, classes: argmaxRows(p, N, E) };
  }

  /** A copy of w. */
  getWeights(): Float32Array {
    return Float32Array.from(this.w);
  }

  /** Sets w from a copy (its length must match). */
  setWeights(values: ArrayLike<number>): void {
    if (values.length !== this.w.length) {
      throw new DescentError(`expected ${this.w.length} weights, got ${values.length}`);
    }
    this.w.set(values);
  }

  /** A copy of the buffer vector (running statistics). */
  getBuffers(): Float32Array {
    return Float32Array.from(this.buffers);
  }

  /** Sets the buffer vector from a copy. */
  setBuffers(values: ArrayLike<number>): void {
    if (values.length !== this.buffers.length) {
      throw new DescentError(`expected ${this.buffers.length} buffer values, got ${values.length}`);
    }
    this.buffers.set(values);
  }

  /** The generator's state (for checkpoints). */
  rngState(): RngState {
    return this.rng.state();
  }

  /** A per-layer table: type, output shape, parameters. */
  summary(): string {
    return summaryTable(this);
  }

  private checkBatch(input: Floats, N: number): void {
    if (!Number.isInteger(N) || N < 1) throw new DescentError(`batch size must be a positive integer, got ${N}`);
    if (input.length < N * this.sizes[0]) {
      throw new DescentError(`input holds ${input.length} numbers, but ${N} samples of shape ` +
        `${fmt(this.inputShape)} need ${N * this.sizes[0]}`);
    }
  }

  private checkLabels(labels: Int32Array, N: number, E: number): void {
    for (let n = 0; n < N; n++) {
      const y = labels[n];
      if (!(y >= 0 && y < E)) throw new DescentError(`label ${y} of sample ${n} is outside 0..${E - 1}`);
    }
  }
}

/** arg max of each of N rows of E entries, written into `classes` (a new array unless one is given). */
export function argmaxRows(p: ArrayLike<number>, N: number, E: number, classes = new Int32Array(N)): Int32Array {
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let e = 1; e < E; e++) if (p[n * E + e] > p[n * E + best]) best = e;
    classes[n] = best;
  }
  return classes;
}

/** Refuse a network too large to allocate (MAX_PARAMETERS, MAX_SAMPLE_VALUES) before allocating it. */
function checkSize(layers: Layer[], sizes: number[]): void {
  const k = sizes.findIndex((n) => n > MAX_SAMPLE_VALUES);
  if (k >= 0) {
    throw new ShapeError(`${k === 0 ? 'the input' : `layer ${k - 1} (${layers[k - 1].type})`} has ${sizes[k]} values per sample, ` +
      `more than the ${MAX_SAMPLE_VALUES} Descent allocates`);
  }
  let total = 0;
  layers.forEach((layer, k) => {
    for (const spec of layer.paramSpecs()) total += sizeOf(spec.shape);
    if (total > MAX_PARAMETERS) {
      throw new ShapeError(`layer ${k} (${layer.type}) brings the network to ${total} parameters, more than the ${MAX_PARAMETERS} Descent allocates`);
    }
  });
}

function countOf(specs: ParamSpec[][]): number {
  let n = 0;
  for (const layerSpecs of specs) for (const s of layerSpecs) n += sizeOf(s.shape);
  return n;
}

/** Carve consecutive views, layer by layer, out of one vector. */
function carve(layers: Layer[], specs: ParamSpec[][], vector: Floats, slots: TensorSlot[],
  bind: (layer: Layer, name: string, view: Floats) => void): void {
  let offset = 0;
  specs.forEach((layerSpecs, k) => {
    for (const s of layerSpecs) {
      const length = sizeOf(s.shape);
      bind(layers[k], s.name, vector.subarray(offset, offset + length));
      slots.push({ layer: k, name: s.name, shape: s.shape, offset, length });
      offset += length;
    }
  });
}

/** Whether the parameters of layer k feed a ReLU-family activation (looking past shape-only layers). */
function feedsRelu(layers: Layer[], k: number): boolean {
  for (let j = k + 1; j < layers.length; j++) {
    const t = layers[j].type;
    if (t === 'ReLU' || t === 'LeakyReLU') return true;
    if (!['BatchNorm2d', 'BatchNorm1d', 'Dropout', 'Flatten', 'MaxPool2d', 'AvgPool2d'].includes(t)) return false;
  }
  return false;
}
