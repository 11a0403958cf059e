/**
 * Reference batch normalisation over the channel axis of x[R, C]:
 * y = γ (x - μ)/σ + β, with μ, σ² the batch statistics in training and the running ones in evaluation.
 */
import type { Floats } from '../../core/floats.js';

export function batchNormForward(x: Floats, gamma: Floats, beta: Floats, y: Floats, R: number, C: number,
  training: boolean, eps: number, momentum: number,
  runningMean: Floats, runningVar: Floats, saveMean: Floats, saveInvStd: Floats): void {
  for (let c = 0; c < C; c++) {
    let mean: number, invStd: number;
    if (training) {
      let s = 0;
      for (let r = 0; r < R; r++) s += x[r * C + c];
      mean = s / R;
      let v = 0;
      for (let r = 0; r < R; r++) {
        const d = x[r * C + c] - mean;
        v += d * d;
      }
      const variance = v / R;
      invStd = 1 / Math.sqrt(variance + eps);
      runningMean[c] = (1 - momentum) * runningMean[c] + momentum * mean;
      runningVar[c] = (1 - momentum) * runningVar[c] + momentum * (R > 1 ? v / (R - 1) : variance);
    } else {
      mean = runningMean[c];
      invStd = 1 / Math.sqrt(runningVar[c] + eps);
    }
    saveMean[c] = mean;
    saveInvStd[c] = invStd;
    const a = gamma[c] * invStd, b = beta[c] - mean * a;
    for (let r = 0; r < R; r++) y[r * C + c] = x[r * C + c] * a + b;
  }
}

export function batchNormBackward(x: Floats, gamma: Floats, gy: Floats, gx: Floats, ggamma: Floats, gbeta: Floats,
  R: number, C: number, training: boolean, saveMean: Floats, saveInvStd: Floats): void {
  for (let c = 0; c < C; c++) {
    const mean = saveMean[c], invStd = saveInvStd[c];
    let sumG = 0, sumGXhat = 0;
    for (let r = 0; r < R; r++) {
      const g = gy[r * C + c];
      sumG += g;
      sumGXhat += g * (x[r * C + c] - mean) * invStd;
    }
    ggamma[c] += sumGXhat;
    gbeta[c] += sumG;
    const k = gamma[c] * invStd;
    if (training) {
      // μ and σ depend on every x of the batch, hence the two mean-subtracted terms.
      for (let r = 0; r < R; r++) {
        const xhat = (x[r * C + c] - mean) * invStd;
        gx[r * C + c] = k * (gy[r * C + c] - sumG / R - xhat * sumGXhat / R);
      }
    } else {
      for (let r = 0; r < R; r++) gx[r * C + c] = k * gy[r * C + c];
    }
  }
}
