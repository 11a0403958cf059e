/**
 * What a kernel takes: a tensor of the engine that runs it. On the CPU engines (reference,
 * WebAssembly) it is a typed array; on an engine that keeps its tensors off the JavaScript heap
 * (WebGPU) it is an opaque handle. A `Tensor` cannot be indexed, so a layer, the network or the
 * trainer that tries to read an element itself does not compile: kernels narrow at entry
 * (`hostFloats`), everything else reads numbers through host arrays it owns or `device.read`.
 */
import { DescentError } from './errors.js';
import type { Floats } from './floats.js';

/** A tensor that lives on a device: only its length is visible to JavaScript. */
export interface DeviceTensor {
  readonly device: true;
  /** Number of elements. */
  readonly length: number;
}

/** A float tensor of any engine. */
export type Tensor = Floats | DeviceTensor;
/** An int32 tensor of any engine (max-pool arg-max indices). */
export type IntTensor = Int32Array | DeviceTensor;

/** Is t a device handle (not a JavaScript array)? */
export function isDeviceTensor(t: Tensor | IntTensor): t is DeviceTensor {
  return !ArrayBuffer.isView(t);
}

/** t as the typed array it is on a CPU engine; a device handle is refused, naming `where` (the kernel or caller). */
export function hostFloats(t: Tensor, where: string): Floats;
export function hostFloats(t: Tensor | null | undefined, where: string): Floats | null;
export function hostFloats(t: Tensor | null | undefined, where: string): Floats | null {
  if (t === null || t === undefined) return null;
  if (isDeviceTensor(t)) throw deviceRefused(where);
  return t;
}

/** As hostFloats, for int32 tensors. */
export function hostInts(t: IntTensor, where: string): Int32Array {
  if (isDeviceTensor(t)) throw deviceRefused(where);
  return t;
}

function deviceRefused(where: string): DescentError {
  return new DescentError(`${where}: got a device tensor (another engine's) where the CPU engines need a typed array`);
}
