/** Small helpers shared by the tests: seeded random data, fixtures, closeness. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Rng } from '../src/core/rng.js';
import { maxScaledError } from '../src/check/compare.js';

export function randomFloats(n: number, seed: number, kind: 'normal' | 'uniform' = 'normal'): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: n }, () => (kind === 'normal' ? rng.normal() : rng.uniform()));
}

export function randomLabels(n: number, classes: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(classes));
}

/** Reads a JSON file from test/fixtures (the tests run from dist/test). */
export function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../../test/fixtures/${name}`, import.meta.url), 'utf8')) as T;
}

/** Every |a_i - b_i| <= tol · (atol + |b_i|). */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string, atol = 1): void {
  const err = maxScaledError(a, b, atol);
  assert.ok(err <= tol, `${what}: scaled error ${err.toExponential(2)} exceeds ${tol}`);
}
