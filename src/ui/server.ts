/**
 * The dashboard's web server (node:http, no framework). It shows a run directory (see run-recorder.ts
 * for its files) and, when it is given the live Trainer, passes the page's commands to it.
 *
 *   GET  /, /app.js, /style.css   the page (src/ui/static), /simplex.js (the compiled simplex.ts),
 *   GET  /vendor/uPlot.*          the charting library, from node_modules: the page needs no network
 *   GET  /api/state               the whole run, read from its files               (token)
 *   GET  /api/stream              server-sent events: `state` first, then `metrics`, `events`,
 *                                 `snapshot`, `run` and `live` as the files grow  (token)
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
  /** The run directory to show. */
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
  const file = (kind: keyof typeof RUN_FILES) => path.join(runDir, RUN_FILES[kind]);

  let ended = false;
  const clients = new Set<http.ServerResponse>();
  const metricsTail = new LineTail(file('metrics')), eventsTail = new LineTail(file('events'));
  const snapshotWatch = new FileWatch(file('snapshot')), runWatch = new FileWatch(file('run'));
  let tailTimer: ReturnType<typeof setInterval> | null = null;
  let heartbeat: ReturnType<typeof setInterval> | null = null;

  const live = () => ({
    attached: !!trainer,
    controls: !!trainer && !ended,
    ended,
    lr: trainer ? trainer.lr : null,
    paused: trainer ? trainer.paused : null,
  });

  const send = (res: http.ServerResponse, event: string, data: unknown) => {
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const broadcast = (event: string, data: unknown) => {
    for (const res of clients) send(res, event, data);
  };

  /** The run as its files say, up to what the tailer has read when `consistent` (so a stream continues seamlessly). */
  const state = (consistent: boolean) => {
    const lines = parseLines(readPrefix(file('metrics'), consistent ? metricsTail.offset : undefined));
    const steps = lines.filter((l) => l.type === 'step'), epochs = lines.filter((l) => l.type === 'epoch');
    return {
      name: path.basename(runDir),
      run: readJson(file('run')),
      metrics: { steps: thin(steps, MAX_STATE_STEPS), epochs, stepCount: steps.length },
      events: parseLines(readPrefix(file('events'), consistent ? eventsTail.offset : undefined)),
      snapshot: readJson(file('snapshot')),
      live: live(),
    };
  };

  const tick = () => {
    const m = metricsTail.read(), e = eventsTail.read();
    if (m === 'reset' || e === 'reset') {
      metricsTail.read();
      eventsTail.read();
      for (const res of clients) send(res, 'state', state(true));
      return;
    }
    if (m.length) broadcast('metrics', m);
    if (e.length) broadcast('events', e);
    const snapshot = snapshotWatch.read();
    if (snapshot !== undefined) broadcast('snapshot', snapshot);
    const run = runWatch.read();
    if (run !== undefined) broadcast('run', run);
  };

  const unsubscribe: Array<() => void> = [];
  if (trainer) {
    for (const type of ['lr', 'pause', 'resume', 'stop', 'end'] as const) {
      unsubscribe.push(trainer.on(type, () => {
        if (type === 'end') ended = true;
        broadcast('live', live());
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
    const run = readJson(file('run')) as { startTime?: number } | null;
    const t = typeof run?.startTime === 'number' ? Math.round(Date.now() - run.startTime) / 1000 : null;
    appendEvent(runDir, { type: 'command', t, action, ...(action === 'set-lr' ? { lr } : {}), source: 'dashboard' });
    json(res, 202, { ok: true, action, message, live: live() });
  };

  const stream = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    tick();
    clients.add(res);
    send(res, 'state', state(true));
    tailTimer ??= setInterval(tick, TAIL_MS);
    heartbeat ??= setInterval(() => {
      for (const c of clients) c.write(': ping\n\n');
    }, HEARTBEAT_MS);
    req.on('close', () => {
      clients.delete(res);
      if (clients.size === 0) {
        if (tailTimer) clearInterval(tailTimer);
        if (heartbeat) clearInterval(heartbeat);
        tailTimer = heartbeat = null;
      }
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
        if (url.pathname === '/api/state') return json(res, 200, state(false));
        if (url.pathname === '/api/stream') return stream(req, res);
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
    close: () => new Promise<void>((resolve) => {
      for (const u of unsubscribe) u();
      for (const res of clients) res.end();
      clients.clear();
      if (tailTimer) clearInterval(tailTimer);
      if (heartbeat) clearInterval(heartbeat);
      tailTimer = heartbeat = null;
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
