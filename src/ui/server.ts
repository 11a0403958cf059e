/**
 * The dashboard's web server (node:http, no framework). It shows a run directory (see run-recorder.ts
 * for its files) and, when it is given the live Trainer, passes the page's commands to it.
 *
 *   GET  /, /app.js, /style.css   the page (src/ui/static), /simplex.js (the compiled simplex.ts),
 *   GET  /vendor/uPlot.*          the charting library, from node_modules: the page needs no network
 *   GET  /api/runs                the runs it shows: { multi, runs: [{ name, run, ended }] }  (token)
 *   GET  /api/state               the whole run, read from its files               (token)
 *   GET  /api/stream              server-sent events: `state` first, then `metrics`, `events`,
 *                                 `snapshot`, `run` and `live` as the files grow, and `done`
 *                                 once the live run is over and its last lines were sent  (token)
 *   POST /api/control             {action: 'divide' | 'set-lr' | 'pause' | 'resume' | 'stop', lr?}
 *                                 token in `Authorization: Bearer <token>` or `X-Descent-Token`
 *
 * Security: it listens on 127.0.0.1 unless told otherwise; every /api request needs the per-run token
 * that the printed address carries (GETs may pass it as ?token=, since EventSource cannot set
 * headers; a control request must send it in a header, which a cross-origin form cannot); requests
 * whose Origin is not the server's own, whose Sec-Fetch-Site is cross-site or same-site, or whose
 * Host is not the server's (DNS rebinding) are refused; inputs are validated and refused with a JSON
 * 4xx that says why, before anything reaches the trainer.
 *
 * A folder of runs (`descent ui runs/`): /api/state and /api/stream take ?run=<name>, the name of one
 * sub-folder that holds a run; anything else (a path, "..", a link out of the folder) is refused, so
 * only the run files inside that folder are ever read.
 *
 * The live run's end (finish): the server pushes the last lines and `done`, then waits until every
 * open page has closed its stream (the page's acknowledgement) or a grace period passes, so that a
 * page of a piped run sees the end and the test results rather than a lost connection.
 *
 * One file tailer per server (started while a page is connected) reads what the recorder appends
 * and pushes it to every open stream, so a page never polls, and a run recorded by another process
 * (`descent ui` on a running run) streams just as well.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescentError } from '../core/errors.js';
import type { Trainer } from '../train/trainer.js';
import { appendEvent, RUN_FILES } from './run-recorder.js';

/** What the dashboard serves: a run directory, and the live trainer when training is in progress. */
export interface DashboardOptions {
  /**
   * The run directory to show; or a folder whose sub-folders are runs (`descent ui runs/`): the page
   * then lists them, compares their curves and shows any one of them (read-only).
   */
  runDir: string;
  /** The live trainer, to take commands; without it the page is read-only. */
  trainer?: Trainer;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /** Default: 24 random bytes, hex. */
  token?: string;
}

/** A running dashboard server. */
export interface Dashboard {
  /** The page's address, with its token: http://127.0.0.1:PORT/?token=… */
  url: string;
  /** The token control requests must carry (in the printed url). */
  token: string;
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** True when runDir is a folder of runs. */
  multi: boolean;
  /**
   * The live run is over and its files are complete (results included): push the last lines and
   * `done` to the open pages, and resolve once each has closed its stream or `graceMs` passed.
   */
  finish(graceMs?: number): Promise<void>;
  /** Stops the server. */
  close(): Promise<void>;
}

/** What the page's controls may ask of a live run. */
export type ControlAction = 'divide' | 'set-lr' | 'pause' | 'resume' | 'stop';
const ACTIONS: readonly ControlAction[] = ['divide', 'set-lr', 'pause', 'resume', 'stop'];

/** Most step points /api/state sends; longer runs are thinned evenly (the last step is always kept). */
const MAX_STATE_STEPS = 20_000;
const MAX_BODY = 4096;
const TAIL_MS = 250;
const HEARTBEAT_MS = 15_000;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

/** The page's files: src/ui/static beside the package's dist/, or static/ beside this module. */
function staticRoot(): string {
  const candidates = [new URL('../../../src/ui/static/', import.meta.url), new URL('./static/', import.meta.url)];
  for (const u of candidates) {
    const dir = fileURLToPath(u);
    if (fs.existsSync(path.join(dir, 'index.html'))) return dir;
  }
  throw new DescentError(`the dashboard's page is missing: looked in ${candidates.map((u) => fileURLToPath(u)).join(' and ')}`);
}

