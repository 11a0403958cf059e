/**
 * A network as a chain of layers x^(k) = f^(k)(x^(k-1), w^(k)), k = 1..K (notes, section 3), or,
 * more generally, as a directed acyclic graph of named nodes, each a layer reading one or more
 * earlier tensors (src/network/topology.ts; the design is in src/network/README.md). A chain is
 * the graph in which every node reads the one before it.
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
import { hostFloats, type Tensor } from '../core/tensor.js';
import { MAX_PARAMETERS, MAX_SAMPLE_VALUES } from '../core/limits.js';
import { Rng, type RngState } from '../core/rng.js';
import { fmt, sizeOf, type Shape } from '../core/shape.js';
import type { DeviceTensors, Kernels } from '../kernels/kernels.js';
import { referenceKernels } from '../kernels/reference/index.js';
import { Layer, type LayerConfig, type ParamSpec, type RunContext } from '../layers/layer.js';
import { JoinLayer } from '../layers/join.js';
import { quadraticLoss, quadraticTargets } from '../losses/quadratic.js';
import type { LossKind, Target } from '../losses/loss.js';
import { checkArchitectureShape, checkKnownOptions } from './config-check.js';
import { DEFAULT_INIT, type InitScheme, initTensor } from './init.js';
import { type FusionPlan, planFusions, runsThroughRelu } from './fusion-plan.js';
import { type BufferSlots, planActivationSlots, planGradientSlots } from './memory-plan.js';
import { HostCopies } from './host-copies.js';
import { carve, countOf } from './parameter-vector.js';
import { nodeFromConfig } from './node-config.js';
import { summaryTable } from './summary.js';
import { type GraphNode, INPUT, isChain, resolveTopology, type Topology } from './topology.js';

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
  /**
   * Let the backward of a MaxPool2d that reads a ReLU's output run the ReLU's backward in the same
   * kernel, on an engine that has it (the WebAssembly engine; see src/network/fusion-plan.ts).
   * Default true: the same numbers, one pass over the activation gradient fewer. The ReLU output's
   * gradient ∂L/∂x^(k) is then not written (activationGradient refuses it).
   */
  fuseReluBackward?: boolean;
  /**
   * Let gradient buffers ∂L/∂x^(k) whose lives in the backward pass do not overlap share memory
   * (src/network/memory-plan.ts). Default: true for a graph, false for a chain. When shared, only
   * the input's and the output's gradients can be read after a backward pass.
   */
  shareGradients?: boolean;
  /**
   * Let the activations of an inference pass (`forward` without training, `predict`, `risk`,
   * `inferenceInput`; what `evaluate` runs) share memory where their lives do not overlap
   * (src/network/memory-plan.ts): ResNet-20 then needs 49,152 numbers per sample instead of 678,996. The same
   * numbers come out; training passes keep every x^(k) as always, in their own memory. After a
   * shared pass only the output x^(K) can be read with `activation`. Default false.
   */
  shareActivations?: boolean;
}

/**
 * The JSON form of an architecture: what a model file stores beside the weights. A graph network
 * is the same list, whose entries may carry a "name" and "inputs" (names of entries before it, or
 * "input"); an entry without "inputs" reads the entry before it, so a plain stack needs neither.
 */
export interface ArchitectureConfig {
  /** Shape of one input sample. */
  inputShape: number[];
  /** The layers' configs, in order. */
  layers: LayerConfig[];
}

/** One layer's named tensors as host numbers (see Sequential.hostTensors). */
export interface HostTensors {
  params: Record<string, Floats>;
  buffers: Record<string, Floats>;
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
  /**
   * The engine's device when its tensors are not JavaScript arrays (WebGPU; see DeviceTensors):
   * then w, g, the buffers and the activations live there, and `w`/`buffers` below are host copies
   * that `await download()` brings up to date. Undefined on the CPU engines.
   */
  readonly device: DeviceTensors | undefined;
  /** w, g and the buffer vector as the engine's tensors (on CPU engines the very arrays w, g, buffers). */
  readonly wTensor: Tensor;
  readonly gTensor: Tensor;
  readonly bufferTensor: Tensor;
  /** w and the buffers as host numbers: the engine's arrays, or on a device copies that may be stale. */
  private readonly host: HostCopies;
  private hostInput: Float32Array | null = null;

  /** The notes' parameter vector w (on a device: its host copy, valid after `await download()`). */
  get w(): Floats {
    this.host.check('w');
    return this.host.w;
  }

