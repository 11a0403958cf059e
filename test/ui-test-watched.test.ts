/**
 * A run without validation data shows the test set on the dashboard, labelled as watched only: the
 * recorder evaluates it per epoch (views, loss and error curves) and nothing the trainer decides reads it.
 * `descent train --ui` without a validation split gets it; a plain run neither pays for it nor changes.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { encodeIdx } from '../src/data/idx.js';
import { evaluate } from '../src/train/evaluate.js';
import { type FitOptions, Trainer } from '../src/train/trainer.js';
import { RunRecorder } from '../src/ui/run-recorder.js';
import { cliIn, spawnCli } from './cli-run.js';
import { CHROMIUM, chromiumSkip, readJsonLines } from './helpers.js';
import { noisy, patches, smallNet } from './synthetic.js';

const tempRun = () => join(mkdtempSync(join(tmpdir(), 'descent-watch-')), 'run');

// Decisions that could read held-out data if it leaked: a plateau schedule and early stopping with best weights.
const options = (): FitOptions => ({ epochs: 4, batchSize: 16, optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
  schedule: { kind: 'plateau', patience: 0, factor: 0.5 },
  earlyStopping: { monitor: 'train_loss', patience: 1, restoreBestWeights: true } });

describe('the watched test set (a run without validation data)', () => {
  const train = patches(160, 21), test = noisy(patches(60, 22), 0.7, 5);

  it('shows the test set\'s views and per-epoch curves, and the run is bitwise the one without them', async () => {
    const plain = new Trainer(smallNet(3), options());
    const plainHistory = await plain.fit(train);

    const trainer = new Trainer(smallNet(3), options());
    const recorder = new RunRecorder(tempRun(), trainer, { train, test, samples: 20, misclassified: 5 });
    const history = await trainer.fit(train);
    recorder.close();

    // Nothing the trainer decides reads the test set: same weights, same rates, same ending.
    assert.deepEqual(Array.from(trainer.model.w), Array.from(plain.model.w));
    assert.deepEqual(history.epochs.map((e) => e.lr), plainHistory.epochs.map((e) => e.lr));
    assert.equal(history.stopReason, plainHistory.stopReason);

    const run = JSON.parse(readFileSync(recorder.file('run'), 'utf8'));
    assert.equal(run.validation, null);
    assert.deepEqual(run.testWatched, { count: 60 });

    const epochs = readJsonLines(recorder.file('metrics')).filter((m) => m.type === 'epoch');
    assert.equal(epochs.length, history.epochs.length);
    assert.ok(epochs.every((e) => typeof e.testLoss === 'number' && typeof e.testError === 'number' && e.valError === undefined));

    const snap = JSON.parse(readFileSync(recorder.file('snapshot'), 'utf8'));
    assert.equal(snap.validation, null);
    const t = snap.testWatched;
    assert.equal(t.total, 60);
    assert.equal(t.evaluated, 60);
    assert.equal(t.points.p.length, 20);
    assert.ok(t.misclassified.length <= 5);
    // The views are the test set's own evaluation of the final model (the check fails on any other data).
    const ev = evaluate(trainer.model, test);
    assert.ok(ev.error > 0, 'some test mistakes, so the views have something to show');
    assert.deepEqual(t.confusion, ev.confusion);
    assert.equal(t.error, ev.error);
    assert.ok(Math.abs(t.loss - ev.loss) <= 1e-4 * ev.loss + 1e-6, `loss ${t.loss} vs ${ev.loss}`);
    const other = evaluate(trainer.model, noisy(patches(60, 23), 0.7, 6));
    assert.notDeepEqual(t.confusion, other.confusion, 'a different set\'s matrix is told apart');
    assert.equal(epochs.at(-1)!.testError, Number(ev.error.toPrecision(7)));
  });

  it('with validation data the dashboard stays as it was: the test set is not evaluated', async () => {
    const trainer = new Trainer(smallNet(3), { ...options(), validationSplit: 0.25, splitSeed: 4 });
    const recorder = new RunRecorder(tempRun(), trainer, { train, test });
    await trainer.fit(train);
    recorder.close();
    assert.equal(recorder.testWatched, null);
    const run = JSON.parse(readFileSync(recorder.file('run'), 'utf8'));
    assert.equal(run.testWatched, null);
    assert.equal(run.validation.count, 40);
    const snap = JSON.parse(readFileSync(recorder.file('snapshot'), 'utf8'));
    assert.equal(snap.testWatched, null);
    assert.equal(snap.validation.total, 40);
    const epochs = readJsonLines(recorder.file('metrics')).filter((m) => m.type === 'epoch');
    assert.ok(epochs.every((e) => e.testLoss === undefined && typeof e.valError === 'number'));
  });
});

/** A folder with a tiny model, 120 training and 120 noisier test idx images, for `descent train`. */
function cliWork(): string {
  const work = mkdtempSync(join(tmpdir(), 'descent-watch-cli-'));
  for (const [name, data] of [['train', patches(120, 1)], ['test', noisy(patches(120, 3), 0.8, 2)]] as const) {
    const bytes = Uint8Array.from(data.x, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
    writeFileSync(join(work, `${name}-images.idx`), encodeIdx({ type: 'ubyte', dims: [120, 8, 8], data: bytes }));
    writeFileSync(join(work, `${name}-labels.idx`), encodeIdx({ type: 'ubyte', dims: [120], data: data.labels }));
  }
  writeFileSync(join(work, 'tiny.json'), JSON.stringify({ layers: [
    { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' }] }));
  return work;
}
const TRAIN = ['train', '--model', 'tiny.json', '--data', 'idx:train-images.idx,train-labels.idx',
  '--test', 'idx:test-images.idx,test-labels.idx', '--engine', 'reference', '--epochs', '80',
  '--batch-size', '8', '--validation-split', '0', '--no-early-stopping'];

describe('descent train --ui without a validation split', { skip: chromiumSkip }, () => {
  it('shows the test set labelled as watched only, and trains the same weights as a plain run', { timeout: 120_000 }, async () => {
    const work = cliWork();
    const plain = cliIn(work)(...TRAIN, '--out', 'plain');
    assert.equal(plain.status, 0, plain.stderr);
    assert.equal(JSON.parse(readFileSync(join(work, 'plain', 'run.json'), 'utf8')).testWatched, null, 'a plain run does not evaluate it');

    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const cli = spawnCli(work, [...TRAIN, '--out', 'ui', '--ui']);
    try {
      const url = await cli.dashboardUrl();
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(url);
      // Hold the run while the page is surely connected (pausing changes nothing the run computes); 80 epochs so
      // that a loaded machine cannot finish the run before the page has seen it training.
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'training');
      await page.click('#btn-pause');
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'paused');
      await page.click('#btn-pause');
      assert.equal(await cli.exited, 0, cli.out.stderr);
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'finished', null, { timeout: 10_000 });
      await page.waitForFunction(() => /test set: held out, watched only/.test(document.querySelector('#confusion-note')!.textContent!), null, { timeout: 10_000 });

      assert.equal(await page.textContent('#simplex-hint'), 'test points at their p');
      assert.match((await page.textContent('#simplex-note'))!, /points shown.*test set: held out, watched only, never used for a decision/);
      assert.equal(await page.textContent('#misclassified-title'), 'Misclassified test examples');
      assert.match((await page.textContent('#misclassified-note'))!, /never used for a decision/);
      assert.ok(await page.$$eval('#misclassified figure', (f) => f.length) > 0, 'the test set\'s mistakes are shown');
      assert.equal(await page.$$eval('#confusion td', (tds) => tds.reduce((a, td) => a + Number(td.textContent), 0)), 120);
      const legend = await page.$$eval('#chart-error .u-legend .u-series', (s) => s.map((x) => x.textContent).join(' | '));
      assert.match(legend, /test \(watched only\)/);
      assert.match((await page.textContent('#stat-val-label'))!, /test error \(watched\)/);
      assert.doesNotMatch((await page.textContent('main'))!, /No validation data was recorded/);
      assert.deepEqual(errors, []);
    } finally {
      cli.child.kill();
      await browser.close();
    }
    const epochs = readJsonLines(join(work, 'ui', 'metrics.jsonl')).filter((m) => m.type === 'epoch');
    assert.ok(epochs.length === 80 && epochs.every((e) => typeof e.testError === 'number'));
    // The dashboard only watched: the saved weights are bitwise those of the plain run.
    assert.deepEqual(readFileSync(join(work, 'ui', 'model.safetensors')), readFileSync(join(work, 'plain', 'model.safetensors')));
  });
});
