/** Training as section 4 of the notes describes it, with the controls and guarantees users rely on. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LrEvent, StepEvent } from '../src/train/events.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { Trainer, fit } from '../src/train/trainer.js';
import { EarlyStopping } from '../src/train/early-stopping.js';
import { resumeRunOptions } from './resume-options.js';
import { patches, smallNet } from './synthetic.js';

describe('Trainer', () => {
  it('learns a separable task end to end: the risk goes down and the error reaches a clear threshold', async () => {
    const net = smallNet(1);
    const history = await fit(net, patches(300, 1), { epochs: 6, batchSize: 16, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9 }, validation: patches(100, 2) });
    const first = history.epochs[0], last = history.epochs.at(-1)!;
    assert.ok(last.loss < first.loss / 2, `risk ${first.loss} → ${last.loss}`);
    assert.ok(last.valError! <= 0.03, `validation error ${last.valError}`);
    for (const key of ['loss', 'error', 'valLoss', 'valError', 'stepSize', 'lossChange', 'lr', 'imagesPerSecond'] as const) {
      assert.equal(typeof last[key], 'number', key);
    }
    assert.equal(history.stepLosses.length, 6 * Math.ceil(300 / 16));
  });

  it('online learning (B = 1) and full-batch learning (B = N, accumulated in chunks) both train', async () => {
    const online = await fit(smallNet(2), patches(40, 5), { epochs: 2, batchSize: 1, optimizer: { kind: 'sgd', lr: 0.02 } });
    assert.equal(online.stepLosses.length, 80);
    const full = await fit(smallNet(2), patches(64, 5), { epochs: 30, batchSize: 'full', microBatch: 20, optimizer: { kind: 'adam', lr: 0.02 } });
    assert.equal(full.stepLosses.length, 30);
    assert.ok(full.stepLosses[29] < full.stepLosses[0] * 0.6, `${full.stepLosses[0]} → ${full.stepLosses[29]}`);
  });

  it('full batch in chunks gives the same gradient as one big batch', async () => {
    const a = smallNet(3, false), b = smallNet(3, false);
    const data = patches(30, 6);
    await fit(a, data, { epochs: 1, batchSize: 'full', shuffle: false, optimizer: { kind: 'sgd', lr: 0.1 } });
    await fit(b, data, { epochs: 1, batchSize: 'full', microBatch: 7, shuffle: false, optimizer: { kind: 'sgd', lr: 0.1 } });
    const wa = a.getWeights(), wb = b.getWeights();
    for (let i = 0; i < wa.length; i++) assert.ok(Math.abs(wa[i] - wb[i]) < 1e-6);
  });

  it('a manual ÷10 issued mid-epoch takes effect at the next step and is recorded as an event', async () => {
    const trainer = new Trainer(smallNet(4), { epochs: 1, batchSize: 10, optimizer: { kind: 'sgd', lr: 0.05 } });
    const steps: StepEvent[] = [];
    trainer.on('step', (e) => {
      steps.push(e);
      if (e.step === 5) trainer.scaleLearningRate(0.1);
    });
    const history = await trainer.fit(patches(100, 7));
    assert.equal(steps[4].lr, 0.05);
    assert.ok(Math.abs(steps[5].lr - 0.005) < 1e-12, `step 6 ran at ${steps[5].lr}`);
    assert.ok(steps.slice(5).every((s) => Math.abs(s.lr - 0.005) < 1e-12));
    const lr = history.events.filter((e): e is LrEvent => e.type === 'lr');
    assert.deepEqual(lr.map((e) => [e.step, e.source, e.from]), [[5, 'manual', 0.05]]);
  });

  it('a manual rate survives a step schedule: the milestone still divides the chosen rate by 10', async () => {
    const trainer = new Trainer(smallNet(4), { epochs: 2, batchSize: 10, optimizer: { kind: 'sgd', lr: 0.1 }, schedule: { kind: 'multistep', milestones: [1] } });
    const lrs: number[] = [];
    trainer.on('step', (e) => {
      lrs.push(e.lr);
      if (e.step === 2) trainer.setLearningRate(0.04);
    });
    await trainer.fit(patches(50, 8));
    assert.deepEqual(lrs.map((v) => +v.toPrecision(6)), [0.1, 0.1, 0.04, 0.04, 0.04, 0.004, 0.004, 0.004, 0.004, 0.004]);
  });

  it('pause holds training until resume; stop ends it after the current step and hands over a checkpoint', async () => {
    let checkpoints = 0;
    const trainer = new Trainer(smallNet(5), { epochs: 5, batchSize: 10, onCheckpoint: () => checkpoints++ });
    let pausedAt = -1;
    trainer.on('step', (e) => {
      if (e.step === 3) {
        trainer.pause();
        pausedAt = e.step;
        setTimeout(() => {
          assert.equal(trainer.history.stepLosses.length, 3, 'no step while paused');
          trainer.resume();
        }, 30);
      }
      if (e.step === 7) trainer.stop();
    });
    const history = await trainer.fit(patches(100, 9));
    assert.equal(pausedAt, 3);
    assert.equal(history.stopReason, 'user');
    assert.equal(history.stepLosses.length, 7);
    assert.equal(checkpoints, 1);
    assert.deepEqual(history.events.map((e) => e.type), ['pause', 'resume', 'stop', 'end'], 'a checkpoint is emitted, not kept in the history');
  });

  it('early stopping stops at the right epoch on a scripted validation curve and restores the best w', async () => {
    const curve = [0.5, 0.4, 0.3, 0.35, 0.32, 0.31, 0.1];
    const weightsAt: Float32Array[] = [];
    const net = smallNet(6);
    const history = await fit(net, patches(40, 10), {
      epochs: 7, batchSize: 8, earlyStopping: { monitor: 'val_error', patience: 2 },
      validate: (model, epoch) => {
        weightsAt[epoch] = model.getWeights();
        return { loss: curve[epoch - 1], error: curve[epoch - 1] };
      },
    });
    assert.equal(history.epochs.length, 6, 'epochs 4, 5, 6 fail to beat epoch 3: stop after patience 2 is exceeded');
    assert.equal(history.stopReason, 'early_stopping');
    assert.deepEqual(net.getWeights(), weightsAt[3]);
    assert.notDeepEqual(weightsAt[6], weightsAt[3]);
  });

  it('the notes\' closing advice: Adam early, then plain SGD with a small fixed step once progress flattens', async () => {
    const curve = [0.5, 0.4, 0.41, 0.42, 0.3, 0.2];
    const trainer = new Trainer(smallNet(6), {
      epochs: 6, batchSize: 8, optimizer: { kind: 'adam', lr: 0.01 }, schedule: { kind: 'adam-then-sgd', patience: 1, sgdLr: 0.002 },
      validate: (_m, epoch) => ({ loss: curve[epoch - 1], error: curve[epoch - 1] }),
    });
    const lrs: Array<[number, number]> = [];
    trainer.on('step', (e) => lrs.push([e.epoch, e.lr]));
    const history = await trainer.fit(patches(40, 10));
    const switches = history.events.filter((e): e is LrEvent => e.type === 'lr' && e.source === 'switch');
    assert.equal(switches.length, 1);
    assert.equal(switches[0].optimizer, 'sgd');
    assert.equal(switches[0].epoch, 3, 'epochs 3 and 4 fail to improve on 0.4: the switch comes after epoch 4');
    assert.equal(trainer.optimizer.kind, 'sgd');
    assert.ok(lrs.filter(([epoch]) => epoch >= 4).every(([, lr]) => lr === 0.002));
    assert.ok(lrs.filter(([epoch]) => epoch < 4).every(([, lr]) => lr === 0.01));
  });

  it('reduce-on-plateau divides the rate when the validation loss stops improving', async () => {
    const curve = [0.5, 0.4, 0.45, 0.45, 0.3];
    const trainer = new Trainer(smallNet(6), {
      epochs: 5, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.1 }, schedule: { kind: 'plateau', patience: 1, factor: 0.1 },
      validate: (_m, epoch) => ({ loss: curve[epoch - 1], error: curve[epoch - 1] }),
    });
    const history = await trainer.fit(patches(40, 10));
    const lr = history.events.filter((e): e is LrEvent => e.type === 'lr');
    assert.deepEqual(lr.map((e) => [e.source, +e.to.toPrecision(6)]), [['plateau', 0.01]]);
    assert.deepEqual(history.epochs.map((e) => +e.lr.toPrecision(6)), [0.1, 0.1, 0.1, 0.1, 0.01], 'epochs 3 and 4 do not improve: patience 1 is exceeded after epoch 4');
  });

  it('EarlyStopping honours minDelta', () => {
    const es = new EarlyStopping({ patience: 1, minDelta: 0.05 });
    const w = new Float32Array(1), b = new Float32Array(0);
    assert.equal(es.update(1, 0.5, w, b), false);
    assert.equal(es.update(2, 0.47, w, b), false); // not enough: wait 1
    assert.equal(es.update(3, 0.46, w, b), true);
    assert.equal(es.bestEpoch, 1);
  });

  it('the classic criteria stop training: small step size, small loss change', async () => {
    const a = await fit(smallNet(7), patches(30, 11), { epochs: 50, batchSize: 30, optimizer: { kind: 'sgd', lr: 1e-6 }, stopWhen: { stepSize: 1e-3 } });
    assert.equal(a.stopReason, 'step_size');
    assert.equal(a.epochs.length, 1);
    const b = await fit(smallNet(7, false), patches(30, 11), { epochs: 50, batchSize: 30, optimizer: { kind: 'sgd', lr: 1e-6 }, stopWhen: { lossChange: 1e-3 } });
    assert.equal(b.stopReason, 'loss_change');
    assert.equal(b.epochs.length, 2);
  });

  it('maxSteps bounds the run', async () => {
    const h = await fit(smallNet(7), patches(30, 11), { epochs: 50, batchSize: 5, maxSteps: 9 });
    assert.equal(h.stopReason, 'max_steps');
    assert.equal(h.stepLosses.length, 9);
  });

  // Non-finite numbers in training: trainer-nonfinite.test.ts, on both engines.

  it('two runs with the same seed give bitwise identical weights; another seed gives others', async () => {
    const run = async (seed: number) => {
      const net = smallNet(seed);
      await fit(net, patches(80, 13), { epochs: 2, batchSize: 8, augment: { shift: 1 } });
      return net.getWeights();
    };
    const [a, b, c] = [await run(9), await run(9), await run(10)];
    assert.deepEqual(Buffer.from(a.buffer), Buffer.from(b.buffer));
    assert.notDeepEqual(Buffer.from(a.buffer), Buffer.from(c.buffer));
  });

  it('rejects bad options and mismatched data with clear messages', async () => {
    assert.throws(() => new Trainer(smallNet(1), { batchSize: 0 }), /batchSize must be a positive integer, got 0/);
    assert.throws(() => new Trainer(smallNet(1), { optimizer: { kind: 'sgd', lr: -1 } }), /lr must be/);
    await assert.rejects(fit(smallNet(1), patches(10, 1, 3, 4), {}), /the data's images are \[4, 4, 1\], the network takes \[8, 8, 1\]/);
    await assert.rejects(fit(smallNet(1), patches(10, 1), { earlyStopping: {} }), /early stopping watches val_error, but there is no validation data/);
    const t = new Trainer(smallNet(1));
    assert.throws(() => t.setLearningRate(Number.NaN), /learning rate must be a positive finite number/);
  });
});

describe('checkpoints', () => {
  it('kill and resume in a fresh process ends bitwise identical to an uninterrupted run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'descent-resume-'));
    const worker = fileURLToPath(new URL('./resume-worker.js', import.meta.url));
    const net = smallNet(21);
    await new Trainer(net, resumeRunOptions()).fit(patches(150, 3));
    const uninterrupted = new Uint8Array(net.getWeights().buffer);
    for (const stopAt of [4, 10, 17]) { // mid-epoch 1, exactly at the end of epoch 1 (10 steps), mid-epoch 2
      const ckpt = join(dir, `run-${stopAt}.ckpt`), out = join(dir, `w-${stopAt}.bin`);
      execFileSync(process.execPath, [worker, 'first', ckpt, out, String(stopAt)]);
      execFileSync(process.execPath, [worker, 'resume', ckpt, out]);
      assert.deepEqual(new Uint8Array(readFileSync(out)), uninterrupted, `resumed after step ${stopAt}`);
    }
  });

  it('a truncated or corrupted checkpoint is refused, never half-loaded', async () => {
    let bytes: Uint8Array | null = null;
    const trainer = new Trainer(smallNet(1), { epochs: 1, batchSize: 10, checkpointEvery: { epochs: 1 }, onCheckpoint: (b) => (bytes = b) });
    await trainer.fit(patches(30, 1));
    const good = bytes!;
    assert.equal(decodeCheckpoint(good).position?.epoch, 1);
    assert.throws(() => decodeCheckpoint(good.subarray(0, good.length - 100), 'run.ckpt'), /run.ckpt is not a readable checkpoint/);
    const flipped = good.slice();
    flipped[flipped.length - 5] ^= 0x40;
    assert.throws(() => decodeCheckpoint(flipped, 'run.ckpt'), /run.ckpt is corrupted: checksum/);
    const other = new Trainer(smallNet(1), { epochs: 2, batchSize: 10 });
    other.restore(good);
    await assert.rejects(other.fit(patches(40, 1)), /the checkpoint was taken on 30 training samples, this data has 40/);
    const fresh = new Trainer(smallNet(1));
    const before = fresh.model.getWeights();
    assert.throws(() => fresh.restore(flipped, 'run.ckpt'), /corrupted/);
    assert.deepEqual(fresh.model.getWeights(), before, 'nothing was loaded');
  });
});
