/**
 * What a network runs on: an engine gives the Arena its arrays live in and the Kernels its layers
 * call. `createEngine` of `descent-cnn/node` or `descent-cnn/browser` starts the WebAssembly SIMD
 * engine (the default, wherever it starts) or, when asked, the reference TypeScript kernels:
 *
 *   const engine = await createEngine();                         // or { kind: 'reference' }
 *   const net = new Sequential(layers, { inputShape, engine });
 *   ... train ...
 *   await engine.dispose();
 */
import { type Arena, HeapArena } from '../core/arena.js';
import type { Kernels } from '../kernels/kernels.js';
import { referenceKernels } from '../kernels/reference/index.js';
import type { WasmEngineOptions } from './wasm-engine.js';

/** 'auto': the WebAssembly engine, or the reference kernels where it cannot start; 'wasm': it or an error. */
export type EngineKind = 'auto' | 'wasm' | 'reference';

/** Options of `createEngine` (Node and browser). */
export interface EngineOptions extends WasmEngineOptions {
  /** Which engine (default 'auto': the WebAssembly engine wherever it starts). */
  kind?: EngineKind;
}

/** An engine a network is built on (pass it as `engine` to Sequential, loadModel, ...). */
export interface Engine {
  /** 'wasm' (the WebAssembly SIMD engine) or 'reference' (the TypeScript kernels). */
  readonly name: 'wasm' | 'reference';
  /** The kernels every layer calls. */
  readonly kernels: Kernels;
  /** Where w, g, the activations and the optimizer's state live. */
  readonly arena: Arena;
  /** Threads the kernels run on, the calling one included. */
  readonly threads: number;
  /** Stops the engine's worker threads; networks on it keep working on one thread. */
  dispose(): Promise<void>;
}

/** The reference TypeScript kernels on the JavaScript heap: the slow, plain oracle. */
export function referenceEngine(): Engine {
  return { name: 'reference', kernels: referenceKernels, arena: new HeapArena('float32'), threads: 1, dispose: async () => {} };
}