  /** ∂L/∂w, the twin of w (each layer's grads are views into it); on a device use `gTensor` with `device.read`. */
  get g(): Floats {
    if (this.device) throw new DescentError(`g lives on the ${this.kernels.name} engine's device: read gTensor with device.read`);
    return hostFloats(this.gTensor, 'Sequential.g');
  }

  /** Non-trainable state (batch-norm running statistics); on a device, a host copy as w. */
  get buffers(): Floats {
    this.host.check('buffers');
    return this.host.buffers;
  }
  /** Where each layer's parameters sit inside w. */
  readonly paramSlots: TensorSlot[] = [];
  /** Where each layer's buffers (running statistics) sit inside buffers. */
  readonly bufferSlots: TensorSlot[] = [];
  /** x^(0..K) and g^(0..K) = ∂L/∂x^(k), each for `capacity` samples. */
  private xs: Tensor[] = [];
  private gs: Tensor[] = [];
  private capacity = 0;
  private scratch: Tensor | null = null;
  /** Where `risk` lets the loss kernel write a gradient no one reads (shareActivations). */
  private riskGradient: Tensor | null = null;
  private readonly sizes: number[];
  /** One sample's shape of x^(0..K). */
  private readonly shapes: Shape[];
  /** Which layers run together where the engine has the fused kernels (fusion-plan.ts). */
  private readonly plan: FusionPlan;
  /** Who reads what: inputs[k] are the tensors node k reads (x^(0) the input, x^(j+1) node j's output). */
  readonly topology: Topology;
  /** edgeGs[k][slot]: where node k writes its gradient for an input that other nodes read too. */
  private edgeGs: (Tensor | null)[][] = [];
  private readonly shareGradients: boolean;
  private readonly shareActivations: boolean;
  /** x^(0..K) of an inference pass, in the shared slots of `activationSlots`, for `inferenceCapacity` samples. */
  private inferenceXs: Tensor[] = [];
  private inferenceCapacity = 0;
  /** The plan of inference activation slots (made on first use). */
  private activationSlots: BufferSlots | null = null;
  /** The batch the layers' own buffers are allocated for. */
  private layerCapacity = 0;
  /** Whether the last forward pass ran on the shared inference slots. */
  private lastShared = false;

  /** `layers` is a chain of layers, or graph nodes ({ name, layer, inputs }), in a topological order. */
  constructor(entries: Array<Layer | GraphNode>, options: SequentialOptions) {
    const nodes = entries.map((l) => (l instanceof Layer ? { layer: l } : l));
    const layers = (this.layers = nodes.map((n) => n.layer));
    this.inputShape = [...options.inputShape];
    this.arena = options.arena ?? options.engine?.arena ?? new HeapArena('float32');
    this.kernels = options.kernels ?? options.engine?.kernels ?? referenceKernels;
    this.rng = new Rng(options.seed ?? 0);
    if (this.inputShape.length === 0 || !this.inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ShapeError(`input shape must be positive integers like [28, 28, 1], got ${fmt(this.inputShape)}`);
    }
    if (layers.length === 0) throw new ShapeError('a network needs at least one layer');
    try {
      this.topology = resolveTopology(nodes);
    } catch (e) {
      throw new ShapeError((e as Error).message);
    }

    // Shape inference, node by node: a network that does not fit fails here, naming the node,
    // its inputs and their shapes.
    this.device = this.kernels.device;
    const shapes: Shape[] = [this.inputShape];
    layers.forEach((layer, k) => {
      const ins = this.topology.inputs[k].map((t) => shapes[t]);
      try {
        if (layer instanceof JoinLayer) shapes.push(layer.buildJoin(ins));
        else if (ins.length !== 1) throw new Error(`${layer.type} reads one input, got ${ins.length}`);
        else shapes.push(layer.build(ins[0]));
      } catch (e) {
        throw new ShapeError(`${this.where(k, shapes)}: ${(e as Error).message}`);
      }
    });
    this.sizes = shapes.map(sizeOf);
    this.shapes = shapes;
    this.outputShape = shapes[shapes.length - 1];
    checkSize(layers, this.sizes);
    this.checkDevice(1);
    this.shareGradients = options.shareGradients ?? !isChain(this.topology);
    this.shareActivations = options.shareActivations ?? false;
    // A ReLU is fused into the layer before it when it reads that layer's output (others may too:
    // the layer's own output is still written); a max-pool's backward runs the ReLU's before it.
    this.plan = planFusions(layers, this.topology, { relu: options.fuseRelu ?? true, reluBackward: options.fuseReluBackward ?? true });

    const paramSpecs = layers.map((l) => l.paramSpecs());
    const bufferSpecs = layers.map((l) => l.bufferSpecs());
    const wCount = countOf(paramSpecs), bufferCount = countOf(bufferSpecs);
    this.wTensor = this.arena.floats(wCount);
    this.gTensor = this.arena.floats(wCount);
    this.bufferTensor = this.arena.floats(bufferCount);
    this.host = new HostCopies(this.device, this.kernels.name, this.wTensor, this.bufferTensor);
    const view = (t: Tensor, offset: number, length: number) => this.view(t, offset, length);
    carve(layers, paramSpecs, this.wTensor, this.paramSlots, (l, name, v) => (l.params[name] = v), view);
    carve(layers, paramSpecs, this.gTensor, [], (l, name, v) => (l.grads[name] = v), view);
    carve(layers, bufferSpecs, this.bufferTensor, this.bufferSlots, (l, name, v) => (l.buffers[name] = v), view);
    this.initialize(options.init ?? DEFAULT_INIT);
  }

