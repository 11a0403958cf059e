/**
 * The trainer: stochastic gradient descent with mini-batches (notes, section 4). Each step takes
 * B samples of a shuffled epoch, back-propagates the mini-batch risk ∇L_T^(B), and lets the
 * optimizer move w (eq. 6 and its refinements). B = 1 is online learning, B = N (batchSize
 * 'full') is batch learning. Between steps it takes commands — set or divide the learning rate,
 * pause, resume, stop — so a person watching L_T through a user interface can steer it, as the
 * notes describe. Everything random comes from the network's one seeded generator, and every bit
 * of state can be checkpointed, so a resumed run ends bitwise identical to an uninterrupted one.
 * A NaN or ∞ in a loss, w or the running statistics stops training and puts back the last finite
 * state a checkpoint holds; a loss far above its start draws a warning (finite-guard.ts).
 */
import { DescentError, check } from '../core/errors.js';
import { NonFiniteError } from '../core/finite.js';
import type { Floats } from '../core/floats.js';
import { hostFloats, type Tensor } from '../core/tensor.js';
import { Rng } from '../core/rng.js';
import { sizeOf } from '../core/shape.js';
import type { AugmentOptions } from '../data/augment.js';
import { gatherBatch } from '../data/gather.js';
import { type Dataset, splitTrainValidation } from '../data/dataset.js';
import type { LossKind } from '../losses/loss.js';
import { canonicalArchitecture } from '../network/canonical.js';
import { argmaxRows, type Sequential } from '../network/sequential.js';
import { decodeCheckpoint, encodeCheckpoint, type TrainerSnapshot } from './checkpoint.js';
import { EarlyStopping, type EarlyStoppingOptions, type Monitor } from './early-stopping.js';
import { evaluate, evaluateAsync } from './evaluate.js';
import { FiniteGuard, nonFiniteMessage } from './finite-guard.js';
import { Emitter, type EpochRecord, type LrSource, type StopReason, type TrainEvent } from './events.js';
import { LearningRate } from './learning-rate.js';
import { clipGradNorm, clipGradNormOnDevice, createOptimizer, type Optimizer, type OptimizerConfig } from './optimizers/index.js';
import { createSchedule, type Schedule, type ScheduleConfig } from './schedules/index.js';
import { yieldToEventLoop } from './yield.js';

/** How `fit` / `Trainer` train: every field is optional. */
export interface FitOptions {
  /** Passes over the training data (default 10). */
  epochs?: number;
  /** Mini-batch size B; 1 is online learning, 'full' is batch learning (B = N). Default 32. */
  batchSize?: number | 'full';
  /** The optimizer (default Adam with lr 1e-3). */
  optimizer?: OptimizerConfig;
  /** The learning-rate schedule (default constant). */
  schedule?: ScheduleConfig;
  /**
   * The loss (default 'cross_entropy', fused with a final Softmax). 'quadratic' is ||y − y'||² with
   * y' the one-hot vector of the label (Keras' mean squared error on categorical labels), also for
   * the validation loss.
   */
  loss?: LossKind;
  /** A validation set, evaluated after every epoch (instead of validationSplit). */
  validation?: Dataset;
  /** Hold out this fraction of the training data for validation (seeded by splitSeed). */
  validationSplit?: number;
  /** Seed of the validationSplit draw (default 0). */
  splitSeed?: number;
  /** Reshuffle the training data every epoch, seeded by the network's seed (default true). */
  shuffle?: boolean;
  /** Stop when the watched metric stops improving (default: no early stopping). */
  earlyStopping?: EarlyStoppingOptions;
  /** The classic criteria: stop when ||w_e - w_(e-1)|| or |L_T(w_e) - L_T(w_(e-1))| falls below these. */
  stopWhen?: {
    /** Stop when ||w_e - w_(e-1)|| falls below this. */
    stepSize?: number;
    /** Stop when |L_T(w_e) - L_T(w_(e-1))| falls below this. */
    lossChange?: number;
  };
  /** Stop after this many optimizer steps. */
  maxSteps?: number;
  /** Stop after this much wall-clock time. */
  maxSeconds?: number;
  /** Clip the gradient to this global L2 norm before each step. */
  clipNorm?: number;
  /** Random shifts (and flips, crops) of the training images on every step (default none). */
  augment?: AugmentOptions;
  /** Largest chunk back-propagated at once; bigger mini-batches accumulate chunks (batch learning). */
  microBatch?: number;
  /** Batch size of the validation pass (default 256). */
  evalBatchSize?: number;
  /** Replace the validation pass (custom metrics, or a scripted curve in tests). */
  validate?: (model: Sequential, epoch: number) => {
    /** The validation risk. */
    loss: number;
    /** The validation zero-one error (fraction). */
    error: number;
  };
  /** Checkpoint every so many steps and/or epochs, handing the bytes to onCheckpoint. */
  checkpointEvery?: {
    /** Every so many optimizer steps. */
    steps?: number;
    /** Every so many epochs. */
    epochs?: number;
  };
  /** Receives each checkpoint's bytes and where it was taken (the CLI writes them to disk). */
  onCheckpoint?: (bytes: Uint8Array, where: { step: number; epoch: number; reason: string }) => void;
  /** Anything the caller wants back on resume (the CLI keeps its flags here); stored as JSON. */
  meta?: Record<string, unknown>;
  /** How many of the latest steps' risks history.stepLosses keeps (default 1,000); every step's goes to on('step'). */
  keepStepLosses?: number;
}

