/** The run directory the dashboard reads, and the event stream that follows it. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Trainer } from '../src/train/trainer.js';
import { RunRecorder } from '../src/ui/run-recorder.js';
import { startDashboard } from '../src/ui/server.js';
import { patches, smallNet } from './synthetic.js';

type Line = Record<string, any>;
const readLines = (file: string): Line[] =>
  readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Line);
const tempRun = () => join(mkdtempSync(join(tmpdir(), 'descent-rec-')), 'run');

describe('RunRecorder', () => {
  it('writes run.json, metrics, events, snapshot and the checkpoint, without changing the run', async () => {
    const options = () => ({ epochs: 3, batchSize: 16, optimizer: { kind: 'sgd' as const, lr: 0.05, momentum: 0.9 },
      validationSplit: 0.25, splitSeed: 4, earlyStopping: { monitor: 'val_error' as const, patience: 5 } });
    const data = patches(160, 21);
    const plain = new Trainer(smallNet(3), options());
    await plain.fit(data);

    const dir = tempRun();
    let recorder: RunRecorder | null = null;
    const trainer = new Trainer(smallNet(3), { ...options(), checkpointEvery: { epochs: 2 },
      onCheckpoint: (bytes, where) => recorder!.saveCheckpoint(bytes, where) });
    recorder = new RunRecorder(dir, trainer, { train: data, samples: 20, misclassified: 5, info: { command: ['descent', 'train'] } });
    const history = await trainer.fit(data);
    recorder.close();

    // Recording only reads the model: the run is bitwise the one without it.
    assert.deepEqual(Array.from(trainer.model.w), Array.from(plain.model.w));

    const run = JSON.parse(readFileSync(recorder.file('run'), 'utf8'));
    assert.equal(run.format, 'descent-run/1');
    assert.equal(run.classes, 3);
    assert.deepEqual(run.command, ['descent', 'train']);
    assert.equal(run.optimizer.kind, 'sgd');
    assert.equal(run.earlyStopping.monitor, 'val_error');
    assert.equal(run.validation.count, 40, 'the recorder derives the trainer\'s held-out set');
    assert.equal(run.options.epochs, 3);
    assert.equal(typeof run.startTime, 'number');

    const metrics = readLines(recorder.file('metrics'));
    const steps = metrics.filter((m) => m.type === 'step'), epochs = metrics.filter((m) => m.type === 'epoch');
    assert.equal(steps.length, history.stepLosses.length);
    assert.deepEqual(steps.map((s) => s.step), steps.map((_, i) => i + 1));
    assert.ok(steps.every((s) => Math.abs(s.loss - history.stepLosses[s.step - 1]) <= 1e-6 * Math.abs(s.loss)));
    assert.equal(steps[0].lossSmooth, steps[0].loss, 'the debiased average starts at the first loss');
    for (const k of ['t', 'error', 'lr', 'stepSize', 'imagesPerSecond', 'batchSize', 'stepInEpoch', 'stepsPerEpoch']) {
      assert.equal(typeof steps[5][k], 'number', k);
    }
    assert.deepEqual(epochs.map((e) => e.epoch), [1, 2, 3]);
    assert.deepEqual(epochs.map((e) => e.step), [8, 16, 24]);
    assert.equal(epochs[0].lossChange, null, 'Infinity is written as null');
    assert.equal(typeof epochs[2].valError, 'number');
    assert.equal(typeof epochs[2].bestEpoch, 'number');

    const events = readLines(recorder.file('events'));
    assert.deepEqual(events.map((e) => e.type), ['checkpoint', 'end']);
    assert.equal(events[0].file, 'checkpoint.safetensors');
    assert.equal(events[0].reason, 'epoch');
    assert.equal(events[1].reason, 'epochs');

    const snap = JSON.parse(readFileSync(recorder.file('snapshot'), 'utf8'));
    assert.equal(snap.final, true);
    assert.equal(snap.epoch, 3);
    const v = snap.validation;
    assert.equal(v.total, 40);
    assert.equal(v.evaluated, 40);
    assert.equal(v.confusion.flat().reduce((a: number, b: number) => a + b, 0), 40);
    assert.equal(v.points.p.length, 20);
    assert.ok(v.points.p.every((p: number[]) => p.length === 3 && Math.abs(p[0] + p[1] + p[2] - 1) < 1e-3));
    assert.ok(v.misclassified.length <= 5);
    for (const m of v.misclassified) {
      assert.notEqual(m.label, m.predicted);
      assert.equal(Buffer.from(m.image.data, 'base64').length, m.image.width * m.image.height * m.image.channels);
    }
    assert.deepEqual([snap.filters.count, snap.filters.height, snap.filters.width, snap.filters.channels], [4, 3, 3, 1]);
    assert.equal(snap.filters.weights.length, 36);
    assert.equal(snap.earlyStopping.monitor, 'val_error');
    assert.equal(snap.optimizer.kind, 'sgd');
    assert.ok(readFileSync(recorder.file('checkpoint')).length > 0);
  });

  it('refuses a directory that already holds a run, and appends to it when resuming', async () => {
    const dir = tempRun();
    const first = new RunRecorder(dir, new Trainer(smallNet(1), { epochs: 1 }));
    first.close();
    const startTime = JSON.parse(readFileSync(first.file('run'), 'utf8')).startTime;
    assert.throws(() => new RunRecorder(dir, new Trainer(smallNet(1), { epochs: 1 })), /already holds a run/);
    const again = new RunRecorder(dir, new Trainer(smallNet(1), { epochs: 1 }), { mode: 'append' });
    again.close();
    const run = JSON.parse(readFileSync(again.file('run'), 'utf8'));
    assert.equal(run.startTime, startTime);
    assert.equal(run.resumedAt.length, 1);
  });

  it('a schedule\'s α is in metrics for every step, not in the event log; a person\'s ÷10 is', async () => {
    const dir = tempRun();
    const trainer = new Trainer(smallNet(2), { epochs: 3, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.1 },
      schedule: { kind: 'cosine', totalSteps: 12 } });
    trainer.on('step', (e) => e.step === 5 && trainer.scaleLearningRate(0.1));
    const recorder = new RunRecorder(dir, trainer);
    await trainer.fit(patches(32, 2));
    const lrEvents = readLines(recorder.file('events')).filter((e) => e.type === 'lr');
    assert.deepEqual(lrEvents.map((e) => [e.step, e.source]), [[5, 'manual']]);
    const lrs = readLines(recorder.file('metrics')).filter((m) => m.type === 'step').map((m) => m.lr);
    assert.equal(new Set(lrs).size, 12);
    assert.ok(Math.abs(lrs[5] - lrEvents[0].to) < 1e-15 && Math.abs(lrEvents[0].to - lrEvents[0].from / 10) < 1e-15);
  });
});

type Event = { event: string; data: any };

/**
 * Reads server-sent events from a stream until `done` says enough; `connected` settles with the
 * first event (the state), so a test starts training only once the page is listening.
 */
