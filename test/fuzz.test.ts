/**
 * Fuzzing the inputs: a few hundred seeded mutations of each file type the command line reads
 * (IDX, gzip IDX, CSV, image folders, model files, checkpoints, PyTorch state_dicts, JSON specs).
 * Every outcome must be accepted (with the meaning the oracle expects) or refused with one clear
 * DescentError line; a crash, a raw JavaScript message, a hang, an allocation beyond the bound or
 * a changed meaning fails the test, naming the case (seed and edits) so that it can be replayed.
 * The negative tests show that the classifier catches each of those.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DescentError } from '../src/core/errors.js';
import { ALLOCATION_BOUND, classify, runSuite, tally } from './fuzz-harness.js';
import { laxCsvCase } from './fuzz-targets.js';

/** Mutations per file type; a fixed seed each, so a failure replays. */
const CASES = 300;
/** The watchdog's bound on one case: generous, as the two cores are shared; a loader that hangs never ends. */
const CASE_MS = 20_000;

const SUITES = ['idx', 'gzip-idx', 'csv', 'folder', 'model', 'checkpoint', 'pytorch', 'spec'];

test('the fuzz classifier catches a raw JavaScript error, even one with a clean message', () => {
  const typeError = classify({ name: 'TypeError', run: () => (null as unknown as { x: number[] }).x.length });
  assert.match(typeError.failure ?? '', /raw JavaScript error: TypeError/);
  const rangeError = classify({ name: 'RangeError', run: () => new Float32Array(-1) });
  assert.match(rangeError.failure ?? '', /raw JavaScript error: RangeError/);
  const plain = classify({ name: 'a plain Error', run: () => { throw new Error('bad input'); } });
  assert.match(plain.failure ?? '', /raw JavaScript error: Error: bad input/);
  const wrapped = classify({ name: 'wrapped', run: () => { throw new DescentError('x.json: spec.indexOf is not a function'); } });
  assert.match(wrapped.failure ?? '', /raw JavaScript message/);
  const twoLines = classify({ name: 'two lines', run: () => { throw new DescentError('bad\n    at foo (x.js:1:1)'); } });
  assert.match(twoLines.failure ?? '', /one clear line/);
  const clear = classify({ name: 'clear', run: () => { throw new DescentError('x.idx is truncated: header says 12 bytes, file has 3'); } });
  assert.deepEqual(clear.outcome, { kind: 'refused', message: 'x.idx is truncated: header says 12 bytes, file has 3' });
});

test('the fuzz classifier catches an allocation beyond its bound, kept or dropped', () => {
  const kept = classify({ name: 'kept', run: () => new Float64Array(ALLOCATION_BOUND / 8 + 2 ** 20) });
  assert.match(kept.failure ?? '', /allocated \d+ MiB, more than the 64 MiB bound/);
  const dropped = classify({
    name: 'dropped',
    run: () => {
      const big = new Uint8Array(2 * ALLOCATION_BOUND).fill(1);
      throw new DescentError(`refused after reading ${big.length} bytes`);
    },
  });
  assert.match(dropped.failure ?? '', /allocated \d+ MiB/);
  const small = classify({ name: 'small', run: () => new Float64Array(1024) });
  assert.deepEqual(small.outcome, { kind: 'accepted' });
});

test('the fuzz classifier catches a silent change of meaning and an expectation not met', () => {
  const dir = mkdtempSync(join(tmpdir(), 'descent-fuzz-neg-'));
  try {
    const lax = classify(laxCsvCase(dir));
    assert.match(lax.failure ?? '', /changed meaning: the CSV definition refuses it \(row 0: bad pixel 0x10\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const accepted = classify({ name: 'crafted', run: () => 1, expect: 'refused' });
  assert.match(accepted.failure ?? '', /accepted an input it must refuse/);
});

test('the fuzz watchdog reports a case that hangs', async () => {
  const report = await runSuite('negative-hang', 1, 1, 300);
  assert.match(report.hang ?? '', /case an endless loop did not finish within 300 ms/);
});

for (const [k, suite] of SUITES.entries()) {
  test(`fuzz: ${CASES} mutated ${suite} inputs are accepted as they are or refused with one clear line`, { timeout: 8 * CASE_MS }, async (t) => {
    const report = await runSuite(suite, 1000 + k, CASES, CASE_MS);
    const counts = tally(report);
    t.diagnostic(`${suite}: ${counts.accepted} accepted, ${counts.refused} refused, ${counts.failed} failed`);
    assert.equal(report.hang, undefined, report.hang);
    const failures = report.results.filter((r) => r.failure).map((r) => `${r.name}: ${r.failure}`);
    assert.deepEqual(failures, [], `${failures.length} of ${report.results.length} cases failed:\n${failures.slice(0, 10).join('\n')}`);
    assert.equal(report.results.length, CASES);
    assert.ok(counts.refused > 0, 'no mutation was refused: the mutations do not reach the checks');
  });
}