  /** Build from the JSON architecture (model files, spec files). */
  static fromConfig(config: ArchitectureConfig, options: Omit<SequentialOptions, 'inputShape'> = {}): Sequential {
    checkArchitectureShape(config);
    const nodes = config.layers.map((c, k) => {
      let node: GraphNode;
      try {
        node = nodeFromConfig(c);
      } catch (e) {
        const name = (c as { name?: unknown })?.name;
        throw new ShapeError(`${typeof name === 'string' ? `node "${name}"` : `layer ${k}`} ` +
          `(${(c as LayerConfig)?.type ?? '?'}): ${(e as Error).message}`);
      }
      const { name: _name, inputs: _inputs, ...options } = c as LayerConfig & { name?: unknown; inputs?: unknown };
      checkKnownOptions(options as LayerConfig, node.layer, k);
      return node;
    });
    return new Sequential(nodes, { ...options, inputShape: config.inputShape });
  }

  /** The architecture as JSON; a node's name and inputs are written only where they are not the defaults. */
  config(): ArchitectureConfig {
    const t = this.topology;
    return {
      inputShape: [...this.inputShape],
      layers: this.layers.map((l, k) => ({
        ...l.config(),
        ...(t.namedExplicitly[k] ? { name: t.names[k] } : {}),
        ...(t.inputsExplicit[k] ? { inputs: t.inputs[k].map((i) => this.tensorName(i)) } : {}),
      })),
    };
  }

  /** Whether this network is a plain chain of layers (each reads the one before). */
  get isChain(): boolean {
    return isChain(this.topology);
  }

  /** "input", or the name of the node whose output is tensor t. */
  tensorName(t: number): string {
    return t === 0 ? INPUT : this.topology.names[t - 1];
  }

  /** How errors name node k: "layer k (Type)" in a chain, else its name, inputs and their shapes. */
  private where(k: number, shapes: Shape[]): string {
    const t = this.topology, type = this.layers[k].type;
    if (!t.namedExplicitly[k] && !t.inputsExplicit[k]) return `layer ${k} (${type})`;
    const ins = t.inputs[k].map((i) => `${this.tensorName(i)} ${fmt(shapes[i])}`).join(', ');
    return `node "${t.names[k]}" (${type}) with input${t.inputs[k].length > 1 ? 's' : ''} ${ins}`;
  }

  /** The length of w. */
  get parameterCount(): number {
    return this.wTensor.length;
  }

  /** Elements [offset, offset + length) of one of the engine's tensors. */
  private view(t: Tensor, offset: number, length: number): Tensor {
    return this.device ? this.device.view(t, offset, length) : hostFloats(t, 'Sequential.view').subarray(offset, offset + length);
  }

  /**
   * Brings the host copies of w and the buffers up to date with the device (WebGPU): call it before
   * reading w, buffers or getWeights() after training there. Nothing to do on the CPU engines.
   */
  async download(): Promise<void> {
    await this.host.download();
  }

  /** Whether the host copies w and buffers are current (always on the CPU engines). */
  get hostInSync(): boolean {
    return this.host.inSync;
  }

