/**
 * The browser engine's assets, generated into dist/ by scripts/embed-engine.mjs at build time:
 * the WebAssembly modules in base64 and the worker script's source, so that bundlers need no
 * asset handling and pages no copied files.
 */
/** dist/wasm/descent.wasm (shared memory, threads), base64. */
export declare const sharedWasmBase64: string;
/** dist/wasm/descent-single.wasm (unshared memory, one thread), base64. */
export declare const singleWasmBase64: string;
/** browser-worker.ts and its imports as one classic-worker script. */
export declare const workerSource: string;
