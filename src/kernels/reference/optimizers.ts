/** Reference optimizer updates over the whole parameter vector w (one loop, not one per tensor). */
import type { Floats } from '../../core/floats.js';

export function sgdUpdate(w: Floats, g: Floats, buf: Floats | null, n: number, lr: number, momentum: number,
  dampening: number, weightDecay: number, nesterov: boolean, firstStep: boolean): void {
  const keep = 1 - dampening;
  for (let i = 0; i < n; i++) {
    let d = g[i] + weightDecay * w[i];
    if (buf) {
      // PyTorch's first step: the buffer starts as the gradient itself, undamped.
      const b = firstStep ? d : momentum * buf[i] + keep * d;
      buf[i] = b;
      d = nesterov ? d + momentum * b : b;
    }
    w[i] -= lr * d;
  }
}

export function adamUpdate(w: Floats, g: Floats, m: Floats, v: Floats, vMax: Floats | null, n: number, lr: number,
  beta1: number, beta2: number, eps: number, l2: number, shrink: number, t: number): void {
  const stepSize = lr / (1 - beta1 ** t), sqrtBc2 = Math.sqrt(1 - beta2 ** t);
  for (let i = 0; i < n; i++) {
    const gi = g[i] + l2 * w[i];
    m[i] = beta1 * m[i] + (1 - beta1) * gi;
    v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
    let vi = v[i];
    if (vMax) vi = vMax[i] = Math.max(vMax[i], vi);
    w[i] = w[i] * shrink - (stepSize * m[i]) / (Math.sqrt(vi) / sqrtBc2 + eps);
  }
}
