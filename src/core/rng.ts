/**
 * The seeded generator behind every random choice in Descent: initialisation, shuffling,
 * dropout and max-pool tie-breaking. One seed fixes them all; the state is four uint32 words
 * (xoshiro128**), so a checkpoint can save and restore it exactly.
 */
export type RngState = [number, number, number, number];

/** The seeded generator (xoshiro128**): initialisation, shuffling, augmentation. Its state goes into checkpoints. */
export class Rng {
  private s: Uint32Array;

  constructor(seed: number | RngState = 0) {
    this.s = new Uint32Array(4);
    if (Array.isArray(seed)) this.setState(seed);
    else this.reseed(seed);
  }

  /** Fill the state from one number with SplitMix32, as xoshiro's authors recommend. */
  reseed(seed: number): void {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** The four state words (for checkpoints). */
  state(): RngState {
    return [this.s[0], this.s[1], this.s[2], this.s[3]];
  }

  /** Restores the state words. */
  setState(state: RngState): void {
    for (let i = 0; i < 4; i++) this.s[i] = state[i] >>> 0;
  }

  /** A uniformly distributed uint32. */
  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal by Box-Muller (no cached spare, so the state alone fixes the stream). */
  normal(): number {
    const u1 = (this.nextU32() + 1) / 4294967297;
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  /** Fisher-Yates shuffle in place. */
  shuffle(a: Uint32Array | Int32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/**
 * A counter-based hash: a random uint32 for (seed, index) that does not depend on the order
 * in which indices are visited. Dropout masks and max-pool tie-breaks use it, so that any
 * engine, on any number of threads, draws the same numbers.
 */
export function hash32(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
