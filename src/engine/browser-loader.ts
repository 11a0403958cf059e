/**
 * Browser loader of the fast engine. Where the page (or worker) is cross-origin isolated, so that
 * memory can be shared, it loads descent.wasm and starts `threads - 1` Workers on one shared
 * memory; elsewhere it falls back to one thread on descent-single.wasm, the same kernels built for
 * an unshared memory. Both modules and the worker script are embedded in this package's JavaScript
 * (embedded-assets.js), so bundlers (Vite, esbuild, ...) and plain pages need no file copied; pass
 * `wasmBase` and `workerUrl` to load them from URLs instead (e.g. under a CSP without blob: workers).
 * Either way the network code is the same:
 *
 *   const engine = await createBrowserEngine();            // threads: navigator.hardwareConcurrency
 *   const net = new Sequential(layers, { inputShape, engine });
 *
 * On a page's main thread the calling thread spins while workers finish a call (it may not block);
 * training inside a dedicated Worker avoids tying up the page.
 */
import { sharedWasmBase64, singleWasmBase64, workerSource } from './embedded-assets.js';
import type { WorkerInit } from './protocol.js';
import type { WorkerHandle } from './runtime.js';
import { createEngine, type WasmEngine, type WasmEngineOptions } from './wasm-engine.js';

/** Options of the browser engine, beside the WebAssembly engine's own. */
export interface BrowserEngineOptions extends WasmEngineOptions {
  /**
   * Folder (URL) to fetch descent.wasm and descent-single.wasm from, e.g. the package's dist/wasm/
   * served by you. Default: the copies embedded in this package's JavaScript, nothing fetched.
   */
  wasmBase?: string | URL;
  /**
   * URL of the module worker script (the package's dist/src/engine/browser-worker.js, exported as
   * `descent-cnn/browser-worker`). Default: the embedded worker, started from a blob: URL.
   */
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
  const module = options.wasmBase !== undefined
    ? await compile(new URL(shared ? 'descent.wasm' : 'descent-single.wasm', new URL(options.wasmBase, globalThis.location?.href)))
    : await WebAssembly.compile(fromBase64(shared ? sharedWasmBase64 : singleWasmBase64));
  const threads = shared ? options.threads ?? (globalThis.navigator?.hardwareConcurrency || 1) : 1;
  // Only a page's main thread has a document; workers may block in Atomics.wait.
  const canWait = typeof (globalThis as { document?: unknown }).document === 'undefined';
  // Unshared memory is allocated whole at its maximum, so default to less than Node's 1 GiB.
  const maximumMiB = options.maximumMiB ?? (shared ? 1024 : 512);
  const spawn = threads <= 1 ? undefined : options.workerUrl !== undefined
    ? spawnFrom(new URL(options.workerUrl, globalThis.location?.href), 'module')
    : spawnFrom(new URL(URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }))), 'classic');
  return createEngine(module, { ...options, threads, maximumMiB, shared, canWait }, spawn);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function spawnFrom(url: URL, type: WorkerType): (init: WorkerInit) => Promise<WorkerHandle> {
  return (init) => spawnBrowserWorker(url, type, init);
}

async function compile(url: URL): Promise<WebAssembly.Module> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the WebAssembly engine could not be loaded from ${url.href} (HTTP ${response.status})`);
  // compileStreaming needs the server to say application/wasm; the bytes work whatever it says.
  return WebAssembly.compile(await response.arrayBuffer());
}

function spawnBrowserWorker(url: URL, type: WorkerType, init: WorkerInit): Promise<WorkerHandle> {
  const worker = new Worker(url, { type, name: `descent-engine-${init.index}` });
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
