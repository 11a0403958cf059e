/// <reference types="@webgpu/types" />
import { DescentError } from '../../core/errors.js';
import { type DeviceTensor, type IntTensor, isDeviceTensor, type Tensor } from '../../core/tensor.js';

/**
 * The GPU side of the tensor handle (a `DeviceTensor`, so the kernel interface carries it as a
 * `Tensor` without a cast): engine-owned storage + an element offset + a length (and,
 * where it helps a reader, a shape). A handle binds its whole buffer and passes the offset to the
 * shader as a number, so views into one buffer need no alignment (WebGPU aligns binding offsets
 * to 256 bytes, parameter views into one w vector are not).
 */
export interface GpuTensor extends DeviceTensor {
  readonly buffer: GPUBuffer;
  /** First element (4-byte float or int) of the tensor in `buffer`. */
  readonly offset: number;
  /** Number of elements. */
  readonly length: number;
  readonly shape?: readonly number[];
}

const USAGE = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/**
 * One GPU buffer handed out as views, like the CPU Arena: w, g and the optimizer state of a
 * network are views of one storage, so an optimizer step is one dispatch over the whole vector.
 */
export class GpuStorage {
  readonly buffer: GPUBuffer;
  private used = 0;

  constructor(device: GPUDevice, readonly capacity: number, label = 'descent storage') {
    this.buffer = device.createBuffer({ size: Math.max(4, capacity * 4), usage: USAGE(), label });
  }

  /** The next `length` elements; the contents are zero when the storage is new. */
  alloc(length: number, shape?: readonly number[]): GpuTensor {
    if (this.used + length > this.capacity) {
      throw new RangeError(`GPU storage '${this.buffer.label}' is full: ${this.used} + ${length} > ${this.capacity} elements`);
    }
    const t = view(this.buffer, this.used, length, shape);
    this.used += length;
    return t;
  }

  get size(): number {
    return this.used;
  }

  /** The allocation point, for `release`: scratch tensors of a phase are handed back together. */
  mark(): number {
    return this.used;
  }

  /** Hands back everything allocated after `mark` (the caller no longer uses those views). */
  release(mark: number): void {
    this.used = Math.min(this.used, mark);
  }

  destroy(): void {
    this.buffer.destroy();
  }
}

/** A view of `length` elements from element `offset` of `t` (a parameter inside w, a sample inside a batch). */
export function subTensor(t: GpuTensor, offset: number, length: number, shape?: readonly number[]): GpuTensor {
  if (offset < 0 || offset + length > t.length) {
    throw new RangeError(`view [${offset}, ${offset + length}) lies outside a tensor of ${t.length} elements`);
  }
  return view(t.buffer, t.offset + offset, length, shape);
}

/** A whole buffer (or its first `length` elements) as a handle. */
export function view(buffer: GPUBuffer, offset: number, length: number, shape?: readonly number[]): GpuTensor {
  return shape ? { device: true, buffer, offset, length, shape } : { device: true, buffer, offset, length };
}

/** Is t a tensor of the WebGPU engine? */
export function isGpuTensor(t: Tensor | IntTensor): t is GpuTensor {
  return isDeviceTensor(t) && 'buffer' in t;
}

/** t as the GPU handle it must be on this engine; a JavaScript array (another engine's tensor) is refused. */
export function gpuTensor(t: Tensor | IntTensor): GpuTensor {
  if (isGpuTensor(t)) return t;
  throw new DescentError('the webgpu engine got a JavaScript array where it needs one of its GPU tensors ' +
    "(a tensor of another engine's arena was passed in)");
}
