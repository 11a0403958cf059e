/**
 * The run directory: everything the dashboard shows, written while a Trainer runs, so that the page of
 * a finished run (`descent ui <run-dir>`) looks exactly as it did live. This comment is the format's
 * one description (format "descent-run/1"). All files are UTF-8 JSON; numbers that are not finite
 * (the first epoch's lossChange = Infinity, a NaN loss) are written as null.
 *
 *  run.json        Written once when the recorder starts (rewritten on append, keeping startTime).
 *                  { format, name, createdAt (ISO), startTime (ms since 1970), resumedAt: ISO[],
 *                    architecture (model.config()), parameterCount, summary (the layer table),
 *                    inputShape, classes (e), classNames (string[] | null),
 *                    optimizer (its config()), schedule (its config() | null),
 *                    earlyStopping ({ monitor, patience, minDelta, restoreBestWeights } | null),
 *                    options (the FitOptions that are plain data), validation ({ count } | null),
 *                    testWatched ({ count } | null: the test set stands in for the views, below),
 *                    ...info (whatever the caller adds, e.g. the command line) }
 *
 *  metrics.jsonl   One JSON object per line, appended (buffered: flushed every flushMs and at each
 *                  epoch or event, never fsynced per step). t = seconds since startTime.
 *                  step lines:  { type: 'step', t, step, epoch, loss, lossSmooth, error, lr, stepSize,
 *                                 imagesPerSecond, batchSize, stepInEpoch, stepsPerEpoch }
 *                      step counts steps done (1 for the first); epoch is the 0-based epoch it is in;
 *                      loss is the mini-batch risk, lossSmooth its debiased exponential moving
 *                      average (β = smoothing); stepSize = ||w_t − w_(t−1)||; lr the rate it ran at.
 *                  epoch lines: { type: 'epoch', t, step, epoch, loss, error, valLoss?, valError?,
 *                                 stepSize, lossChange, lr, imagesPerSecond, seconds, bestEpoch?,
 *                                 patienceLeft?, testLoss?, testError? }  (epoch counts epochs done,
 *                      1 for the first; step is the last step of the epoch. testLoss and testError:
 *                      the watched test set's mean cross-entropy and error, see testWatched below;
 *                      on a device such a line is written once the test predictions are back.)
 *                  norms lines: { type: 'norms', t, step, epoch, layers: string[], w: number[], g: number[] }
 *                      every normsEvery steps (and at step 1): per weighted layer ("3 Conv2d", or
 *                      for a named graph node its name: "stage1.block1.conv1 Conv2d"),
 *                      ||w^(k)|| and ||∂L/∂w^(k)|| of the step's mini-batch (4 significant digits).
 *
 *  events.jsonl    The run's event log, one JSON object per line, appended at once:
 *                  the trainer's events { type: 'lr' | 'pause' | 'resume' | 'stop' | 'checkpoint' |
 *                  'end', t, step, epoch, ... } as src/train/events.ts defines them (a checkpoint
 *                  line also names its `file` and `reason`), and the dashboard's requests
 *                  { type: 'command', t, action, lr?, source: 'dashboard' } (appended by the server).
 *                  An lr event at step s applies from step s + 1 on. A schedule's rate is not an
 *                  event (metrics.jsonl has α for every step); lr events are a person's commands
 *                  (source 'manual'), plateau reductions and the Adam → SGD switch. (Runs recorded
 *                  before may hold lr events of source 'schedule', the first of each epoch.)
 *
 *  snapshot.json   Rewritten atomically when the recorder starts, after each epoch and at the end:
 *                  { format, time (ISO), t, step, epoch, final, classes, classNames,
 *                    validation: null | {
 *                      total, evaluated, error and loss (mean cross-entropy) over the evaluated samples,
 *                      confusion: number[e][e] (confusion[true][predicted], evaluated samples),
 *                      points: { index[], label[], predicted[], p: number[][] }  (≤ samples points,
 *                              p the full soft-max output, 4 decimals: the simplex view),
 *                      misclassified: [{ index, label, predicted, confidence, pTrue,
 *                                        image: { width, height, channels, data } }]  (most
 *                              confident mistakes first; data = base64 of width·height·channels
 *                              bytes, 0–255, min–max scaled, row-major, channels last) },
 *                    filters: null | { layer, type, count, height, width, channels, weights }
 *                              (the first weighted layer's kernels, layout [O, KH, KW, C], 6
 *                              significant digits: a convolution's, or a dense layer's on the
 *                              flattened image as H×W×C images, at most 64),
 *                    earlyStopping: null | { monitor, patience, minDelta, best, bestEpoch,
 *                                            patienceLeft },
 *                    testWatched: null | (as validation, on the test set),
 *                    schedule: config | null, optimizer: { kind, lr },
 *                    test?: { accuracy, loss, count, confusion: number[e][e] }  (saveResults) }
 *
 *  run.json's `results` (saveResults, after training): { stopReason, stopMessage, epochs, steps,
 *                    seconds, model?, test?: { accuracy, loss, count } }.
 *
 *  checkpoint.safetensors   The latest checkpoint the trainer handed over (saveCheckpoint), written
 *                  atomically; restore it with Trainer.restore.
 *
 * The recorder only reads the model (a validation pass without training mode draws no random
 * numbers), so recording does not change the run.
 *
 * A run without validation data but with a test set (RecorderOptions.test) shows the test set
 * instead: the same views in snapshot.testWatched and its loss and error in each epoch line. The
 * test set is held out and only watched: the recorder computes these for the dashboard, after the
 * trainer's epoch event, and nothing flows back to the trainer (its early stopping, best weights and
 * plateau schedules read validation data only).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescentError } from '../core/errors.js';
import { Rng } from '../core/rng.js';
import { sizeOf } from '../core/shape.js';
import { type Dataset, splitTrainValidation } from '../data/dataset.js';
import { writeFileAtomic } from '../node/files.js';
import type { EpochEvent, StepEvent, TrainEvent } from '../train/events.js';
import type { Trainer } from '../train/trainer.js';
import type { Tensor } from '../core/tensor.js';

export const RUN_FORMAT = 'descent-run/1';

/** The files of a run directory. */
export const RUN_FILES = {
  run: 'run.json',
  metrics: 'metrics.jsonl',
  events: 'events.jsonl',
  snapshot: 'snapshot.json',
  checkpoint: 'checkpoint.safetensors',
} as const;

