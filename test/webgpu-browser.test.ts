/**
 * WebGPU in headless Chromium, through `navigator.gpu` on SwiftShader (no Node API in
 * src/engine/webgpu): a page loads the built modules from dist/ over HTTP from localhost (a
 * secure context, which WebGPU needs) and runs test/webgpu-sample.ts, which checks a convolution,
 * a max-pool with ties, dropout and the loss against the reference kernels in the page, and gets
 * bitwise the numbers that Node's Dawn gets on the same SwiftShader. A second page trains
 * test/browser-training.ts's short run (2 epochs, 6 steps, SGD momentum, dropout) on the browser
 * entry point's webgpu engine: its losses follow the reference engine's, and its weights and
 * losses are bitwise those of the same run on Node's webgpu engine (same adapter, same WGSL, every
 * sum in a fixed order).
 *
 * Without Chromium the test is skipped with a message, except under CI (CI set), where it must run.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { HeapArena } from '../src/core/arena.js';
import { nodeGpu } from '../src/engine/node-webgpu.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { createEngine } from '../src/node/engine.js';
import { shortRun, type ShortRun } from './browser-training.js';
import { CHROMIUM, chromiumSkip } from './helpers.js';
import { webgpuSample, type SampleResult } from './webgpu-sample.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Chromium's WebGPU on SwiftShader, headless: Vulkan through SwiftShader, no window surface. */
const WEBGPU_FLAGS = ['--no-sandbox', '--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-vulkan=swiftshader',
  '--use-webgpu-adapter=swiftshader', '--disable-vulkan-surface'];

const PAGE = `<!doctype html><meta charset="utf-8"><title>webgpu</title>
<script type="module">
import { webgpuSample } from './dist/test/webgpu-sample.js';
window.result = webgpuSample(navigator.gpu).catch((e) => ({ error: String(e && e.stack || e) }));
</script>`;

/**
 * A whole training run (test/browser-training.ts) on the browser entry point's webgpu engine. The
 * entry point imports npm packages by name, so the page runs it bundled, as an application would
 * (esbuild, in `before`).
 */
const TRAINING_ENTRY = `import { createEngine } from './dist/src/engine/browser.js';
import { shortRun } from './dist/test/browser-training.js';
window.result = (async () => {
  const engine = await createEngine({ kind: 'webgpu', gpuAdapter: 'swiftshader' });
  const run = await shortRun(engine.arena, engine.kernels);
  await engine.dispose();
  return { engine: engine.name, adapter: engine.adapter, ...run };
})().catch((e) => ({ error: String(e && e.stack || e) }));`;

async function bundleTrainingPage(): Promise<string> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({ stdin: { contents: TRAINING_ENTRY, resolveDir: ROOT, loader: 'js' }, bundle: true,
    format: 'esm', target: 'es2022', platform: 'browser', write: false, logLevel: 'error' });
  return out.outputFiles[0].text;
}

const PAGES: Record<string, string> = { 'page.html': PAGE,
  'training.html': '<!doctype html><meta charset="utf-8"><title>webgpu training</title><script type="module" src="./training.js"></script>' };
/** Served JavaScript other than dist/'s files (the bundled training page). */
const SCRIPTS: Record<string, string> = {};

function serve(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const file = new URL(req.url ?? '/', 'http://localhost').pathname.slice(1);
    const path = normalize(join(ROOT, file));
    if (Object.hasOwn(PAGES, file)) res.writeHead(200, { 'content-type': 'text/html' }).end(PAGES[file]);
    else if (Object.hasOwn(SCRIPTS, file)) res.writeHead(200, { 'content-type': 'text/javascript' }).end(SCRIPTS[file]);
    else if (path.startsWith(join(ROOT, 'dist')) && path.endsWith('.js') && existsSync(path)) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(path));
    } else res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Dawn's SwiftShader in Node, or why not (then the Node comparisons skip, except under CI). */
async function nodeWebGpu(t: { skip(message: string): void }): Promise<GPU | null> {
  const gpu = await nodeGpu({ swiftshader: true }).catch((e: Error) => e);
  if (gpu instanceof Error && !process.env.CI) {
    t.skip(`WebGPU in Node is unavailable here: ${gpu.message}`);
    return null;
  }
  if (gpu instanceof Error) throw gpu;
  return gpu;
}