function collectEvents(url: string, done: (events: Event[]) => boolean): { connected: Promise<void>; events: Promise<Event[]> } {
  let connect!: () => void;
  const firstEvent = new Promise<void>((r) => (connect = r));
  const events = new Promise<Event[]>((resolve, reject) => {
    const events: Event[] = [];
    const req = http.get(url, (res) => {
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] ?? '', /text\/event-stream/);
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1], data = /^data: (.*)$/m.exec(block)?.[1];
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
        if (events.length > 0) connect();
        if (done(events)) {
          req.destroy();
          resolve(events);
        }
      });
    });
    req.on('error', (e) => (e.message.includes('aborted') ? undefined : reject(e)));
  });
  // A stream that fails before its first event rejects `connected` too, rather than leaving it waiting.
  return { connected: Promise.race([firstEvent, events.then(() => undefined)]), events };
}

describe('dashboard event stream', () => {
  it('sends the state first, then the lines the recorder appends', async () => {
    const dir = tempRun();
    const trainer = new Trainer(smallNet(4), { epochs: 2, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.05 } });
    const recorder = new RunRecorder(dir, trainer, { validation: patches(20, 8), flushMs: 20 });
    const dash = await startDashboard({ runDir: dir, trainer });
    try {
      const url = dash.url.replace('/?token=', '/api/stream?token=');
      const stream = collectEvents(url, (evs) => evs.some((e) => e.event === 'events' && e.data.some((l: Line) => l.type === 'end')) &&
        evs.some((e) => e.event === 'snapshot' && e.data.final));
      await stream.connected;
      trainer.on('step', () => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3));
      await trainer.fit(patches(64, 5));
      const events = await stream.events;
      assert.equal(events[0].event, 'state');
      assert.equal(events[0].data.run.format, 'descent-run/1');
      assert.equal(events[0].data.metrics.steps.length, 0);
      const lines = events.filter((e) => e.event === 'metrics').flatMap((e) => e.data);
      assert.deepEqual(lines.filter((l) => l.type === 'step').map((l) => l.step), Array.from({ length: 16 }, (_, i) => i + 1));
      assert.equal(lines.filter((l) => l.type === 'epoch').length, 2);
      // Snapshots are states: a page gets the latest one (a quick epoch's may be skipped).
      assert.equal(events.filter((e) => e.event === 'snapshot').at(-1)?.data.epoch, 2);
      assert.ok(events.some((e) => e.event === 'live' && e.data.ended === true));
    } finally {
      await dash.close();
      recorder.close();
    }
  });

  it('the live rate follows a schedule, which makes no lr events', async () => {
    const dir = tempRun();
    const trainer = new Trainer(smallNet(4), { epochs: 4, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.05 }, schedule: { kind: 'cosine', totalSteps: 32 } });
    const recorder = new RunRecorder(dir, trainer, { flushMs: 20 });
    const dash = await startDashboard({ runDir: dir, trainer });
    try {
      const url = dash.url.replace('/?token=', '/api/stream?token=');
      const stream = collectEvents(url, (evs) => evs.some((e) => e.event === 'live' && e.data.ended === true));
      await stream.connected;
      trainer.on('step', () => void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 40));
      await trainer.fit(patches(64, 5));
      const events = await stream.events;
      assert.deepEqual(events.filter((e) => e.event === 'events').flatMap((e) => e.data).filter((l: Line) => l.type === 'lr'), []);
      const rates = new Set(events.filter((e) => e.event === 'live').map((e) => e.data.lr));
      assert.ok(rates.size >= 3, `the live rate took ${rates.size} values: ${[...rates].join(', ')}`);
    } finally {
      await dash.close();
      recorder.close();
    }
  });
});

