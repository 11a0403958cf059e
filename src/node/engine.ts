/**
 * Choosing the compute engine for a run: the WebAssembly SIMD engine where it can start, else the
 * reference TypeScript kernels. Both give an Arena and Kernels; a network is built on them.
 */
import { type Arena, HeapArena } from '../core/arena.js';
import { DescentError } from '../core/errors.js';
import type { Kernels } from '../kernels/kernels.js';
import { referenceKernels } from '../kernels/reference/index.js';

export type EngineKind = 'auto' | 'wasm' | 'reference';

export interface Engine {
  name: string;
  kernels: Kernels;
  arena: Arena;
  threads: number;
  dispose(): Promise<void>;
}

export function referenceEngine(): Engine {
  return { name: 'reference', kernels: referenceKernels, arena: new HeapArena('float32'), threads: 1, dispose: async () => {} };
}

export async function createEngine(kind: EngineKind = 'auto', threads?: number): Promise<Engine> {
  if (kind === 'reference') return referenceEngine();
  try {
    const { createWasmEngine } = await import('../engine/node-loader.js');
    return await createWasmEngine({ threads });
  } catch (e) {
    if (kind === 'wasm') throw new DescentError(`the WebAssembly engine could not start: ${(e as Error).message}`);
    return referenceEngine();
  }
}
