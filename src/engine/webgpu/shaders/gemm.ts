/**
 * Every matrix product and convolution as one tiled GEMM: a workgroup of 8×8 threads computes a
 * 32×32 block of the output, each thread a 4×4 register tile, walking K in steps of 8 through
 * workgroup memory. The variants differ only in how they read A[m,k] and B[k,n] and store C[m,n]:
 * a convolution reads its input through an implicit im2col (no copy), so forward, backward-data
 * and backward-filter are GEMMs over windows. Each output sums k = 0, 1, …, K−1 in order, in one
 * thread: the same bits on every run.
 */
import type { KernelSpec, ScalarType } from './spec.js';

const TILE = /* wgsl */ `
const BM = 32u;
const BN = 32u;
const BK = 8u;
var<workgroup> As: array<f32, 256>;
var<workgroup> Bs: array<f32, 256>;

@compute @workgroup_size(8, 8)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m0 = wid.y * BM;
  let n0 = wid.x * BN;
  let t = lid.y * 8u + lid.x;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < P.GK; k0 += BK) {
    for (var r = 0u; r < 4u; r++) {
      let e = t * 4u + r;
      let am = e / BK;
      let ak = e % BK;
      As[ak * BM + am] = select(0.0, load_a(m0 + am, k0 + ak), m0 + am < P.GM && k0 + ak < P.GK);
      let bk = e / BN;
      let bn = e % BN;
      Bs[bk * BN + bn] = select(0.0, load_b(k0 + bk, n0 + bn), k0 + bk < P.GK && n0 + bn < P.GN);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < BK; kk++) {
      var ra: array<f32, 4>;
      var rb: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        ra[i] = As[kk * BM + lid.y * 4u + i];
        rb[i] = Bs[kk * BN + lid.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
          acc[i * 4u + j] = acc[i * 4u + j] + ra[i] * rb[j];
        }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + lid.y * 4u + i;
      let n = n0 + lid.x * 4u + j;
      if (m < P.GM && n < P.GN) { store_c(m, n, acc[i * 4u + j]); }
    }
  }
}`;

/** A select() evaluates both sides, so loaders must stay in bounds: they clamp their index. */
const GEMM_DIMS: (readonly [string, ScalarType])[] = [['GM', 'u32'], ['GN', 'u32'], ['GK', 'u32']];

/**
 * A grouped convolution runs one dispatch per group over the group's channels: C and O are then a
 * group's input and output channels, while XC and YC are the channels per pixel of x (gx) and y (gy),
 * the row strides; the group's first channel is in the tensors' offsets. Ungrouped: XC = C, YC = O.
 */
const CONV_DIMS: (readonly [string, ScalarType])[] = ['N', 'H', 'W', 'C', 'O', 'OH', 'OW', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW', 'DH', 'DW',
  'XC', 'YC'].map((n) => [n, 'i32'] as const);

/** x[n, oh·SH − PH + kh·DH, ow·SW − PW + kw·DW, c] for row m = (n, oh, ow) and column k = (kh, kw, c); 0 in the padding. */
const IM2COL = /* wgsl */ `
fn im2col(m: u32, k: u32) -> f32 {
  let mi = i32(min(m, P.GM - 1u));
  let ki = i32(k);
  let n = mi / (P.OH * P.OW);
  let r = mi % (P.OH * P.OW);
  let oh = r / P.OW;
  let ow = r % P.OW;
  let c = ki % P.C;
  let kk = ki / P.C;
  let kw = kk % P.KW;
  let kh = kk / P.KW;
  let ih = oh * P.SH - P.PH + kh * P.DH;
  let iw = ow * P.SW - P.PW + kw * P.DW;
  if (kh >= P.KH || ih < 0 || ih >= P.H || iw < 0 || iw >= P.W) { return 0.0; }
  return x[P.off_x + u32(((n * P.H + ih) * P.W + iw) * P.XC + c)];
}`;

const RELU = /* wgsl */ `fn relu(v: f32) -> f32 { return select(v, 0.0, is_negative(v)); }`;

/** C[M,N] (+)= op(A)·op(B), row-major. */
export const MATMUL: KernelSpec = {
  name: 'matmul',
  tensors: [['a', 'f32'], ['b', 'f32'], ['c', 'f32']],
  scalars: [...GEMM_DIMS, ['transA', 'u32'], ['transB', 'u32'], ['accumulate', 'u32']],
  body: /* wgsl */ `
fn load_a(m: u32, k: u32) -> f32 {
  let mm = min(m, P.GM - 1u);
  let kk = min(k, P.GK - 1u);
  return a[P.off_a + select(mm * P.GK + kk, kk * P.GM + mm, P.transA != 0u)];
}
fn load_b(k: u32, n: u32) -> f32 {
  let kk = min(k, P.GK - 1u);
  let nn = min(n, P.GN - 1u);
  return b[P.off_b + select(kk * P.GN + nn, nn * P.GK + kk, P.transB != 0u)];
}
fn store_c(m: u32, n: u32, v: f32) {
  let i = P.off_c + m * P.GN + n;
  c[i] = select(v, c[i] + v, P.accumulate != 0u);
}` + TILE,
};

/** y[N,O] = x[N,I]·Wᵀ + b, and relu = ReLU(y) when asked. */
export const DENSE_FORWARD: KernelSpec = {
  name: 'denseForward',
  tensors: [['x', 'f32'], ['w', 'f32'], ['bias', 'f32'], ['y', 'f32'], ['r', 'f32']],
  scalars: [...GEMM_DIMS, ['hasBias', 'u32'], ['hasRelu', 'u32']],
  body: /* wgsl */ `
fn load_a(m: u32, k: u32) -> f32 { return x[P.off_x + min(m, P.GM - 1u) * P.GK + min(k, P.GK - 1u)]; }
fn load_b(k: u32, n: u32) -> f32 { return w[P.off_w + min(n, P.GN - 1u) * P.GK + min(k, P.GK - 1u)]; }
${RELU}
fn store_c(m: u32, n: u32, v: f32) {
  var s = v;
  if (P.hasBias != 0u) { s = s + bias[P.off_bias + n]; }
  y[P.off_y + m * P.GN + n] = s;
  if (P.hasRelu != 0u) { r[P.off_r + m * P.GN + n] = relu(s); }
}` + TILE,
};

