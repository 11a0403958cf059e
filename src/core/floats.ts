/**
 * The numeric arrays Descent computes on. Training uses float32; the gradient proofs run the
 * same reference kernels in float64 so that finite differences are tight.
 */
export type Floats = Float32Array | Float64Array;
/** float32 for training, float64 for the gradient proofs. */
export type DType = 'float32' | 'float64';

export function newFloats(dtype: DType, length: number): Floats {
  return dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

export function dtypeOf(a: Floats): DType {
  return a instanceof Float64Array ? 'float64' : 'float32';
}