/** What a RunRecorder records beside the trainer's events. */
export interface RecorderOptions {
  /** The validation data for the confusion matrix, the simplex and the misclassified strip. */
  validation?: Dataset;
  /**
   * Or the training data given to fit: when the trainer holds out validationSplit, the recorder
   * derives the same held-out set the trainer does (same fraction, same splitSeed).
   */
  train?: Dataset;
  /**
   * The test set, watched only: when there is no validation data, the views and per-epoch curves
   * show it, labelled as the test set. Never read by the trainer. Ignored when there is validation data.
   */
  test?: Dataset;
  /** Validation points kept for the simplex view (default 300). */
  samples?: number;
  /** Validation samples evaluated each epoch for the confusion matrix (default 10,000). */
  confusionSamples?: number;
  /** Misclassified examples kept (default 24). */
  misclassified?: number;
  /** How often buffered step lines are written, in ms (default 250). */
  flushMs?: number;
  /** β of the loss's moving average (default 0.95). */
  smoothing?: number;
  /** Per-layer weight and gradient norms every this many steps (default 10; 0: never). */
  normsEvery?: number;
  /** 'new' (default) refuses a directory that already holds a run; 'append' continues it (a resumed run). */
  mode?: 'new' | 'append';
  /** Extra fields for run.json (the command line, the data source, …). */
  info?: Record<string, unknown>;
}

export interface CheckpointWhere {
  step: number;
  epoch: number;
  reason: string;
}

/** Rounds to `digits` significant digits; integers and non-finite values pass (JSON writes null for the latter). */
function sig(v: number, digits = 7): number {
  return Number.isFinite(v) && !Number.isInteger(v) ? Number(v.toPrecision(digits)) : v;
}

