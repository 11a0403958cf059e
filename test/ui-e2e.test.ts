/**
 * The dashboard end to end, in real headless Chromium (Debian's `chromium`, driven by playwright-core):
 * a short training run with the recorder and the server; the page receives the loss curve live;
 * ÷10 changes the trainer's rate at the next step (checked in the run's files); pause and resume;
 * stop saves a checkpoint; the finished run reopens from its files alone. Screenshots go to
 * test-artifacts/.
 *
 * Without Chromium the test is skipped with a message, except under CI (CI set), where it must run.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { Rng } from '../src/core/rng.js';
import type { Dataset } from '../src/data/dataset.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { Trainer } from '../src/train/trainer.js';
import { uiCommand } from '../src/ui/cli-ui.js';
import { RunRecorder } from '../src/ui/run-recorder.js';
import { startDashboard } from '../src/ui/server.js';
import { CHROMIUM, chromiumSkip, readJsonLines, until } from './helpers.js';
import { patches, smallNet } from './synthetic.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const readLines = readJsonLines;

/** The patches task with extra pixel noise, so that some validation points stay uncertain or wrong. */
function noisy(ds: Dataset, sigma: number, seed: number): Dataset {
  const rng = new Rng(seed);
  return { ...ds, x: ds.x.map((v) => v + sigma * rng.normal()) };
}

const points = (page: Page) => page.$eval('#chart-loss', (e) => Number((e as HTMLElement).dataset.points));

