/** Runs one fuzz suite (arguments: suite, seed, count) and sends each case's start and result to the parent. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Rng } from '../src/core/rng.js';
import { classify, type CaseResult } from './fuzz-harness.js';
import { suites } from './fuzz-targets.js';

const [suite, seed, count] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const post = (m: unknown) => process.send!(m);
const dir = mkdtempSync(join(tmpdir(), `descent-fuzz-${suite}-`));
try {
  const s = suites[suite];
  const rng = new Rng(seed);
  const seedData = await s.setup(dir);
  for (let i = 0; i < count; i++) {
    let result: CaseResult;
    try {
      const c = s.make(i, rng, dir, seedData);
      post({ type: 'start', name: c.name });
      result = classify(c);
    } catch (e) {
      result = { name: `${suite} #${i}`, failure: `the harness failed: ${(e as Error).message}` };
    }
    post({ type: 'result', result });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
post({ type: 'end' });
process.disconnect();
