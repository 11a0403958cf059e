/**
 * What the main thread and the workers of the WebAssembly engine agree on: the kernels the
 * module exports (by index), and the layout of the control block that lives in the shared
 * WebAssembly memory. Plain data, no platform API: usable in Node and in a browser.
 *
 * Control block (int32 words from its start):
 *   STOP     set to 1 to make every worker leave its loop;
 *   PENDING  workers still busy with the current call;
 *   FN       index into KERNEL_NAMES of the current call;
 *   PARTS    how many shares the current call is split into (worker i runs share i);
 *   ERROR    set by a worker whose share threw;
 *   BELL + i worker i's doorbell: the main thread increments it and notifies to start a call.
 * The call's parameter block (32-bit words, see assembly/common.ts) starts PARAMS_OFFSET bytes in.
 */
export const KERNEL_NAMES = [
  'gemm',
  'conv2dForward', 'conv2dBackwardData', 'conv2dBackwardFilter',
  'maxPool2dForward', 'maxPool2dBackward', 'avgPool2dForward', 'avgPool2dBackward',
  'activationForward', 'activationBackward',
  'dropoutForward', 'dropoutBackward',
  'softmaxForward', 'softmaxBackward', 'softmaxCrossEntropy',
  'batchNormForward', 'batchNormBackward',
  'addBias', 'sumRows',
] as const;

export type KernelName = (typeof KERNEL_NAMES)[number];
export type KernelFn = (params: number, part: number, parts: number) => void;

export const STOP = 0;
export const PENDING = 1;
export const FN = 2;
export const PARTS = 3;
export const ERROR = 4;
export const BELL = 16;
/** Most threads a pool can have (doorbells BELL .. BELL + MAX_THREADS - 1). */
export const MAX_THREADS = 64;
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
