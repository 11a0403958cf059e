/**
 * The fast engine in a real browser (Debian's `chromium`, driven by playwright-core), loaded by
 * the browser loader from the built dist/ files over HTTP:
 * - a page that is not cross-origin isolated gets one thread on the unshared module;
 * - a cross-origin isolated page (COOP + COEP headers) gets two threads: module Workers on one
 *   shared memory, every call split, the page's main thread spinning while they finish;
 * both train the same short run as Node's engine does, and end with bitwise the same weights.
 *
 * Without Chromium the test is skipped with a message, except under CI (CI set), where it must run.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { HeapArena } from '../src/core/arena.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { shortRun, type ShortRun } from './browser-training.js';
import { CHROMIUM, chromiumSkip } from './helpers.js';

/** The repository root: dist/test/ → ../../ */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TYPES: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html' };

const PAGE = `<!doctype html><meta charset="utf-8"><title>engine</title>
<script type="module">
import { createBrowserEngine, hasWasmSimd } from './dist/src/engine/browser-loader.js';
import { shortRun } from './dist/test/browser-training.js';
window.result = (async () => {
  if (!hasWasmSimd()) throw new Error('no WebAssembly SIMD');
  const engine = await createBrowserEngine({ threads: 2, minPartNs: 0 });
  const run = await shortRun(engine.arena, engine.kernels);
  const out = { isolated: crossOriginIsolated, threads: engine.threads, shared: engine.shared,
    splitCalls: engine.kernels.splitCalls, ...run };
  await engine.dispose();
  return out;
})().catch((e) => ({ error: String(e && e.stack || e) }));
</script>`;

/** Serves the page and dist/ under /plain/ (no isolation headers) and /isolated/ (COOP + COEP). */
function serve(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, mode, ...rest] = url.pathname.split('/');
    const file = rest.join('/');
    if (mode === 'isolated') {
      res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
      res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    }
    if ((mode !== 'plain' && mode !== 'isolated') || (file !== 'page.html' && !file.startsWith('dist/'))) {
      res.writeHead(404).end();
      return;
    }
    const path = normalize(join(ROOT, file));
    if (file === 'page.html') {
      res.writeHead(200, { 'content-type': TYPES['.html'] }).end(PAGE);
    } else if (path.startsWith(join(ROOT, 'dist')) && existsSync(path)) {
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('fast engine in a real browser', { skip: chromiumSkip }, () => {
  let browser: Browser;
  let server: http.Server;
  let node: ShortRun;
  let reference: ShortRun;

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    server = await serve();
    const engine = await createWasmEngine({ threads: 1 });
    node = await shortRun(engine.arena, engine.kernels);
    await engine.dispose();
    reference = await shortRun(new HeapArena('float32'), referenceKernels);
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  async function runPage(mode: 'plain' | 'isolated'): Promise<Record<string, any>> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/${mode}/page.html`);
    const result = await page.evaluate(() => (window as unknown as { result: Promise<Record<string, any>> }).result);
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(result.error, undefined, result.error);
    return result;
  }

  function sameAsNode(result: Record<string, any>): void {
    assert.equal(result.weightBits.length, node.weightBits.length);
    const bad = node.weightBits.findIndex((v, i) => v !== result.weightBits[i]);
    assert.equal(bad, -1, `w differs from Node's at element ${bad}`);
    reference.stepLosses.forEach((loss, i) =>
      assert.ok(Math.abs(result.stepLosses[i] - loss) <= 1e-3 * (1 + loss), `step ${i + 1}: ${result.stepLosses[i]} vs reference ${loss}`));
  }

  it('without cross-origin isolation: one thread on unshared memory, the same weights as Node', { timeout: 60_000 }, async () => {
    const result = await runPage('plain');
    assert.equal(result.isolated, false);
    assert.equal(result.shared, false);
    assert.equal(result.threads, 1);
    sameAsNode(result);
  });

  it('cross-origin isolated: two threads on shared memory, calls split, the same weights as Node', { timeout: 60_000 }, async () => {
    const result = await runPage('isolated');
    assert.equal(result.isolated, true);
    assert.equal(result.shared, true);
    assert.equal(result.threads, 2);
    assert.ok(result.splitCalls > 10, `only ${result.splitCalls} calls ran on two threads`);
    sameAsNode(result);
  });
});
