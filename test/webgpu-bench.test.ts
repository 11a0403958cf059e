/**
 * `npm run bench -- --engine webgpu --quick` as a smoke test: one network, one step per
 * measurement on SwiftShader, Descent's webgpu engine and TF.js's WebGPU backend in one process.
 * It checks that both sides ran and the results name the adapter; never how fast they were.
 * Without an adapter the run is skipped with the reason, except under CI (CI set).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openNodeGpu } from '../src/engine/node-webgpu.js';

const BENCH = fileURLToPath(new URL('../bench/bench.js', import.meta.url));
const opened = await openNodeGpu({ swiftshader: true }).catch((e: Error) => e);
if (!(opened instanceof Error)) opened.device.destroy();
const skip: string | false = opened instanceof Error && !process.env.CI
  ? `WebGPU is unavailable here: ${opened.message}; under CI this test runs and fails instead`
  : false;

const bench = (...args: string[]) => spawnSync(process.execPath, [BENCH, '--engine', 'webgpu', ...args],
  { encoding: 'utf8', timeout: 300_000 });

describe('npm run bench -- --engine webgpu', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-webgpu-bench-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--quick runs NET-A on both libraries on the same SwiftShader adapter and writes the ratio', { skip, timeout: 300_000 }, () => {
    const out = join(dir, 'results.json');
    const r = bench('--quick', '--nets', 'NET-A', '--gpu-adapter', 'swiftshader', out);
    assert.equal(r.status, 0, r.stderr);
    const results = JSON.parse(readFileSync(out, 'utf8'));
    assert.match(results.adapter, /swiftshader/i);
    assert.ok(results.adapter.startsWith(results.tfjsAdapter), `${results.adapter} vs ${results.tfjsAdapter}`);
    assert.equal(results.software, true);
    assert.equal(results.tfjs, '4.22.0');
    assert.deepEqual(results.rows.map((row: { network: string }) => row.network), ['NET-A']);
    const [row] = results.rows;
    for (const side of ['descent', 'tfjs']) {
      for (const k of ['train', 'infer']) assert.ok(row[side][k].median > 0 && row[side][k].steps >= 1, `${side} ${k}`);
    }
    assert.ok(Number.isFinite(row.trainVsTfjs) && Number.isFinite(row.inferVsTfjs));
    assert.match(r.stdout, /\| NET-A \|.*× \|/);
    assert.match(r.stdout, /not a GPU figure/);
  });

  it('refuses an unknown engine, network or adapter, naming it', () => {
    const cases: [string[], RegExp][] = [
      [['--nets', 'NET-Z'], /--nets names none of NET-A, NET-B, ResNet-20: got "NET-Z"/],
      [['--gpu-adapter', 'cuda'], /--gpu-adapter must be system or swiftshader, got cuda/],
      [['--batch', '0'], /--batch must be a positive integer, got 0/],
    ];
    for (const [args, message] of cases) {
      const r = bench(...args);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, message);
    }
    const r = spawnSync(process.execPath, [BENCH, '--engine', 'cuda'], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--engine must be webgpu.*got cuda/);
  });
});
