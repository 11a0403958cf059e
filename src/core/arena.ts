/**
 * The one place Descent allocates numbers. A network asks its arena for the parameter vector w,
 * its gradient twin, and the activations of a batch size; layers only ever receive views.
 * The reference arena uses ordinary typed arrays; the fast engine supplies an arena whose
 * arrays live inside WebAssembly memory, so that its kernels read them without a copy; the WebGPU
 * engine's arena hands out GPU buffers. Hence `Tensor`: nobody but a kernel reads an element.
 */
import { type DType, type Floats, newFloats } from './floats.js';
import type { IntTensor, Tensor } from './tensor.js';

export interface Arena {
  /** The element type of its float arrays. */
  readonly dtype: DType;
  /** A zeroed tensor of `length` numbers that stays valid for the arena's lifetime (a typed array on the CPU engines). */
  floats(length: number): Tensor;
  /** A zeroed tensor of `length` int32s (max-pool arg-max indices and other bookkeeping). */
  ints(length: number): IntTensor;
}

export class HeapArena implements Arena {
  constructor(readonly dtype: DType = 'float32') {}
  floats(length: number): Floats {
    return newFloats(this.dtype, length);
  }
  ints(length: number): Int32Array {
    return new Int32Array(length);
  }
}
