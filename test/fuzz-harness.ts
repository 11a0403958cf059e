/**
 * The fuzz harness: seeded mutations of valid files, and a classifier that sorts every outcome into
 * accepted or refused and reports a failure for anything else:
 *  - a crash: an exception that is not a DescentError (a TypeError, a RangeError, a plain Error);
 *  - a raw JavaScript message, even inside a DescentError ("is not iterable", "Invalid typed array
 *    length", "Maximum call stack", ...), or a message that is empty or more than one line;
 *  - an allocation beyond ALLOCATION_BOUND while one case runs (inputs are a few KiB, so a correct
 *    loader needs far less; a hostile header that makes it allocate more is a failure);
 *  - a changed meaning: the case's oracle rejects what was accepted (see fuzz-targets.ts);
 *  - a hang: the suite runs in a child process and a watchdog in the test ends it after a time bound.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DescentError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';

/** What one fuzz case may allocate (ArrayBuffers and JS heap together) while it runs. */
export const ALLOCATION_BOUND = 64 * 2 ** 20;

/** Messages that come from the JavaScript engine rather than from Descent's checks. */
export const RAW_JS_MESSAGE = new RegExp([
  'is not iterable', 'is not a function', 'Cannot read propert', 'Cannot set propert', 'Cannot convert',
  'Invalid typed array length', 'Invalid array length', 'Maximum call stack', 'Array buffer allocation failed',
  'is not defined', 'of undefined', 'of null', '\\[object Object\\]', 'out of bounds', 'is outside the bounds',
  'RangeError', 'TypeError', 'BigInt',
].join('|'));

export type Outcome = { kind: 'accepted' } | { kind: 'refused'; message: string };

export interface CaseResult {
  name: string;
  outcome?: Outcome;
  /** Why the case failed, if it did. */
  failure?: string;
}

/** A case: `run` loads the mutated input; `oracle` (when accepted) returns why the meaning changed, or null. */
export interface FuzzCase<T = unknown> {
  name: string;
  run: () => T;
  oracle?: (result: T) => string | null;
  /** Crafted cases say what must happen. */
  expect?: 'refused' | 'accepted';
}

const memory = () => {
  const m = process.memoryUsage();
  return m.arrayBuffers + m.heapUsed;
};
/** The process's peak resident memory so far, in bytes: it catches what a case allocated, filled and dropped. */
const peak = () => process.resourceUsage().maxRSS * 1024;

/** Descent's own errors (DescentError and its kinds: ShapeError, NonFiniteError, ...). */
const isDescentError = (e: unknown): e is Error => e instanceof DescentError;

/** Run one case and classify what happened. */
export function classify<T>(c: FuzzCase<T>): CaseResult {
  const before = memory(), peakBefore = peak();
  let result: T | undefined, error: unknown, threw = false;
  try {
    result = c.run();
  } catch (e) {
    threw = true;
    error = e;
  }
  const grew = Math.max(memory() - before, peak() - peakBefore);
  const fail = (failure: string): CaseResult => ({ name: c.name, failure });
  if (grew > ALLOCATION_BOUND) return fail(`allocated ${(grew / 2 ** 20).toFixed(0)} MiB, more than the ${ALLOCATION_BOUND / 2 ** 20} MiB bound`);
  if (threw) {
    if (!isDescentError(error)) {
      const e = error as Error;
      return fail(`crashed with a raw JavaScript error: ${e?.name}: ${String(e?.message).split('\n')[0]}`);
    }
    const message = error.message;
    if (message.trim() === '' || message.includes('\n')) return fail(`refused without one clear line: ${JSON.stringify(message)}`);
    if (RAW_JS_MESSAGE.test(message)) return fail(`refused with a raw JavaScript message: ${message}`);
    if (c.expect === 'accepted') return fail(`refused a valid input: ${message}`);
    return { name: c.name, outcome: { kind: 'refused', message } };
  }
  if (c.expect === 'refused') return fail('accepted an input it must refuse');
  let changed: string | null;
  try {
    changed = c.oracle ? c.oracle(result as T) : null;
  } catch (e) {
    changed = `the accepted result is malformed (${(e as Error).message})`;
  }
  if (changed) return fail(`accepted with a changed meaning: ${changed}`);
  return { name: c.name, outcome: { kind: 'accepted' } };
}

// ---- Mutations ----

const INTERESTING_BYTES = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x2c, 0x0a, 0x22, 0x7b, 0x5b, 0x30, 0x39, 0x2d];
const INTERESTING_WORDS = [0, 1, 0x7f, 0xff, 0x7fffffff, 0x80000000, 0xffffffff, 0x10000, 65536 * 3, 1e9];

/**
 * One to three random edits of `bytes`: a bit flip, an interesting or random byte, a 32-bit word
 * (either byte order), an insertion, a deletion, a truncation, a duplicated or zeroed run. Half the
 * edits land in the first `headerBias` bytes, where the structure is.
 */
