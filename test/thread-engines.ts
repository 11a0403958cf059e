/** The WebAssembly engine on 1, 2 and 3 threads, for tests that must give bitwise the same numbers on each. */
import { after, before } from 'node:test';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';

export const THREADS = [1, 2, 3];

/**
 * One engine per entry of THREADS, started before the file's tests and disposed after them. Every call
 * is split over the threads however small (minPartNs 0), so the split itself is what the tests see.
 */
export function threadEngines(): WasmEngine[] {
  const engines: WasmEngine[] = [];
  before(async () => {
    engines.push(...(await Promise.all(THREADS.map((threads) => createWasmEngine({ threads, minPartNs: 0 })))));
  });
  after(async () => {
    await Promise.all(engines.map((e) => e.dispose()));
  });
  return engines;
}
