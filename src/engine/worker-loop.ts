/**
 * The body of an engine worker, free of platform APIs (Node worker_threads or a browser Worker
 * both run it): instantiate the module on the shared memory, then wait for this worker's
 * doorbell (spinning for SPIN_MS after each call, then sleeping in Atomics.wait), claim shares
 * of the call it was invited to until none is left, and count them done.
 */
import {
  BELL, claimShare, DONE, ERROR, FN, KERNEL_NAMES, type KernelFn, MAIN_SLEEP, PARAMS_OFFSET, PARTS, SHARE_BITS, SLEEP,
  SPIN_MS, STOP, type WorkerInit,
} from './protocol.js';

/** Instantiates; returns the loop to run (it returns when the pool stops). */
export function prepareWorker(init: WorkerInit): () => void {
  const { module, memory, control, index } = init;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  (instance.exports.setThread as (i: number) => void)(index);
  const kernels = KERNEL_NAMES.map((name) => instance.exports[name] as KernelFn);
  const ctl = new Int32Array(memory.buffer, control, PARAMS_OFFSET / 4);
  const params = control + PARAMS_OFFSET;
  const bell = BELL + index, sleep = SLEEP + index;
  return () => {
    let seen = Atomics.load(ctl, bell);
    for (;;) {
      let now = Atomics.load(ctl, bell);
      if (now === seen) {
        const until = performance.now() + SPIN_MS;
        for (let i = 1; (now = Atomics.load(ctl, bell)) === seen; i++) {
          if ((i & 255) === 0 && performance.now() > until) break;
        }
        if (now === seen) {
          // Announce the sleep before waiting: a ring after the flag is set notifies, and a ring
          // before the wait makes the wait return at once.
          Atomics.store(ctl, sleep, 1);
          Atomics.wait(ctl, bell, seen);
          Atomics.store(ctl, sleep, 0);
          continue;
        }
      }
      seen = now;
      if (Atomics.load(ctl, STOP) !== 0) return;
      const call = now >>> SHARE_BITS;
      // Read after the invitation: if the call is already over, claimShare fails whatever these say.
      const kernel = kernels[Atomics.load(ctl, FN)], parts = Atomics.load(ctl, PARTS);
      for (let part = claimShare(ctl, call, parts); part >= 0; part = claimShare(ctl, call, parts)) {
        try {
          kernel(params, part, parts);
        } catch {
          Atomics.store(ctl, ERROR, 1);
        }
        if (Atomics.add(ctl, DONE, 1) === parts - 1 && Atomics.load(ctl, MAIN_SLEEP) !== 0) Atomics.notify(ctl, DONE);
      }
    }
  };
}
