/**
 * Browser loader of the fast engine. Where the page (or worker) is cross-origin isolated, so that
 * memory can be shared, it loads dist/wasm/descent.wasm and starts `threads - 1` module Workers on
 * one shared memory; elsewhere it falls back to one thread on dist/wasm/descent-single.wasm, the
 * same kernels built for an unshared memory. Either way the network code is the same:
 *
 *   const engine = await createBrowserEngine();            // threads: navigator.hardwareConcurrency
 *   const net = new Sequential(layers, { inputShape, arena: engine.arena, kernels: engine.kernels });
 *
 * On a page's main thread the calling thread spins while workers finish a call (it may not block);
 * training inside a dedicated Worker avoids tying up the page.
 */
import type { WorkerInit } from './protocol.js';
import type { WorkerHandle } from './runtime.js';
import { createEngine, type WasmEngine, type WasmEngineOptions } from './wasm-engine.js';

export interface BrowserEngineOptions extends WasmEngineOptions {
  /** Folder holding descent.wasm and descent-single.wasm (default: dist/wasm/ beside this file). */
  wasmBase?: string | URL;
  /** The module worker script (default: browser-worker.js beside this file). */
  workerUrl?: string | URL;
}

/** A module whose one function uses a SIMD instruction (i8x16.splat, i8x16.popcnt): valid only where SIMD is. */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0,
  253, 15, 253, 98, 11]);

/** Does this browser run WebAssembly SIMD (the engine needs it)? Otherwise use referenceKernels. */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

/** Can this context share memory with workers? */
export function canShareMemory(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true &&
    typeof SharedArrayBuffer === 'function' && typeof Worker === 'function';
}

/** The fast engine for a browser: threads where memory can be shared, else one thread. */
export async function createBrowserEngine(options: BrowserEngineOptions = {}): Promise<WasmEngine> {
  if (!hasWasmSimd()) throw new Error('this browser has no WebAssembly SIMD, which the fast engine needs: use referenceKernels');
  const shared = canShareMemory();
  const base = new URL(options.wasmBase ?? '../../wasm/', import.meta.url);
  const url = new URL(shared ? 'descent.wasm' : 'descent-single.wasm', base);
  const module = await compile(url);
  const threads = shared ? options.threads ?? (globalThis.navigator?.hardwareConcurrency || 1) : 1;
  // Only a page's main thread has a document; workers may block in Atomics.wait.
  const canWait = typeof (globalThis as { document?: unknown }).document === 'undefined';
  // Unshared memory is allocated whole at its maximum, so default to less than Node's 1 GiB.
  const maximumMiB = options.maximumMiB ?? (shared ? 1024 : 512);
  const workerUrl = new URL(options.workerUrl ?? './browser-worker.js', import.meta.url);
  return createEngine(module, { ...options, threads, maximumMiB, shared, canWait },
    (init) => spawnBrowserWorker(workerUrl, init));
}

async function compile(url: URL): Promise<WebAssembly.Module> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the WebAssembly engine could not be loaded from ${url.href} (HTTP ${response.status})`);
  // compileStreaming needs the server to say application/wasm; the bytes work whatever it says.
  return WebAssembly.compile(await response.arrayBuffer());
}

function spawnBrowserWorker(url: URL, init: WorkerInit): Promise<WorkerHandle> {
  const worker = new Worker(url, { type: 'module', name: `descent-engine-${init.index}` });
  let exited: () => void = () => {};
  const exit = new Promise<void>((resolve) => { exited = resolve; });
  const handle: WorkerHandle = {
    exited: () => exit,
    terminate: async () => {
      worker.terminate();
      exited();
    },
  };
  return new Promise((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(`an engine worker failed to start from ${url.href}: ${e.message}`));
    worker.onmessage = (e: MessageEvent) => {
      if (e.data === 'ready') resolve(handle);
      else if (e.data === 'exited') exited();
    };
    worker.postMessage(init);
  });
}
