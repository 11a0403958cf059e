/**
 * The fast engine, platform-neutral part: give it the compiled module (assembly/ built to
 * dist/wasm/descent.wasm) and, for more than one thread, a way to start workers; get back the
 * kernels and the arena to build a network with. node-loader.ts does both for Node,
 * browser-loader.ts for a browser.
 *
 *   const engine = await createWasmEngine({ threads: 2 });           // Node
 *   const net = new Sequential(layers, { inputShape, arena: engine.arena, kernels: engine.kernels });
 *   ... train ...
 *   await engine.dispose();
 *
 * Every array the arena hands out is a view into the one shared WebAssembly memory, so the
 * kernels read parameters, gradients and activations in place: nothing is copied on a step.
 */
import type { Arena } from '../core/arena.js';
import './wasm-namespace.js'; // WebAssembly's names for programs without the DOM lib
import { type WasmKernelOptions, WasmKernels } from './wasm-kernels.js';
import { Runtime, type SpawnWorker } from './runtime.js';

/** Options of the WebAssembly engine (Node and browsers). */
export interface WasmEngineOptions extends WasmKernelOptions {
  /** Threads, the calling one included (default: the number of cores, from the loader). */
  threads?: number;
  /** Initial and maximum WebAssembly memory in MiB (defaults 16 and 1024; at most 4096). */
  initialMiB?: number;
  /** Maximum WebAssembly memory in MiB (default 1024 shared, 512 unshared; at most 4096). */
  maximumMiB?: number;
}

/** What the platform loader decides (see Runtime): the module must have been built to match. */
export interface WasmPlatformOptions {
  /** Shared memory and worker threads (default true); false needs descent-single.wasm. */
  shared?: boolean;
  /** May the calling thread block in Atomics.wait (a page's main thread may not). */
  canWait?: boolean;
}

/** The WebAssembly SIMD engine: kernels and an arena in one WebAssembly memory, shared with its worker threads. */
export interface WasmEngine {
  /** Always 'wasm'. */
  readonly name: 'wasm';
  /** The kernels, running in WebAssembly (split across threads where there are several). */
  readonly kernels: WasmKernels;
  /** The arena whose arrays live in the WebAssembly memory. */
  readonly arena: WasmArena;
  /** Threads, the calling one included. */
  readonly threads: number;
  /** Is the memory shared between threads? (false: one thread, memory fixed at maximumMiB). */
  readonly shared: boolean;
  /** The WebAssembly memory. */
  readonly memory: WebAssembly.Memory;
  /** Stops the worker threads (the kernels keep working, on one thread). */
  dispose(): Promise<void>;
}

/**
 * An Arena whose arrays live in the engine's WebAssembly memory: zeroed, 64-byte aligned,
 * valid for the engine's lifetime (the memory may grow, but never moves).
 */
export class WasmArena implements Arena {
  readonly dtype = 'float32' as const;

  constructor(private readonly rt: Runtime) {}

  floats(length: number): Float32Array {
    const p = this.rt.alloc(length * 4);
    return new Float32Array(this.rt.currentBuffer, p, length);
  }

  ints(length: number): Int32Array {
    const p = this.rt.alloc(length * 4);
    return new Int32Array(this.rt.currentBuffer, p, length);
  }

  /** The allocation point now: `release(mark)` frees everything allocated after it. */
  mark(): number {
    return this.rt.mark();
  }

  /** Frees everything allocated since `mark` (those arrays must not be used again). */
  release(mark: number): void {
    this.rt.release(mark);
  }

  /** Bytes of the WebAssembly memory in use. */
  get used(): number {
    return this.rt.mark();
  }
}

/** Creates the engine from a compiled module; `spawn` starts a worker (needed when threads > 1). */
export async function createEngine(module: WebAssembly.Module,
  options: WasmEngineOptions & WasmPlatformOptions = {}, spawn?: SpawnWorker): Promise<WasmEngine> {
  const rt = await Runtime.create(module, {
    threads: options.threads ?? 1, spawn, initialMiB: options.initialMiB, maximumMiB: options.maximumMiB,
    shared: options.shared, canWait: options.canWait,
  });
  return {
    name: 'wasm',
    kernels: new WasmKernels(rt, options),
    arena: new WasmArena(rt),
    threads: rt.threads,
    shared: rt.shared,
    memory: rt.memory,
    dispose: () => rt.dispose(),
  };
}