describe('WebGPU in a real browser', { skip: chromiumSkip }, () => {
  let browser: Browser;
  let server: http.Server;

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: WEBGPU_FLAGS });
    server = await serve();
    SCRIPTS['training.js'] = await bundleTrainingPage();
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  /** Opens one of PAGES and returns its `window.result`, with no page error. */
  async function runPage<R>(name: string): Promise<R & { error?: string }> {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://localhost:${(server.address() as AddressInfo).port}/${name}`);
    const result = await page.evaluate(() => (window as unknown as { result: Promise<R & { error?: string }> }).result);
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(result.error, undefined, result.error);
    return result;
  }

  let inPage: SampleResult & { error?: string };

  it('navigator.gpu on SwiftShader runs the kernels and matches the reference in the page', { timeout: 120_000 }, async () => {
    const result = inPage = await runPage<SampleResult>('page.html');
    assert.match(result.adapter, /swiftshader/i);
    assert.equal(result.software, true);
    assert.ok(result.convError < 2e-4, `convolution: scaled error ${result.convError}`);
    assert.ok(result.lossError < 1e-5, `loss: scaled error ${result.lossError}`);
    assert.ok(result.argmaxExact, 'max-pool ties differ from the CPU engines');
    assert.ok(result.dropoutExact, 'the dropout mask differs from the CPU engines');
  });

  it('gives bitwise the numbers that Node gets through Dawn on the same SwiftShader', async (t) => {
    const gpu = await nodeWebGpu(t);
    if (!gpu) return;
    assert.ok(inPage?.bits, 'the page gave no result');
    const inNode = await webgpuSample(gpu);
    assert.deepEqual(inPage.bits, inNode.bits);
  });

  let trained: ShortRun & { engine: string; adapter: string };

  it('trains a network in the page (browser entry point, navigator.gpu): the reference engine\'s losses within 1e-3', { timeout: 300_000 }, async () => {
    trained = await runPage<ShortRun & { engine: string; adapter: string }>('training.html');
    assert.equal(trained.engine, 'webgpu');
    assert.match(trained.adapter, /swiftshader/i);
    const reference = await shortRun(new HeapArena('float32'), referenceKernels);
    assert.equal(trained.stepLosses.length, reference.stepLosses.length);
    reference.stepLosses.forEach((loss, i) =>
      assert.ok(Math.abs(trained.stepLosses[i] - loss) <= 1e-3 * (1 + loss), `step ${i + 1}: ${trained.stepLosses[i]} vs reference ${loss}`));
    assert.equal(trained.weightBits.length, reference.weightBits.length);
    // The bitwise comparison with Node (next test) can fail: the reference engine's float64 sums end in other bits.
    assert.notDeepEqual(trained.weightBits, reference.weightBits);
  });

  it('ends with bitwise the weights and losses of the same run in Node on Dawn/SwiftShader', { timeout: 300_000 }, async (t) => {
    if (!(await nodeWebGpu(t))) return;
    assert.ok(trained?.weightBits, 'the page gave no result');
    const engine = await createEngine({ kind: 'webgpu', gpuAdapter: 'swiftshader' });
    try {
      const inNode = await shortRun(engine.arena, engine.kernels);
      const bad = inNode.weightBits.findIndex((v, i) => v !== trained.weightBits[i]);
      assert.equal(bad, -1, `w differs from Node's at element ${bad}`);
      assert.deepEqual(trained.stepLosses, inNode.stepLosses);
    } finally {
      await engine.dispose();
    }
  });
});

describe('the browser entry point without WebGPU', () => {
  it("createEngine({ kind: 'webgpu' }) without navigator.gpu says what is missing", async () => {
    const browserEntry = await import('../src/engine/browser.js');
    assert.equal(typeof navigator === 'undefined' || !('gpu' in navigator), true, 'this Node has a navigator.gpu');
    await assert.rejects(browserEntry.createEngine({ kind: 'webgpu' }),
      /^DescentError: the WebGPU engine could not start: WebGPU is not available: no GPU object \(navigator.gpu is undefined\)$/);
    const engine = await browserEntry.createEngine({ kind: 'reference' });
    assert.equal(engine.name, 'reference');
    await assert.rejects(browserEntry.createEngine({ kind: 'cuda' as 'wasm' }), /use auto, wasm, webgpu or reference/);
  });
});