describe('RunRecorder: layer norms, final results, images/s', () => {
  it('records each weighted layer\'s ||w|| and ||∂L/∂w|| every normsEvery steps', async () => {
    const dir = tempRun();
    const trainer = new Trainer(smallNet(6, false), { epochs: 2, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.05 } });
    const recorder = new RunRecorder(dir, trainer, { normsEvery: 4 });
    await trainer.fit(patches(64, 6));
    recorder.close();
    const norms = readLines(recorder.file('metrics')).filter((m) => m.type === 'norms');
    assert.deepEqual(norms.map((n) => n.step), [1, 4, 8, 12, 16]);
    assert.deepEqual(norms[0].layers, ['1 Conv2d', '5 Dense']);
    // The last line holds the final weights and the last step's gradient, layer by layer.
    const net = trainer.model, last = norms.at(-1)!;
    for (const [k, layer] of [0, 4].entries()) {
      let w = 0, g = 0;
      for (const s of net.paramSlots.filter((s) => s.layer === layer)) {
        for (let j = s.offset; j < s.offset + s.length; j++) {
          w += net.w[j] ** 2;
          g += net.g[j] ** 2;
        }
      }
      assert.ok(Math.abs(last.w[k] - Math.sqrt(w)) <= 1e-3 * Math.sqrt(w), `||w|| of layer ${layer + 1}: ${last.w[k]} vs ${Math.sqrt(w)}`);
      assert.ok(Math.abs(last.g[k] - Math.sqrt(g)) <= 1e-3 * Math.sqrt(g), `||g|| of layer ${layer + 1}: ${last.g[k]} vs ${Math.sqrt(g)}`);
      assert.ok(last.g[k] > 0);
    }
    assert.notDeepEqual(norms[0].w, last.w, 'the weights moved');
  });

  it('keeps the final results and the test set\'s confusion matrix in run.json and snapshot.json, and serves them', async () => {
    const dir = tempRun();
    const trainer = new Trainer(smallNet(8), { epochs: 1, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.05 } });
    const recorder = new RunRecorder(dir, trainer, { validation: patches(20, 8) });
    const history = await trainer.fit(patches(32, 5));
    const confusion = [[5, 1, 0], [0, 6, 0], [1, 0, 7]];
    recorder.saveResults({ stopReason: history.stopReason!, epochs: 1, seconds: 0.5, test: { accuracy: 0.9, loss: 0.25, count: 20, confusion } });
    const run = JSON.parse(readFileSync(recorder.file('run'), 'utf8'));
    assert.equal(run.format, 'descent-run/1', 'run.json keeps what it had');
    assert.deepEqual(run.results, { stopReason: 'epochs', epochs: 1, seconds: 0.5, test: { accuracy: 0.9, loss: 0.25, count: 20 } });
    const snap = JSON.parse(readFileSync(recorder.file('snapshot'), 'utf8'));
    assert.equal(snap.final, true);
    assert.deepEqual(snap.test, { accuracy: 0.9, loss: 0.25, count: 20, confusion });
    assert.equal(snap.validation.total, 20, 'the validation views stay');
    const dash = await startDashboard({ runDir: dir });
    try {
      const state = await new Promise<Line>((resolve, reject) => http.get(dash.url.replace('/?', '/api/state?'), (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      }).on('error', reject));
      assert.deepEqual(state.snapshot.test.confusion, confusion);
      assert.equal(state.run.results.test.accuracy, 0.9);
    } finally {
      await dash.close();
    }
  });

  it('leaves a pause out of images/s and of the epoch\'s seconds (on a fake clock)', async () => {
    const real = performance.now;
    let clock = 0;
    performance.now = () => (clock += 1);
    try {
      const trainer = new Trainer(smallNet(9), { epochs: 1, batchSize: 8, optimizer: { kind: 'sgd', lr: 0.05 } });
      const rates: number[] = [];
      trainer.on('step', (e) => {
        rates.push(e.imagesPerSecond);
        if (e.step === 2) {
          trainer.pause();
          // A pause of 1,000 s of the fake clock, then resume.
          setTimeout(() => {
            clock += 1e6;
            trainer.resume();
          }, 0);
        }
      });
      const history = await trainer.fit(patches(32, 5));
      assert.equal(rates.length, 4);
      assert.ok(history.epochs[0].seconds < 1, `the epoch took ${history.epochs[0].seconds} s of training time`);
      assert.ok(rates[3] > 100, `images/s after the pause: ${rates[3]}`);
    } finally {
      performance.now = real;
    }
  });
});