  /** Says that w or the buffers changed on the device (an optimizer step there), so the host copies are stale. */
  deviceChanged(): void {
    this.host.changed();
  }

  /**
   * After w or the buffers were written in place (a model file's tensors), sends the host copies to
   * the device; nothing to do on the CPU engines, whose w and buffers are the engine's arrays.
   */
  upload(): void {
    this.host.upload();
  }

  /** Re-draw w from the network's generator (default: PyTorch's init; 'auto': He before ReLU, Glorot otherwise). */
  initialize(scheme: InitScheme = DEFAULT_INIT): void {
    for (const slot of this.paramSlots) {
      const specs = this.layers[slot.layer].paramSpecs();
      const spec = specs.find((s) => s.name === slot.name) as ParamSpec;
      const chosen = scheme === 'auto' ? (feedsRelu(this.layers, this.topology, slot.layer) ? 'he' : 'glorot') : scheme;
      const layerFan = specs.find((s) => s.fan)?.fan;
      initTensor(this.host.w.subarray(slot.offset, slot.offset + slot.length), spec, chosen, this.rng, layerFan);
    }
    for (const slot of this.bufferSlots) {
      const spec = this.layers[slot.layer].bufferSpecs().find((s) => s.name === slot.name) as ParamSpec;
      this.host.buffers.fill(spec.fill ?? 0, slot.offset, slot.offset + slot.length);
    }
    this.host.upload();
  }

  /** Make room for batches of up to `batch` samples. Allocates only when the capacity grows. */
  reserve(batch: number): void {
    if (batch <= this.capacity) return;
    this.checkDevice(batch);
    this.xs = this.sizes.map((d) => this.arena.floats(batch * d));
    // An input read by several nodes gets one gradient buffer per reading edge (summed in gatherGradient).
    const { inputs, consumers } = this.topology;
    let buffer: (b: number, size: number) => Tensor = (_b, size) => this.arena.floats(batch * size);
    if (this.shareGradients) {
      const plan = planGradientSlots(inputs, consumers, this.sizes, this.plan.throughRelu);
      const slots = plan.slotSizes.map((d) => this.arena.floats(batch * d));
      buffer = (b, size) => this.view(slots[plan.slotOf[b]], 0, batch * size);
    }
    this.gs = this.sizes.map((d, t) => buffer(t, d));
    if (!this.device) this.aliasReshapes(!this.shareGradients);
    let e = this.sizes.length;
    this.edgeGs = inputs.map((ins) => ins.map((t) => (consumers[t].length > 1 ? buffer(e++, this.sizes[t]) : null)));
    this.allocateLayers(batch);
    this.capacity = batch;
  }

  /**
   * A reshape (Layer.reshapesOnly: Flatten, Identity) whose input has no other reader gets its input's
   * memory as output (and, with a gradient buffer per tensor, the same for the gradients), so its
   * copies are skipped. The numbers are the same either way; on a device every tensor keeps its own.
   */
  private aliasReshapes(gradients: boolean): void {
    const { inputs, consumers } = this.topology, K = this.layers.length;
    const aliased = (k: number) => this.layers[k].reshapesOnly && inputs[k].length === 1 && consumers[inputs[k][0]].length === 1;
    for (let k = 0; k < K; k++) if (aliased(k)) this.xs[k + 1] = this.xs[inputs[k][0]];
    if (gradients) for (let k = K - 1; k >= 0; k--) if (aliased(k)) this.gs[inputs[k][0]] = this.gs[k + 1];
  }

  /** Room for inference passes of up to `batch` samples on the shared slots (shareActivations). */
  private reserveInference(batch: number): void {
    if (batch <= this.inferenceCapacity) return;
    this.checkDevice(batch);
    const plan = (this.activationSlots ??= planActivationSlots(this.topology.inputs, this.topology.consumers, this.sizes,
      this.plan.relu));
    const slots = plan.slotSizes.map((d) => this.arena.floats(batch * d));
    this.inferenceXs = this.sizes.map((d, t) => this.view(slots[plan.slotOf[t]], 0, batch * d));
    this.allocateLayers(batch);
    this.inferenceCapacity = batch;
  }

  /** On a device engine: every node must be one it can run at `batch` samples (refused here, naming the node). */
  private checkDevice(batch: number): void {
    const unsupported = this.device?.unsupported;
    if (!unsupported) return;
    this.layers.forEach((layer, k) => {
      const why = unsupported({ type: layer.type, inputs: this.topology.inputs[k].map((t) => this.shapes[t]), output: this.shapes[k + 1] }, batch);
      if (why) throw new ShapeError(`${this.where(k, this.shapes)}: the ${this.kernels.name} engine cannot run it: ${why}`);
    });
  }

