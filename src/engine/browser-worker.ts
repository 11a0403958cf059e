/** Browser entry of an engine worker (a module Worker; see worker-loop.ts): gets its WorkerInit, serves calls. */
import type { WorkerInit } from './protocol.js';
import { prepareWorker } from './worker-loop.js';

const scope = globalThis as unknown as { onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void; close(): void };
scope.onmessage = (e: MessageEvent) => {
  scope.onmessage = null;
  const loop = prepareWorker(e.data as WorkerInit);
  scope.postMessage('ready');
  loop();
  scope.postMessage('exited');
  scope.close();
};
