/** Shared by the model-interchange tests: real MNIST digits, ONNX Runtime (WebAssembly) and closeness. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { mnistDataDir } from '../src/node/mnist.js';

/** The first `n` MNIST test images, raw pixel values 0..255, [n, 28, 28, 1]. */
export function mnistPixels(n: number): Uint8Array {
  return readFileSync(join(mnistDataDir(), 't10k-images-idx3-ubyte')).subarray(16, 16 + n * 784);
}

export function mnistLabels(n: number): Int32Array {
  return Int32Array.from(readFileSync(join(mnistDataDir(), 't10k-labels-idx1-ubyte')).subarray(8, 8 + n));
}

/** Pixels as `descent predict` feeds them to a network: b / 255. */
export const unit = (pixels: Uint8Array) => Float32Array.from(pixels, (b) => b / 255);

ort.env.wasm.numThreads = 1;

/** Runs an ONNX model on ONNX Runtime's WebAssembly build, one float input, one output. */
export async function runOnnx(model: Uint8Array, input: Float32Array, dims: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(model);
  try {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', input, dims) });
    const t = out[session.outputNames[0]];
    return { data: t.data as Float32Array, dims: t.dims };
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'lengths differ');
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    m = Number.isNaN(d) ? Infinity : Math.max(m, d);
  }
  return m;
}

export function assertWithin(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  const d = maxAbsDiff(a, b);
  assert.ok(d <= tol, `${what}: max |difference| ${d.toExponential(2)} exceeds ${tol}`);
}

let found: { command: string | null; reason: string } | undefined;

/** A Python 3 with torch (Debian's python3-torch), or null with the reason it was not found. */
export function findTorchPython(): { command: string | null; reason: string } {
  if (found) return found;
  for (const command of [process.env.DESCENT_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c)) {
    try {
      execFileSync(command, ['-c', 'import torch'], { stdio: 'ignore', timeout: 60_000 });
      return (found = { command, reason: '' });
    } catch {
      // Next candidate.
    }
  }
  return (found = { command: null, reason: 'python3 with torch is not installed (apt-get install python3-torch, or set DESCENT_PYTHON)' });
}
