/**
 * The WebGPU kernels in headless Chromium, through `navigator.gpu` on SwiftShader (no Node API in
 * src/engine/webgpu): a page loads the built modules from dist/ over HTTP from localhost (a
 * secure context, which WebGPU needs) and runs test/webgpu-sample.ts, which checks a convolution,
 * a max-pool with ties, dropout and the loss against the reference kernels in the page, and gets
 * bitwise the numbers that Node's Dawn gets on the same SwiftShader.
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
import { nodeGpu } from '../src/engine/node-webgpu.js';
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

function serve(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const file = new URL(req.url ?? '/', 'http://localhost').pathname.slice(1);
    const path = normalize(join(ROOT, file));
    if (file === 'page.html') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (path.startsWith(join(ROOT, 'dist')) && path.endsWith('.js') && existsSync(path)) {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(readFileSync(path));
    } else res.writeHead(404).end();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

describe('WebGPU kernels in a real browser', { skip: chromiumSkip }, () => {
  let browser: Browser;
  let server: http.Server;

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: WEBGPU_FLAGS });
    server = await serve();
  });

  after(async () => {
    await browser?.close();
    server?.close();
  });

  let inPage: SampleResult & { error?: string };

  it('navigator.gpu on SwiftShader runs the kernels and matches the reference in the page', { timeout: 120_000 }, async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://localhost:${(server.address() as AddressInfo).port}/page.html`);
    const result = inPage = await page.evaluate(() => (window as unknown as { result: Promise<SampleResult & { error?: string }> }).result);
    await page.close();
    assert.deepEqual(errors, []);
    assert.equal(result.error, undefined, result.error);
    assert.match(result.adapter, /swiftshader/i);
    assert.equal(result.software, true);
    assert.ok(result.convError < 2e-4, `convolution: scaled error ${result.convError}`);
    assert.ok(result.lossError < 1e-5, `loss: scaled error ${result.lossError}`);
    assert.ok(result.argmaxExact, 'max-pool ties differ from the CPU engines');
    assert.ok(result.dropoutExact, 'the dropout mask differs from the CPU engines');
  });

  it('gives bitwise the numbers that Node gets through Dawn on the same SwiftShader', async (t) => {
    const gpu = await nodeGpu({ swiftshader: true }).catch((e: Error) => e);
    if (gpu instanceof Error && !process.env.CI) return t.skip(`WebGPU in Node is unavailable here: ${gpu.message}`);
    if (gpu instanceof Error) throw gpu;
    assert.ok(inPage?.bits, 'the page gave no result');
    const inNode = await webgpuSample(gpu);
    assert.deepEqual(inPage.bits, inNode.bits);
  });
});
