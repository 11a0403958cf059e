/**
 * `descent train`: load data, build (or resume) a model, train it with progress on the terminal,
 * checkpoints in the output directory and Ctrl-C as a clean stop; then the test accuracy and the
 * confusion matrix. Everything that can be wrong (data, flags, output directory) fails before the
 * first step.
 */
import { accessSync, constants, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DescentError } from '../core/errors.js';
import type { AugmentOptions } from '../data/augment.js';
import { applyStandardization, fitStandardization, type Standardization } from '../data/dataset.js';
import type { ArchitectureConfig } from '../network/sequential.js';
import { Sequential } from '../network/sequential.js';
import { createEngine, describeEngine, type EngineKind } from '../node/engine.js';
import { engineChangeNote, engineMeta, resumedEngineError, restoreEngine } from './resume-engine.js';
import { readFileMaybeGzip, writeFileAtomic } from '../node/files.js';
import { saveModel } from '../node/model-io.js';
import { decodeCheckpoint } from '../train/checkpoint.js';
import { evaluateAsync } from '../train/evaluate.js';
import { RunRecorder, type RunResults } from '../ui/run-recorder.js';
import { startDashboard, type Dashboard } from '../ui/server.js';
import { type FitOptions, Trainer } from '../train/trainer.js';
import { loadSplits } from './data-source.js';
import { confusionTable, percent } from './format.js';
import { loadArchitecture } from './model-source.js';
import { optimizerConfig, scheduleConfig } from './options.js';
import { attachProgress } from './progress.js';
import { applyRecipe } from './recipe-flags.js';
import { checkValidationSplit, cleanBeside, reuseUnstartedRun, savedFlags } from './train-checks.js';

export interface TrainFlags {
  /** The recipe the other flags start from (src/cli/recipe-flags.ts). */
  recipe: string;
  model: string;
  data: string;
  test?: string;
  epochs: number;
  batchSize: number;
  optimizer: string;
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  schedule: string;
  validationSplit: number;
  patience: number;
  earlyStopping: boolean;
  augment: number;
  crop: number;
  flip?: boolean;
  color: 'grayscale' | 'rgb';
  imageSize?: [number, number];
  normalize: boolean;
  seed: number;
  limit?: number;
  maxSteps?: number;
  engine: EngineKind;
  gpuAdapter?: 'system' | 'swiftshader';
  threads?: number;
  out?: string;
  resume?: string;
  checkpointEvery?: number;
  json?: boolean;
  ui?: boolean;
  classes?: number;
}

/** The flags a checkpoint keeps, so that --resume continues the same run. */
const RESUMED_FLAGS: (keyof TrainFlags)[] = ['data', 'epochs', 'batchSize', 'optimizer', 'lr', 'momentum', 'weightDecay', 'schedule',
  'validationSplit', 'patience', 'earlyStopping', 'augment', 'crop', 'flip', 'color', 'imageSize', 'normalize', 'seed', 'limit'];