  /** The layers' own buffers (pooling arg max, batch-norm statistics), for the larger of both passes. */
  private allocateLayers(batch: number): void {
    if (batch <= this.layerCapacity) return;
    for (const layer of this.layers) layer.allocate(batch, this.arena);
    this.layerCapacity = batch;
  }

  /** x^(0): write a batch here to avoid a copy (see `forward`). */
  inputBuffer(batch: number): Floats {
    this.reserve(batch);
    if (!this.device) return hostFloats(this.xs[0], 'Sequential.inputBuffer');
    // On a device: a host array, sent up by forward.
    if (!this.hostInput || this.hostInput.length < batch * this.sizes[0]) this.hostInput = new Float32Array(batch * this.sizes[0]);
    return this.hostInput;
  }

  /** x^(0) of an inference pass: `inputBuffer`, or with shareActivations the input's shared slot. */
  inferenceInput(batch: number): Floats {
    // On a device the input is a host array either way (forward sends it up).
    if (!this.shareActivations || this.device) return this.inputBuffer(batch);
    this.reserveInference(batch);
    return hostFloats(this.inferenceXs[0], 'Sequential.inferenceInput');
  }

  /** x^(k) for the last batch (k = 0 input, k = K output); valid until the next call. */
  activation(k: number): Tensor {
    if (!this.lastShared) return this.xs[k];
    if (k !== this.layers.length) {
      throw new DescentError(`x^(${k}) is not kept: the last pass was an inference pass on shared activations (only the output is)`);
    }
    return this.inferenceXs[k];
  }

  /** ∂L/∂x^(k) for the last backward pass. */
  activationGradient(k: number): Tensor {
    if (this.shareGradients && k !== 0 && k !== this.layers.length) {
      throw new DescentError(`∂L/∂x^(${k}) is not kept: this network shares gradient buffers (shareGradients: false keeps all)`);
    }
    if (k < this.layers.length && runsThroughRelu(this.plan, k, this.kernels)) {
      throw new DescentError(`∂L/∂x^(${k}) is not kept: the ReLU's backward runs in layer ${k}'s kernel here ` +
        '(fuseReluBackward: false keeps it)');
    }
    return this.gs[k];
  }

  /** The ranges of g that recordGradient zeroes on the host (set on first use). */
  private zeroRanges?: [number, number][];
  /** The layers that write their gradients (Layer.writesGradients) instead of adding (set on first use). */
  private writers?: ReadonlySet<Layer>;

  private context(training: boolean): RunContext {
    return { kernels: this.kernels, training, rng: this.rng };
  }

  /**
   * Forward pass (Algorithm 1, first loop): computes and keeps every x^(k). `input` holds N samples;
   * pass the network's own inputBuffer to skip the copy. Returns x^(K) (valid for N·d_K numbers).
   */
  forward(input: Floats, N: number, training = false): Tensor {
    return this.run(input, N, training, !training && this.shareActivations);
  }

  /** The forward pass on every x^(k) (what a backward pass needs), or on the shared inference slots. */
  private run(input: Floats, N: number, training: boolean, shared: boolean): Tensor {
    this.checkBatch(input, N);
    if (shared) this.reserveInference(N);
    else this.reserve(N);
    const xs = shared ? this.inferenceXs : this.xs;
    this.lastShared = shared;
    if (this.device) {
      const x = input.subarray(0, N * this.sizes[0]);
      this.device.write(xs[0], x instanceof Float32Array ? x : Float32Array.from(x));
      if (training && this.bufferTensor.length) this.host.changed(); // batch norm's running statistics
    } else if (input !== xs[0]) hostFloats(xs[0], 'Sequential.forward').set(input.subarray(0, N * this.sizes[0]));
    const ctx = this.context(training);
    const fuse = this.kernels.fusesRelu === true;
    for (let k = 0; k < this.layers.length; k++) {
      const layer = this.layers[k], ins = this.topology.inputs[k];
      if (layer instanceof JoinLayer) {
        layer.forwardJoin(ins.map((t) => xs[t]), xs[k + 1], N, ctx);
      } else if (fuse && this.plan.relu[k]) {
        layer.forward(xs[ins[0]], xs[k + 1], N, ctx, xs[k + 2]);
        k++; // layer k + 1, the ReLU, is done
      } else {
        layer.forward(xs[ins[0]], xs[k + 1], N, ctx);
      }
    }
    return xs[this.layers.length];
  }