/** Convolution forward: rows (n, oh, ow), columns o, K = (kh, kw, c); w[O, KH, KW, C] is Bᵀ. */
export const CONV_FORWARD: KernelSpec = {
  name: 'conv2dForward',
  tensors: [['x', 'f32'], ['w', 'f32'], ['bias', 'f32'], ['y', 'f32'], ['r', 'f32']],
  scalars: [...GEMM_DIMS, ...CONV_DIMS, ['hasBias', 'u32'], ['hasRelu', 'u32']],
  body: /* wgsl */ `
${IM2COL}
fn load_a(m: u32, k: u32) -> f32 { return im2col(m, k); }
fn load_b(k: u32, n: u32) -> f32 { return w[P.off_w + min(n, P.GN - 1u) * P.GK + min(k, P.GK - 1u)]; }
${RELU}
fn store_c(m: u32, n: u32, v: f32) {
  var s = v;
  if (P.hasBias != 0u) { s = s + bias[P.off_bias + n]; }
  let i = m * u32(P.YC) + n;
  y[P.off_y + i] = s;
  if (P.hasRelu != 0u) { r[P.off_r + i] = relu(s); }
}` + TILE,
};

/**
 * Convolution backward-data as a gather: rows are input pixels (n, ih, iw), columns c, and
 * K = (kh, kw, o) runs over the outputs whose window read that pixel through tap (kh, kw):
 * oh = (ih + PH − kh·DH)/SH when that divides exactly and lies in range, else the term is 0.
 */
export const CONV_BACKWARD_DATA: KernelSpec = {
  name: 'conv2dBackwardData',
  tensors: [['gy', 'f32'], ['w', 'f32'], ['gx', 'f32']],
  scalars: [...GEMM_DIMS, ...CONV_DIMS],
  body: /* wgsl */ `
fn load_a(m: u32, k: u32) -> f32 {
  let mi = i32(min(m, P.GM - 1u));
  let ki = i32(k);
  let n = mi / (P.H * P.W);
  let r = mi % (P.H * P.W);
  let ih = r / P.W;
  let iw = r % P.W;
  let o = ki % P.O;
  let kk = ki / P.O;
  let kw = kk % P.KW;
  let kh = kk / P.KW;
  let th = ih + P.PH - kh * P.DH;
  let tw = iw + P.PW - kw * P.DW;
  if (kh >= P.KH || th < 0 || tw < 0 || th % P.SH != 0 || tw % P.SW != 0) { return 0.0; }
  let oh = th / P.SH;
  let ow = tw / P.SW;
  if (oh >= P.OH || ow >= P.OW) { return 0.0; }
  return gy[P.off_gy + u32(((n * P.OH + oh) * P.OW + ow) * P.YC + o)];
}
fn load_b(k: u32, c: u32) -> f32 {
  let ki = i32(min(k, P.GK - 1u));
  let o = ki % P.O;
  let kk = ki / P.O;
  let kw = kk % P.KW;
  let kh = kk / P.KW;
  return w[P.off_w + u32(((o * P.KH + kh) * P.KW + kw) * P.C) + min(c, P.GN - 1u)];
}
fn store_c(m: u32, c: u32, v: f32) { gx[P.off_gx + m * u32(P.XC) + c] = v; }` + TILE,
};

/** Convolution backward-filter: gw[o, (kh, kw, c)] += Σ_(n, oh, ow) gy[(n, oh, ow), o] · im2col[(n, oh, ow), (kh, kw, c)]. */
export const CONV_BACKWARD_FILTER: KernelSpec = {
  name: 'conv2dBackwardFilter',
  tensors: [['x', 'f32'], ['gy', 'f32'], ['gw', 'f32']],
  scalars: [...GEMM_DIMS, ...CONV_DIMS],
  body: /* wgsl */ `
fn im2col(m: u32, k: u32) -> f32 {
  let mi = i32(min(m, P.GK - 1u));
  let ki = i32(min(k, P.GN - 1u));
  let n = mi / (P.OH * P.OW);
  let r = mi % (P.OH * P.OW);
  let oh = r / P.OW;
  let ow = r % P.OW;
  let c = ki % P.C;
  let kk = ki / P.C;
  let kw = kk % P.KW;
  let kh = kk / P.KW;
  let ih = oh * P.SH - P.PH + kh * P.DH;
  let iw = ow * P.SW - P.PW + kw * P.DW;
  if (ih < 0 || ih >= P.H || iw < 0 || iw >= P.W) { return 0.0; }
  return x[P.off_x + u32(((n * P.H + ih) * P.W + iw) * P.XC + c)];
}
fn load_a(o: u32, m: u32) -> f32 { return gy[P.off_gy + min(m, P.GK - 1u) * u32(P.YC) + min(o, P.GM - 1u)]; }
fn load_b(m: u32, k: u32) -> f32 { return im2col(m, k); }
fn store_c(o: u32, k: u32, v: f32) {
  let i = P.off_gw + o * P.GN + k;
  gw[i] = gw[i] + v;
}` + TILE,
};

export const GEMM_KERNELS = [MATMUL, DENSE_FORWARD, CONV_FORWARD, CONV_BACKWARD_DATA, CONV_BACKWARD_FILTER];
