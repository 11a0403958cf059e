/**
 * The dashboard on a graph network: the recorder names each weighted node's norm series by its
 * node name (a node without a name keeps its number), and a piped `descent train --ui` run of a
 * small residual network (identity and projection shortcuts, batch norm) shows those series in real
 * headless Chromium (the legends of its many series scroll), while ÷10, pause, resume and stop steer
 * it (checked in the run's files).
 * A screenshot goes to test-artifacts/.
 *
 * Without Chromium the browser test is skipped with a message, except under CI (CI set), where it must run.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { encodeIdx } from '../src/data/idx.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { BatchNorm2d } from '../src/layers/batch-norm.js';
import { Conv2d } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import { GlobalAvgPool } from '../src/layers/global-avg-pool.js';
import { Softmax } from '../src/layers/softmax.js';
import { Graph, residualBlock, residualBlockConfig } from '../src/network/graph.js';
import { Sequential } from '../src/network/sequential.js';
import { Trainer } from '../src/train/trainer.js';
import { RunRecorder } from '../src/ui/run-recorder.js';
import { CLI_MAIN } from './cli-run.js';
import { CHROMIUM, chromiumSkip, readJsonLines, until } from './helpers.js';
import { patches } from './synthetic.js';

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

const readLines = readJsonLines;

/** A small residual network on 8×8 grey images: a stem, an identity block, a projection block. */
const residualSpec: LayerConfig[] = [
  { name: 'stem', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { name: 'stem.relu', type: 'ReLU' },
  ...residualBlockConfig('b1', { input: 'stem.relu', outChannels: 4 }),
  ...residualBlockConfig('b2', { input: 'b1.relu2', outChannels: 8, stride: 2 }),
  { name: 'pool', type: 'GlobalAvgPool' }, { name: 'fc', type: 'Dense', outFeatures: 3 }, { name: 'softmax', type: 'Softmax' },
];

/** "<node name> <type>" of each node with parameters, in list order. */
function weightedNodes(net: Sequential): string[] {
  return [...new Set(net.paramSlots.map((s) => s.layer))].map((k) => `${net.topology.names[k]} ${net.layers[k].type}`);
}

describe('the run recorder on a graph network', () => {
  it('names each weighted node\'s norms by its node name, and an unnamed node by its number', async () => {
    const net = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: residualSpec }, { seed: 2 });
    const dir = join(mkdtempSync(join(tmpdir(), 'descent-graph-rec-')), 'run');
    const trainer = new Trainer(net, { epochs: 1, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.05 } });
    const recorder = new RunRecorder(dir, trainer, { normsEvery: 2 });
    await trainer.fit(patches(32, 3));
    recorder.close();
    const norms = readLines(recorder.file('metrics')).filter((m) => m.type === 'norms');
    assert.deepEqual(norms[0].layers, weightedNodes(net));
    assert.ok(norms[0].layers.includes('b2.shortcut.conv Conv2d') && norms[0].layers.includes('b1.bn2 BatchNorm2d'));
    assert.ok(norms.at(-1)!.g.every((g: number) => g > 0), 'every node got a gradient');

    // Nodes built without names (the stem's batch norm, the head) keep their numbers from 1.
    const mixed = new Graph([
      { name: 'stem', layer: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1, bias: false }) }, new BatchNorm2d(),
      ...residualBlock('blk', { input: '1', outChannels: 4 }), new GlobalAvgPool(), new Dense({ outFeatures: 3 }), new Softmax(),
    ], { inputShape: [8, 8, 1], seed: 1 });
    const other = join(mkdtempSync(join(tmpdir(), 'descent-graph-rec-')), 'run');
    const t2 = new Trainer(mixed, { epochs: 1, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.05 } });
    const r2 = new RunRecorder(other, t2, { normsEvery: 1 });
    await t2.fit(patches(16, 4));
    r2.close();
    const layers = readLines(r2.file('metrics')).find((m) => m.type === 'norms')!.layers;
    assert.deepEqual([layers[0], layers[1], layers.at(-1)], ['stem Conv2d', '2 BatchNorm2d', '11 Dense']);
    assert.ok(layers.includes('blk.conv1 Conv2d'));
  });
});