export function mutateBytes(bytes: Uint8Array, rng: Rng, headerBias = 64): { bytes: Uint8Array; what: string; touched: number[] } {
  let b = Array.from(bytes);
  const edits: string[] = [], touched: number[] = [];
  const n = 1 + rng.int(3);
  for (let k = 0; k < n; k++) {
    const pos = () => (b.length === 0 ? 0 : rng.uniform() < 0.5 ? rng.int(Math.min(b.length, headerBias)) : rng.int(b.length));
    const at = pos();
    switch (rng.int(9)) {
      case 0: if (b.length) { b[at] ^= 1 << rng.int(8); edits.push(`flip@${at}`); touched.push(at); } break;
      case 1: if (b.length) { b[at] = INTERESTING_BYTES[rng.int(INTERESTING_BYTES.length)]; edits.push(`byte@${at}`); touched.push(at); } break;
      case 2: if (b.length) { b[at] = rng.int(256); edits.push(`rand@${at}`); touched.push(at); } break;
      case 3: {
        const v = INTERESTING_WORDS[rng.int(INTERESTING_WORDS.length)] >>> 0, le = rng.uniform() < 0.5;
        for (let i = 0; i < 4 && at + i < b.length; i++) { b[at + i] = (v >>> (le ? 8 * i : 24 - 8 * i)) & 0xff; touched.push(at + i); }
        edits.push(`word${le ? 'LE' : 'BE'}(${v})@${at}`);
        break;
      }
      case 4: b.splice(at, 0, rng.int(256)); edits.push(`insert@${at}`); touched.push(at); break;
      case 5: if (b.length) { b.splice(at, 1); edits.push(`delete@${at}`); touched.push(at); } break;
      case 6: b = b.slice(0, at); edits.push(`truncate@${at}`); touched.push(at); break;
      case 7: {
        const len = 1 + rng.int(16);
        b.splice(at, 0, ...b.slice(at, at + len)); edits.push(`dup${len}@${at}`); touched.push(at);
        break;
      }
      default: {
        const len = 1 + rng.int(8);
        for (let i = at; i < Math.min(b.length, at + len); i++) { b[i] = 0; touched.push(i); }
        edits.push(`zero${len}@${at}`);
      }
    }
  }
  return { bytes: Uint8Array.from(b), what: edits.join(','), touched };
}

const INTERESTING_TOKENS = ['0x10', '4294967299', '1e309', '-0', '', ' ', '+5', '255.5', '256', '-1', 'NaN', 'Infinity', '1_0',
  '\u0663', '0b1', '1e2', '2147483648', '9007199254740993', 'null', 'true', '"2"', '[]', '{}', '[2,2]', '1.5', '0', '1e9'];

/** Replace one number or word of a text with an awkward token (a hex number, a huge one, an empty field). */
export function mutateToken(text: string, rng: Rng): { text: string; what: string } {
  // Half the time a number (a value), else any word (a key, a type, a header).
  const numbers = rng.uniform() < 0.5;
  const tokens = [...text.matchAll(numbers ? /(?<![A-Za-z0-9])\d+(\.\d+)?(?![A-Za-z0-9])/g : /[A-Za-z0-9.+-]+/g)];
  if (tokens.length === 0) return { text, what: 'none' };
  const t = tokens[rng.int(tokens.length)], token = INTERESTING_TOKENS[rng.int(INTERESTING_TOKENS.length)];
  return { text: text.slice(0, t.index) + token + text.slice(t.index! + t[0].length), what: `token@${t.index}=${JSON.stringify(token)}` };
}

// ---- The worker that runs a suite, and the watchdog around it ----

export interface SuiteReport {
  suite: string;
  results: CaseResult[];
  /** A case that did not finish within the time bound, or the worker's own death. */
  hang?: string;
}

/**
 * Run suite `suite` (a name in fuzz-targets.ts, or a negative-test suite) in a worker, `count`
 * cases from `seed`; a case that takes longer than `caseMs` ends the worker and is reported.
 */
export function runSuite(suite: string, seed: number, count: number, caseMs: number): Promise<SuiteReport> {
  // A process of its own: its peak memory starts low, and a hang or a runaway allocation ends there.
  const child = fork(fileURLToPath(new URL('./fuzz-worker.js', import.meta.url)), [suite, String(seed), String(count)], {
    execArgv: ['--max-old-space-size=512'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const results: CaseResult[] = [];
  return new Promise((resolve) => {
    let current = '(starting)', done = false;
    const finish = (hang?: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve({ suite, results, hang });
    };
    let timer = setTimeout(() => finish(`case ${current} did not finish within ${caseMs} ms`), caseMs * 4);
    child.on('message', (m: { type: 'start'; name: string } | { type: 'result'; result: CaseResult } | { type: 'end' }) => {
      clearTimeout(timer);
      if (m.type === 'start') {
        current = m.name;
        timer = setTimeout(() => finish(`case ${current} did not finish within ${caseMs} ms`), caseMs);
      } else if (m.type === 'result') {
        results.push(m.result);
        timer = setTimeout(() => finish(`the fuzz process stopped after case ${current}`), caseMs);
      } else finish();
    });
    child.on('exit', (code, signal) => finish(`the fuzz process ended (${signal ?? code}) in case ${current}: ${stderr.trim().split('\n').pop()}`));
  });
}

/** Counts for the report line of a suite. */
export function tally(report: SuiteReport): { accepted: number; refused: number; failed: number } {
  const r = report.results;
  return {
    accepted: r.filter((x) => x.outcome?.kind === 'accepted').length,
    refused: r.filter((x) => x.outcome?.kind === 'refused').length,
    failed: r.filter((x) => x.failure).length,
  };
}
