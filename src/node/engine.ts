/**
 * Choosing the compute engine in Node: a real GPU through WebGPU where one is present, else the
 * WebAssembly SIMD engine on worker threads where it can start, else (or when asked) the reference
 * TypeScript kernels.
 */
import { DescentError } from '../core/errors.js';
import { type Engine, type EngineKind, type EngineOptions, referenceEngine } from '../engine/engine.js';

export { type Engine, type EngineKind, type EngineOptions, referenceEngine };

/**
 * The fast engine by default: `await createEngine()` starts the WebGPU engine on a real GPU where one
 * is present (never on a software adapter such as SwiftShader), else the WebAssembly engine on every
 * core (`threads` to choose), falling back to the reference kernels only where it cannot start;
 * `{ kind: 'reference' }` asks for the reference kernels, `{ kind: 'wasm' }` or `{ kind: 'webgpu' }` fail
 * instead of falling back (`gpuAdapter: 'swiftshader'` allows SwiftShader, for tests).
 * (`createEngine(kind, threads)` is the older form of the same.)
 */
export async function createEngine(options: EngineOptions | EngineKind = {}, threads?: number): Promise<Engine> {
  const o: EngineOptions = typeof options === 'string' ? { kind: options, threads } : options;
  const kind = o.kind ?? 'auto';
  if (kind === 'reference') return referenceEngine();
  const adapter = o.gpuAdapter ?? (process.env.DESCENT_GPU_ADAPTER || undefined) as EngineOptions['gpuAdapter'];
  if (adapter !== undefined && adapter !== 'system' && adapter !== 'swiftshader') {
    throw new DescentError(`unknown GPU adapter "${String(adapter)}": use system or swiftshader`);
  }
  if (kind === 'webgpu') return startWebGpu(adapter ?? 'system');
  if (kind !== 'auto' && kind !== 'wasm') throw new DescentError(`unknown engine "${String(kind)}": use auto, wasm, webgpu or reference`);
  if (o.gpuAdapter && kind !== 'auto') throw new DescentError(`a GPU adapter applies to the webgpu and auto engines, not to ${kind}`);
  // auto: a real GPU, or SwiftShader when it was asked for by name; else the CPU engines. Dawn is not
  // even loaded where no GPU device exists (it takes time, and writes to stderr when it finds none).
  if (kind === 'auto' && (adapter === 'swiftshader' || await gpuDevicePresent())) {
    const gpu = await startWebGpu(adapter ?? 'system').catch(() => null);
    if (gpu) return gpu;
  }
  try {
    const { createWasmEngine } = await import('../engine/node-loader.js');
    return await createWasmEngine(o);
  } catch (e) {
    if (kind === 'wasm') throw new DescentError(`the WebAssembly engine could not start: ${(e as Error).message}`);
    return referenceEngine();
  }
}

/** The WebGPU engine; a software adapter only when asked for by name ('swiftshader'); else one line naming what is missing. */
async function startWebGpu(adapter: 'system' | 'swiftshader'): Promise<Engine> {
  try {
    const { openNodeGpu } = await import('../engine/node-webgpu.js');
    const { webGpuEngine } = await import('../engine/webgpu/engine.js');
    const opened = await openNodeGpu({ swiftshader: adapter === 'swiftshader' });
    if (opened.adapter.software && adapter !== 'swiftshader') {
      opened.device.destroy();
      throw new Error(`the only adapter is a software one (${opened.adapter.name}); ask for it explicitly with ` +
        `gpuAdapter 'swiftshader' (CLI: --gpu-adapter swiftshader)`);
    }
    return await webGpuEngine(opened);
  } catch (e) {
    throw new DescentError(`the WebGPU engine could not start: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** "wasm on 2 threads", "webgpu (adapter ...)": what a command says it runs on. */
export function describeEngine(engine: Engine): string {
  if (engine.adapter) return `${engine.name} (adapter ${engine.adapter})`;
  return `${engine.name}${engine.threads > 1 ? ` on ${engine.threads} threads` : ''}`;
}

async function gpuDevicePresent(): Promise<boolean> {
  return (await import('../engine/node-webgpu.js')).gpuDevicePresent();
}
