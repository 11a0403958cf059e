/**
 * Choosing the compute engine in Node: the WebAssembly SIMD engine on worker threads where it can
 * start, else (or when asked) the reference TypeScript kernels.
 */
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
  if (kind !== 'auto' && kind !== 'wasm') throw new DescentError(`unknown engine "${String(kind)}": use auto, wasm or reference`);
  try {
    const { createWasmEngine } = await import('../engine/node-loader.js');
    return await createWasmEngine(o);
  } catch (e) {
    if (kind === 'wasm') throw new DescentError(`the WebAssembly engine could not start: ${(e as Error).message}`);
    return referenceEngine();
  }
}
