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
 * fails instead of falling back. `{ kind: 'webgpu' }`: the WebGPU engine on `navigator.gpu` (any
 * adapter, software ones such as SwiftShader included), or an error naming what is missing; `auto`
 * takes it first when the adapter is a real GPU.
 */
export async function createEngine(options: EngineOptions & BrowserEngineOptions = {}): Promise<Engine> {
  const kind: EngineKind = options.kind ?? 'auto';
  if (kind === 'reference') return referenceEngine();
  if (kind === 'webgpu') return (await browserWebGpu(false))!;
  if (kind !== 'auto' && kind !== 'wasm') throw new DescentError(`unknown engine "${String(kind)}": use auto, wasm, webgpu or reference`);
  if (kind === 'auto' && typeof navigator !== 'undefined' && navigator.gpu) {
    const gpu = await browserWebGpu(true).catch(() => null);
    if (gpu) return gpu;
  }
  try {
    return await createBrowserEngine(options);
  } catch (e) {
    if (kind === 'wasm') throw new DescentError(`the WebAssembly engine could not start: ${(e as Error).message}`);
    return referenceEngine();
  }
}

/**
 * The WebGPU engine on the page's `navigator.gpu` (loaded on demand: a page without WebGPU never
 * fetches it); with `realOnly`, null when the adapter is a software one (SwiftShader, WARP).
 */
async function browserWebGpu(realOnly: boolean): Promise<Engine | null> {
  try {
    const { openDevice } = await import('./webgpu/device.js');
    const { webGpuEngine } = await import('./webgpu/engine.js');
    const opened = await openDevice(typeof navigator === 'undefined' ? undefined : navigator.gpu,
      () => 'this browser offers none (WebGPU may be disabled, or the GPU blocklisted)');
    if (realOnly && opened.adapter.software) {
      opened.device.destroy();
      return null;
    }
    return await webGpuEngine(opened);
  } catch (e) {
    throw new DescentError(`the WebGPU engine could not start: ${(e as Error).message.split('\n')[0]}`);
  }
}