export async function trainCommand(flags: TrainFlags, explicit: Set<string>): Promise<void> {
  const log = (line: string) => (flags.json ? process.stderr : process.stdout).write(`${line}\n`);
  const started = performance.now();
  if (flags.resume && explicit.has('recipe')) {
    throw new DescentError(`--resume continues with the flags the checkpoint was started with: drop --recipe ${flags.recipe}`);
  }
  applyRecipe(flags, explicit);

  // A resumed run continues with the flags it was started with, unless given again here.
  let checkpoint: Uint8Array | null = null;
  let architecture: ArchitectureConfig | null = null;
  let saved: Partial<TrainFlags> = {};
  if (flags.resume) {
    const path = resolve(flags.resume);
    if (!existsSync(path)) throw new DescentError(`--resume: no checkpoint at ${path}`);
    if (explicit.has('model')) {
      throw new DescentError(`--resume continues the checkpoint's own model: drop --model ${flags.model} (or start a new run without --resume)`);
    }
    checkpoint = readFileMaybeGzip(path);
    cleanBeside(path);
    const snapshot = decodeCheckpoint(checkpoint, path);
    architecture = snapshot.architecture;
    saved = savedFlags(snapshot.meta.flags, path);
    for (const key of RESUMED_FLAGS) if (!explicit.has(key) && key in saved) (flags as unknown as Record<string, unknown>)[key] = saved[key];
    restoreEngine(flags, explicit, saved);
  }

  // Flags that are parsed after loading (the schedule needs the step count) are checked first.
  optimizerConfig(flags.optimizer, flags.lr, flags.momentum, flags.weightDecay);
  scheduleConfig(flags.schedule, 1);

  // The output directory must be writable before any work starts.
  const out = resolve(flags.out ?? join('runs', new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)));
  if (!checkpoint) reuseUnstartedRun(out, log);
  try {
    mkdirSync(out, { recursive: true });
    accessSync(out, constants.W_OK);
    const probe = join(out, '.descent-write-test');
    writeFileAtomic(probe, '');
    rmSync(probe);
  } catch (e) {
    throw new DescentError(`cannot write to the output directory ${out}: ${(e as Error).message}`);
  }

  for (const [flag, key] of [['--image-size', 'imageSize'], ['--color', 'color']] as const) {
    if (explicit.has(key) && ![flags.data, flags.test ?? 'folder:'].every((d) => d.startsWith('folder:'))) {
      throw new DescentError(`${flag} applies to folder: data only (the data is ${flags.data}${flags.test ? `, the test data ${flags.test}` : ''})`);
    }
  }
  const splits = loadSplits(flags.data, flags.test, flags.classes, { color: flags.color, size: flags.imageSize });
  let train = splits.train;
  if (flags.limit && flags.limit < train.count) {
    train = { ...train, count: flags.limit, x: train.x.subarray(0, flags.limit * train.x.length / train.count), labels: train.labels.subarray(0, flags.limit) };
  }
  checkValidationSplit(flags.validationSplit, train.count);
  const test = splits.test;
  let standardization: Standardization | undefined;
  if (flags.normalize) {
    standardization = fitStandardization(train);
    train = { ...train, x: Float32Array.from(train.x) };
    applyStandardization(train.x, standardization);
    if (test) applyStandardization(test.x, standardization);
  }

  architecture ??= loadArchitecture(flags.model, train.shape, train.classes);
  const engine = await createEngine({ kind: flags.engine, threads: flags.threads, gpuAdapter: flags.gpuAdapter }).catch((e) => {
    throw resumedEngineError(e, saved, explicit);
  });
  let dashboard: Dashboard | null = null, dashboardFinished = false;
  try {
    const net = Sequential.fromConfig(architecture, { seed: flags.seed, arena: engine.arena, kernels: engine.kernels });
    log(`Descent: ${flags.resume ? `resuming ${flags.resume}` : `training ${flags.model} (recipe ${flags.recipe})`} on ${flags.data} ` +
      `(${train.count.toLocaleString('en-US')} images ${train.shape.join('×')}, ${train.classes} classes), engine ${describeEngine(engine)}, output ${out}`);
    const note = engineChangeNote(saved, engine);
    if (note) log(note);
    if (!flags.json) log(net.summary());

    const validationSplit = flags.validationSplit > 0 ? flags.validationSplit : undefined;
    const stepsPerEpoch = Math.ceil(train.count * (1 - (validationSplit ?? 0)) / flags.batchSize);
    let recorder: RunRecorder | null = null;
    const options: FitOptions = {
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      optimizer: optimizerConfig(flags.optimizer, flags.lr, flags.momentum, flags.weightDecay),
      schedule: scheduleConfig(flags.schedule, flags.epochs * stepsPerEpoch),
      validationSplit,
      splitSeed: flags.seed,
      earlyStopping: flags.earlyStopping && validationSplit ? { monitor: 'val_error', patience: flags.patience } : undefined,
      augment: augmentOptions(flags),
      maxSteps: flags.maxSteps,
      checkpointEvery: { epochs: 1, ...(flags.checkpointEvery ? { steps: flags.checkpointEvery } : {}) },
      onCheckpoint: (bytes, where) => recorder?.saveCheckpoint(bytes, where),
      meta: { flags: { ...Object.fromEntries(RESUMED_FLAGS.map((k) => [k, flags[k]])), ...engineMeta(engine, flags) } },
    };
    const trainer = new Trainer(net, options);
    if (checkpoint) trainer.restore(checkpoint, flags.resume);
    // Every run is recorded (metrics, events, snapshots, checkpoints), so `descent ui <dir>` can show it.
    // With --ui and no validation split, the dashboard watches the test set (never read by the trainer); plain runs skip it.
    const watched = flags.ui && !validationSplit && test ? { test } : {};
    recorder = new RunRecorder(out, trainer, { train, ...watched, mode: checkpoint ? 'append' : 'new', info: { flags } });
    const checkpointPath = recorder.file('checkpoint');
    if (flags.ui) {
      dashboard = await startDashboard({ runDir: out, trainer });
      log(`dashboard: ${dashboard.url}`);
    }
    attachProgress(trainer, { json: flags.json ?? false, epochs: flags.epochs, out: process.stdout });

    let interrupts = 0;
    const onSigint = () => {
      if (++interrupts > 1) process.exit(130);
      log('\nstopping after this step (Ctrl-C again to quit at once)…');
      trainer.stop('interrupted (Ctrl-C); a checkpoint was saved');
    };
    process.on('SIGINT', onSigint);
    const history = await trainer.fit(train);
    process.off('SIGINT', onSigint);
    await recorder.settled(); // on a device, the last snapshot's predictions

    writeFileAtomic(join(out, 'history.json'), JSON.stringify(history));
    const modelPath = join(out, 'model.safetensors');
    saveModel(modelPath, net, { classNames: train.classNames, preprocessing: { scale: 1 / 255, ...(standardization ?? {}),
      ...(flags.imageSize ? { resize: flags.imageSize } : {}) } });
    // A run stopped by a NaN may end before its first checkpoint: name only a file that exists.
    const checkpointSaved = existsSync(checkpointPath) ? checkpointPath : null;
    const diverged = history.stopReason === 'non_finite';
    const result: Record<string, unknown> = { out, model: modelPath, checkpoint: checkpointSaved, stopReason: history.stopReason,
      epochs: history.epochs.length, seconds: (performance.now() - started) / 1000 };
    if (test && history.stopReason !== 'user' && !diverged) {
      const ev = await evaluateAsync(net, test);
      result.test = { accuracy: ev.accuracy, loss: ev.loss, count: ev.count, confusion: ev.confusion };
      if (!flags.json) {
        log(`\ntest accuracy ${percent(ev.accuracy)} (${Math.round(ev.accuracy * ev.count).toLocaleString('en-US')}/${ev.count.toLocaleString('en-US')}), ` +
          `test loss ${ev.loss.toFixed(4)}`);
        log(`confusion matrix (rows: true class, columns: predicted):\n${confusionTable(ev.confusion, train.classNames)}`);
      }
    }
    // The final results reach the run's files, so the dashboard (live or reopened) shows them.
    recorder.saveResults({ stopReason: history.stopReason ?? 'epochs', stopMessage: history.stopMessage, epochs: history.epochs.length,
      seconds: result.seconds as number, model: modelPath, test: result.test as RunResults['test'] });
    if (flags.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else log(`\nmodel saved to ${modelPath}; checkpoint ${checkpointSaved ?? 'none (no finite one was taken)'}; ${((performance.now() - started) / 1000).toFixed(1)} s in all`);
    if (dashboard) {
      // On a terminal the dashboard stays up to be looked at; in a pipe or CI the command ends once
      // the open pages have the run's last lines (or after a few seconds).
      await dashboard.finish(process.stdout.isTTY ? 0 : 5000);
      dashboardFinished = true;
      if (process.stdout.isTTY) {
        log(`the dashboard stays at ${dashboard.url} — Ctrl-C to quit`);
        await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
      }
    }
    // The files hold the last finite state; the run itself failed.
    if (diverged) throw new DescentError(history.stopMessage ?? 'training stopped on a non-finite number');
  } finally {
    // A run that ends in an error still lets the open pages see its last events.
    if (dashboard && !dashboardFinished) await dashboard.finish(2000);
    await dashboard?.close();
    await engine.dispose();
  }
}

/** --augment (shifts), --crop (pad and crop, the CIFAR recipe) and --flip, drawn from the run's generator. */
function augmentOptions(flags: TrainFlags): AugmentOptions | undefined {
  const options: AugmentOptions = {
    ...(flags.augment > 0 ? { shift: flags.augment } : {}),
    ...(flags.crop > 0 ? { crop: { padding: flags.crop } } : {}),
    ...(flags.flip ? { flip: true } : {}),
  };
  return Object.keys(options).length > 0 ? options : undefined;
}