function uplotDir(): string {
  try {
    return path.dirname(createRequire(import.meta.url).resolve('uplot'));
  } catch {
    throw new DescentError('the dashboard needs the uplot package (npm install uplot)');
  }
}

/** URL path → file, fixed when the server starts: nothing else is ever read from disk for a GET. */
function assetTable(): Map<string, string> {
  const root = staticRoot(), vendor = uplotDir(), table = new Map<string, string>();
  for (const name of fs.readdirSync(root)) {
    if (TYPES[path.extname(name)] && fs.statSync(path.join(root, name)).isFile()) table.set(`/${name}`, path.join(root, name));
  }
  table.set('/', path.join(root, 'index.html'));
  table.set('/simplex.js', fileURLToPath(new URL('./simplex.js', import.meta.url)));
  table.set('/vendor/uPlot.esm.js', path.join(vendor, 'uPlot.esm.js'));
  table.set('/vendor/uPlot.min.css', path.join(vendor, 'uPlot.min.css'));
  return table;
}

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function parseLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const v = JSON.parse(line) as unknown;
      if (v && typeof v === 'object') out.push(v as Record<string, unknown>);
    } catch {
      // A torn or foreign line: skip it rather than lose the whole view.
    }
  }
  return out;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** The first `bytes` bytes of a file (all of it when bytes is undefined), as text. */
function readPrefix(file: string, bytes?: number): string {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(0, bytes ?? buf.length).toString('utf8');
  } catch {
    return '';
  }
}

/** Follows an append-only JSON-lines file: each read returns the complete lines added since. */
class LineTail {
  offset = 0;
  constructor(readonly file: string) {}

  /** New complete lines, or 'reset' when the file shrank (it was replaced). */
  read(): Record<string, unknown>[] | 'reset' {
    let size: number;
    try {
      size = fs.statSync(this.file).size;
    } catch {
      return [];
    }
    if (size < this.offset) {
      this.offset = 0;
      return 'reset';
    }
    if (size === this.offset) return [];
    const buf = Buffer.alloc(size - this.offset);
    const fd = fs.openSync(this.file, 'r');
    let n: number;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, this.offset);
    } finally {
      fs.closeSync(fd);
    }
    const end = buf.subarray(0, n).lastIndexOf(0x0a);
    if (end < 0) return [];
    this.offset += end + 1;
    return parseLines(buf.subarray(0, end + 1).toString('utf8'));
  }
}

/** Follows a file that is replaced whole (atomically): returns its parsed content when it changed. */
class FileWatch {
  private stamp = '';
  constructor(readonly file: string) {}

  read(): unknown | undefined {
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch {
      return undefined;
    }
    const stamp = `${st.ino}:${st.size}:${st.mtimeMs}`;
    if (stamp === this.stamp) return undefined;
    const value = readJson(this.file);
    if (value === null) return undefined;
    this.stamp = stamp;
    return value;
  }
}

/** A run directory is one that has run.json or metrics.jsonl. */
export function isRunDir(dir: string): boolean {
  return fs.existsSync(path.join(dir, RUN_FILES.run)) || fs.existsSync(path.join(dir, RUN_FILES.metrics));
}

/** The runs directly inside `folder` (sub-folders that are run directories), by name. */
export function listRuns(folder: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(folder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory() && isRunDir(path.join(folder, e.name))).map((e) => e.name).sort();
}

interface Live {
  attached: boolean;
  controls: boolean;
  ended: boolean;
  lr: number | null;
  paused: boolean | null;
}

/** One run directory the server shows: its file followers and the streams open on it. */
class RunSource {
  readonly clients = new Set<http.ServerResponse>();
  readonly metricsTail: LineTail;
  readonly eventsTail: LineTail;
  readonly snapshotWatch: FileWatch;
  readonly runWatch: FileWatch;
  /** The learning rate the streams were last told. */
  private sentLr: number | null = null;

  constructor(readonly name: string, readonly dir: string, readonly live: () => Live) {
    this.metricsTail = new LineTail(this.file('metrics'));
    this.eventsTail = new LineTail(this.file('events'));
    this.snapshotWatch = new FileWatch(this.file('snapshot'));
    this.runWatch = new FileWatch(this.file('run'));
  }

  file(kind: keyof typeof RUN_FILES): string {
    return path.join(this.dir, RUN_FILES[kind]);
  }