/** Writes a run's files (run.json, metrics.jsonl, events.jsonl, snapshots, checkpoints) as training goes, for `descent ui`. */
export class RunRecorder {
  /** The run directory. */
  readonly dir: string;
  readonly trainer: Trainer;
  readonly validation: Dataset | null;
  /** The test set the views show when there is no validation data (watched only, see the format above). */
  readonly testWatched: Dataset | null;
  private readonly opts: Required<Pick<RecorderOptions, 'samples' | 'confusionSamples' | 'misclassified' | 'flushMs' | 'smoothing' | 'normsEvery'>>;
  private readonly startTime: number;
  private buffer: string[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private unsubscribe: (() => void) | null = null;
  private ema = 0;
  private emaSteps = 0;
  private lastStep = 0;
  private lastEpoch = 0;
  private ended = false;
  private closed = false;
  private warned = false;
  private pendingCheckpoint: { file: string; reason: string } | null = null;
  /** On a device (WebGPU): the snapshots and norms still being read back, in order. */
  private pending: Promise<void> = Promise.resolve();
  private normScratch: Tensor | null = null;

  constructor(dir: string, trainer: Trainer, options: RecorderOptions = {}) {
    this.dir = path.resolve(dir);
    this.trainer = trainer;
    this.opts = {
      samples: options.samples ?? 300,
      confusionSamples: options.confusionSamples ?? 10_000,
      misclassified: options.misclassified ?? 24,
      flushMs: options.flushMs ?? 250,
      smoothing: options.smoothing ?? 0.95,
      normsEvery: options.normsEvery ?? 10,
    };
    const s = this.opts.smoothing;
    if (!(s >= 0 && s < 1)) throw new DescentError(`smoothing must be in [0, 1), got ${s}`);

    let validation = options.validation ?? trainer.options.validation ?? null;
    const split = trainer.options.validationSplit;
    if (!validation && options.train && split) {
      validation = splitTrainValidation(options.train, split, new Rng(trainer.options.splitSeed ?? 0)).validation;
    }
    this.validation = validation;
    this.testWatched = validation ? null : options.test ?? null;

    try {
      fs.mkdirSync(this.dir, { recursive: true });
    } catch (e) {
      throw new DescentError(`cannot create the run directory ${this.dir}: ${(e as Error).message}`);
    }
    const runFile = this.file('run');
    let previous: Record<string, unknown> | null = null;
    if (fs.existsSync(runFile)) {
      if ((options.mode ?? 'new') === 'new') {
        throw new DescentError(`${this.dir} already holds a run (${RUN_FILES.run}); choose another directory, or append to it when resuming`);
      }
      try {
        previous = JSON.parse(fs.readFileSync(runFile, 'utf8')) as Record<string, unknown>;
      } catch {
        previous = null;
      }
    }
    const now = Date.now();
    this.startTime = typeof previous?.startTime === 'number' ? previous.startTime : now;

    const model = trainer.model, es = trainer.earlyStopping;
    const classNames = validation?.classNames ?? options.train?.classNames ?? this.testWatched?.classNames ?? null;
    const run = {
      format: RUN_FORMAT,
      name: path.basename(this.dir),
      createdAt: typeof previous?.createdAt === 'string' ? previous.createdAt : new Date(now).toISOString(),
      startTime: this.startTime,
      resumedAt: previous ? [...((previous.resumedAt as string[] | undefined) ?? []), new Date(now).toISOString()] : [],
      architecture: model.config(),
      parameterCount: model.parameterCount,
      summary: model.summary(),
      inputShape: [...model.inputShape],
      classes: sizeOf(model.outputShape),
      classNames,
      optimizer: trainer.optimizer.config(),
      schedule: trainer.schedule?.config() ?? null,
      earlyStopping: es ? { monitor: es.monitor, patience: es.patience, minDelta: es.minDelta, restoreBestWeights: es.restoreBestWeights } : null,
      options: plainOptions(trainer.options as unknown as Record<string, unknown>),
      validation: validation ? { count: validation.count } : null,
      testWatched: this.testWatched ? { count: this.testWatched.count } : null,
      ...(options.info ?? {}),
    };
    writeFileAtomic(runFile, JSON.stringify(run, null, 2));
    for (const f of [this.file('metrics'), this.file('events')]) fs.closeSync(fs.openSync(f, 'a'));

    this.unsubscribe = trainer.on('*', (e) => this.onEvent(e));
    this.timer = setInterval(() => {
      try {
        this.flush();
      } catch (e) {
        // A full disk must not kill the training: say so once a flush fails, and keep the lines.
        if (!this.warned) process.stderr.write(`descent: ${(e as Error).message}\n`);
        this.warned = true;
      }
    }, this.opts.flushMs);
    this.timer.unref?.();
    this.writeSnapshot(false);
  }

  /** A file of the run directory by its role. */
  file(kind: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[kind]);
  }