  /**
   * Backward recursion (eqs. 2-3) in reverse topological order, from node `from` down:
   * gs[from + 1] must hold ∂L/∂x^(from+1). Each node accumulates its parameter gradient into g
   * (eq. 2) and writes g·∂x^(k+1)/∂x for each tensor x it reads (eq. 3). With `writeGradients`,
   * the gradients named by Layer.writesGradients are written instead (the caller left them unzeroed).
   */
  backwardFrom(from: number, N: number, training = true, inputGradient = false, writeGradients = false): void {
    const ctx = this.context(training);
    if (writeGradients) ctx.writeGradients = this.gradientWriters();
    for (let k = from; k >= 0; k--) {
      if (k < from) this.gatherGradient(k + 1, N);
      const layer = this.layers[k], ins = this.topology.inputs[k];
      const gxs = ins.map((t, slot) => (t > 0 || inputGradient ? this.edgeGs[k][slot] ?? this.gs[t] : null));
      if (layer.backwardThroughRelu && runsThroughRelu(this.plan, k, this.kernels)) {
        // Node k's backward and then the ReLU's (node k - 1), in one kernel: gs[k] is skipped.
        const t = this.topology.inputs[k - 1][0];
        layer.backwardThroughRelu(this.xs[k], this.xs[k + 1], this.gs[k + 1], this.xs[t], this.edgeGs[k - 1][0] ?? this.gs[t], N, ctx);
        k--;
        continue;
      }
      if (layer instanceof JoinLayer) {
        layer.backwardJoin(ins.map((t) => this.xs[t]), this.xs[k + 1], this.gs[k + 1], gxs, N, ctx);
      } else {
        layer.backward(this.xs[ins[0]], this.xs[k + 1], this.gs[k + 1], gxs[0], N, ctx);
      }
    }
    if (inputGradient) this.gatherGradient(0, N);
  }

  /**
   * THE GENERALISATION OF THE RECURSION TO A GRAPH: where x^(t) feeds several nodes, ∂L/∂x^(t)
   * is the sum of what they send back, added in the order the readers are listed:
   * ((g_1 + g_2) + g_3) + … (g_i from the i-th reading edge), so the result is bitwise fixed.
   * Called once all readers of x^(t) have run their backward; a tensor read once needs nothing.
   */
  private gatherGradient(t: number, N: number): void {
    const edges = this.topology.consumers[t];
    if (edges.length < 2) return;
    const n = N * this.sizes[t], sent = edges.map(({ node, slot }) => this.edgeGs[node][slot] as Tensor);
    this.kernels.addTensors(sent[0], sent[1], this.gs[t], n);
    for (let i = 2; i < sent.length; i++) this.kernels.addTensors(this.gs[t], sent[i], this.gs[t], n);
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
    this.onHost('gradient', 'gradientAsync');
    return this.recordGradient(input, target, N, loss, options);
  }

  /** As gradient, on every engine: on a device the risk is read back once the step is done. */
  async gradientAsync(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss,
    options: { inputGradient?: boolean; training?: boolean } = {}): Promise<number> {
    const risk = this.recordGradient(input, target, N, loss, options);
    return this.device ? (await this.device.read(this.device.loss))[0] : risk;
  }

  /**
   * gradient's work, on every engine; on a device the risk stays there (device.loss) and NaN is
   * returned. For the trainer, which reads the risk and the outputs together.
   * @internal
   */
  recordGradient(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss,
    options: { inputGradient?: boolean; training?: boolean } = {}): number {
    const training = options.training ?? true;
    if (this.device) this.device.fill(this.gTensor, 0);
    else this.zeroUnwrittenGradients();
    const { risk, from } = this.recordLoss(input, target, N, loss, training);
    // Every layer below the logits runs its backward, so the unzeroed gradients all get written.
    this.backwardFrom(from, N, training, options.inputGradient ?? false, !this.device);
    return risk;
  }

  /** Zeroes g on the host except the gradients their layers' backward writes (Layer.writesGradients). */
  private zeroUnwrittenGradients(): void {
    const g = hostFloats(this.gTensor, 'Sequential.gradient');
    this.zeroRanges ??= this.unwrittenRanges(g);
    for (const [start, end] of this.zeroRanges) g.fill(0, start, end);
  }