  /** The run as its files say, up to what the tailer has read when `consistent` (so a stream continues seamlessly). */
  state(consistent: boolean) {
    const lines = parseLines(readPrefix(this.file('metrics'), consistent ? this.metricsTail.offset : undefined));
    const steps = lines.filter((l) => l.type === 'step'), epochs = lines.filter((l) => l.type === 'epoch');
    const norms = lines.filter((l) => l.type === 'norms');
    return {
      name: this.name,
      run: readJson(this.file('run')),
      metrics: { steps: thin(steps, MAX_STATE_STEPS), epochs, norms: thin(norms, MAX_STATE_STEPS), stepCount: steps.length },
      events: parseLines(readPrefix(this.file('events'), consistent ? this.eventsTail.offset : undefined)),
      snapshot: readJson(this.file('snapshot')),
      live: this.liveSent(),
    };
  }

  /** The live state, remembering the rate it tells. */
  liveSent(): Live {
    const now = this.live();
    this.sentLr = now.lr;
    return now;
  }

  broadcast(event: string, data: unknown): void {
    for (const res of this.clients) send(res, event, data);
  }

  /** Push what the files gained since the last tick to the open streams. */
  tick(): void {
    const m = this.metricsTail.read(), e = this.eventsTail.read();
    if (m === 'reset' || e === 'reset') {
      this.metricsTail.read();
      this.eventsTail.read();
      for (const res of this.clients) send(res, 'state', this.state(true));
      return;
    }
    if (m.length) this.broadcast('metrics', m);
    // A schedule moves α without an lr event: send the live rate again when it has moved.
    if (m.length && this.live().lr !== this.sentLr) this.broadcast('live', this.liveSent());
    if (e.length) this.broadcast('events', e);
    const snapshot = this.snapshotWatch.read();
    if (snapshot !== undefined) this.broadcast('snapshot', snapshot);
    const run = this.runWatch.read();
    if (run !== undefined) this.broadcast('run', run);
  }

  /** What /api/runs says of this run: run.json and whether its event log has ended. */
  summary() {
    const events = parseLines(readPrefix(this.file('events')));
    const end = [...events].reverse().find((e) => e.type === 'end');
    return { name: this.name, run: readJson(this.file('run')), ended: !!end, end: end ?? null };
  }
}

function send(res: http.ServerResponse, event: string, data: unknown): void {
  res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}

