/** Validation of layer options: clear messages, thrown at construction or build. */

/** Two sizes, [height, width]. */
export type Pair = [number, number];

/** A size given as one number or [height, width]. */
export function pair(value: number | readonly number[], name: string, min: number): Pair {
  const v: number[] = typeof value === 'number' ? [value, value] : Array.isArray(value) ? [...value] : [];
  if (v.length !== 2 || !v.every((n) => Number.isInteger(n) && n >= min)) {
    throw new Error(`${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(value)}`);
  }
  return [v[0], v[1]];
}

export function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function numberIn(value: unknown, name: string, lo: number, hi: number, hiOpen = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < lo || (hiOpen ? value >= hi : value > hi)) {
    throw new Error(`${name} must be a number in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Output length of a sliding window (floor mode, as PyTorch). */
export function windowOutput(input: number, kernel: number, stride: number, padding: number, dilation = 1): number {
  return Math.floor((input + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

export function boolean(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new Error(`${name} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}
