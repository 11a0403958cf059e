/**
 * An optimizer step's size Σ (w_new − w_old)², summed in the one order every engine and thread count
 * uses (StepBlock in src/engine/kernel-params.ts): blocks of STEP_BLOCK elements, in each the even
 * and the odd offsets summed apart, even + odd, then the blocks added in order. The WebAssembly
 * update kernels sum two lanes of float64 that way as they update w, so the trainer's step size
 * is bitwise the same on every engine without a pass over w of its own.
 */
export const STEP_BLOCK = 1024;

export class StepSquares {
  private sum = 0;
  private even = 0;
  private odd = 0;

  /** Over elements 0 .. n-1, added in increasing order. */
  constructor(private readonly n: number) {}

  /** Element i's change d = w_new − w_old. */
  add(i: number, d: number): void {
    const k = i % STEP_BLOCK;
    if (k & 1) this.odd += d * d;
    else this.even += d * d;
    if (k === STEP_BLOCK - 1 || i === this.n - 1) {
      this.sum += this.even + this.odd;
      this.even = 0;
      this.odd = 0;
    }
  }

  get total(): number {
    return this.sum;
  }
}