describe('dashboard in a real browser', () => {
  it('follows a live run, and its controls steer the trainer', { skip: chromiumSkip, timeout: 180_000 }, async () => {
    // The browser first: if it cannot start, nothing else has started either.
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    const dir = join(mkdtempSync(join(tmpdir(), 'descent-e2e-')), 'run');
    const validation = noisy(patches(240, 12), 0.7, 13);
    let recorder: RunRecorder | null = null;
    const trainer = new Trainer(smallNet(5), {
      epochs: 100_000,
      batchSize: 16,
      optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
      validation,
      earlyStopping: { monitor: 'val_error', patience: 100_000 },
      maxSeconds: 150,
      onCheckpoint: (bytes, where) => recorder!.saveCheckpoint(bytes, where),
    });
    // Slow the tiny model down to a few hundred steps a second, without burning CPU.
    const sleeper = new Int32Array(new SharedArrayBuffer(4));
    trainer.on('step', () => void Atomics.wait(sleeper, 0, 0, 4));
    recorder = new RunRecorder(dir, trainer, { validation });
    const dash = await startDashboard({ runDir: dir, trainer });
    const fitting = trainer.fit(noisy(patches(960, 11), 0.7, 14));
    const errors: string[] = [];
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()}`);
      });
      await page.goto(dash.url);

      // The loss chart receives points, and the epoch views (simplex, filters) fill in.
      await page.waitForFunction(() => Number((document.querySelector('#chart-loss') as HTMLElement).dataset.points) > 20);
      await page.waitForSelector('#simplex circle.pt');
      await page.waitForSelector('#filters canvas');
      assert.equal(await page.textContent('#status'), 'training');
      const before = await points(page);
      await page.waitForFunction((n) => Number((document.querySelector('#chart-loss') as HTMLElement).dataset.points) > n, before);

      // ÷10: the trainer's rate changes at the next step, as the run's files show.
      const lr0 = trainer.lr;
      await page.click('#btn-divide');
      const lrEvent = await until('the lr event', () => readLines(recorder!.file('events')).find((e) => e.type === 'lr' && e.source === 'manual'));
      assert.equal(lrEvent.from, lr0);
      assert.ok(Math.abs(lrEvent.to - lr0 / 10) < 1e-12, `lr ${lrEvent.from} → ${lrEvent.to}`);
      const stepAfter = await until('the step after the change', () =>
        readLines(recorder!.file('metrics')).find((m) => m.type === 'step' && m.step === lrEvent.step + 1));
      assert.ok(Math.abs(stepAfter.lr - lr0 / 10) < 1e-12, `step ${stepAfter.step} ran at ${stepAfter.lr}`);
      const stepBefore = readLines(recorder.file('metrics')).find((m) => m.type === 'step' && m.step === lrEvent.step);
      if (stepBefore) assert.equal(stepBefore.lr, lr0);
      assert.ok(readLines(recorder.file('events')).some((e) => e.type === 'command' && e.action === 'divide'));
      await page.waitForFunction(() => document.querySelector('#events tbody')!.textContent!.includes('0.05 → 0.005'));
      await page.waitForFunction(() => document.querySelector('#stat-lr')!.textContent === '0.005');

      // Pause: no more steps; resume: they go on.
      await page.click('#btn-pause');
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'paused');
      assert.equal(await page.textContent('#btn-pause'), 'Resume');
      assert.equal(trainer.paused, true);
      const pause = await until('the pause event', () => readLines(recorder!.file('events')).find((e) => e.type === 'pause'));
      await new Promise((r) => setTimeout(r, 600));
      const pausedAt = readLines(recorder.file('metrics')).filter((m) => m.type === 'step').length;
      assert.ok(pausedAt <= pause.step + 1, `${pausedAt} steps recorded, paused at step ${pause.step}`);
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(readLines(recorder.file('metrics')).filter((m) => m.type === 'step').length, pausedAt, 'steps ran while paused');
      await page.click('#btn-pause');
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'training');
      assert.ok(readLines(recorder.file('events')).some((e) => e.type === 'resume'));
      await until('steps after resuming', () => readLines(recorder!.file('metrics')).filter((m) => m.type === 'step').length > pausedAt + 50);

      // A bad value typed into the page is refused before it is sent; the rate stays.
      await page.fill('#input-lr', '-3');
      await page.click('#form-lr button');
      assert.match((await page.textContent('#control-message'))!, /positive number/);
      assert.ok(Math.abs(trainer.lr - lr0 / 10) < 1e-12);

      // Let the markers and curves settle, then keep a picture of the live page.
      await new Promise((r) => setTimeout(r, 1200));
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });

      // Stop: a checkpoint lands in the run directory and the run ends as the user's stop.
      await page.click('#btn-stop');
      await page.click('#btn-stop-yes');
      const history = await fitting;
      assert.equal(history.stopReason, 'user');
      const checkpoint = recorder.file('checkpoint');
      assert.ok(existsSync(checkpoint), 'no checkpoint file');
      const snapshot = decodeCheckpoint(new Uint8Array(readFileSync(checkpoint)), checkpoint);
      const events = readLines(recorder.file('events'));
      const saved = events.find((e) => e.type === 'checkpoint');
      assert.equal(saved?.file, 'checkpoint.safetensors');
      assert.equal(saved?.reason, 'stop');
      assert.equal(snapshot.position?.step, saved?.step);
      assert.deepEqual(events.filter((e) => ['stop', 'checkpoint', 'end'].includes(e.type)).map((e) => e.type), ['stop', 'checkpoint', 'end']);
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'stopped');
      assert.equal(await page.isDisabled('#btn-divide'), true);
      const totalSteps = readLines(recorder.file('metrics')).filter((m) => m.type === 'step').length;
      await page.waitForFunction((n) => Number((document.querySelector('#chart-loss') as HTMLElement).dataset.points) === n, totalSteps);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-stopped.png'), fullPage: true });

      // The finished run reopens from its files alone and shows the same curves, read-only.
      const reopened = await uiCommand(dir, { log: () => {} });
      try {
        const again = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
        again.on('pageerror', (e) => errors.push(`reopened page error: ${e.message}`));
        await again.goto(reopened.url);
        await again.waitForFunction((n) => Number((document.querySelector('#chart-loss') as HTMLElement).dataset.points) === n, totalSteps);
        await again.waitForSelector('#simplex circle.pt');
        assert.equal(await again.textContent('#status'), 'stopped');
        assert.equal(await again.isDisabled('#btn-pause'), true);
        assert.match((await again.textContent('#control-message'))!, /Read-only/);
        const rows = await again.$$eval('#events tbody tr', (trs) => trs.length);
        assert.equal(rows, events.length);
      } finally {
        await reopened.close();
      }
      assert.deepEqual(errors, []);
    } finally {
      trainer.stop('test over');
      await fitting.catch(() => {});
      await browser.close();
      await dash.close();
      recorder.close();
    }
  });
});