/**
 * What a run keeps, in memory and in its checkpoints. It stays small however long the run: per-epoch
 * records, a bounded window of step risks, and the events that changed the run. Per-step data (every
 * risk, the rate of every step) goes to observers as 'step' events (the run recorder's metrics.jsonl).
 */
export interface History {
  /** One record per finished epoch. */
  epochs: EpochRecord[];
  /** The mini-batch risks of the latest steps (at most keepStepLosses, oldest first; the last is the latest step's). */
  stepLosses: number[];
  /**
   * The event log: what changed the run. A person's rate commands, plateau reductions and optimizer
   * switches ('lr'), pauses, stops, ends. Not a schedule's rate (a function of the step) nor checkpoints
   * (they change nothing); both are still emitted to listeners.
   */
  events: TrainEvent[];
  /** Why training ended. */
  stopReason?: StopReason;
  /** The same in words. */
  stopMessage?: string;
}

/** Where the loop stands; all of it goes into a checkpoint. */
interface Position {
  epoch: number;
  step: number;
  stepInEpoch: number;
  order: Int32Array;
  lossSum: number;
  wrong: number;
  seen: number;
}

const DEFAULT_OPTIMIZER: OptimizerConfig = { kind: 'adam', lr: 1e-3 };
const DEFAULT_KEEP_STEP_LOSSES = 1000;

export class Trainer extends Emitter {
  /** The network being trained. */
  readonly model: Sequential;
  /** The options it was made with. */
  readonly options: FitOptions;
  /** The optimizer (replaced by the Adam → SGD switch). */
  optimizer: Optimizer;
  /** The learning rate's one home: base rate, schedule and a person's commands (see learning-rate.ts). */
  rate: LearningRate;
  /** What the run has kept so far (also fit's result). */
  history: History = { epochs: [], stepLosses: [], events: [] };
  /** Early stopping, when enabled. */
  readonly earlyStopping: EarlyStopping | null;
  private position: Position | null = null;
  private pending: Array<() => void> = [];
  private stopRequest: string | null = null;
  private pausedResolve: (() => void) | null = null;
  private isPaused = false;
  private epochStartWeights: Float32Array;
  private previousEpochLoss = NaN;
  /** On a device: w before the step, for ||Δw||² (on the CPU engines the update sums it as it goes). */
  private readonly prevW: Tensor | null;
  private gAccumulator: Tensor | null = null;
  /** On a device: [Σ(w − w_prev)², buffers non-finite], read once per step. */
  private stepScalars: Tensor | null = null;
  /** Whether the running statistics were finite after the last device step. */
  private buffersFinite = true;
  private readonly guard = new FiniteGuard();

