/** How far a computed vector is from a reference: the error measure of every gradient proof. */

/** max_i |a_i - b_i| / (atol + |b_i|): below 1 means every entry is within tolerance. */
export function maxScaledError(a: ArrayLike<number>, b: ArrayLike<number>, atol: number): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} differs from ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]) / (atol + Math.abs(b[i])));
  return worst;
}

/** ||a - b|| / (||a|| + ||b||): 0 for equal vectors, 1 for opposite ones. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    na += a[i] ** 2;
    nb += b[i] ** 2;
  }
  const denominator = Math.sqrt(na) + Math.sqrt(nb);
  if (Number.isNaN(diff)) return Infinity; // a NaN anywhere is as wrong as it gets
  return denominator === 0 ? 0 : Math.sqrt(diff) / denominator;
}
