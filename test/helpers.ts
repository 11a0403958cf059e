/** Small helpers shared by the tests: seeded random data, fixtures, closeness, geometries, Chromium. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { Rng } from '../src/core/rng.js';
import { maxScaledError } from '../src/check/compare.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import { windowOutput } from '../src/layers/options.js';
import type { Floats } from '../src/core/floats.js';
import { hostFloats, hostInts, type IntTensor, type Tensor } from '../src/core/tensor.js';

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

/** A convolution's geometry, output size derived the way the layer derives it. */
export function convGeometry(N: number, H: number, W: number, C: number, O: number, KH: number, KW: number,
  SH = 1, SW = 1, PH = 0, PW = 0, DH = 1, DW = 1): Conv2dGeometry {
  const OH = windowOutput(H, KH, SH, PH, DH), OW = windowOutput(W, KW, SW, PW, DW);
  return { N, H, W, C, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW };
}

/** convGeometry with a square kernel, stride, padding and dilation. */
export function squareConv(N: number, H: number, W: number, C: number, O: number, K: number, S = 1, P = 0, D = 1): Conv2dGeometry {
  return convGeometry(N, H, W, C, O, K, K, S, S, P, P, D, D);
}

/** Debian's Chromium for the browser tests (CHROMIUM_PATH overrides). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** node:test's `skip` for a browser test: skipped without Chromium, except under CI, where it must run. */
export const chromiumSkip: string | false = !existsSync(CHROMIUM) && !process.env.CI
  ? `Chromium is not installed at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); under CI this test runs and fails instead`
  : false;

/** A CPU engine's tensor as its typed array (tests read numbers; a device handle is refused). */
export function host(t: Tensor): Floats {
  return hostFloats(t, 'test');
}

/** As host, for int32 tensors (max-pool arg-max). */
export function hostI(t: IntTensor): Int32Array {
  return hostInts(t, 'test');
}

/** The JSON lines of a run file (metrics.jsonl, events.jsonl). */
export function readJsonLines(file: string): Record<string, any>[] {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, any>);
}

/** Polls `f` until it returns a value that is not undefined/false. */
export async function until<T>(what: string, f: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