  /**
   * Keep a checkpoint's bytes as checkpoint.safetensors (atomically). Pass it as the trainer's
   * onCheckpoint: `onCheckpoint: (bytes, where) => recorder.saveCheckpoint(bytes, where)`.
   * Returns the file's path.
   */
  saveCheckpoint(bytes: Uint8Array, where?: CheckpointWhere): string {
    const file = this.file('checkpoint');
    writeFileAtomic(file, bytes);
    this.pendingCheckpoint = { file: RUN_FILES.checkpoint, reason: where?.reason ?? 'manual' };
    return file;
  }

  /** Write the buffered step lines now. */
  flush(): void {
    if (this.buffer.length === 0) return;
    const text = this.buffer.join('');
    try {
      fs.appendFileSync(this.file('metrics'), text);
      this.buffer = [];
    } catch (e) {
      throw new DescentError(`cannot write ${this.file('metrics')}: ${(e as Error).message}`);
    }
  }

  /** Append one line to the event log (the trainer's events come here by themselves). */
  logEvent(event: Record<string, unknown>): void {
    this.flush();
    appendEvent(this.dir, { ...event, t: this.t() });
  }

  /**
   * After training: the final results (how it ended, and the test set's accuracy, loss and confusion
   * matrix when there is one) go into run.json's `results` and snapshot.json's `test`, so that the
   * page shows them and a reopened run keeps them. Call it after close() or the end event too.
   */
  saveResults(results: RunResults): void {
    const { test, ...rest } = results;
    const summary = { ...rest, ...(test ? { test: { accuracy: sig(test.accuracy), loss: sig(test.loss), count: test.count } } : {}) };
    const run = readJsonObject(this.file('run'));
    writeFileAtomic(this.file('run'), JSON.stringify({ ...run, results: summary }, null, 2));
    if (test) {
      const snapshot = readJsonObject(this.file('snapshot'));
      const confusion = test.confusion.map((row) => Array.from(row));
      writeFileAtomic(this.file('snapshot'), JSON.stringify({ ...snapshot, test: { ...summary.test, confusion } }));
    }
  }

  /** Flush, write a last snapshot if the run did not end, and stop listening. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (!this.ended) this.writeSnapshot(false);
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private t(): number {
    return Math.round(Date.now() - this.startTime) / 1000;
  }

  private onEvent(e: TrainEvent): void {
    if (e.type === 'step') this.onStep(e);
    else if (e.type === 'epoch') this.onEpoch(e);
    else {
      const line: Record<string, unknown> = { ...e };
      if (e.type === 'checkpoint' && this.pendingCheckpoint) {
        Object.assign(line, this.pendingCheckpoint);
        this.pendingCheckpoint = null;
      }
      this.logEvent(line);
      if (e.type === 'end') {
        this.ended = true;
        this.writeSnapshot(true);
        this.close();
      }
    }
  }

  private onStep(e: StepEvent): void {
    const beta = this.opts.smoothing;
    if (Number.isFinite(e.loss)) {
      this.ema = beta * this.ema + (1 - beta) * e.loss;
      this.emaSteps++;
    }
    const smooth = this.emaSteps ? this.ema / (1 - beta ** this.emaSteps) : NaN;
    this.lastStep = e.step;
    this.lastEpoch = e.epoch;
    this.buffer.push(JSON.stringify({
      type: 'step', t: this.t(), step: e.step, epoch: e.epoch, loss: sig(e.loss), lossSmooth: sig(smooth),
      error: sig(e.error), lr: e.lr, stepSize: sig(e.stepSize), imagesPerSecond: sig(e.imagesPerSecond, 5),
      batchSize: e.batchSize, stepInEpoch: e.stepInEpoch, stepsPerEpoch: e.stepsPerEpoch,
    }) + '\n');
    const every = this.opts.normsEvery;
    if (every > 0 && (e.step % every === 0 || e.step === 1)) {
      const line = (norms: ReturnType<typeof layerNorms>) =>
        this.buffer.push(JSON.stringify({ type: 'norms', t: this.t(), step: e.step, epoch: e.epoch, ...norms }) + '\n');
      if (this.trainer.model.device) this.later(this.deviceNorms().then(line));
      else line(layerNorms(this.trainer.model));
    }
  }

  /** Resolves once every snapshot and norms line still being read back from a device is written. */
  settled(): Promise<void> {
    return this.pending;
  }

