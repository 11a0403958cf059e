/**
 * The soft-max simplex of the notes' Figure 1, as the dashboard draws it. A network's output p lies
 * on the simplex {p : p_i ≥ 0, Σ p_i = 1}; for e = 3 classes that is a triangle whose corners are the
 * confident predictions (1,0,0), (0,1,0), (0,0,1). The arg-max rule splits it into decision regions
 * P_1, P_2, P_3, whose boundaries (p_i = p_j ≥ p_k) run from the unit point 1/e = (1/3, 1/3, 1/3), the
 * centroid, to the midpoints of the three edges.
 *
 * For more than three classes the page shows three chosen classes a, b, c and the points whose true
 * class is one of them, with p renormalised over those three: q = (p_a, p_b, p_c) / (p_a + p_b + p_c).
 *
 * Core code without imports: the dashboard's server hands this file, compiled, to the browser as
 * /simplex.js, so the page and the unit tests use the very same mapping.
 */

export interface Point2 {
  x: number;
  y: number;
}

/** Three barycentric weights, summing to 1. */
export type Triple = [number, number, number];

/**
 * The triangle's corners in page-independent coordinates: the first chosen class bottom left, the
 * second bottom right, the third at the top. y grows upwards; the side is 1.
 */
export const CORNERS: readonly [Point2, Point2, Point2] = Object.freeze([
  { x: 0, y: 0 },
  { x: 1, y: 0 },
  { x: 0.5, y: Math.sqrt(3) / 2 },
]) as readonly [Point2, Point2, Point2];

/**
 * q = (p_a, p_b, p_c) / (p_a + p_b + p_c) for the chosen classes; null when those three
 * probabilities are not finite, are negative, or sum to zero (the point cannot be placed).
 */
export function renormalise(p: ArrayLike<number>, classes: readonly [number, number, number]): Triple | null {
  const [a, b, c] = classes;
  if (new Set(classes).size !== 3) throw new Error(`choose three different classes, got ${classes.join(', ')}`);
  for (const k of classes) {
    if (!Number.isInteger(k) || k < 0 || k >= p.length) {
      throw new Error(`class ${k} is out of range for p with ${p.length} entries`);
    }
  }
  const pa = p[a], pb = p[b], pc = p[c];
  if (![pa, pb, pc].every((v) => Number.isFinite(v) && v >= 0)) return null;
  const s = pa + pb + pc;
  if (!(s > 0)) return null;
  return [pa / s, pb / s, pc / s];
}

/** The point of the triangle with barycentric weights q (q need not be normalised; it is divided by its sum). */
export function barycentricToPoint(q: readonly number[]): Point2 {
  const s = q[0] + q[1] + q[2];
  let x = 0, y = 0;
  for (let i = 0; i < 3; i++) {
    x += (q[i] / s) * CORNERS[i].x;
    y += (q[i] / s) * CORNERS[i].y;
  }
  return { x, y };
}

/** Where p lands on the triangle of the chosen classes (p renormalised over them), or null. */
export function simplexPoint(p: ArrayLike<number>, classes: readonly [number, number, number] = [0, 1, 2]): Point2 | null {
  const q = renormalise(p, classes);
  return q && barycentricToPoint(q);
}

/** The unit point 1/e, e = 3: the centroid, where the decision regions meet. */
export const UNIT_POINT: Point2 = Object.freeze(barycentricToPoint([1, 1, 1]));

/**
 * The decision-region boundaries: three segments from the unit point to the edge midpoints. The
 * segment `between: [i, j]` is where q_i = q_j ≥ q_k: it separates the regions of classes i and j
 * and ends at the midpoint of the edge joining their corners.
 */
export function decisionBoundaries(): Array<{ between: [number, number]; from: Point2; to: Point2 }> {
  const pairs: Array<[number, number]> = [[0, 1], [1, 2], [0, 2]];
  return pairs.map(([i, j]) => {
    const q = [0, 0, 0];
    q[i] = 0.5;
    q[j] = 0.5;
    return { between: [i, j], from: UNIT_POINT, to: barycentricToPoint(q) };
  });
}

/** Which of the three chosen classes' regions a point falls in: the index (0, 1, 2) of the largest q. */
export function regionOf(q: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < 3; i++) if (q[i] > q[best]) best = i;
  return best;
}

/** The default three classes for e classes: the first three. */
export function defaultClasses(e: number): [number, number, number] | null {
  return e >= 3 ? [0, 1, 2] : null;
}
