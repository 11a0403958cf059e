/**
 * Reference point-wise activations and their derivatives df/da (notes, Appendix).
 * ReLU's derivative is 1 for a >= 0 and 0 otherwise, exactly as the notes define it
 * (PyTorch uses 0 at a = 0; the two differ only on a set of measure zero).
 * A NaN is not negative: ReLU and leaky ReLU pass it on, forward and backward, as PyTorch does,
 * so that a NaN reaches the loss and stops training instead of vanishing into a 0.
 */
import type { Floats } from '../../core/floats.js';
import type { ActivationKind } from '../kernels.js';

/** Above this, softplus(a) = a to float precision (PyTorch's threshold). */
const SOFTPLUS_THRESHOLD = 20;

export function activationForward(kind: ActivationKind, x: Floats, y: Floats, n: number, alpha: number): void {
  switch (kind) {
    case 'relu':
      for (let i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i]; // a NaN passes through, as in PyTorch
      return;
    case 'leaky_relu':
      for (let i = 0; i < n; i++) y[i] = x[i] < 0 ? alpha * x[i] : x[i];
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) y[i] = 1 / (1 + Math.exp(-x[i]));
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) y[i] = Math.tanh(x[i]);
      return;
    case 'softplus':
      for (let i = 0; i < n; i++) y[i] = x[i] > SOFTPLUS_THRESHOLD ? x[i] : Math.log1p(Math.exp(x[i]));
      return;
  }
}

export function activationBackward(kind: ActivationKind, x: Floats, y: Floats, gy: Floats, gx: Floats,
  n: number, alpha: number): void {
  switch (kind) {
    case 'relu':
      for (let i = 0; i < n; i++) gx[i] = x[i] < 0 ? 0 : gy[i];
      return;
    case 'leaky_relu':
      for (let i = 0; i < n; i++) gx[i] = x[i] < 0 ? alpha * gy[i] : gy[i];
      return;
    case 'sigmoid':
      for (let i = 0; i < n; i++) gx[i] = gy[i] * y[i] * (1 - y[i]);
      return;
    case 'tanh':
      for (let i = 0; i < n; i++) gx[i] = gy[i] * (1 - y[i] * y[i]);
      return;
    case 'softplus':
      // d/da log(1 + e^a) = σ(a): the smooth "rounded cusp" of the ReLU.
      for (let i = 0; i < n; i++) gx[i] = x[i] > SOFTPLUS_THRESHOLD ? gy[i] : gy[i] / (1 + Math.exp(-x[i]));
      return;
  }
}