  /** Work that waits for a device, run in order; a failure is said once and does not stop training. */
  private later(work: Promise<unknown>): void {
    this.pending = this.pending.then(() => work).then(() => {}, (e: Error) => {
      if (!this.warned) process.stderr.write(`descent: the dashboard's view of the run failed: ${e.message}\n`);
      this.warned = true;
    });
  }

  /** layerNorms on a device: the sums are recorded now (after this step's work) and read back later. */
  private deviceNorms(): Promise<ReturnType<typeof layerNorms>> {
    const model = this.trainer.model, device = model.device!, slots = model.paramSlots;
    if (!this.normScratch || this.normScratch.length < 2 * slots.length) this.normScratch = model.arena.floats(Math.max(2, 2 * slots.length));
    const scratch = this.normScratch;
    slots.forEach((slot, i) => {
      device.squaredDistance(device.view(model.wTensor, slot.offset, slot.length), null, slot.length, device.view(scratch, 2 * i, 1));
      device.squaredDistance(device.view(model.gTensor, slot.offset, slot.length), null, slot.length, device.view(scratch, 2 * i + 1, 1));
    });
    return device.read(scratch).then((sums) => layerNorms(model, (i) => [sums[2 * i], sums[2 * i + 1]]));
  }

  private onEpoch(e: EpochEvent): void {
    this.lastEpoch = e.epoch;
    const line: Record<string, unknown> = { type: 'epoch', t: this.t(), step: this.lastStep };
    for (const [k, v] of Object.entries(e)) if (k !== 'type') line[k] = typeof v === 'number' && k !== 'lr' ? sig(v) : v;
    const push = (extra: Record<string, unknown>) => {
      this.buffer.push(JSON.stringify({ ...line, ...extra }) + '\n');
      this.flush();
    };
    if (!this.testWatched) {
      push({});
      this.writeSnapshot(false);
    } else {
      // One evaluation of the watched test set gives the line its loss and error and the snapshot its views.
      this.writeSnapshot(false, (v) => push({ testLoss: v.loss, testError: sig(v.error) }));
    }
  }

  /** snapshot.json: the views that need the model (see the format above); on a device, once its predictions are back. */
  private writeSnapshot(final: boolean, onViews?: (views: ReturnType<RunRecorder['validationViews']>) => void): void {
    const trainer = this.trainer, model = trainer.model, es = trainer.earlyStopping;
    // The held-out views: the validation set's, or in a run without one the watched test set's.
    const ds = this.validation ?? this.testWatched, key = this.validation ? 'validation' : 'testWatched';
    const write = (views: ReturnType<RunRecorder['validationViews']> | null) => {
      if (views) onViews?.(views);
      writeFileAtomic(this.file('snapshot'), JSON.stringify({ ...snapshot, [key]: views }));
    };
    const snapshot = {
      format: RUN_FORMAT,
      time: new Date().toISOString(),
      t: this.t(),
      step: this.lastStep,
      epoch: this.lastEpoch,
      final,
      classes: sizeOf(model.outputShape),
      classNames: this.validation?.classNames ?? this.testWatched?.classNames ?? null,
      validation: null,
      testWatched: null,
      filters: this.filters(),
      earlyStopping: es
        ? { monitor: es.monitor, patience: es.patience, minDelta: es.minDelta, best: Number.isFinite(es.best) ? es.best : null,
          bestEpoch: es.bestEpoch, patienceLeft: es.patienceLeft }
        : null,
      schedule: trainer.schedule?.config() ?? null,
      optimizer: { kind: trainer.optimizer.config().kind, lr: trainer.lr },
    };
    if (!ds) write(null);
    else if (!model.device) write(this.validationViews(ds, this.validationBatches(ds).map(({ x, n }) => model.predict(x, n))));
    else {
      // Each batch's forward pass is recorded at once (so it sees this moment's w), its probabilities read later.
      const batches = this.validationBatches(ds).map(({ x, n }) => model.predictAsync(x, n));
      this.later(Promise.all(batches).then((results) => write(this.validationViews(ds, results))));
    }
  }

