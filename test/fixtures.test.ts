/**
 * The PyTorch fixtures are reproducible: test/fixtures/make_fixtures.py, run where torch is
 * installed, writes the committed layers.json and optimizers.json (to float64 rounding; byte for byte with
 * Debian 12's python3-torch). Skipped without torch
 * (it is not needed to run the suite); PYTHON picks the interpreter (default /usr/bin/python3).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const python = process.env.PYTHON ?? '/usr/bin/python3';
const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const hasTorch = spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;

it('make_fixtures.py writes exactly the committed fixtures', { skip: hasTorch ? false : `no torch for ${python}` }, () => {
  const out = mkdtempSync(join(tmpdir(), 'descent-fixtures-'));
  try {
    const r = spawnSync(python, ['-B', join(fixtures, 'make_fixtures.py'), out], { encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ['layers.json', 'optimizers.json']);
    for (const name of ['layers.json', 'optimizers.json']) {
      const made = JSON.parse(readFileSync(join(out, name), 'utf8')), committed = JSON.parse(readFileSync(join(fixtures, name), 'utf8'));
      assertSameNumbers(withoutGenerator(made), withoutGenerator(committed), name);
      if (name === 'layers.json') { // the comparison can fail: one number moved by 1e-6
        made.layers[0].y.data[0] += 1e-6;
        assert.throws(() => assertSameNumbers(made, committed, name), /layers\.json\.layers\.0\.y\.data\.0/);
      }
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

/** Equal structure and strings; numbers equal within float64 rounding (1e-12 relative). */
function assertSameNumbers(a: unknown, b: unknown, path: string): void {
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= 1e-12 * (1 + Math.abs(b)), `${path}: ${a} made, ${b} committed`);
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    assert.deepEqual(Object.keys(a), Object.keys(b), `${path}: different keys`);
    for (const k of Object.keys(b)) assertSameNumbers((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${path}.${k}`);
  } else {
    assert.equal(a, b, path);
  }
}

/** The numbers, without the line naming the PyTorch version that made them. */
function withoutGenerator(json: { generator?: string }): object {
  const { generator: _, ...rest } = json;
  return rest;
}
