/**
 * The dashboard's server refuses what it should: control requests without the token, with a wrong
 * one, from another origin or host, or with bad values get a clear 4xx and leave training untouched.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StepEvent } from '../src/train/events.js';
import { Trainer } from '../src/train/trainer.js';
import { RunRecorder } from '../src/ui/run-recorder.js';
import { type Dashboard, startDashboard } from '../src/ui/server.js';
import { uiCommand } from '../src/ui/cli-ui.js';
import { patches, smallNet } from './synthetic.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: { ok?: boolean; error?: string; message?: string; [k: string]: unknown } | null;
}

/** A raw HTTP request, so that Host, Origin and the body can be anything. */
function request(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // Not JSON (a page or a script).
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

function tempRun(): string {
  return join(mkdtempSync(join(tmpdir(), 'descent-ui-')), 'run');
}

function newTrainer(lr = 0.02) {
  return new Trainer(smallNet(7), { epochs: 1, batchSize: 16, optimizer: { kind: 'sgd', lr }, validation: patches(30, 9) });
}

function post(d: Dashboard, body: unknown, headers: Record<string, string> = {}, raw?: string) {
  return request(d.port, {
    method: 'POST',
    path: '/api/control',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${d.token}`, ...headers },
    body: raw ?? JSON.stringify(body),
  });
}

describe('dashboard server security', () => {
  const dir = tempRun();
  const trainer = newTrainer(0.02);
  let recorder: RunRecorder;
  let dash: Dashboard;

  before(async () => {
    recorder = new RunRecorder(dir, trainer, { validation: patches(30, 9) });
    dash = await startDashboard({ runDir: dir, trainer });
  });
  after(async () => {
    await dash.close();
    recorder.close();
  });

  it('listens on 127.0.0.1 and prints an address that carries the token', () => {
    const url = new URL(dash.url);
    assert.equal(url.hostname, '127.0.0.1');
    assert.equal(url.searchParams.get('token'), dash.token);
    assert.ok(dash.token.length >= 32);
  });

  it('serves the page, the simplex module and uPlot from the package, and nothing else from disk', async () => {
    const page = await request(dash.port, { path: '/' });
    assert.equal(page.status, 200);
    assert.match(page.headers['content-type'] ?? '', /text\/html/);
    assert.match(page.text, /<script type="module" src="\/app.js">/);
    for (const p of ['/app.js', '/style.css', '/simplex.js', '/vendor/uPlot.esm.js', '/vendor/uPlot.min.css']) {
      const r = await request(dash.port, { path: p });
      assert.equal(r.status, 200, p);
    }
    assert.match((await request(dash.port, { path: '/simplex.js' })).text, /export function simplexPoint/);
    for (const p of ['/../package.json', '/%2e%2e/package.json', '/static/app.js', '/run.json', '/metrics.jsonl']) {
      assert.equal((await request(dash.port, { path: p })).status, 404, p);
    }
  });

  it('needs the token for the run data too', async () => {
    assert.equal((await request(dash.port, { path: '/api/state' })).status, 401);
    assert.equal((await request(dash.port, { path: '/api/state?token=nope' })).status, 403);
    assert.equal((await request(dash.port, { path: '/api/stream?token=nope' })).status, 403);
    const ok = await request(dash.port, { path: `/api/state?token=${dash.token}` });
    assert.equal(ok.status, 200);
    assert.equal((ok.json as { run: { format: string } }).run.format, 'descent-run/1');
    const foreign = await request(dash.port, { path: `/api/state?token=${dash.token}`, headers: { Origin: 'http://evil.example' } });
    assert.equal(foreign.status, 403);
  });

  it('refuses bad control requests with a clear 4xx and changes nothing', async () => {
    const cases: Array<[string, Promise<Reply>, number, RegExp]> = [
      ['no token', request(dash.port, { method: 'POST', path: '/api/control', headers: { 'Content-Type': 'application/json' }, body: '{"action":"divide"}' }), 401, /missing token/],
      ['token only in the query', request(dash.port, { method: 'POST', path: `/api/control?token=${dash.token}`, headers: { 'Content-Type': 'application/json' }, body: '{"action":"divide"}' }), 401, /missing token/],
      ['wrong bearer token', post(dash, { action: 'divide' }, { Authorization: 'Bearer 0123456789abcdef' }), 403, /wrong token/],
      ['wrong X-Descent-Token', request(dash.port, { method: 'POST', path: '/api/control', headers: { 'Content-Type': 'application/json', 'X-Descent-Token': `${dash.token}x` }, body: '{"action":"pause"}' }), 403, /wrong token/],
      ['another origin', post(dash, { action: 'divide' }, { Origin: 'http://evil.example' }), 403, /cross-origin/],
      ['another port on localhost', post(dash, { action: 'stop' }, { Origin: 'http://127.0.0.1:1' }), 403, /cross-origin/],
      ['a cross-site fetch', post(dash, { action: 'pause' }, { 'Sec-Fetch-Site': 'cross-site' }), 403, /cross-site/],
      ['a rebound host name', post(dash, { action: 'pause' }, { Host: `evil.example:${dash.port}` }), 403, /Host/],
      ['negative lr', post(dash, { action: 'set-lr', lr: -0.1 }), 400, /positive finite number/],
      ['zero lr', post(dash, { action: 'set-lr', lr: 0 }), 400, /positive finite number/],
      ['lr as a string', post(dash, { action: 'set-lr', lr: '0.01' }), 400, /positive finite number/],
      ['lr null (JSON has no NaN)', post(dash, { action: 'set-lr', lr: null }), 400, /positive finite number/],
      ['lr NaN', post(dash, null, {}, '{"action":"set-lr","lr":NaN}'), 400, /not valid JSON/],
      ['lr overflowing to Infinity', post(dash, null, {}, '{"action":"set-lr","lr":1e999}'), 400, /positive finite number/],
      ['lr missing', post(dash, { action: 'set-lr' }), 400, /positive finite number/],
      ['unknown action', post(dash, { action: 'explode' }), 400, /action must be one of/],
      ['lr with another action', post(dash, { action: 'divide', lr: 0.5 }), 400, /only with action "set-lr"/],
      ['an unknown field', post(dash, { action: 'pause', force: true }), 400, /unknown field/],
      ['not an object', post(dash, ['pause']), 400, /JSON object/],
      ['not JSON', post(dash, null, {}, 'action=pause'), 400, /not valid JSON/],
      ['a form post (text/plain)', post(dash, { action: 'pause' }, { 'Content-Type': 'text/plain' }), 415, /application\/json/],
      ['a huge body', post(dash, null, {}, JSON.stringify({ action: 'pause', pad: 'x'.repeat(10_000) })), 413, /over/],
      ['GET on the control endpoint', request(dash.port, { path: '/api/control', headers: { Authorization: `Bearer ${dash.token}` } }), 405, /POST/],
    ];
    for (const [what, reply, status, error] of cases) {
      const r = await reply;
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(r.json?.ok, false, what);
      assert.match(r.json?.error ?? '', error, what);
    }

    // Nothing reached the trainer: same rate, not paused, no command logged, and a few steps run as before.
    assert.equal(trainer.lr, 0.02);
    assert.equal(trainer.paused, false);
    assert.ok(!readFileSync(recorder.file('events'), 'utf8').includes('"command"'));
    const steps: StepEvent[] = [];
    trainer.on('step', (e) => steps.push(e));
    const history = await trainer.fit(patches(48, 3));
    assert.equal(history.stopReason, 'epochs');
    assert.deepEqual(history.events.filter((e) => e.type !== 'end'), []);
    assert.ok(steps.length > 0 && steps.every((s) => s.lr === 0.02));
  });

  it('answers 409 once training has finished', async () => {
    const r = await post(dash, { action: 'divide' });
    assert.equal(r.status, 409);
    assert.match(r.json?.error ?? '', /finished/);
  });
});

describe('dashboard server controls', () => {
  it('accepts a well-formed request with the token, logs it, and the trainer applies it at the next step', async () => {
    const dir = tempRun();
    const trainer = newTrainer(0.02);
    const recorder = new RunRecorder(dir, trainer);
    const dash = await startDashboard({ runDir: dir, trainer });
    try {
      const r = await post(dash, { action: 'set-lr', lr: 0.005 }, { Origin: new URL(dash.url).origin, 'Sec-Fetch-Site': 'same-origin' });
      assert.equal(r.status, 202, r.text);
      assert.equal(r.json?.ok, true);
      const x = await request(dash.port, { method: 'POST', path: '/api/control', headers: { 'Content-Type': 'application/json', 'X-Descent-Token': dash.token }, body: '{"action":"divide"}' });
      assert.equal(x.status, 202, x.text);
      const steps: StepEvent[] = [];
      trainer.on('step', (e) => steps.push(e));
      await trainer.fit(patches(32, 3));
      assert.ok(Math.abs(steps[0].lr - 0.0005) < 1e-12, `first step ran at ${steps[0].lr}`);
      const events = readFileSync(recorder.file('events'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(events.filter((e) => e.type === 'command').map((e) => [e.action, e.lr]), [['set-lr', 0.005], ['divide', undefined]]);
      assert.deepEqual(events.filter((e) => e.type === 'lr').map((e) => [e.source, e.step, e.to]), [['manual', 0, 0.005], ['manual', 0, 0.0005]]);
    } finally {
      await dash.close();
      recorder.close();
    }
  });

  it('is read-only for a run reopened from its files (409), and refuses a directory that is no run', async () => {
    const dir = tempRun();
    const trainer = newTrainer();
    const recorder = new RunRecorder(dir, trainer, { validation: patches(30, 9) });
    await trainer.fit(patches(32, 3));
    recorder.close();
    const lines: string[] = [];
    const dash = await uiCommand(dir, { log: (l) => lines.push(l) });
    try {
      assert.ok(lines.some((l) => l.includes(dash.url)));
      const r = await post(dash, { action: 'pause' });
      assert.equal(r.status, 409);
      assert.match(r.json?.error ?? '', /read-only/);
      const bad = await post(dash, { action: 'set-lr', lr: -1 });
      assert.equal(bad.status, 400);
      const state = await request(dash.port, { path: `/api/state?token=${dash.token}` });
      const s = state.json as { metrics: { steps: unknown[]; epochs: unknown[] }; events: Array<{ type: string }>; live: { controls: boolean } };
      assert.equal(s.metrics.steps.length, 2);
      assert.equal(s.metrics.epochs.length, 1);
      assert.equal(s.events.at(-1)?.type, 'end');
      assert.equal(s.live.controls, false);
    } finally {
      await dash.close();
    }
    await assert.rejects(uiCommand(join(dir, 'nothing-here'), { log: () => {} }), /no run directory/);
    await assert.rejects(uiCommand(mkdtempSync(join(tmpdir(), 'descent-empty-')), { log: () => {} }).then((d) => d.close()), /not a run directory/);
    assert.ok(existsSync(recorder.file('snapshot')));
  });
});

describe('dashboard of a folder of runs (descent ui runs/)', () => {
  it('serves the runs inside the folder, with the token, and refuses every name that leads out of it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'descent-runs-'));
    const folder = join(root, 'runs');
    for (const name of ['a', 'b']) {
      const trainer = newTrainer();
      const recorder = new RunRecorder(join(folder, name), trainer);
      await trainer.fit(patches(32, 3));
      recorder.close();
    }
    // A run outside the folder, a link to it inside, and a sub-folder that is no run.
    const outside = new RunRecorder(join(root, 'secret'), newTrainer());
    outside.close();
    symlinkSync(join(root, 'secret'), join(folder, 'link'));
    mkdirSync(join(folder, 'empty'));
    const lines: string[] = [];
    const dash = await uiCommand(folder, { log: (l) => lines.push(l) });
    try {
      assert.match(lines[0], /the 2 runs in/);
      assert.equal(dash.multi, true);
      const get = (p: string, headers: Record<string, string> = {}) => request(dash.port, { path: p, headers: { Authorization: `Bearer ${dash.token}`, ...headers } });
      const runs = await get('/api/runs');
      assert.equal(runs.status, 200);
      assert.deepEqual((runs.json as { runs: Array<{ name: string }> }).runs.map((r) => r.name), ['a', 'b']);
      assert.equal((await request(dash.port, { path: '/api/runs' })).status, 401);
      assert.equal((await request(dash.port, { path: '/api/runs?token=nope' })).status, 403);
      assert.equal((await get('/api/runs', { Origin: 'http://evil.example' })).status, 403);
      assert.equal((await request(dash.port, { path: '/api/state?run=a' })).status, 401, 'a run\'s data needs the token');

      const a = await get('/api/state?run=a');
      assert.equal(a.status, 200);
      assert.equal((a.json as { name: string }).name, 'a');
      assert.equal((a.json as { metrics: { steps: unknown[] } }).metrics.steps.length, 2);
      const refused: Array<[string, number]> = [
        ['/api/state', 400], ['/api/state?run=', 400], ['/api/state?run=..', 400], ['/api/state?run=.', 400],
        ['/api/state?run=%2e%2e', 400], ['/api/state?run=../secret', 400], ['/api/state?run=..%2fsecret', 400],
        ['/api/state?run=a%2f..%2f..%2fsecret', 400], [`/api/state?run=${encodeURIComponent(join(root, 'secret'))}`, 400],
        ['/api/state?run=..%5csecret', 400], ['/api/state?run=a%00', 400], ['/api/state?run=link', 404], ['/api/state?run=empty', 404],
        ['/api/state?run=nope', 404], ['/api/stream?run=../secret', 400], ['/api/stream?run=link', 404],
      ];
      for (const [p, status] of refused) {
        const r = await get(p);
        assert.equal(r.status, status, `${p}: ${r.text}`);
        assert.equal(r.json?.ok, false, p);
        assert.ok(!r.text.includes('"format"'), `${p} leaked a run file`);
      }
      // No control on a folder of runs: read-only.
      const c = await post(dash, { action: 'pause' });
      assert.equal(c.status, 409);
    } finally {
      await dash.close();
    }
  });
});