  /** The validation images the snapshot evaluates, batch by batch (copies: a device's forward passes run later). */
  private validationBatches(ds: Dataset): { x: Float32Array; n: number }[] {
    const { indices, evaluated, B } = this.validationPlan(ds), d = sizeOf(ds.shape), out = [];
    for (let start = 0; start < evaluated; start += B) {
      const n = Math.min(B, evaluated - start), x = new Float32Array(n * d);
      for (let i = 0; i < n; i++) x.set(ds.x.subarray(indices[start + i] * d, (indices[start + i] + 1) * d), i * d);
      out.push({ x, n });
    }
    return out;
  }

  private validationPlan(ds: Dataset) {
    const evaluated = Math.min(ds.count, this.opts.confusionSamples);
    const B = Math.max(1, Math.min(this.trainer.options.evalBatchSize ?? 256, evaluated));
    return { evaluated, indices: spread(ds.count, evaluated), B };
  }

  /** The snapshot's validation views from the predictions of validationBatches. */
  private validationViews(ds: Dataset, predictions: { p: Float32Array; classes: Int32Array }[]) {
    const model = this.trainer.model, E = sizeOf(model.outputShape);
    const { evaluated, indices, B } = this.validationPlan(ds);
    const keep = new Set(spread(evaluated, Math.min(evaluated, this.opts.samples)).map((i) => indices[i]));
    const confusion = Array.from({ length: E }, () => new Array<number>(E).fill(0));
    const points = { index: [] as number[], label: [] as number[], predicted: [] as number[], p: [] as number[][] };
    const wrong: Array<{ index: number; label: number; predicted: number; confidence: number; pTrue: number }> = [];
    let errors = 0, lossSum = 0;
    for (let start = 0; start < evaluated; start += B) {
      const n = Math.min(B, evaluated - start);
      const { p, classes } = predictions[start / B];
      for (let i = 0; i < n; i++) {
        const s = indices[start + i], label = ds.labels[s], predicted = classes[i];
        if (label < E) confusion[label][predicted]++;
        const row = p.subarray(i * E, (i + 1) * E);
        lossSum -= Math.log(Math.max(label < E ? row[label] : 0, Number.MIN_VALUE));
        if (predicted !== label) {
          errors++;
          wrong.push({ index: s, label, predicted, confidence: sig(row[predicted], 4), pTrue: sig(label < E ? row[label] : 0, 4) });
        }
        if (keep.has(s)) {
          points.index.push(s);
          points.label.push(label);
          points.predicted.push(predicted);
          points.p.push(Array.from(row, (v) => Math.round(v * 1e4) / 1e4));
        }
      }
    }
    wrong.sort((a, b) => b.confidence - a.confidence || a.index - b.index);
    const misclassified = wrong.slice(0, this.opts.misclassified).map((m) => ({ ...m, image: imageOf(ds, m.index) }));
    const loss = evaluated ? sig(lossSum / evaluated) : 0;
    return { total: ds.count, evaluated, error: evaluated ? errors / evaluated : 0, loss, confusion, points, misclassified };
  }

  /**
   * The first weighted layer's kernels as images: a convolution's [O, KH, KW, C] as they are; a dense
   * layer right after a Flatten of the image, each unit's [H·W·C] weights as an H×W×C image (at most 64).
   */
  private filters() {
    const model = this.trainer.model;
    const slot = model.paramSlots.find((s) => s.name === 'weight');
    if (!slot) return null;
    // The host copy of w (on a device it is current at the epoch's end, where snapshots are taken).
    if (!model.hostInSync) return null;
    const layer = model.layers[slot.layer], weight = model.w.subarray(slot.offset, slot.offset + slot.length);
    const round = (w: ArrayLike<number>) => Array.from(w, (v) => sig(v, 6));
    if (slot.shape.length === 4) {
      const [count, height, width, channels] = slot.shape;
      return { layer: slot.layer, type: layer.type, count, height, width, channels, weights: round(weight) };
    }
    const input = model.inputShape;
    if (slot.shape.length === 2 && input.length === 3 && slot.shape[1] === sizeOf(input)) {
      const count = Math.min(slot.shape[0], 64), [height, width, channels] = input;
      return { layer: slot.layer, type: layer.type, count, height, width, channels, weights: round(weight.subarray(0, count * sizeOf(input))) };
    }
    return null;
  }
}

