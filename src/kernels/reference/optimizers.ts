/** Reference optimizer updates over the whole parameter vector w (one loop, not one per tensor). */
import type { Floats } from '../../core/floats.js';
import { StepSquares } from './step-squares.js';

export function sgdUpdate(w: Floats, g: Floats, buf: Floats | null, n: number, lr: number, momentum: number,
  dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean,
  stepSquares: Float64Array | null = null): void {
  const keep = 1 - dampening, squares = stepSquares ? new StepSquares(n) : null;
  for (let i = 0; i < n; i++) {
    const old = w[i];
    let d = g[i] + weightDecay * old;
    if (buf) {
      // PyTorch's first step: the buffer starts as the gradient itself, undamped.
      const b = firstStep ? d : momentum * buf[i] + keep * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    w[i] = old - lr * d;
    squares?.add(i, w[i] - old);
  }
  if (stepSquares) stepSquares[0] = squares!.total;
}

export function adamUpdate(w: Floats, g: Floats, m: Floats, v: Floats, vMax: Floats | null, n: number, lr: number,
  beta1: number, beta2: number, eps: number, l2: number, shrink: number, t: number,
  stepSquares: Float64Array | null = null): void {
  const stepSize = lr / (1 - beta1 ** t), sqrtBc2 = Math.sqrt(1 - beta2 ** t);
  const squares = stepSquares ? new StepSquares(n) : null;
  for (let i = 0; i < n; i++) {
    const old = w[i];
    const gi = g[i] + l2 * old;
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    let vi = v[i];
    if (vMax) vi = vMax[i] = Math.max(vMax[i], vi);
    w[i] = old * shrink - (stepSize * m[i]) / (Math.sqrt(vi) / sqrtBc2 + eps);
    squares?.add(i, w[i] - old);
  }
  if (stepSquares) stepSquares[0] = squares!.total;
}