  /** The layers that write their gradients outright; a layer object listed twice would write twice, so it keeps adding. */
  private gradientWriters(): ReadonlySet<Layer> {
    this.writers ??= new Set(this.layers.filter((l) => l.writesGradients.length &&
      this.layers.indexOf(l) === this.layers.lastIndexOf(l)));
    return this.writers;
  }

  /** The [start, end) ranges of g that no backward writes outright, in order. */
  private unwrittenRanges(g: Floats): [number, number][] {
    const written = [...this.gradientWriters()].flatMap((l) => l.writesGradients.map((name) => hostFloats(l.grads[name], 'Sequential.gradient')))
      .map((v) => [(v.byteOffset - g.byteOffset) / g.BYTES_PER_ELEMENT, v.length] as const).sort((a, b) => a[0] - b[0]);
    const ranges: [number, number][] = [];
    let at = 0;
    for (const [start, length] of written) {
      if (start > at) ranges.push([at, start]);
      at = Math.max(at, start + length);
    }
    if (at < g.length) ranges.push([at, g.length]);
    return ranges;
  }

  /** Refuses a synchronous read on a device, naming the call that works there. */
  private onHost(call: string, instead: string): void {
    if (this.device) throw new DescentError(`${call}() cannot wait for the ${this.kernels.name} engine's device: use await net.${instead}()`);
  }

  /**
   * Forward pass and the risk, without back-propagation. Leaves the start of the backward
   * recursion in the activation gradients and returns the layer from which it continues.
   */
  loss(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss, training = false): { risk: number; from: number } {
    this.onHost('loss', 'lossAsync');
    return this.recordLoss(input, target, N, loss, training);
  }

  /** The risk of a batch on every engine (as loss(...).risk). */
  async lossAsync(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss, training = false): Promise<number> {
    const { risk } = this.recordLoss(input, target, N, loss, training);
    return this.device ? (await this.device.read(this.device.loss))[0] : risk;
  }

  /** loss's work on every engine; on a device the risk stays in device.loss and is NaN here. @internal */
  recordLoss(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss, training = false): { risk: number; from: number } {
    this.run(input, N, training, false);
    return this.riskOf(this.xs, (t) => this.gs[t], target, N, loss);
  }

  /**
   * The risk L of N samples in inference mode, without back-propagation (what `evaluate` needs):
   * the number `loss(…, false).risk` gives, on the shared activations where shareActivations is on.
   */
  risk(input: Floats, target: Target, N: number, loss: LossKind = this.defaultLoss): number {
    this.onHost('risk', 'lossAsync');
    if (!this.shareActivations) return this.loss(input, target, N, loss, false).risk;
    this.run(input, N, false, true);
    const E = this.sizes[this.layers.length];
    if (!this.riskGradient || this.riskGradient.length < N * E) this.riskGradient = this.arena.floats(N * E);
    return this.riskOf(this.inferenceXs, () => this.riskGradient as Tensor, target, N, loss).risk;
  }

  /** The risk on activations xs, its gradient on the logits (or output) written where `grad` says. */
  private riskOf(xs: Tensor[], grad: (t: number) => Tensor, target: Target, N: number, loss: LossKind): { risk: number; from: number } {
    const K = this.layers.length, E = this.sizes[K];
    if (loss === 'cross_entropy') {
      if ('values' in target) throw new DescentError('cross-entropy needs class labels or target probabilities');
      if ('labels' in target) this.checkLabels(target.labels, N, E);
      const logits = this.endsInSoftmax ? K - 1 : K;
      // The fused kernel writes p; after a final Softmax that is x^(K) (unchanged), else scratch.
      const p = this.endsInSoftmax ? xs[K] : this.pScratch(N * E);
      const risk = this.kernels.softmaxCrossEntropy(xs[logits], target, p, grad(logits), N, E);
      return { risk, from: logits - 1 };
    }
    if ('labels' in target) this.checkLabels(target.labels, N, E);
    if ('probs' in target && target.probs.length < N * E) {
      throw new DescentError(`the quadratic loss needs ${N * E} target probabilities (${N} samples × ${E} outputs), got ${target.probs.length}`);
    }
    // Class targets become y' = e_y (or the given probabilities): ||y − y'||² on the outputs.
    const values = 'values' in target ? target.values : quadraticTargets(target, N, E);
    if (values.length < N * E) {
      throw new DescentError(`the quadratic loss needs ${N * E} target values (${N} samples × ${E} outputs), got ${values.length}`);
    }
    if (this.device) {
      this.device.quadraticLoss(xs[K], Float32Array.from(values.subarray(0, N * E)), grad(K), N, E);
      return { risk: NaN, from: K - 1 };
    }
    return { risk: quadraticLoss(hostFloats(xs[K], 'quadraticLoss'), values, hostFloats(grad(K), 'quadraticLoss'), N, E), from: K - 1 };
  }