  constructor(model: Sequential, options: FitOptions = {}) {
    super();
    this.model = model;
    this.options = options;
    validateOptions(options);
    this.optimizer = createOptimizer(options.optimizer ?? DEFAULT_OPTIMIZER, model.parameterCount, model.arena, model.kernels);
    this.rate = new LearningRate(this.optimizer.lr, options.schedule ? createSchedule(options.schedule) : null);
    this.earlyStopping = options.earlyStopping ? new EarlyStopping(options.earlyStopping) : null;
    this.epochStartWeights = model.getWeights();
    this.prevW = model.device ? model.arena.floats(model.parameterCount) : null;
  }

  /** The schedule, if any. */
  get schedule(): Schedule | null {
    return this.rate.schedule;
  }

  /** α for the next step (a command not yet applied is not in it). */
  get lr(): number {
    const { step, epoch } = this.where();
    return this.rate.at(step, epoch);
  }

  /** Set α from the next step on; the schedule's shape goes on from it (the rule in learning-rate.ts). */
  setLearningRate(lr: number, source: LrSource = 'manual'): void {
    check(typeof lr === 'number' && Number.isFinite(lr) && lr > 0, `learning rate must be a positive finite number, got ${lr}`);
    this.pending.push(() => this.command((step, epoch) => this.rate.set(lr, step, epoch), source));
  }

  /** Multiply α by `factor` from the next step on, e.g. 0.1 for the notes' manual "divide by 10". */
  scaleLearningRate(factor: number): void {
    check(Number.isFinite(factor) && factor > 0, `learning-rate factor must be a positive finite number, got ${factor}`);
    this.pending.push(() => this.command((step, epoch) => this.rate.scale(factor, step, epoch), 'manual'));
  }

  /** Pauses after the current step, until resume(). */
  pause(): void {
    if (this.isPaused) return;
    this.isPaused = true;
    this.record({ type: 'pause', ...this.where() });
  }

