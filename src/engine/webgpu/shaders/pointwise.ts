/**
 * Element-wise kernels: activations, dropout from the counter-based hash, the bias and its
 * gradient. One thread per element (one workgroup per column for sumRows).
 */
import { COLUMN_MAIN, COLUMN_SUM_WGSL, FLAT_MAIN, HASH_WGSL, type KernelSpec } from './spec.js';

/** ActivationKind → the `kind` scalar of the activation kernels. */
export const ACTIVATION_CODES = { relu: 0, leaky_relu: 1, sigmoid: 2, tanh: 3, softplus: 4 } as const;

const ACTIVATIONS = /* wgsl */ `
fn softplus(a: f32) -> f32 {
  if (a > 20.0 || is_nan(a)) { return a; }
  let e = exp_(a);
  if (a < -15.0) { return e * (1.0 - 0.5 * e); } // log1p(e) for small e: log(1 + e) would round to 0
  return log_(1.0 + e);
}
fn sigmoid(a: f32) -> f32 { return 1.0 / (1.0 + exp_(-a)); }
fn tanh_safe(a: f32) -> f32 {
  if (is_nan(a)) { return a; }
  return tanh(clamp(a, -20.0, 20.0)); // some tanh implementations overflow to NaN past ±44
}`;

export const ACTIVATION_FORWARD: KernelSpec = {
  name: 'activationForward',
  tensors: [['x', 'f32'], ['y', 'f32']],
  scalars: [['n', 'u32'], ['kind', 'u32'], ['alpha', 'f32']],
  body: /* wgsl */ `${ACTIVATIONS}
${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.n) { return; }
  let a = x[P.off_x + i];
  var v: f32;
  switch (P.kind) {
    case 0u: { v = select(a, 0.0, is_negative(a)); }
    case 1u: { v = select(a, P.alpha * a, is_negative(a)); }
    case 2u: { v = sigmoid(a); }
    case 3u: { v = tanh_safe(a); }
    default: { v = softplus(a); }
  }
  y[P.off_y + i] = v;
}`,
};

export const ACTIVATION_BACKWARD: KernelSpec = {
  name: 'activationBackward',
  tensors: [['x', 'f32'], ['y', 'f32'], ['gy', 'f32'], ['gx', 'f32']],
  scalars: [['n', 'u32'], ['kind', 'u32'], ['alpha', 'f32']],
  body: /* wgsl */ `${ACTIVATIONS}
${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.n) { return; }
  let a = x[P.off_x + i];
  let g = gy[P.off_gy + i];
  let f = y[P.off_y + i];
  var v: f32;
  switch (P.kind) {
    case 0u: { v = select(g, 0.0, is_negative(a)); }
    case 1u: { v = select(g, P.alpha * g, is_negative(a)); }
    case 2u: { v = g * f * (1.0 - f); }
    case 3u: { v = g * (1.0 - f * f); }
    default: { v = select(g / (1.0 + exp_(-a)), g, a > 20.0); }
  }
  gx[P.off_gx + i] = v;
}`,
};

/**
 * out = in · scale where hash32(seed, i) ≥ threshold, else 0 (even for a NaN). The threshold is
 * ⌈p·2³²⌉ computed in JavaScript, so that the integer test drops exactly the CPU engines' units.
 */
export const DROPOUT: KernelSpec = {
  name: 'dropout',
  tensors: [['src', 'f32'], ['dst', 'f32']],
  scalars: [['n', 'u32'], ['seed', 'u32'], ['threshold', 'u32'], ['dropAll', 'u32'], ['scale', 'f32']],
  body: /* wgsl */ `${HASH_WGSL}
${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.n) { return; }
  let dropped = P.dropAll != 0u || hash32(P.seed, i) < P.threshold;
  dst[P.off_dst + i] = select(src[P.off_src + i] * P.scale, 0.0, dropped);
}`,
};

export const ADD_BIAS: KernelSpec = {
  name: 'addBias',
  tensors: [['y', 'f32'], ['bias', 'f32']],
  scalars: [['n', 'u32'], ['C', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.n) { return; }
  y[P.off_y + i] = y[P.off_y + i] + bias[P.off_bias + i % P.C];
}`,
};

/** gb[c] += Σ_r gy[r, c]: one workgroup per column, a fixed-order tree (COLUMN_SUM_WGSL). */
export const SUM_ROWS: KernelSpec = {
  name: 'sumRows',
  tensors: [['gy', 'f32'], ['gb', 'f32']],
  scalars: [['R', 'u32'], ['C', 'u32']],
  body: /* wgsl */ `${COLUMN_SUM_WGSL}
${COLUMN_MAIN} {
  let c = wid.x;
  let t = lid.x;
  var s = 0.0;
  for (var r = t; r < P.R; r += 64u) { s = s + gy[P.off_gy + r * P.C + c]; }
  partA[t] = s;
  partB[t] = 0.0;
  tree(t);
  if (t == 0u) { gb[P.off_gb + c] = gb[P.off_gb + c] + partA[0]; }
}`,
};

/**
 * flag[0] = 1 if any of x[0..n) is NaN or ±∞, else 0: the device-side check a step loop reads a
 * step late. One workgroup; an OR does not depend on the order of its terms.
 */
export const NON_FINITE: KernelSpec = {
  name: 'nonFinite',
  tensors: [['x', 'f32'], ['flag', 'f32']],
  scalars: [['n', 'u32']],
  body: /* wgsl */ `
var<workgroup> found: atomic<u32>;
@compute @workgroup_size(64)
fn main(@builtin(local_invocation_id) lid: vec3u) {
  if (lid.x == 0u) { atomicStore(&found, 0u); }
  workgroupBarrier();
  var bad = 0u;
  for (var i = lid.x; i < P.n; i += 64u) {
    if (!is_finite(x[P.off_x + i])) { bad = 1u; }
  }
  if (bad != 0u) { atomicOr(&found, 1u); }
  workgroupBarrier();
  if (lid.x == 0u) { flag[P.off_flag] = f32(atomicLoad(&found)); }
}`,
};

export const POINTWISE_KERNELS = [ACTIVATION_FORWARD, ACTIVATION_BACKWARD, DROPOUT, ADD_BIAS, SUM_ROWS, NON_FINITE];
