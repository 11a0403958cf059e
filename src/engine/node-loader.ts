/**
 * Node loader of the fast engine: reads dist/wasm/descent.wasm (built by `npm run build:wasm`)
 * and starts the worker threads with worker_threads. Workers are unref'd, so a forgotten
 * dispose() does not keep the process alive.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './protocol.js';
import type { WorkerHandle } from './runtime.js';
import { createEngine, type WasmEngine, type WasmEngineOptions } from './wasm-engine.js';

/** dist/src/engine/node-loader.js → dist/wasm/descent.wasm */
const WASM_URL = new URL('../../wasm/descent.wasm', import.meta.url);
const WORKER_URL = new URL('./node-worker.js', import.meta.url);

let compiled: Promise<WebAssembly.Module> | null = null;

/** The compiled module (compiled once per process). */
export function loadWasmModule(): Promise<WebAssembly.Module> {
  compiled ??= (async () => {
    let bytes: Buffer;
    try {
      bytes = readFileSync(WASM_URL);
    } catch {
      throw new Error(`the WebAssembly engine is not built (${WASM_URL.pathname} is missing): run npm run build`);
    }
    return WebAssembly.compile(new Uint8Array(bytes));
  })();
  return compiled;
}

/**
 * The fast engine for Node. `threads` defaults to the number of cores; each extra thread is a
 * worker on the same shared memory.
 */
export async function createWasmEngine(options: WasmEngineOptions = {}): Promise<WasmEngine> {
  const module = await loadWasmModule();
  const threads = options.threads ?? availableParallelism();
  return createEngine(module, { ...options, threads }, spawnNodeWorker);
}

function spawnNodeWorker(init: WorkerInit): Promise<WorkerHandle> {
  const worker = new Worker(WORKER_URL, { workerData: init });
  worker.unref();
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  const handle: WorkerHandle = {
    exited: () => {
      worker.ref(); // keep the process alive until it has gone
      return exit;
    },
    terminate: async () => {
      await worker.terminate();
    },
  };
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    worker.once('error', onError);
    worker.once('message', () => {
      worker.off('error', onError);
      resolve(handle);
    });
  });
}