function thin<T>(items: T[], max: number): T[] {
  if (items.length <= max) return items;
  const out: T[] = [], stride = items.length / (max - 1);
  for (let i = 0; i < max - 1; i++) out.push(items[Math.floor(i * stride)]);
  out.push(items[items.length - 1]);
  return out;
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given), b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Start the dashboard for `runDir`; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const runDir = path.resolve(options.runDir);
  if (!fs.existsSync(runDir) || !fs.statSync(runDir).isDirectory()) {
    throw new DescentError(`no run directory at ${runDir}`);
  }
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('hex');
  const trainer = options.trainer;
  const assets = assetTable();
  const multi = !isRunDir(runDir) && listRuns(runDir).length > 0;
  const realRoot = fs.realpathSync(runDir);

  let ended = false;
  const live = (): Live => ({
    attached: !!trainer,
    controls: !!trainer && !ended,
    ended,
    lr: trainer ? trainer.lr : null,
    paused: trainer ? trainer.paused : null,
  });
  const readOnly = (): Live => ({ attached: false, controls: false, ended: false, lr: null, paused: null });
  const single = multi ? null : new RunSource(path.basename(runDir), runDir, live);
  const sources = new Map<string, RunSource>();
  let finished = false;
  let tailTimer: ReturnType<typeof setInterval> | null = null;
  let heartbeat: ReturnType<typeof setInterval> | null = null;

  /** The run a request names: the one run, or in a folder of runs the sub-folder ?run= names (nothing outside it). */
  const sourceFor = (url: URL): RunSource => {
    if (single) return single;
    const name = url.searchParams.get('run');
    if (name === null || name === '') throw new HttpError(400, 'name the run: ?run=<one of /api/runs>');
    if (name === '.' || name === '..' || /[\/\\\0]/.test(name) || name.length > 255) {
      throw new HttpError(400, `refused: ${JSON.stringify(name)} is not the name of a run in this folder`);
    }
    const known = sources.get(name);
    if (known) return known;
    const dir = path.join(runDir, name);
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch {
      throw new HttpError(404, `no run named ${JSON.stringify(name)} in this folder`);
    }
    if (path.dirname(real) !== realRoot || !fs.statSync(real).isDirectory() || !isRunDir(real)) {
      throw new HttpError(404, `no run named ${JSON.stringify(name)} in this folder`);
    }
    const source = new RunSource(name, real, readOnly);
    sources.set(name, source);
    return source;
  };
  const allSources = () => (single ? [single] : [...sources.values()]);
  const clientCount = () => allSources().reduce((n, src) => n + src.clients.size, 0);
  const tickAll = () => {
    for (const src of allSources()) if (src.clients.size) src.tick();
  };

  const unsubscribe: Array<() => void> = [];
  if (trainer && single) {
    for (const type of ['lr', 'pause', 'resume', 'stop', 'end'] as const) {
      unsubscribe.push(trainer.on(type, () => {
        if (type === 'end') ended = true;
        single.broadcast('live', live());
      }));
    }
  }

  // Host names this server answers to: a page reached through another name (DNS rebinding) is refused.
  const wildcard = host === '0.0.0.0' || host === '::';
  let port = 0;
  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`,
    `${host.includes(':') ? `[${host}]` : host}:${port}`]);

  const checkOrigin = (req: http.IncomingMessage) => {
    const hostHeader = (req.headers.host ?? '').toLowerCase();
    if (!wildcard && !allowedHosts().has(hostHeader)) throw new HttpError(403, `refused: unexpected Host ${JSON.stringify(hostHeader)}`);
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      throw new HttpError(403, `refused: cross-origin request from ${origin}`);
    }
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      throw new HttpError(403, `refused: cross-site request (Sec-Fetch-Site: ${site})`);
    }
  };

  const checkToken = (req: http.IncomingMessage, url: URL, allowQuery: boolean) => {
    let given: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ')) given = auth.slice(7).trim();
    const header = req.headers['x-descent-token'];
    given ??= Array.isArray(header) ? header[0] : header;
    if (given === undefined && allowQuery) given = url.searchParams.get('token') ?? undefined;
    if (given === undefined || given === '') {
      throw new HttpError(401, allowQuery ? 'missing token: open the address the server printed (it ends in ?token=…)'
        : 'missing token: send it as "Authorization: Bearer <token>" or "X-Descent-Token: <token>"');
    }
    if (!sameToken(given, token)) throw new HttpError(403, 'wrong token');
  };

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const readBody = (req: http.IncomingMessage) => new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        // Answer at once; the rest of the body is discarded and the connection closed after the reply.
        req.off('data', onData);
        req.resume();
        reject(new HttpError(413, `request body over ${MAX_BODY} bytes`));
      } else chunks.push(c);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });

  const control = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (type !== 'application/json') throw new HttpError(415, 'send the command as JSON (Content-Type: application/json)');
    let body: unknown;
    try {
      body = JSON.parse(await readBody(req));
    } catch (e) {
      if (e instanceof HttpError) throw e;
      throw new HttpError(400, 'the body is not valid JSON');
    }
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new HttpError(400, 'send a JSON object like {"action": "pause"}');
    const { action, lr, ...rest } = body as Record<string, unknown>;
    if (Object.keys(rest).length) throw new HttpError(400, `unknown field ${JSON.stringify(Object.keys(rest)[0])}`);
    if (typeof action !== 'string' || !ACTIONS.includes(action as ControlAction)) {
      throw new HttpError(400, `action must be one of ${ACTIONS.join(', ')}; got ${JSON.stringify(action)}`);
    }
    if (action === 'set-lr') {
      if (typeof lr !== 'number' || !Number.isFinite(lr) || lr <= 0) {
        throw new HttpError(400, `lr must be a positive finite number, got ${JSON.stringify(lr ?? null)}`);
      }
    } else if (lr !== undefined) throw new HttpError(400, `lr goes only with action "set-lr"`);
    if (!trainer) throw new HttpError(409, 'this run is not attached to a live trainer: the dashboard is read-only');
    if (ended) throw new HttpError(409, 'training has finished: there is nothing left to control');

    const before = trainer.lr;
    let message: string;
    switch (action as ControlAction) {
      case 'divide':
        trainer.scaleLearningRate(0.1);
        message = `learning rate ${before} ÷ 10 from the next step`;
        break;
      case 'set-lr':
        trainer.setLearningRate(lr as number);
        message = `learning rate ${lr} from the next step`;
        break;
      case 'pause':
        message = trainer.paused ? 'already paused' : 'pausing after the current step';
        trainer.pause();
        break;
      case 'resume':
        message = trainer.paused ? 'resumed' : 'not paused';
        trainer.resume();
        break;
      case 'stop':
        trainer.stop('stopped from the dashboard');
        message = 'stopping after the current step; a checkpoint is saved';
        break;
    }
    const run = readJson(path.join(runDir, RUN_FILES.run)) as { startTime?: number } | null;
    const t = typeof run?.startTime === 'number' ? Math.round(Date.now() - run.startTime) / 1000 : null;
    appendEvent(runDir, { type: 'command', t, action, ...(action === 'set-lr' ? { lr } : {}), source: 'dashboard' });
    json(res, 202, { ok: true, action, message, live: live() });
  };

  const stream = (req: http.IncomingMessage, res: http.ServerResponse, source: RunSource) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    if (source.clients.size) source.tick();
    else {
      // Nobody was following this run: start from the files' current ends.
      source.metricsTail.read();
      source.eventsTail.read();
      source.snapshotWatch.read();
      source.runWatch.read();
    }
    source.clients.add(res);
    send(res, 'state', source.state(true));
    if (finished && source === single) send(res, 'done', {});
    tailTimer ??= setInterval(tickAll, TAIL_MS);
    heartbeat ??= setInterval(() => {
      for (const src of allSources()) for (const c of src.clients) c.write(': ping\n\n');
    }, HEARTBEAT_MS);
    req.on('close', () => {
      source.clients.delete(res);
      drained?.();
      if (clientCount() === 0) {
        if (tailTimer) clearInterval(tailTimer);
        if (heartbeat) clearInterval(heartbeat);
        tailTimer = heartbeat = null;
      }
    });
  };

  const runsList = () => {
    if (single) return { multi: false, runs: [single.summary()] };
    return { multi: true, runs: listRuns(runDir).map((name) => new RunSource(name, path.join(runDir, name), readOnly).summary()) };
  };

  // finish(): resolves when the last page closed its stream (the page's acknowledgement of `done`).
  let drained: (() => void) | null = null;
  const finish = async (graceMs = 5000) => {
    finished = true;
    ended = true;
    if (!single) return;
    single.tick();
    single.broadcast('live', live());
    single.broadcast('done', {});
    if (single.clients.size === 0 || graceMs <= 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, graceMs);
      function done() {
        clearTimeout(timer);
        drained = null;
        resolve();
      }
      drained = () => {
        if (single.clients.size === 0) done();
      };
    });
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Content-Security-Policy',
      "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'");
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    try {
      checkOrigin(req);
      if (url.pathname.startsWith('/api/')) {
        if (url.pathname === '/api/control') {
          if (method !== 'POST') throw new HttpError(405, 'use POST for /api/control');
          checkToken(req, url, false);
          return await control(req, res);
        }
        if (method !== 'GET') throw new HttpError(405, `use GET for ${url.pathname}`);
        checkToken(req, url, true);
        if (url.pathname === '/api/runs') return json(res, 200, runsList());
        if (url.pathname === '/api/state') return json(res, 200, sourceFor(url).state(false));
        if (url.pathname === '/api/stream') return stream(req, res, sourceFor(url));
        throw new HttpError(404, `no such endpoint ${url.pathname}`);
      }
      const asset = assets.get(url.pathname);
      if (!asset) throw new HttpError(404, `not found: ${url.pathname}`);
      if (method !== 'GET' && method !== 'HEAD') throw new HttpError(405, 'use GET');
      const body = fs.readFileSync(asset);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(asset)] ?? 'application/octet-stream', 'Cache-Control': 'no-cache' });
      res.end(method === 'HEAD' ? undefined : body);
    } catch (e) {
      if (res.headersSent) return void res.end();
      if (e instanceof HttpError) {
        if (e.status === 413) res.setHeader('Connection', 'close');
        return json(res, e.status, { ok: false, error: e.message });
      }
      json(res, 500, { ok: false, error: (e as Error).message });
    }
  };

  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new DescentError(`the dashboard cannot listen on ${host}:${options.port ?? 0}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`)));
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const shownHost = wildcard ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    token,
    port,
    multi,
    finish,
    close: () => new Promise<void>((resolve) => {
      for (const u of unsubscribe) u();
      for (const src of allSources()) {
        for (const res of src.clients) res.end();
        src.clients.clear();
      }
      if (tailTimer) clearInterval(tailTimer);
      if (heartbeat) clearInterval(heartbeat);
      tailTimer = heartbeat = null;
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
