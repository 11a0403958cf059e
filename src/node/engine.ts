/**
 * Choosing the compute engine in Node: a real GPU through WebGPU where one is present, else the
 * WebAssembly SIMD engine on worker threads where it can start, else (or when asked) the reference
 * TypeScript kernels.
 */
import { existsSync, readdirSync } from 'node:fs';
import { DescentError } from '../core/errors.js';
import { type Engine, type EngineKind, type EngineOptions, referenceEngine } from '../engine/engine.js';

export { type Engine, type EngineKind, type EngineOptions, referenceEngine };

/**
 * The fast engine by default: `await createEngine()` starts the WebAssembly engine on every core
 * (`threads` to choose), falling back to the reference kernels only where it cannot start;
 * `{ kind: 'reference' }` asks for the reference kernels, `{ kind: 'wasm' }` fails instead of falling back.
 * (`createEngine(kind, threads)` is the older form of the same.)
 */
export async function createEngine(options: EngineOptions | EngineKind = {}, threads?: number): Promise<Engine> {
  const o: EngineOptions = typeof options === 'string' ? { kind: options, threads } : options;
  const kind = o.kind ?? 'auto';
  if (kind === 'reference') return referenceEngine();
  if (kind === 'webgpu') return startWebGpu(o);
  if (kind !== 'auto' && kind !== 'wasm') throw new DescentError(`unknown engine "${String(kind)}": use auto, wasm, webgpu or reference`);
  if (kind === 'auto' && mayHaveGpu()) {
    const gpu = await startWebGpu({ ...o, gpuAdapter: 'system' }).catch(() => null);
    if (gpu && !gpu.software) return gpu;
    await gpu?.dispose();
  }
  try {
    const { createWasmEngine } = await import('../engine/node-loader.js');
    return await createWasmEngine(o);
  } catch (e) {
    if (kind === 'wasm') throw new DescentError(`the WebAssembly engine could not start: ${(e as Error).message}`);
    return referenceEngine();
  }
}

/** The WebGPU engine (SwiftShader when asked: options.gpuAdapter or DESCENT_GPU_ADAPTER), or one line naming what is missing. */
async function startWebGpu(o: EngineOptions): Promise<Engine & { software: boolean }> {
  const adapter = o.gpuAdapter ?? (process.env.DESCENT_GPU_ADAPTER as EngineOptions['gpuAdapter']) ?? 'system';
  if (adapter !== 'system' && adapter !== 'swiftshader') {
    throw new DescentError(`unknown GPU adapter "${String(adapter)}": use system or swiftshader`);
  }
  try {
    const { openNodeGpu } = await import('../engine/node-webgpu.js');
    const { webGpuEngine } = await import('../engine/webgpu/engine.js');
    const opened = await openNodeGpu({ swiftshader: adapter === 'swiftshader' });
    if (opened.adapter.software && adapter !== 'swiftshader') {
      opened.device.destroy();
      throw new Error(`the only adapter is a software one (${opened.adapter.name}); ask for it explicitly with ` +
        `gpuAdapter 'swiftshader' (CLI: --gpu-adapter swiftshader)`);
    }
    return { ...(await webGpuEngine(opened)), software: opened.adapter.software };
  } catch (e) {
    throw new DescentError(`the WebGPU engine could not start: ${(e as Error).message.split('\n')[0]}`);
  }
}

/**
 * Whether a GPU could be there, without loading Dawn (which takes time and writes to stderr when it
 * finds none): on Linux a render node or an NVIDIA device; elsewhere, yes.
 */
function mayHaveGpu(): boolean {
  if (process.platform !== 'linux') return true;
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
}
