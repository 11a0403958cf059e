/**
 * Every optimizer's update, one thread per element of the whole parameter vector (w, g and the
 * state are views of GPU storage). Step-dependent constants (bias corrections, Adagrad's decayed
 * rate) are computed in JavaScript, in float64, as the CPU engines do, and passed in.
 * With a guard (the non-finite flag of g, computed on the device), a flagged step leaves w and the
 * state untouched: a bad gradient never reaches w, even before JavaScript has read the flag.
 */
import { FLAT_MAIN, type KernelSpec } from './spec.js';

const GUARDED = /* wgsl */ `
  if (i >= P.n || (P.hasGuard != 0u && guard[P.off_guard] != 0.0)) { return; }`;

/** torch.optim.SGD: d = g + λw; momentum buffer b; Nesterov d + μb; w ← w − α d. */
export const SGD_UPDATE: KernelSpec = {
  name: 'sgdUpdate',
  tensors: [['w', 'f32'], ['g', 'f32'], ['buf', 'f32'], ['guard', 'f32']],
  scalars: [['n', 'u32'], ['hasGuard', 'u32'], ['lr', 'f32'], ['momentum', 'f32'], ['keep', 'f32'], ['weightDecay', 'f32'],
    ['hasBuf', 'u32'], ['nesterov', 'u32'], ['firstStep', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);${GUARDED}
  let wi = w[P.off_w + i];
  var d = g[P.off_g + i] + P.weightDecay * wi;
  if (P.hasBuf != 0u) {
    var b = d;
    if (P.firstStep == 0u) { b = P.momentum * buf[P.off_buf + i] + P.keep * d; }
    buf[P.off_buf + i] = b;
    d = select(b, d + P.momentum * b, P.nesterov != 0u);
  }
  w[P.off_w + i] = wi - P.lr * d;
}`,
};

/** torch.optim.Adam / AdamW (shrink = 1 − αλ, l2 = 0), amsgrad with vMax. */
export const ADAM_UPDATE: KernelSpec = {
  name: 'adamUpdate',
  tensors: [['w', 'f32'], ['g', 'f32'], ['m', 'f32'], ['v', 'f32'], ['vMax', 'f32'], ['guard', 'f32']],
  scalars: [['n', 'u32'], ['hasGuard', 'u32'], ['stepSize', 'f32'], ['beta1', 'f32'], ['beta2', 'f32'], ['eps', 'f32'], ['l2', 'f32'],
    ['shrink', 'f32'], ['sqrtBc2', 'f32'], ['amsgrad', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);${GUARDED}
  let wi = w[P.off_w + i];
  let gi = g[P.off_g + i] + P.l2 * wi;
  let mi = P.beta1 * m[P.off_m + i] + (1.0 - P.beta1) * gi;
  m[P.off_m + i] = mi;
  var vi = P.beta2 * v[P.off_v + i] + (1.0 - P.beta2) * gi * gi;
  v[P.off_v + i] = vi;
  if (P.amsgrad != 0u) {
    vi = max(vMax[P.off_vMax + i], vi);
    vMax[P.off_vMax + i] = vi;
  }
  w[P.off_w + i] = wi * P.shrink - (P.stepSize * mi) / (sqrt(vi) / P.sqrtBc2 + P.eps);
}`,
};

/** torch.optim.RMSprop, centered and with momentum. */
export const RMSPROP_UPDATE: KernelSpec = {
  name: 'rmspropUpdate',
  tensors: [['w', 'f32'], ['g', 'f32'], ['sq', 'f32'], ['buf', 'f32'], ['gAvg', 'f32'], ['guard', 'f32']],
  scalars: [['n', 'u32'], ['hasGuard', 'u32'], ['lr', 'f32'], ['alpha', 'f32'], ['eps', 'f32'], ['weightDecay', 'f32'], ['momentum', 'f32'],
    ['hasBuf', 'u32'], ['centered', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);${GUARDED}
  let wi = w[P.off_w + i];
  let gi = g[P.off_g + i] + P.weightDecay * wi;
  var s = P.alpha * sq[P.off_sq + i] + (1.0 - P.alpha) * gi * gi;
  sq[P.off_sq + i] = s;
  if (P.centered != 0u) {
    let a = P.alpha * gAvg[P.off_gAvg + i] + (1.0 - P.alpha) * gi;
    gAvg[P.off_gAvg + i] = a;
    s = s - a * a;
  }
  let d = gi / (sqrt(s) + P.eps);
  if (P.hasBuf != 0u) {
    let b = P.momentum * buf[P.off_buf + i] + d;
    buf[P.off_buf + i] = b;
    w[P.off_w + i] = wi - P.lr * b;
  } else {
    w[P.off_w + i] = wi - P.lr * d;
  }
}`,
};

/** torch.optim.Adagrad with the step's decayed rate clr = α/(1 + (t − 1)η). */
export const ADAGRAD_UPDATE: KernelSpec = {
  name: 'adagradUpdate',
  tensors: [['w', 'f32'], ['g', 'f32'], ['sum', 'f32'], ['guard', 'f32']],
  scalars: [['n', 'u32'], ['hasGuard', 'u32'], ['clr', 'f32'], ['eps', 'f32'], ['weightDecay', 'f32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);${GUARDED}
  let wi = w[P.off_w + i];
  let gi = g[P.off_g + i] + P.weightDecay * wi;
  let s = sum[P.off_sum + i] + gi * gi;
  sum[P.off_sum + i] = s;
  w[P.off_w + i] = wi - (P.clr * gi) / (sqrt(s) + P.eps);
}`,
};

export const OPTIMIZER_KERNELS = [SGD_UPDATE, ADAM_UPDATE, RMSPROP_UPDATE, ADAGRAD_UPDATE];
