/**
 * The dashboard's views in real headless Chromium, at 1440 px and on a 390 px phone: every cell of a
 * 10-class confusion matrix is visible (or reachable by scrolling), the test set's results and the
 * per-layer norms reach the page, CSV and PNG export; a piped `descent train --ui` run's page receives
 * the final events before the server goes; two runs of a folder compared on one page. Screenshots
 * go to test-artifacts/.
 *
 * Without Chromium the tests are skipped with a message, except under CI (CI set), where they must run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium, type Page } from 'playwright-core';
import { encodeIdx } from '../src/data/idx.js';
import { Sequential } from '../src/network/sequential.js';
import { evaluate } from '../src/train/evaluate.js';
import { Trainer } from '../src/train/trainer.js';
import { uiCommand } from '../src/ui/cli-ui.js';
import { RunRecorder } from '../src/ui/run-recorder.js';
import { CHROMIUM, chromiumSkip } from './helpers.js';
import { patches } from './synthetic.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const VIEWPORTS = [{ name: 'desktop', width: 1440, height: 900 }, { name: 'phone', width: 390, height: 844 }];

type Line = Record<string, any>;
const readLines = (file: string): Line[] =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Line);

/** A 10-class run recorded in `dir` (validation each epoch, norms, the test set's results). */
async function tenClassRun(dir: string, lr = 0.05, seed = 3): Promise<void> {
  const net = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: [
    { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 10 }, { type: 'Softmax' }] }, { seed });
  const validation = patches(400, 31, 10), test = patches(500, 32, 10);
  const trainer = new Trainer(net, { epochs: 3, batchSize: 16, optimizer: { kind: 'sgd', lr, momentum: 0.9 }, validation });
  const recorder = new RunRecorder(dir, trainer, { validation, normsEvery: 5 });
  const history = await trainer.fit(patches(480, 30 + seed, 10));
  const ev = evaluate(net, test);
  recorder.saveResults({ stopReason: history.stopReason!, epochs: history.epochs.length,
    test: { accuracy: ev.accuracy, loss: ev.loss, count: ev.count, confusion: ev.confusion } });
}

/** Cells of the confusion matrix that cannot be seen whole, even after scrolling them into view. */
function hiddenCells(page: Page) {
  return page.evaluate(() => {
    const box = document.querySelector('#confusion') as HTMLElement;
    const cells = Array.from(box.querySelectorAll<HTMLElement>("th, td"));
    const bad: string[] = [];
    // Reachable means: by scrolling the page, or the matrix's box where the user can scroll it.
    const userScroll = /auto|scroll/.test(getComputedStyle(box).overflowX);
    for (const c of cells) {
      window.scrollTo(0, scrollY + c.getBoundingClientRect().top - innerHeight / 2);
      const r0 = c.getBoundingClientRect(), b0 = box.getBoundingClientRect();
      if (userScroll && (r0.right > b0.right || r0.left < b0.left)) box.scrollLeft += r0.left - b0.left - 4;
      const b = box.getBoundingClientRect(), r = c.getBoundingClientRect();
      const inside = r.width > 0 && r.left >= Math.max(0, b.left) - 0.5 && r.right <= Math.min(innerWidth, b.right) + 0.5;
      const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
      const onTop = !!hit && (hit === c || c.contains(hit));
      const clipped = c.scrollWidth > c.clientWidth + 1;
      if (!inside || !onTop || clipped) bad.push(`${c.tagName} "${c.textContent}" at ${Math.round(r.left)}–${Math.round(r.right)} (box ${Math.round(b.left)}–${Math.round(b.right)})${clipped ? ' clipped' : ''}${onTop ? '' : ' covered'}`);
    }
    window.scrollTo(0, 0);
    return { cells: cells.length, bad, scrolls: box.scrollWidth > box.clientWidth + 1, pageOverflow: document.documentElement.scrollWidth - innerWidth };
  });
}

function watchErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
}

