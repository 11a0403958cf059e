/**
 * Finite checks: NaN and ±∞ must never become a model, a checkpoint or an imported weight. Every
 * writer and reader of weights calls checkFinite, so the error names the tensor and the place.
 */
import { DescentError } from './errors.js';

/** The index of the first NaN or ±∞ among a[0, n), or -1. */
export function firstNonFinite(a: ArrayLike<number>, n = a.length): number {
  for (let i = 0; i < n; i++) {
    const v = a[i];
    if (v - v !== 0) return i; // NaN - NaN and ∞ - ∞ are NaN; every finite v gives 0
  }
  return -1;
}

export function allFinite(a: ArrayLike<number>, n = a.length): boolean {
  return firstNonFinite(a, n) < 0;
}

/** A tensor with a NaN or ±∞: its name, index and value are in the message. */
export class NonFiniteError extends DescentError {
  constructor(message: string) {
    super(message);
    this.name = 'NonFiniteError';
  }
}

/** Throws a NonFiniteError, "<where>: tensor "<name>" holds NaN at index i …", unless every value is finite. */
export function checkFinite(data: ArrayLike<number>, name: string, where: string, kind = 'tensor'): void {
  const i = firstNonFinite(data);
  if (i >= 0) {
    throw new NonFiniteError(`${where}: ${kind} "${name}" holds ${data[i]} at index ${i} ` +
      `(of ${data.length}); NaN and infinite values are refused`);
  }
}