describe('the dashboard of a graph network in a real browser', () => {
  it('a piped `descent train --ui` of a residual net shows its node series, and ÷10, pause, resume and stop act',
    { skip: chromiumSkip, timeout: 180_000 }, async () => {
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const work = mkdtempSync(join(tmpdir(), 'descent-graph-ui-'));
      const data = patches(120, 1);
      writeFileSync(join(work, 'images.idx'), encodeIdx({ type: 'ubyte', dims: [120, 8, 8],
        data: Uint8Array.from(data.x, (v) => Math.max(0, Math.min(255, Math.round(v * 255)))) }));
      writeFileSync(join(work, 'labels.idx'), encodeIdx({ type: 'ubyte', dims: [120], data: data.labels }));
      writeFileSync(join(work, 'residual.json'), JSON.stringify({ inputShape: [8, 8, 1], layers: residualSpec }));
      const expected = weightedNodes(Sequential.fromConfig({ inputShape: [8, 8, 1], layers: residualSpec }));
      const idx = 'idx:images.idx,labels.idx';
      const child = spawn(process.execPath, [CLI_MAIN, 'train', '--model', 'residual.json', '--data', idx, '--test', idx,
        '--epochs', '100000', '--no-early-stopping', '--batch-size', '8', '--optimizer', 'sgd', '--lr', '0.02', '--schedule', 'constant',
        '--out', 'run', '--ui'], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      const errors: string[] = [];
      const run = (f: string) => join(work, 'run', f);
      const stepCount = () => readLines(run('metrics.jsonl')).filter((m) => m.type === 'step').length;
      try {
        const url = await until('the dashboard address', () => {
          assert.equal(child.exitCode, null, `descent train ended early: ${stdout}${stderr}`);
          return /dashboard: (http\S+)/.exec(stdout)?.[1];
        }, 60_000);
        const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
        page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
        page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
        await page.goto(url);
        await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'training');

        // One series per weighted node, labelled with its node name, in both norm charts.
        await page.waitForFunction((n) => document.querySelectorAll('#chart-gnorm .u-legend .u-series').length === n + 1, expected.length);
        for (const chart of ['#chart-wnorm', '#chart-gnorm']) {
          const labels = await page.$$eval(`${chart} .u-legend .u-series .u-label`, (s) => s.map((x) => x.textContent));
          const what = chart === '#chart-wnorm' ? '‖w‖' : '‖g‖';
          assert.deepEqual(labels.slice(1), expected.map((name) => `${what} ${name}`));
        }
        // A deep graph's legend scrolls in its card instead of making the page long.
        const legend = await page.$eval('#chart-gnorm .u-legend', (e) => ({ shown: e.clientHeight, whole: e.scrollHeight }));
        assert.ok(legend.shown <= 200 && legend.whole > legend.shown, `legend ${legend.shown} px shown of ${legend.whole}`);
        await page.waitForSelector('#filters canvas');

        // ÷10: the rate of the next step is a tenth, as the run's files show.
        await page.click('#btn-divide');
        const lrEvent = await until('the lr event', () => readLines(run('events.jsonl')).find((e) => e.type === 'lr' && e.source === 'manual'));
        assert.equal(lrEvent.from, 0.02);
        const after = await until('the step after ÷10', () => readLines(run('metrics.jsonl')).find((m) => m.type === 'step' && m.step === lrEvent.step + 1));
        assert.ok(Math.abs(after.lr - 0.002) < 1e-12, `step ${after.step} ran at ${after.lr}`);

        // Pause: the steps stop; resume: they go on.
        await page.click('#btn-pause');
        await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'paused');
        const pause = await until('the pause event', () => readLines(run('events.jsonl')).find((e) => e.type === 'pause'));
        await new Promise((r) => setTimeout(r, 300));
        const pausedAt = stepCount();
        assert.ok(pausedAt <= pause.step + 1, `${pausedAt} steps recorded, paused at step ${pause.step}`);
        await new Promise((r) => setTimeout(r, 700));
        assert.equal(stepCount(), pausedAt, 'steps ran while paused');
        await page.click('#btn-pause');
        await page.waitForFunction(() => document.querySelector('#status')!.textContent === 'training');
        await until('steps after resuming', () => stepCount() > pausedAt + 5);
        mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard-graph.png'), fullPage: true });

        // Stop: a checkpoint, the end, and the command finishes (a person's stop skips the test set) with the model saved.
        await page.click('#btn-stop');
        await page.click('#btn-stop-yes');
        assert.equal(await exited, 0, stderr);
        const events = readLines(run('events.jsonl'));
        assert.deepEqual(events.filter((e) => ['stop', 'end'].includes(e.type) || (e.type === 'checkpoint' && e.reason === 'stop'))
          .map((e) => e.type), ['stop', 'checkpoint', 'end']);
        const results = JSON.parse(readFileSync(run('run.json'), 'utf8')).results;
        assert.equal(results.stopReason, 'user');
        assert.ok(existsSync(run('model.safetensors')) && existsSync(run('checkpoint.safetensors')));
        assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_REFUSED/.test(e)), []);
      } finally {
        child.kill();
        await browser.close();
        rmSync(work, { recursive: true, force: true });
      }
    });
});
