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

/**
 * 'auto': a real (not software) WebGPU adapter when one is present, else the WebAssembly engine, else
 * the reference kernels; 'wasm', 'webgpu': that engine or an error naming what is missing.
 */
export type EngineKind = 'auto' | 'wasm' | 'reference' | 'webgpu';

/** Options of `createEngine` (Node and browser). */
export interface EngineOptions extends WasmEngineOptions {
  /** Which engine (default 'auto': the WebAssembly engine wherever it starts). */
  kind?: EngineKind;
  /**
   * WebGPU in Node: 'swiftshader' runs on SwiftShader, the CPU Vulkan driver of Debian's chromium (for
   * tests: correct but slow; `auto` never picks it). Default: the system's driver. The environment
   * variable DESCENT_GPU_ADAPTER=swiftshader does the same.
   */
  gpuAdapter?: 'system' | 'swiftshader';
}

/** An engine a network is built on (pass it as `engine` to Sequential, loadModel, ...). */
export interface Engine {
  /** 'wasm' (the WebAssembly SIMD engine), 'reference' (the TypeScript kernels) or 'webgpu'. */
  readonly name: 'wasm' | 'reference' | 'webgpu';
  /** The WebGPU adapter, as a person reads it (webgpu only). */
  readonly adapter?: string;
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
