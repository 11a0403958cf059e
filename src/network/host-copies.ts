/**
 * The host's view of a network's w and buffer vector. On a CPU engine these are the engine's own
 * arrays, always current. On a device (WebGPU) they are copies: a step changes w there, the copies
 * go stale, and reading them is refused until `download` brings them up (one home for that state).
 */
import { DescentError } from '../core/errors.js';
import type { Floats } from '../core/floats.js';
import { hostFloats, type Tensor } from '../core/tensor.js';
import type { DeviceTensors } from '../kernels/kernels.js';

export class HostCopies {
  /** w and the buffers as host numbers. */
  readonly w: Floats;
  readonly buffers: Floats;
  /** w or the buffers changed on the device since the copies were last brought up. */
  private ahead = false;

  constructor(private readonly device: DeviceTensors | undefined, private readonly engine: string,
    private readonly wTensor: Tensor, private readonly bufferTensor: Tensor) {
    this.w = device ? new Float32Array(wTensor.length) : hostFloats(wTensor, 'Sequential.w');
    this.buffers = device ? new Float32Array(bufferTensor.length) : hostFloats(bufferTensor, 'Sequential.buffers');
  }

  /** Whether the copies are current (always on the CPU engines). */
  get inSync(): boolean {
    return !this.ahead;
  }

  /** Refuses to hand out a stale copy, naming what was asked for. */
  check(what: string): void {
    if (this.ahead) {
      throw new DescentError(`${what} has changed on the ${this.engine} engine's device since it was last read: ` +
        'await net.download() first');
    }
  }

  /** w or the buffers changed on the device (an optimizer step, batch norm's running statistics). */
  changed(): void {
    if (this.device) this.ahead = true;
  }

  /** Brings the copies up to date with the device. */
  async download(): Promise<void> {
    if (!this.device || !this.ahead) return;
    this.w.set(await this.device.read(this.wTensor));
    if (this.buffers.length) this.buffers.set(await this.device.read(this.bufferTensor));
    this.ahead = false;
  }

  /** Sends the copies (written in place) to the device: they are then current. */
  upload(): void {
    this.ahead = false;
    if (!this.device) return;
    this.device.write(this.wTensor, this.w as Float32Array);
    if (this.buffers.length) this.device.write(this.bufferTensor, this.buffers as Float32Array);
  }

  /** Sets w (or the buffers) from values of the right length, on the device too. */
  set(which: 'w' | 'buffers', values: ArrayLike<number>): void {
    const copy = this[which], what = which === 'w' ? 'weights' : 'buffer values';
    if (values.length !== copy.length) throw new DescentError(`expected ${copy.length} ${what}, got ${values.length}`);
    if (!this.device) {
      copy.set(values);
      return;
    }
    const data = Float32Array.from(values);
    if (!this.ahead) copy.set(data);
    if (data.length) this.device.write(which === 'w' ? this.wTensor : this.bufferTensor, data);
  }
}
