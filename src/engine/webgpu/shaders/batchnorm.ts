/**
 * Batch normalisation over x[R, C]: one workgroup per channel. Its 64 threads sum the channel's
 * rows in a fixed-order tree (COLUMN_SUM_WGSL), two passes for the variance as the reference, then
 * normalise the rows in parallel.
 */
import { COLUMN_MAIN, COLUMN_SUM_WGSL, type KernelSpec } from './spec.js';

export const BATCH_NORM_FORWARD: KernelSpec = {
  name: 'batchNormForward',
  tensors: [['x', 'f32'], ['gamma', 'f32'], ['beta', 'f32'], ['y', 'f32'], ['runMean', 'f32'], ['runVar', 'f32'],
    ['saveMean', 'f32'], ['saveInvStd', 'f32']],
  scalars: [['R', 'u32'], ['C', 'u32'], ['training', 'u32'], ['eps', 'f32'], ['momentum', 'f32']],
  body: /* wgsl */ `${COLUMN_SUM_WGSL}
${COLUMN_MAIN} {
  let c = wid.x;
  let t = lid.x;
  var mean: f32;
  var invStd: f32;
  if (P.training != 0u) {
    var s = 0.0;
    for (var r = t; r < P.R; r += 64u) { s = s + x[P.off_x + r * P.C + c]; }
    partA[t] = s;
    partB[t] = 0.0;
    tree(t);
    mean = partA[0] / f32(P.R);
    workgroupBarrier();
    var v = 0.0;
    for (var r = t; r < P.R; r += 64u) {
      let d = x[P.off_x + r * P.C + c] - mean;
      v = v + d * d;
    }
    partA[t] = v;
    tree(t);
    let sq = partA[0];
    let variance = sq / f32(P.R);
    invStd = 1.0 / sqrt(variance + P.eps);
    if (t == 0u) {
      let unbiased = select(variance, sq / f32(P.R - 1u), P.R > 1u);
      runMean[P.off_runMean + c] = (1.0 - P.momentum) * runMean[P.off_runMean + c] + P.momentum * mean;
      runVar[P.off_runVar + c] = (1.0 - P.momentum) * runVar[P.off_runVar + c] + P.momentum * unbiased;
    }
  } else {
    mean = runMean[P.off_runMean + c];
    invStd = 1.0 / sqrt(runVar[P.off_runVar + c] + P.eps);
  }
  if (t == 0u) {
    saveMean[P.off_saveMean + c] = mean;
    saveInvStd[P.off_saveInvStd + c] = invStd;
  }
  let a = gamma[P.off_gamma + c] * invStd;
  let b = beta[P.off_beta + c] - mean * a;
  for (var r = t; r < P.R; r += 64u) { y[P.off_y + r * P.C + c] = x[P.off_x + r * P.C + c] * a + b; }
}`,
};

export const BATCH_NORM_BACKWARD: KernelSpec = {
  name: 'batchNormBackward',
  tensors: [['x', 'f32'], ['gamma', 'f32'], ['gy', 'f32'], ['gx', 'f32'], ['ggamma', 'f32'], ['gbeta', 'f32'],
    ['saveMean', 'f32'], ['saveInvStd', 'f32']],
  scalars: [['R', 'u32'], ['C', 'u32'], ['training', 'u32']],
  body: /* wgsl */ `${COLUMN_SUM_WGSL}
${COLUMN_MAIN} {
  let c = wid.x;
  let t = lid.x;
  let mean = saveMean[P.off_saveMean + c];
  let invStd = saveInvStd[P.off_saveInvStd + c];
  var sG = 0.0;
  var sGX = 0.0;
  for (var r = t; r < P.R; r += 64u) {
    let g = gy[P.off_gy + r * P.C + c];
    sG = sG + g;
    sGX = sGX + g * (x[P.off_x + r * P.C + c] - mean) * invStd;
  }
  partA[t] = sG;
  partB[t] = sGX;
  tree(t);
  let sumG = partA[0];
  let sumGXhat = partB[0];
  if (t == 0u) {
    ggamma[P.off_ggamma + c] = ggamma[P.off_ggamma + c] + sumGXhat;
    gbeta[P.off_gbeta + c] = gbeta[P.off_gbeta + c] + sumG;
  }
  let k = gamma[P.off_gamma + c] * invStd;
  let Rf = f32(P.R);
  for (var r = t; r < P.R; r += 64u) {
    let i = r * P.C + c;
    if (P.training != 0u) {
      let xhat = (x[P.off_x + i] - mean) * invStd;
      gx[P.off_gx + i] = k * (gy[P.off_gy + i] - sumG / Rf - xhat * sumGXhat / Rf);
    } else {
      gx[P.off_gx + i] = k * gy[P.off_gy + i];
    }
  }
}`,
};

export const BATCH_NORM_KERNELS = [BATCH_NORM_FORWARD, BATCH_NORM_BACKWARD];
