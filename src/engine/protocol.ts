/**
 * What the main thread and the workers of the WebAssembly engine agree on: the kernels the
 * module exports (by index), and the layout of the control block that lives in the shared
 * WebAssembly memory. Plain data, no platform API: usable in Node and in a browser.
 *
 * Control block (int32 words from its start):
 *   STOP       set to 1 to make every worker leave its loop;
 *   CLAIM      the current call's number (bits 12 and up, wrapping) and its next unclaimed share
 *              (bits 0-11): every thread of the call, the calling one included, takes shares with
 *              compare-and-swap until none is left, so a thread that is slowed down (another
 *              process on its core, a late wake-up) simply runs fewer of them, and a worker that
 *              arrives after the call is over finds the number changed and claims nothing;
 *   DONE       shares of the current call finished;
 *   FN         index into KERNEL_NAMES of the current call;
 *   PARTS      how many shares the current call is split into (at most MAX_PARTS);
 *   ERROR      set by a worker whose share threw;
 *   MAIN_SLEEP set while the calling thread sleeps in Atomics.wait on DONE;
 *   BELL + i   worker i's doorbell: the main thread writes the number of a call it invites the
 *              worker to (and notifies, if the worker sleeps);
 *   SLEEP + i  set while worker i sleeps in Atomics.wait on its doorbell. After a call a worker
 *              spins on its doorbell for SPIN_MS before going to sleep, so the calls of a training
 *              step reach it without a wake-up.
 * FN and PARTS are written before CLAIM announces the call, and are rewritten only after all its
 * shares are DONE, so a thread that claimed a share read them for that call.
 * The call's parameter block (32-bit words, named in kernel-params.ts) starts PARAMS_OFFSET bytes in.
 */
import './wasm-namespace.js'; // WebAssembly's names for programs without the DOM lib

export const KERNEL_NAMES = [
  'gemm',
  'conv2dForward', 'conv2dBackwardData', 'conv2dBackwardFilter',
  'maxPool2dForward', 'maxPool2dBackward', 'avgPool2dForward', 'avgPool2dBackward',
  'activationForward', 'activationBackward',
  'dropoutForward', 'dropoutBackward',
  'softmaxForward', 'softmaxBackward', 'softmaxCrossEntropy',
  'batchNormForward', 'batchNormBackward',
  'addBias', 'sumRows',
  'conv2dForwardDirect', 'conv2dFilterDirect', 'convFilterSum', 'conv2dBackwardDataScatter',
  'sgdUpdate', 'adamUpdate',
  'addTensors', 'addBroadcast', 'sumBroadcast', 'copyBlock',
  'winogradForward', 'winogradFilter', 'winogradFilterReduce',
  'conv2dGroupedForward', 'conv2dGroupedBackwardData', 'conv2dGroupedBackwardFilter',
] as const;

export type KernelName = (typeof KERNEL_NAMES)[number];
export type KernelFn = (params: number, part: number, parts: number) => void;

export const STOP = 0;
export const CLAIM = 1;
export const DONE = 2;
export const FN = 3;
export const PARTS = 4;
export const ERROR = 5;
export const MAIN_SLEEP = 6;
export const BELL = 16;
/** Most threads a pool can have (doorbells BELL .. BELL + MAX_THREADS - 1). */
export const MAX_THREADS = 48;
export const SLEEP = BELL + MAX_THREADS;
/** Share index bits of CLAIM. */
export const SHARE_BITS = 12;
export const MAX_PARTS = (1 << SHARE_BITS) - 1;
/** How long an idle worker spins on its doorbell before it sleeps (milliseconds). */
export const SPIN_MS = 1;

/**
 * Claims the next share of call `call` (a CLAIM value's upper bits): its index, or -1 when the
 * call has no share left or is over.
 */
export function claimShare(ctl: Int32Array, call: number, parts: number): number {
  for (;;) {
    const v = Atomics.load(ctl, CLAIM);
    const share = v & MAX_PARTS;
    if ((v >>> SHARE_BITS) !== call || share >= parts) return -1;
    if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) === v) return share;
  }
}

export const PARAMS_OFFSET = 512;
export const PARAMS_WORDS = 128;
export const CONTROL_BYTES = PARAMS_OFFSET + PARAMS_WORDS * 4;

/** What a worker needs: the compiled module, the shared memory, where the control block is, its index. */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: number;
  index: number;
}
