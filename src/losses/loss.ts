/**
 * Losses ℓ(y, p) (notes, section 2) and what back-propagation needs of them: the risk, the mean
 * of ℓ over the mini-batch (eq. 1), and its gradient, the start g of the backward recursion (eq. 4).
 */
import type { Floats } from '../core/floats.js';
import type { ClassTarget } from '../kernels/kernels.js';

/** 'cross_entropy' for classification (-log p_y), 'quadratic' for regression (||y - y'||²). */
export type LossKind = 'cross_entropy' | 'quadratic';

/** Class labels, target vectors on the simplex (one-hot or soft), or regression targets. */
export type Target = ClassTarget | { values: Floats };

export function describeTarget(t: Target): string {
  return 'labels' in t ? 'class labels' : 'probs' in t ? 'target probabilities' : 'regression values';
}