describe('dashboard views in a real browser', { skip: chromiumSkip }, () => {
  let browser: Browser;
  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
  });

  it('shows every cell of a 10-class confusion matrix at 1440 px and 390 px, with the test results, norms and exports', { timeout: 120_000 }, async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'descent-views-')), 'ten-classes');
    await tenClassRun(dir);
    const dash = await uiCommand(dir, { log: () => {} });
    const errors: string[] = [];
    try {
      for (const vp of VIEWPORTS) {
        const page = await browser.newPage({ viewport: { width: vp.width, height: vp.height } });
        watchErrors(page, errors);
        await page.goto(dash.url);
        await page.waitForFunction(() => document.querySelectorAll('#confusion td').length === 100);
        await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'finished');

        const validation = await hiddenCells(page);
        assert.equal(validation.cells, 121, `${vp.name}: 100 counts and 21 headers`);
        assert.deepEqual(validation.bad, [], `${vp.name}: hidden cells`);
        assert.equal(validation.scrolls, false, `${vp.name}: 10 classes fit without scrolling`);
        assert.ok(validation.pageOverflow <= 0, `${vp.name}: the page is ${validation.pageOverflow} px wider than the screen`);
        assert.match((await page.textContent('#confusion-note'))!, /validation images/);
        assert.equal(await page.$$eval('#per-class tbody tr', (rs) => rs.length), 10);

        // The test set's matrix, from snapshot.json, and its accuracy among the run's facts.
        await page.click('#btn-cm-test');
        await page.waitForFunction(() => /test images/.test(document.querySelector('#confusion-note')!.textContent!));
        const test = await hiddenCells(page);
        assert.deepEqual(test.bad, [], `${vp.name}: hidden cells of the test matrix`);
        const total = await page.$$eval('#confusion td', (tds) => tds.reduce((a, td) => a + Number(td.textContent), 0));
        assert.equal(total, 500);
        assert.match((await page.textContent('[data-fact="test"]'))!, /accuracy \d+\.\d%, loss .* on 500 images/);
        assert.match((await page.textContent('[data-fact="ended"]'))!, /finished 3 epochs/);

        // Per-layer norms: the conv and the dense layer, over the steps.
        const norms = await page.$$eval('#chart-wnorm .u-legend .u-series', (s) => s.map((x) => x.textContent));
        assert.equal(norms.length, 3, `x and two layers: ${norms.join(' | ')}`);
        await page.screenshot({ path: join(ARTIFACTS, `dashboard-10-classes-${vp.name}.png`), fullPage: true });
        await page.locator('.confusion-card').screenshot({ path: join(ARTIFACTS, `dashboard-confusion-${vp.name}.png`) });

        if (vp.name === 'desktop') {
          // Exports: the steps as CSV, a chart as PNG.
          const [csv] = await Promise.all([page.waitForEvent('download'), page.click('[data-csv="steps"]')]);
          const rows = readFileSync(await csv.path(), 'utf8').trim().split('\n');
          assert.equal(rows[0], 'step,loss,loss_smoothed,lr,step_size,images_per_second');
          assert.equal(rows.length - 1, readLines(join(dir, 'metrics.jsonl')).filter((m) => m.type === 'step').length);
          const [norm] = await Promise.all([page.waitForEvent('download'), page.click('[data-csv="norms"]')]);
          assert.match(readFileSync(await norm.path(), 'utf8').split('\n')[0], /^step,w 1 Conv2d,g 1 Conv2d,w 5 Dense,g 5 Dense$/);
          const [png] = await Promise.all([page.waitForEvent('download'), page.click('[data-png="chart-loss"]')]);
          assert.equal(png.suggestedFilename(), 'ten-classes-loss.png');
          assert.deepEqual([...readFileSync(await png.path()).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
        }

        // The check can fail: a matrix wider than its card, clipped, is caught.
        await page.addStyleTag({ content: '.confusion { overflow: hidden !important } .confusion table { min-width: 1600px !important }' });
        assert.ok((await hiddenCells(page)).bad.length > 0, `${vp.name}: a clipped matrix went unnoticed`);
        await page.close();
      }
      assert.deepEqual(errors, []);
    } finally {
      await dash.close();
    }
  });

  it('a piped `descent train --ui` run\'s page receives the final events and the test results', { timeout: 120_000 }, async () => {
    const work = mkdtempSync(join(tmpdir(), 'descent-piped-'));
    const data = patches(120, 1);
    const bytes = Uint8Array.from(data.x, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
    writeFileSync(join(work, 'images.idx.gz'), gzipSync(encodeIdx({ type: 'ubyte', dims: [120, 8, 8], data: bytes })));
    writeFileSync(join(work, 'labels.idx'), encodeIdx({ type: 'ubyte', dims: [120], data: data.labels }));
    writeFileSync(join(work, 'tiny.json'), JSON.stringify({ layers: [
      { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' }] }));
    const idx = 'idx:images.idx.gz,labels.idx';
    // stdout is a pipe, not a terminal: the command ends after training, once the page has the end.
    const child = spawn(process.execPath, [MAIN, 'train', '--model', 'tiny.json', '--data', idx, '--test', idx, '--engine', 'reference',
      '--epochs', '50', '--no-early-stopping', '--batch-size', '8', '--validation-split', '0.0833', '--out', 'run', '--ui'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const errors: string[] = [];
    try {
      const start = Date.now();
      let url: string | undefined;
      while (!(url = /dashboard: (http\S+)/.exec(stdout)?.[1])) {
        assert.ok(Date.now() - start < 60_000 && child.exitCode === null, `no dashboard address: ${stdout}${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
      watchErrors(page, errors);
      await page.goto(url);
      // Hold the run while the page is surely connected, then let it finish by itself.
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'training');
      await page.click('#btn-pause');
      await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'paused');
      await page.click('#btn-pause');
      assert.equal(await exited, 0, stderr);
      assert.match(stdout, /test accuracy/);

      // The server is gone; what the page has, it received before the server went.
      const steps = readLines(join(work, 'run', 'metrics.jsonl')).filter((m) => m.type === 'step').length;
      await page.waitForFunction((n) => Number((document.querySelector('#chart-loss') as HTMLElement).dataset.points) === n, steps, { timeout: 10_000 });
      assert.equal(steps, 50 * 14, '110 of the 120 images (10 held out for validation), batches of 8');
      assert.equal(await page.textContent('#status'), 'finished');
      assert.match((await page.textContent('[data-fact="test"]'))!, /accuracy \d+\.\d+%, loss .* on 120 images/);
      assert.equal(await page.isVisible('#confusion-pick'), true, 'the test confusion matrix can be shown');
      assert.match((await page.textContent('#events tbody'))!, /ended: finished 50 epochs/);
      const run = JSON.parse(readFileSync(join(work, 'run', 'run.json'), 'utf8'));
      assert.equal(run.results.stopReason, 'epochs');
      assert.equal(typeof run.results.test.accuracy, 'number');
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-piped-finished.png'), fullPage: true });
      assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e)), []);
    } finally {
      child.kill();
    }
  });

  it('compares two runs of a folder on one page, and opens either', { timeout: 120_000 }, async () => {
    const folder = join(mkdtempSync(join(tmpdir(), 'descent-compare-')), 'runs');
    await tenClassRun(join(folder, 'fast'), 0.05, 3);
    await tenClassRun(join(folder, 'slow'), 0.005, 4);
    const dash = await uiCommand(folder, { log: () => {} });
    const errors: string[] = [];
    try {
      for (const vp of VIEWPORTS) {
        const page = await browser.newPage({ viewport: { width: vp.width, height: vp.height } });
        watchErrors(page, errors);
        await page.goto(dash.url);
        await page.waitForSelector('#runs-card:not([hidden])');
        await page.waitForFunction(() => (document.querySelector('#runs-card') as HTMLElement).dataset.compared === 'fast|slow');
        assert.deepEqual(await page.$$eval('#runs tbody a', (as) => as.map((a) => a.textContent)), ['fast', 'slow']);
        // Both runs' curves on the same charts, one series each.
        for (const id of ['cmp-loss', 'cmp-val', 'cmp-lr']) {
          const legend = await page.$$eval(`#${id} .u-legend .u-series`, (s) => s.map((x) => x.textContent ?? ''));
          assert.equal(legend.length, 3, `${id}: ${legend.join(' | ')}`);
          assert.ok(legend[1].includes('fast') && legend[2].includes('slow'), `${id}: ${legend.join(' | ')}`);
        }
        // The newest run (by name) is shown below; the other opens with a click.
        await page.waitForFunction(() => document.querySelector('#run-name')!.textContent === 'slow');
        await page.click('#runs tbody a[data-run="fast"]');
        await page.waitForFunction(() => document.querySelector('#run-name')!.textContent === 'fast');
        await page.waitForFunction(() => document.querySelectorAll('#confusion td').length === 100);
        assert.equal(await page.textContent('#status'), 'finished');
        const steps = readLines(join(folder, 'fast', 'metrics.jsonl')).filter((m) => m.type === 'step').length;
        await page.waitForFunction((n) => Number((document.querySelector('#chart-loss') as HTMLElement).dataset.points) === n, steps);
        // Unticking a run takes it off the charts.
        await page.click('#runs tbody input[aria-label="compare slow"]');
        await page.waitForFunction(() => (document.querySelector('#runs-card') as HTMLElement).dataset.compared === 'fast');
        assert.equal(await page.$$eval('#cmp-loss .u-legend .u-series', (s) => s.length), 2);
        await page.click('#runs tbody input[aria-label="compare slow"]');
        await page.waitForFunction(() => (document.querySelector('#runs-card') as HTMLElement).dataset.compared === 'fast|slow');
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
        assert.ok(overflow <= 0, `${vp.name}: the page is ${overflow} px wider than the screen`);
        await page.screenshot({ path: join(ARTIFACTS, `dashboard-compare-${vp.name}.png`), fullPage: true });
        await page.locator('#runs-card').screenshot({ path: join(ARTIFACTS, `dashboard-runs-${vp.name}.png`) });
        await page.close();
      }
      assert.deepEqual(errors, []);
    } finally {
      await dash.close();
    }
  });
});