  /** Resumes a paused run. */
  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    this.record({ type: 'resume', ...this.where() });
    this.pausedResolve?.();
    this.pausedResolve = null;
  }

  /** Is the run paused? */
  get paused(): boolean {
    return this.isPaused;
  }

  /** Stop after the current step (a checkpoint is handed to onCheckpoint, if set). */
  stop(reason = 'stopped by the user'): void {
    this.stopRequest = reason;
    if (this.isPaused) this.resume();
  }

  private where(): { step: number; epoch: number } {
    return { step: this.position?.step ?? 0, epoch: this.position?.epoch ?? 0 };
  }

  private record(e: TrainEvent): void {
    if (e.type !== 'step' && e.type !== 'epoch' && e.type !== 'checkpoint') this.history.events.push(e);
    this.emit(e);
  }

  /** A person's rate command, applied between steps and recorded with α of the next step before and after it. */
  private command(change: (step: number, epoch: number) => void, source: LrSource): void {
    const { step, epoch } = this.where();
    const from = this.rate.at(step, epoch);
    change(step, epoch);
    this.record({ type: 'lr', step, epoch, from, to: this.rate.at(step, epoch), source });
  }

  /**
   * On an engine with a device (WebGPU), reads w, the buffers and the optimizer's state back, so
   * that checkpoint(), model.w and model files see them; nothing to do on the CPU engines.
   */
  async download(): Promise<void> {
    await this.model.download();
    await this.optimizer.download();
  }

  /** checkpoint() on every engine (on a device, after download()). */
  async checkpointAsync(): Promise<Uint8Array> {
    await this.download();
    return this.checkpoint();
  }

  /** Encode everything needed to continue: a checkpoint (taken between steps; on a device, after download()). */
  checkpoint(): Uint8Array {
    const p = this.position;
    const snapshot: TrainerSnapshot = {
      architecture: this.model.config(),
      w: this.model.w,
      buffers: this.model.buffers,
      optimizer: { config: this.optimizer.config(), state: this.optimizer.state() },
      schedule: this.schedule ? { config: this.schedule.config(), state: this.schedule.state() } : null,
      rate: this.rate.state(),
      rng: this.model.rng.state(),
      position: p ? { epoch: p.epoch, step: p.step, stepInEpoch: p.stepInEpoch, lossSum: p.lossSum, wrong: p.wrong, seen: p.seen } : null,
      order: p?.order ?? null,
      epochStartWeights: this.epochStartWeights,
      previousEpochLoss: this.previousEpochLoss,
      earlyStopping: this.earlyStopping
        ? { state: this.earlyStopping.state(), bestWeights: this.earlyStopping.bestWeights, bestBuffers: this.earlyStopping.bestBuffers }
        : null,
      history: this.history,
      meta: this.options.meta ?? {},
    };
    return encodeCheckpoint(snapshot);
  }

  /** Continue from a checkpoint's bytes; the model must have the checkpoint's architecture. */
  restore(bytes: Uint8Array, source = 'checkpoint'): void {
    const s = decodeCheckpoint(bytes, source);
    const mine = JSON.stringify(this.model.config()), theirs = JSON.stringify(canonicalArchitecture(s.architecture));
    if (mine !== theirs) throw new DescentError(`${source}: its architecture differs from the model's`);
    this.model.setWeights(s.w);
    this.model.setBuffers(s.buffers);
    this.optimizer = createOptimizer(s.optimizer.config, this.model.parameterCount, this.model.arena, this.model.kernels);
    this.optimizer.loadState(s.optimizer.state);
    const schedule = s.schedule ? createSchedule(s.schedule.config) : this.schedule;
    if (s.schedule) schedule!.loadState(s.schedule.state);
    this.rate = new LearningRate(this.rate.base, schedule);
    // A format-1 checkpoint has no base rate: it took it from the options, as this trainer's base is.
    this.rate.loadState({ base: this.rate.base, ...s.rate });
    this.model.rng.setState(s.rng);
    this.position = s.position && s.order ? { ...s.position, order: Int32Array.from(s.order) } : null;
    this.epochStartWeights = Float32Array.from(s.epochStartWeights);
    this.previousEpochLoss = s.previousEpochLoss;
    if (this.earlyStopping && s.earlyStopping) {
      this.earlyStopping.loadState(s.earlyStopping.state, s.earlyStopping.bestWeights, s.earlyStopping.bestBuffers);
    }
    this.history = s.history;
    this.trimStepLosses();
  }

  private trimStepLosses(): void {
    const keep = this.options.keepStepLosses ?? DEFAULT_KEEP_STEP_LOSSES, losses = this.history.stepLosses;
    if (losses.length > keep) losses.splice(0, losses.length - keep);
  }

  /** Hands a checkpoint to onCheckpoint; returns why it could not be taken (a non-finite tensor), or null. */
  private async saveCheckpoint(reason: string): Promise<string | null> {
    if (!this.options.onCheckpoint) return null;
    let bytes: Uint8Array;
    try {
      bytes = await this.checkpointAsync();
    } catch (e) {
      if (e instanceof NonFiniteError) return e.message;
      throw e;
    }
    this.options.onCheckpoint(bytes, { ...this.where(), reason });
    this.record({ type: 'checkpoint', ...this.where(), bytes: bytes.length });
    this.guard.keep(this.model, this.where(), 'the last checkpoint');
    return null;
  }

  /** Train on `data` until a stopping rule fires; returns the history. */
  async fit(data: Dataset): Promise<History> {
    const o = this.options;
    let train = data, validation = o.validation;
    if (o.validationSplit) {
      ({ train, validation } = splitTrainValidation(data, o.validationSplit, new Rng(o.splitSeed ?? 0)));
    }
    const net = this.model, d = sizeOf(net.inputShape), E = sizeOf(net.outputShape);
    if (sizeOf(train.shape) !== d) {
      throw new DescentError(`the data's images are [${train.shape.join(', ')}], the network takes [${net.inputShape.join(', ')}]`);
    }
    check(train.count > 0, 'the training data is empty');
    check(train.classes <= E, () => `the data has ${train.classes} classes, the network outputs ${E}`);
    const monitor: Monitor | undefined = this.earlyStopping?.monitor;
    if (monitor?.startsWith('val_') && !validation && !o.validate) {
      throw new DescentError(`early stopping watches ${monitor}, but there is no validation data (give validation or validationSplit)`);
    }
    const loss = o.loss ?? 'cross_entropy';
    const B = o.batchSize === 'full' ? train.count : Math.min(o.batchSize ?? 32, train.count);
    const micro = Math.min(B, o.microBatch ?? 512);
    const stepsPerEpoch = Math.ceil(train.count / B);
    const epochs = o.epochs ?? 10;
    const labels = new Int32Array(micro), predicted = new Int32Array(micro);
    net.reserve(micro);
    if (micro < B && !this.gAccumulator) this.gAccumulator = net.arena.floats(net.parameterCount);

    const started = performance.now();
    let lastYield = started;
    const stop: { reason: StopReason | null; message: string } = { reason: null, message: '' };
    const end = (reason: StopReason, message: string) => {
      stop.reason = reason;
      stop.message = message;
    };

    if (!this.position) this.position = this.newEpoch(0, 0, train.count);
    if (this.position.order.length !== train.count) {
      throw new DescentError(`the checkpoint was taken on ${this.position.order.length} training samples, ` +
        `this data has ${train.count}: resume with the same data and validation split`);
    }
    const p = this.position;
    await this.download();
    const unfit = FiniteGuard.startProblem(net);
    if (unfit) throw new DescentError(unfit);
    this.guard.keep(net, p, p.step === 0 ? 'the start of training' : 'where this run resumed');
    let epochStarted = performance.now(), epochImages = 0;

    while (p.epoch < epochs && !stop.reason) {
      if (p.stepInEpoch === 0 && p.seen === 0) {
        if (o.shuffle ?? true) net.rng.shuffle(p.order);
        await net.download();
        this.epochStartWeights = net.getWeights();
        this.guard.keep(net, p, `the start of epoch ${p.epoch + 1}`);
        epochStarted = performance.now();
        epochImages = 0;
      }
      while (p.stepInEpoch < stepsPerEpoch && !stop.reason) {
        for (const command of this.pending.splice(0)) command();
        if (this.stopRequest !== null) {
          end('user', this.stopRequest);
          this.record({ type: 'stop', ...this.where(), reason: this.stopRequest });
          break;
        }
        if (o.maxSteps !== undefined && p.step >= o.maxSteps) {
          end('max_steps', `reached maxSteps = ${o.maxSteps}`);
          break;
        }
        if (o.maxSeconds !== undefined && (performance.now() - started) / 1000 >= o.maxSeconds) {
          end('max_seconds', `reached maxSeconds = ${o.maxSeconds}`);
          break;
        }
        this.optimizer.lr = this.rate.at(p.step, p.epoch);

        // One mini-batch: forward, risk, backward (in chunks if B exceeds the micro-batch).
        const first = p.stepInEpoch * B, count = Math.min(B, train.count - first);
        let risk = 0, wrong = 0;
        for (let c = 0; c < count; c += micro) {
          const n = Math.min(micro, count - c);
          const x = net.inputBuffer(micro);
          for (let i = 0; i < n; i++) labels[i] = train.labels[p.order[first + c + i]];
          // The images, shifted and flipped as they are copied (the draws augmentBatch would make).
          gatherBatch(train.x, p.order, first + c, n, x, train.shape, o.augment, net.rng);
          const r = await this.microStep(x, labels, n, loss, predicted);
          for (let i = 0; i < n; i++) if (predicted[i] !== labels[i]) wrong++;
          risk += (r * n) / count;
          if (this.gAccumulator) this.accumulate(this.gAccumulator, c === 0, n / count);
        }
        if (this.gAccumulator) this.copyAccumulated(this.gAccumulator);

        const lossProblem = this.guard.loss(risk, p);
        if (lossProblem) {
          end('non_finite', lossProblem);
          break;
        }
        if (o.clipNorm !== undefined) {
          if (net.device) await clipGradNormOnDevice(net.kernels, net.gTensor, o.clipNorm);
          else clipGradNorm(net.g, o.clipNorm);
        }
        const step2 = net.device ? await this.deviceUpdate() : this.hostUpdate();
        // On a device the step's checks came back as two numbers: w and the buffers are read only when they failed.
        const deviceOk = net.device && Number.isFinite(step2) && this.buffersFinite;
        if (net.device && !deviceOk) await net.download();
        const weightProblem = deviceOk ? null : this.guard.weights(net, step2, p);
        if (weightProblem) {
          end('non_finite', weightProblem);
          break;
        }

        p.step++;
        p.stepInEpoch++;
        p.lossSum += risk * count;
        p.wrong += wrong;
        p.seen += count;
        epochImages += count;
        this.history.stepLosses.push(risk);
        this.trimStepLosses();
        const now = performance.now();
        this.emit({
          type: 'step', step: p.step, epoch: p.epoch, loss: risk, error: wrong / count, lr: this.optimizer.lr,
          batchSize: count, stepSize: Math.sqrt(step2), stepInEpoch: p.stepInEpoch, stepsPerEpoch,
          imagesPerSecond: epochImages / Math.max(1e-9, (now - epochStarted) / 1000),
        });
        const every = o.checkpointEvery?.steps;
        const unsaved = every && p.step % every === 0 ? await this.saveCheckpoint('steps') : null;
        if (unsaved) {
          end('non_finite', unsaved);
          break;
        }
        if (now - lastYield > 20 || this.isPaused || this.pending.length) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
        if (this.isPaused) {
          // A pause is not training time: images/s and the epoch's seconds leave it out.
          const pausedAt = performance.now();
          while (this.isPaused) await new Promise<void>((resolve) => (this.pausedResolve = resolve));
          epochStarted += performance.now() - pausedAt;
        }
      }
      if (stop.reason) break;
      await this.endEpoch(p, train.count, validation, epochStarted, epochImages, (r, m) => end(r, m));
      const everyEpochs = o.checkpointEvery?.epochs;
      const unsaved = everyEpochs && p.epoch % everyEpochs === 0 && !stop.reason ? await this.saveCheckpoint('epoch') : null;
      if (unsaved) end('non_finite', unsaved);
      if (p.epoch >= epochs && !stop.reason) end('epochs', `finished ${epochs} epochs`);
    }

    await this.download();
    const unsaved = stop.reason === 'user' ? await this.saveCheckpoint('stop') : null;
    if (unsaved) end('non_finite', unsaved);
    const reason: StopReason = stop.reason ?? 'epochs';
    const es = this.earlyStopping;
    if (reason === 'non_finite') {
      const restored = es?.restoreBestWeights && es.bestWeights
        ? `the best weights (epoch ${es.bestEpoch}) were restored` : this.guard.restore(net);
      stop.message = nonFiniteMessage(stop.message, restored);
    }
    if (es?.restoreBestWeights && es.bestWeights && reason !== 'user') {
      net.setWeights(es.bestWeights);
      if (es.bestBuffers) net.setBuffers(es.bestBuffers);
    }
    this.history.stopReason = reason;
    this.history.stopMessage = stop.message || `finished ${epochs} epochs`;
    this.record({ type: 'end', ...this.where(), reason, message: this.history.stopMessage });
    return this.history;
  }

  /** One micro-batch's gradient (into g), its risk, and its predicted classes. */
  private async microStep(x: Floats, labels: Int32Array, n: number, loss: LossKind,
    predicted: Int32Array<ArrayBuffer>): Promise<number> {
    const net = this.model, device = net.device, E = sizeOf(net.outputShape);
    if (!device) {
      const r = net.gradient(x, { labels }, n, loss);
      argmaxRows(hostFloats(net.activation(net.layers.length), 'trainer'), n, E, predicted);
      return r;
    }
    net.recordGradient(x, { labels }, n, loss);
    const [risk, out] = await Promise.all([device.read(device.loss), net.readOutput(n)]);
    argmaxRows(out, n, E, predicted);
    return risk[0];
  }

  /** acc (+)= share · g: a batch larger than the micro-batch is the weighted mean of its chunks' gradients. */
  private accumulate(acc: Tensor, first: boolean, share: number): void {
    const net = this.model, device = net.device;
    if (!device) {
      const g = net.g, a = hostFloats(acc, 'trainer');
      if (first) a.fill(0);
      for (let j = 0; j < a.length; j++) a[j] += share * g[j];
      return;
    }
    if (first) device.fill(acc, 0);
    // acc − (−share)·g: SGD's update without momentum or decay is exactly this axpy.
    net.kernels.sgdUpdate!(acc, net.gTensor, null, acc.length, -share, 0, 0, 0, false, true);
  }

  private copyAccumulated(acc: Tensor): void {
    const net = this.model, n = acc.length;
    if (net.device) net.kernels.copyBlock(acc, net.gTensor, 1, n, n, 0, n, 0);
    else net.g.set(hostFloats(acc, 'trainer'));
  }

  /** The optimizer's step on host arrays; returns ||Δw||², which the update itself sums (no copy of w). */
  private hostUpdate(): number {
    return this.optimizer.stepMeasured(this.model.w, this.model.g);
  }

  /** The optimizer's step on the device; reads back ||Δw||² and whether the buffers stayed finite. */
  private async deviceUpdate(): Promise<number> {
    const net = this.model, device = net.device!, n = net.parameterCount, nb = net.bufferTensor.length;
    const scalars = (this.stepScalars ??= net.arena.floats(2)), prev = this.prevW!;
    net.kernels.copyBlock(net.wTensor, prev, 1, n, n, 0, n, 0);
    this.optimizer.step(net.wTensor, net.gTensor);
    net.deviceChanged();
    device.squaredDistance(net.wTensor, prev, n, device.view(scalars, 0, 1));
    if (nb) device.nonFinite(net.bufferTensor, nb, device.view(scalars, 1, 1));
    const [step2, bad] = await device.read(scalars);
    this.buffersFinite = bad === 0;
    return step2;
  }

  private newEpoch(epoch: number, step: number, count: number): Position {
    return { epoch, step, stepInEpoch: 0, order: Int32Array.from({ length: count }, (_, i) => i), lossSum: 0, wrong: 0, seen: 0 };
  }

  private async endEpoch(p: Position, count: number, validation: Dataset | undefined, started: number, images: number,
    end: (r: StopReason, m: string) => void): Promise<void> {
    const net = this.model;
    await this.download();
    const trainLoss = p.lossSum / p.seen, trainError = p.wrong / p.seen;
    let stepSize = 0;
    const w = net.w, start = this.epochStartWeights;
    for (let j = 0; j < w.length; j++) stepSize += (w[j] - start[j]) ** 2;
    stepSize = Math.sqrt(stepSize);
    const lossChange = Number.isNaN(this.previousEpochLoss) ? Infinity : Math.abs(trainLoss - this.previousEpochLoss);
    const seconds = (performance.now() - started) / 1000;
    const rec: EpochRecord = {
      epoch: p.epoch + 1, loss: trainLoss, error: trainError, stepSize, lossChange, lr: this.optimizer.lr,
      imagesPerSecond: images / Math.max(1e-9, seconds), seconds,
    };
    if (this.options.validate || validation) {
      const v = this.options.validate?.(net, rec.epoch) ??
        (net.device ? await evaluateAsync(net, validation!, this.options.evalBatchSize, this.options.loss)
          : evaluate(net, validation!, this.options.evalBatchSize, this.options.loss));
      rec.valLoss = v.loss;
      rec.valError = v.error;
    }
    this.history.epochs.push(rec);
    this.previousEpochLoss = trainLoss;
    const invalid = this.guard.validation(rec.valLoss, rec.epoch);
    if (invalid) { // never the best epoch, never a plateau step: the run stops here
      this.emit({ type: 'epoch', ...rec });
      end('non_finite', invalid);
      return;
    }

    const es = this.earlyStopping;
    const metricOf = (m: Monitor) => ({ val_error: rec.valError, val_loss: rec.valLoss, train_loss: rec.loss, train_error: rec.error }[m]);
    const watched = metricOf(es?.monitor ?? (rec.valLoss !== undefined ? 'val_loss' : 'train_loss'));
    const from = this.rate.at(p.step, p.epoch), decision = this.rate.endEpoch(p.epoch, watched);
    if (decision?.switchTo) {
      this.optimizer = createOptimizer(decision.switchTo, net.parameterCount, net.arena, net.kernels);
      this.record({ type: 'lr', ...this.where(), from, to: this.rate.at(p.step, p.epoch), source: 'switch', optimizer: this.optimizer.kind });
    } else if (decision) {
      this.record({ type: 'lr', ...this.where(), from, to: this.rate.at(p.step, p.epoch), source: 'plateau' });
    }
    let stopEarly = false;
    if (es && watched !== undefined) stopEarly = es.update(rec.epoch, watched, net.w, net.buffers);
    this.emit({ type: 'epoch', ...rec, ...(es ? { bestEpoch: es.bestEpoch, patienceLeft: es.patienceLeft } : {}) });
    const diverging = this.guard.divergence(trainLoss, rec.epoch);
    if (diverging) this.record({ type: 'warning', ...this.where(), message: diverging });

    this.position = this.newEpoch(p.epoch + 1, p.step, count);
    Object.assign(p, this.position);
    this.position = p;
    const sw = this.options.stopWhen;
    if (stopEarly && es) {
      end('early_stopping', `${es.monitor} did not improve for ${es.patience} epochs after its best, ` +
        `${es.best.toFixed(4)} at epoch ${es.bestEpoch}` + (es.restoreBestWeights ? '; best weights restored' : ''));
    } else if (sw?.stepSize !== undefined && stepSize < sw.stepSize) {
      end('step_size', `step size ||w_e - w_(e-1)|| = ${stepSize.toExponential(3)} fell below ${sw.stepSize}`);
    } else if (sw?.lossChange !== undefined && lossChange < sw.lossChange) {
      end('loss_change', `loss change |L_T(w_e) - L_T(w_(e-1))| = ${lossChange.toExponential(3)} fell below ${sw.lossChange}`);
    }
  }
}

/** Keras-style entry point: build a trainer and fit. */
export async function fit(model: Sequential, data: Dataset, options: FitOptions = {}): Promise<History> {
  return new Trainer(model, options).fit(data);
}

function validateOptions(o: FitOptions): void {
  const positiveInt = (v: unknown, name: string) =>
    check(v === undefined || (Number.isInteger(v) && (v as number) > 0), `${name} must be a positive integer, got ${JSON.stringify(v)}`);
  positiveInt(o.epochs, 'epochs');
  if (o.batchSize !== 'full') positiveInt(o.batchSize, 'batchSize');
  positiveInt(o.microBatch, 'microBatch');
  positiveInt(o.maxSteps, 'maxSteps');
  check(o.keepStepLosses === undefined || (Number.isInteger(o.keepStepLosses) && o.keepStepLosses >= 0),
    `keepStepLosses must be a non-negative integer, got ${JSON.stringify(o.keepStepLosses)}`);
  check(o.validationSplit === undefined || (o.validationSplit > 0 && o.validationSplit < 1),
    `validationSplit must be in (0, 1), got ${o.validationSplit}`);
  check(o.maxSeconds === undefined || o.maxSeconds > 0, `maxSeconds must be positive, got ${o.maxSeconds}`);
}