/** What saveResults records: how the run ended and, when there is a test set, its evaluation. */
export interface RunResults {
  stopReason: string;
  stopMessage?: string;
  epochs: number;
  steps?: number;
  seconds?: number;
  model?: string;
  test?: { accuracy: number; loss: number; count: number; confusion: ArrayLike<number>[] };
}

function readJsonObject(file: string): Record<string, unknown> {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/** A node's name where it was given one (a graph's nodes), else its number from 1, as in the summary. */
function layerLabel(model: Trainer['model'], k: number): string {
  return model.topology.namedExplicitly[k] ? model.topology.names[k] : String(k + 1);
}

/** ||w^(k)|| and ||∂L/∂w^(k)|| of each layer that has parameters (its slots are views into w and g). */
function layerNorms(model: Trainer['model'], slotSquares?: (i: number) => [number, number]): { layers: string[]; w: number[]; g: number[] } {
  const byLayer = new Map<number, { w: number; g: number }>();
  model.paramSlots.forEach((slot, i) => {
    const acc = byLayer.get(slot.layer) ?? { w: 0, g: 0 };
    if (slotSquares) {
      const [w2, g2] = slotSquares(i);
      acc.w += w2;
      acc.g += g2;
    } else {
      for (let j = slot.offset; j < slot.offset + slot.length; j++) {
        acc.w += model.w[j] * model.w[j];
        acc.g += model.g[j] * model.g[j];
      }
    }
    byLayer.set(slot.layer, acc);
  });
  const layers: string[] = [], w: number[] = [], g: number[] = [];
  for (const [k, acc] of [...byLayer].sort((a, b) => a[0] - b[0])) {
    layers.push(`${layerLabel(model, k)} ${model.layers[k].type}`);
    w.push(sig(Math.sqrt(acc.w), 4));
    g.push(sig(Math.sqrt(acc.g), 4));
  }
  return { layers, w, g };
}

/** Append one event line to a run directory's events.jsonl (whole lines, so concurrent writers interleave safely). */
export function appendEvent(dir: string, event: Record<string, unknown>): void {
  const file = path.join(dir, RUN_FILES.events);
  try {
    fs.appendFileSync(file, JSON.stringify(event) + '\n');
  } catch (e) {
    throw new DescentError(`cannot write ${file}: ${(e as Error).message}`);
  }
}

/** `count` indices spread evenly over [0, n). */
function spread(n: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(Math.floor((i * n) / count));
  return out;
}

/** Sample `index` of ds as at most 48×48 bytes (nearest neighbour), min–max scaled, base64. */
function imageOf(ds: Dataset, index: number) {
  const [H, W, C] = ds.shape, d = H * W * C;
  const src = ds.x.subarray(index * d, (index + 1) * d);
  const channels = C === 3 ? 3 : 1;
  const scale = Math.max(1, Math.ceil(Math.max(H, W) / 48));
  const height = Math.ceil(H / scale), width = Math.ceil(W / scale);
  let lo = Infinity, hi = -Infinity;
  for (const v of src) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi > lo ? hi - lo : 1;
  const bytes = new Uint8Array(height * width * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = ((y * scale) * W + x * scale) * C;
      for (let c = 0; c < channels; c++) {
        // One channel: the mean over the channels (grey), three: RGB.
        let v = 0;
        if (channels === 3) v = src[base + c];
        else {
          for (let k = 0; k < C; k++) v += src[base + k];
          v /= C;
        }
        bytes[(y * width + x) * channels + c] = Math.round((255 * (v - lo)) / range);
      }
    }
  }
  return { width, height, channels, data: Buffer.from(bytes).toString('base64') };
}

/** The fit options that are plain data (no datasets, functions or typed arrays). */
function plainOptions(o: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || typeof v === 'function' || ArrayBuffer.isView(v)) continue;
    if (k === 'validation' && v && typeof v === 'object') {
      out.validation = { count: (v as Dataset).count };
      continue;
    }
    out[k] = v;
  }
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}