  /** p for cross-entropy on a network without a final Softmax; allocated once. */
  private pScratch(n: number): Tensor {
    if (!this.scratch || this.scratch.length < n) this.scratch = this.arena.floats(n);
    return this.scratch;
  }

  /**
   * p on the soft-max simplex for each of N samples (notes, section 1), and the class arg max p.
   * A network that does not end in Softmax has its outputs passed through one here.
   */
  predict(input: Floats, N: number): { p: Float32Array; classes: Int32Array } {
    this.onHost('predict', 'predictAsync');
    const out = this.forward(input, N, false);
    const E = this.sizes[this.layers.length];
    const p = new Float32Array(N * E);
    if (this.endsInSoftmax) p.set(hostFloats(out, 'Sequential.predict').subarray(0, N * E));
    else this.kernels.softmaxForward(out, p, N, E);
    return { p, classes: argmaxRows(p, N, E) };
  }

  /** As predict, on every engine (on a device, the probabilities are read back). */
  async predictAsync(input: Floats, N: number): Promise<{ p: Float32Array; classes: Int32Array }> {
    if (!this.device) return this.predict(input, N);
    const out = this.forward(input, N, false);
    const E = this.sizes[this.layers.length];
    let p = this.device.view(out, 0, N * E);
    if (!this.endsInSoftmax) {
      p = this.device.view(this.pScratch(N * E), 0, N * E);
      this.kernels.softmaxForward(out, p, N, E);
    }
    const probs = await this.device.read(p);
    return { p: probs, classes: argmaxRows(probs, N, E) };
  }

  /** The output x^(K) of the last forward pass for N samples, read back on every engine. */
  async readOutput(N: number): Promise<Float32Array> {
    const out = this.activation(this.layers.length), n = N * this.sizes[this.layers.length];
    return this.device ? this.device.read(this.device.view(out, 0, n)) : Float32Array.from(hostFloats(out, 'Sequential.readOutput').subarray(0, n));
  }

  /**
   * Layer k's parameters and buffers by name, as views of the host arrays w and buffers (what
   * exporters read: a layer's own params are the engine's tensors; on a device, `await download()` first).
   */
  hostTensors(k: number): HostTensors {
    const w = this.w, buffers = this.buffers;
    const pick = (slots: TensorSlot[], host: Floats) => Object.fromEntries(slots.filter((s) => s.layer === k)
      .map((s) => [s.name, host.subarray(s.offset, s.offset + s.length)]));
    return { params: pick(this.paramSlots, w), buffers: pick(this.bufferSlots, buffers) };
  }

  /** A copy of w. */
  getWeights(): Float32Array {
    return Float32Array.from(this.w);
  }

  /** Sets w from a copy (its length must match). */
  setWeights(values: ArrayLike<number>): void {
    this.host.set('w', values);
  }

  /** A copy of the buffer vector (running statistics). */
  getBuffers(): Float32Array {
    return Float32Array.from(this.buffers);
  }

  /** Sets the buffer vector from a copy. */
  setBuffers(values: ArrayLike<number>): void {
    this.host.set('buffers', values);
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

/**
 * Whether the parameters of node k feed a ReLU-family activation, following its output through
 * shape-only layers and joins while it has a single reader.
 */
function feedsRelu(layers: Layer[], topology: Topology, k: number): boolean {
  for (let t = k + 1; topology.consumers[t]?.length === 1;) {
    const j = topology.consumers[t][0].node, type = layers[j].type;
    if (type === 'ReLU' || type === 'LeakyReLU') return true;
    if (!['BatchNorm2d', 'BatchNorm1d', 'Dropout', 'Flatten', 'MaxPool2d', 'AvgPool2d', 'Add', 'Identity', 'Concat']
      .includes(type)) return false;
    t = j + 1;
  }
  return false;
}
