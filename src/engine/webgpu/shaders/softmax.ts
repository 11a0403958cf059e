/**
 * Soft-max and the fused soft-max + cross-entropy, one thread per row (E, the classes, is small).
 * The risk is summed over rows by one thread in row order into loss[0], so it is the same number
 * on every run; it stays on the device until the step loop reads it (a step late).
 */
import { FLAT_MAIN, type KernelSpec } from './spec.js';

export const SOFTMAX_FORWARD: KernelSpec = {
  name: 'softmaxForward',
  tensors: [['x', 'f32'], ['p', 'f32']],
  scalars: [['N', 'u32'], ['E', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let n = flat(wid, nwg, lid);
  if (n >= P.N) { return; }
  let o = n * P.E;
  var mx = neg_inf();
  for (var e = 0u; e < P.E; e++) { mx = select(mx, x[P.off_x + o + e], x[P.off_x + o + e] > mx); }
  var sum = 0.0;
  for (var e = 0u; e < P.E; e++) {
    let v = exp_(x[P.off_x + o + e] - mx);
    p[P.off_p + o + e] = v;
    sum = sum + v;
  }
  for (var e = 0u; e < P.E; e++) { p[P.off_p + o + e] = p[P.off_p + o + e] / sum; }
}`,
};

export const SOFTMAX_BACKWARD: KernelSpec = {
  name: 'softmaxBackward',
  tensors: [['p', 'f32'], ['gy', 'f32'], ['gx', 'f32']],
  scalars: [['N', 'u32'], ['E', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let n = flat(wid, nwg, lid);
  if (n >= P.N) { return; }
  let o = n * P.E;
  var dot = 0.0;
  for (var e = 0u; e < P.E; e++) { dot = dot + gy[P.off_gy + o + e] * p[P.off_p + o + e]; }
  for (var e = 0u; e < P.E; e++) {
    gx[P.off_gx + o + e] = p[P.off_p + o + e] * (gy[P.off_gy + o + e] - dot);
  }
}`,
};

/**
 * Per row n: p = softmax(z), gz = (p − q)/N, rowLoss[n] = −Σ_c q_c log p_c (−log p_y for labels).
 * A max that is NaN makes the whole row NaN, as on the CPU.
 */
export const SOFTMAX_CROSS_ENTROPY: KernelSpec = {
  name: 'softmaxCrossEntropy',
  tensors: [['z', 'f32'], ['labels', 'i32'], ['q', 'f32'], ['p', 'f32'], ['gz', 'f32'], ['rowLoss', 'f32']],
  scalars: [['N', 'u32'], ['E', 'u32'], ['useLabels', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let n = flat(wid, nwg, lid);
  if (n >= P.N) { return; }
  let o = n * P.E;
  var mx = neg_inf();
  for (var e = 0u; e < P.E; e++) {
    let v = z[P.off_z + o + e];
    if (v > mx || is_nan(v)) { mx = v; }
    if (is_nan(mx)) { break; }
  }
  var sum = 0.0;
  for (var e = 0u; e < P.E; e++) { sum = sum + exp_(z[P.off_z + o + e] - mx); }
  let logSum = log_(sum);
  let inv = 1.0 / f32(P.N);
  var risk = 0.0;
  let y = u32(labels[P.off_labels + select(0u, n, P.useLabels != 0u)]);
  for (var e = 0u; e < P.E; e++) {
    let logp = z[P.off_z + o + e] - mx - logSum;
    let pe = exp_(logp);
    p[P.off_p + o + e] = pe;
    var qe: f32;
    if (P.useLabels != 0u) { qe = select(0.0, 1.0, e == y); } else { qe = q[P.off_q + o + e]; }
    if (qe != 0.0) { risk = risk - qe * logp; }
    gz[P.off_gz + o + e] = (pe - qe) * inv;
  }
  rowLoss[P.off_rowLoss + n] = risk;
}`,
};

/** Per row n: rowLoss[n] = Σ_e (y − t)², g = 2 (y − t)/N (src/losses/quadratic.ts: no ½ factor). */
export const QUADRATIC_LOSS: KernelSpec = {
  name: 'quadraticLoss',
  tensors: [['y', 'f32'], ['t', 'f32'], ['g', 'f32'], ['rowLoss', 'f32']],
  scalars: [['N', 'u32'], ['E', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let n = flat(wid, nwg, lid);
  if (n >= P.N) { return; }
  let o = n * P.E;
  let inv = 1.0 / f32(P.N);
  var risk = 0.0;
  for (var e = 0u; e < P.E; e++) {
    let d = y[P.off_y + o + e] - t[P.off_t + o + e];
    risk = risk + d * d;
    g[P.off_g + o + e] = 2.0 * d * inv;
  }
  rowLoss[P.off_rowLoss + n] = risk;
}`,
};

/** loss[0] = (Σ_n rowLoss[n]) / N, summed in row order by one thread. */
export const MEAN_LOSS: KernelSpec = {
  name: 'meanLoss',
  tensors: [['rowLoss', 'f32'], ['loss', 'f32']],
  scalars: [['N', 'u32']],
  body: /* wgsl */ `
@compute @workgroup_size(1)
fn main() {
  var s = 0.0;
  for (var n = 0u; n < P.N; n++) { s = s + rowLoss[P.off_rowLoss + n]; }
  loss[P.off_loss] = s / f32(P.N);
}`,
};

export const SOFTMAX_KERNELS = [SOFTMAX_FORWARD, SOFTMAX_BACKWARD, SOFTMAX_CROSS_ENTROPY, QUADRATIC_LOSS, MEAN_LOSS];
