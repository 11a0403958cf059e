/// <reference types="@webgpu/types" />
/**
 * A step's scalars (the loss, the non-finite flag) read a step late. `mapAsync` waits for the GPU
 * to finish, so reading step t's loss right after step t would stall every step; instead step t
 * copies its scalars into a staging buffer and starts mapping it, and the loop reads step t − 1's,
 * whose mapping has usually long finished. Two staging buffers take turns.
 */
import type { GpuKernels } from './gpu-kernels.js';
import type { GpuTensor } from './tensor.js';

export interface StepScalars {
  step: number;
  values: Float32Array;
}

interface Slot {
  buffer: GPUBuffer;
  step: number;
  mapped: Promise<void> | null;
}

export class LateReadback {
  private readonly slots: Slot[];
  private next = 0;

  /** `count`: how many one-element tensors each step captures. */
  constructor(private readonly kernels: GpuKernels, readonly count: number, depth = 2) {
    this.slots = Array.from({ length: depth }, () => ({
      buffer: kernels.device.createBuffer({ size: count * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        label: 'late readback' }),
      step: -1, mapped: null,
    }));
  }

  /** After recording a step: submits it, with a copy of `scalars` (one element each) behind it. */
  capture(step: number, scalars: GpuTensor[]): void {
    if (scalars.length !== this.count) throw new RangeError(`LateReadback: ${scalars.length} scalars, expected ${this.count}`);
    const slot = this.slots[this.next];
    if (slot.mapped) throw new Error(`LateReadback: step ${slot.step} was never taken; take() it before capturing step ${step}`);
    this.kernels.flush();
    const encoder = this.kernels.device.createCommandEncoder();
    scalars.forEach((t, i) => encoder.copyBufferToBuffer(t.buffer, t.offset * 4, slot.buffer, i * 4, 4));
    this.kernels.device.queue.submit([encoder.finish()]);
    slot.step = step;
    slot.mapped = slot.buffer.mapAsync(GPUMapMode.READ);
    this.next = (this.next + 1) % this.slots.length;
  }

  /** The oldest captured step not yet taken (normally the previous one), or null when none is in flight. */
  async take(): Promise<StepScalars | null> {
    const pending = this.slots.filter((s) => s.mapped).sort((a, b) => a.step - b.step);
    const slot = pending[0];
    if (!slot) return null;
    await slot.mapped;
    const values = new Float32Array(slot.buffer.getMappedRange().slice(0));
    slot.buffer.unmap();
    slot.mapped = null;
    return { step: slot.step, values };
  }

  /** Everything still in flight, oldest first: before a checkpoint or at the end of a run. */
  async drain(): Promise<StepScalars[]> {
    const out: StepScalars[] = [];
    for (let s = await this.take(); s; s = await this.take()) out.push(s);
    return out;
  }

  destroy(): void {
    for (const s of this.slots) s.buffer.destroy();
  }
}
