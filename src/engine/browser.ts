/**
 * `descent-cnn/browser`: the whole core library plus the engines for a browser page or worker.
 *
 *   import { createEngine, Sequential } from 'descent-cnn/browser';
 *   const engine = await createEngine();   // WebAssembly: threads where cross-origin isolated, else one
 */
import { DescentError } from '../core/errors.js';
import { createBrowserEngine } from './browser-loader.js';
import { type Engine, type EngineKind, type EngineOptions, referenceEngine } from './engine.js';
import type { BrowserEngineOptions } from './browser-loader.js';

export * from '../index.js';
export { type BrowserEngineOptions, canShareMemory, createBrowserEngine, hasWasmSimd } from './browser-loader.js';

/**
 * The fast engine by default: the WebAssembly engine (threads where the page is cross-origin
 * isolated, one thread otherwise), falling back to the reference kernels only where it cannot
 * start (no WebAssembly SIMD); `{ kind: 'reference' }` asks for the reference kernels, `{ kind: 'wasm' }`
 * fails instead of falling back.
 */
export async function createEngine(options: EngineOptions & BrowserEngineOptions = {}): Promise<Engine> {
  const kind: EngineKind = options.kind ?? 'auto';
  if (kind === 'reference') return referenceEngine();
  if (kind !== 'auto' && kind !== 'wasm') throw new DescentError(`unknown engine "${String(kind)}": use auto, wasm or reference`);
  try {
    return await createBrowserEngine(options);
  } catch (e) {
    if (kind === 'wasm') throw new DescentError(`the WebAssembly engine could not start: ${(e as Error).message}`);
    return referenceEngine();
  }
}
