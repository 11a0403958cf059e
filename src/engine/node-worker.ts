/** Node entry of an engine worker (see worker-loop.ts): says it is ready, then serves calls. */
import { parentPort, workerData } from 'node:worker_threads';
import type { WorkerInit } from './protocol.js';
import { prepareWorker } from './worker-loop.js';

const loop = prepareWorker(workerData as WorkerInit);
parentPort?.postMessage('ready');
loop();
parentPort?.close();
