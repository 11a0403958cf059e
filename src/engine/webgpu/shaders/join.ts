/**
 * The graph joins (Add, Concat, Identity, Flatten's copy) and the fan-out gradient sum, as the
 * reference kernels in src/kernels/reference/join.ts; and one reduction the trainer needs over the
 * whole of w: Σ (a − b)², for the step size and the norm of g. Every sum runs in a fixed order.
 */
import { COLUMN_MAIN, COLUMN_SUM_WGSL, FLAT_MAIN, type KernelSpec } from './spec.js';

/** dst[r·dstStride + dstOffset + c] = src[r·srcStride + srcOffset + c], one thread per element. */
export const COPY_BLOCK: KernelSpec = {
  name: 'copyBlock',
  tensors: [['src', 'f32'], ['dst', 'f32']],
  scalars: [['R', 'u32'], ['C', 'u32'], ['srcStride', 'u32'], ['srcOffset', 'u32'], ['dstStride', 'u32'], ['dstOffset', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.R * P.C) { return; }
  let r = i / P.C;
  let c = i % P.C;
  dst[P.off_dst + r * P.dstStride + P.dstOffset + c] = src[P.off_src + r * P.srcStride + P.srcOffset + c];
}`,
};

/** y = a + b element-wise (y may be a or b: each thread reads its element before writing it). */
export const ADD_TENSORS: KernelSpec = {
  name: 'addTensors',
  tensors: [['a', 'f32'], ['b', 'f32'], ['y', 'f32']],
  scalars: [['n', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.n) { return; }
  y[P.off_y + i] = a[P.off_a + i] + b[P.off_b + i];
}`,
};

/** y[n, r, c] = x[n, r, c] + b[n, c]. */
export const ADD_BROADCAST: KernelSpec = {
  name: 'addBroadcast',
  tensors: [['x', 'f32'], ['b', 'f32'], ['y', 'f32']],
  scalars: [['total', 'u32'], ['R', 'u32'], ['C', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.total) { return; }
  let n = i / (P.R * P.C);
  let c = i % P.C;
  y[P.off_y + i] = x[P.off_x + i] + b[P.off_b + n * P.C + c];
}`,
};

/** gb[n, c] = Σ_r gy[n, r, c], r in increasing order (one thread per (n, c), as the reference). */
export const SUM_BROADCAST: KernelSpec = {
  name: 'sumBroadcast',
  tensors: [['gy', 'f32'], ['gb', 'f32']],
  scalars: [['NC', 'u32'], ['R', 'u32'], ['C', 'u32']],
  body: /* wgsl */ `${FLAT_MAIN} {
  let i = flat(wid, nwg, lid);
  if (i >= P.NC) { return; }
  let n = i / P.C;
  let c = i % P.C;
  var s = 0.0;
  for (var r = 0u; r < P.R; r++) { s = s + gy[P.off_gy + (n * P.R + r) * P.C + c]; }
  gb[P.off_gb + i] = s;
}`,
};

/**
 * out[0] = Σ_i (a_i − b_i)² (b absent: Σ a_i²), by one workgroup: thread t sums i = t, t + 64, …
 * in order, then a fixed tree. A NaN or ±∞ anywhere makes the sum non-finite.
 */
export const SQUARED_DISTANCE: KernelSpec = {
  name: 'squaredDistance',
  tensors: [['a', 'f32'], ['b', 'f32'], ['out', 'f32']],
  scalars: [['n', 'u32'], ['hasB', 'u32']],
  body: /* wgsl */ `${COLUMN_SUM_WGSL}
${COLUMN_MAIN} {
  let t = lid.x;
  var s = 0.0;
  for (var i = t; i < P.n; i += 64u) {
    var d = a[P.off_a + i];
    if (P.hasB != 0u) { d = d - b[P.off_b + i]; }
    s = s + d * d;
  }
  partA[t] = s;
  partB[t] = 0.0;
  tree(t);
  if (t == 0u) { out[P.off_out] = partA[0]; }
}`,
};

export const JOIN_KERNELS = [COPY_BLOCK, ADD_TENSORS, ADD_BROADCAST, SUM_BROADCAST, SQUARED_DISTANCE];
