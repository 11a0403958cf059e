/**
 * The body of an engine worker, free of platform APIs (Node worker_threads or a browser Worker
 * both run it): instantiate the module on the shared memory, then sleep on this worker's
 * doorbell with Atomics.wait, run the share of each call it is woken for, and count down.
 */
import { BELL, ERROR, FN, KERNEL_NAMES, type KernelFn, PARAMS_OFFSET, PARTS, PENDING, STOP, type WorkerInit }
  from './protocol.js';

/** Instantiates; returns the loop to run (it returns when the pool stops). */
export function prepareWorker(init: WorkerInit): () => void {
  const { module, memory, control, index } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const kernels = KERNEL_NAMES.map((name) => instance.exports[name] as KernelFn);
  const ctl = new Int32Array(memory.buffer, control, PARAMS_OFFSET / 4);
  const params = control + PARAMS_OFFSET;
  const bell = BELL + index;
  return () => {
    let seen = 0;
    for (;;) {
      Atomics.wait(ctl, bell, seen);
      const now = Atomics.load(ctl, bell);
      if (now === seen) continue;
      seen = now;
      if (Atomics.load(ctl, STOP) !== 0) return;
      try {
        kernels[Atomics.load(ctl, FN)](params, index, Atomics.load(ctl, PARTS));
      } catch {
        Atomics.store(ctl, ERROR, 1);
      }
      if (Atomics.sub(ctl, PENDING, 1) === 1) Atomics.notify(ctl, PENDING);
    }
  };
}
