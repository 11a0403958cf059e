/**
 * `descent-cnn/browser`: the whole core library plus the engines for a browser page or worker.
 *
 *   import { createEngine, Sequential } from 'descent-cnn/browser';
 *   const engine = await createEngine();   // WebGPU on a real GPU, else WebAssembly (threads where cross-origin isolated)
 */
import { DescentError } from '../core/errors.js';
import { createBrowserEngine } from './browser-loader.js';
import { type Engine, type EngineKind, type EngineOptions, referenceEngine } from './engine.js';
import { openDevice } from './webgpu/device.js';
import { webGpuEngine } from './webgpu/engine.js';
import type { BrowserEngineOptions } from './browser-loader.js';

export * from '../index.js';
export { type BrowserEngineOptions, canShareMemory, createBrowserEngine, hasWasmSimd } from './browser-loader.js';

/**
 * The fast engine by default: WebGPU on a real GPU where the browser offers one (`navigator.gpu`,
 * never a software adapter unless `gpuAdapter: 'swiftshader'` asks for it), else the WebAssembly
 * engine (threads where the page is cross-origin isolated, one thread otherwise), falling back to the
 * reference kernels only where it cannot start (no WebAssembly SIMD); `{ kind: 'reference' }` asks for
 * the reference kernels, `{ kind: 'wasm' }` or `{ kind: 'webgpu' }` fail instead of falling back.
 */
export async function createEngine(options: EngineOptions & BrowserEngineOptions = {}): Promise<Engine> {
  const kind: EngineKind = options.kind ?? 'auto';
  if (kind === 'reference') return referenceEngine();
  if (kind !== 'auto' && kind !== 'wasm' && kind !== 'webgpu') {
    throw new DescentError(`unknown engine "${String(kind)}": use auto, wasm, webgpu or reference`);
  }
  if (kind !== 'wasm') {
    const gpu = await browserWebGpu(options.gpuAdapter === 'swiftshader').catch((e: Error) => e);
    if (!(gpu instanceof Error)) return gpu;
    if (kind === 'webgpu') throw new DescentError(`the WebGPU engine could not start: ${gpu.message}`);
  }
  try {
    return await createBrowserEngine(options);
  } catch (e) {
    if (kind === 'wasm') throw new DescentError(`the WebAssembly engine could not start: ${(e as Error).message}`);
    return referenceEngine();
  }
}

/** The WebGPU engine on navigator.gpu; a software adapter only when allowed. */
async function browserWebGpu(allowSoftware: boolean): Promise<Engine> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const opened = await openDevice(gpu, () => 'the browser offers none (is WebGPU enabled, and the page a secure context?)');
  if (opened.adapter.software && !allowSoftware) {
    opened.device.destroy();
    throw new Error(`the only adapter is a software one (${opened.adapter.name}); allow it with gpuAdapter: 'swiftshader'`);
  }
  return webGpuEngine(opened);
}
