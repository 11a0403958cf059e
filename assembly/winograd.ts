/**
 * Winograd F(2×2, 3×3) convolution for 3×3 layers with stride 1 and no dilation, channels-last.
 *
 * Each 2×2 block of outputs (a "tile") is computed from the 4×4 input patch that covers it:
 * y = Aᵀ [ (G w Gᵀ) ⊙ (Bᵀ d B) ] A, 16 multiplies per tile and channel pair instead of 36.
 * The element-wise products summed over input channels are 16 matrix products, one per position
 * xi of the 4×4 transformed patch, run with the engine's 4×8 register tile.
 *
 * Forward (winogradForward): threads split blocks of TB tiles; a block transforms its input
 * patches (vectorised over channels, then interleaved four tiles at a time into packed panels
 * Vp[xi][tile/4][c][4]), multiplies them by the packed transformed weights (U[xi][⌈O/8⌉][C][8])
 * with the tile's one-pointer panel loop, and transforms back (Aᵀ M A, plus bias, plus the fused ReLU).
 * Backward-data is the forward convolution of gy with the weights flipped and transposed,
 * padding 2 - P (winogradPack with the flip word set).
 * Backward-filter (winogradFilter) uses the transposed algorithm,
 * gw = Gᵀ [ Σ_tiles (A gy Aᵀ) ⊙ (Bᵀ d B) ] G: fixed groups of ~GT tiles each sum into partial
 * sums of their own (sub-blocks of SB tiles: transforms, the input's stored as packed panels
 * Vp[xi][c/4][tile][4], then 16 products over the sub-block's tiles with the panel loop),
 * and winogradFilterReduce adds the groups in group order, transforms back and adds to gw.
 *
 * Every output is one chain of float32 operations that depends only on the geometry (never on
 * how blocks or groups are shared out), so results are bitwise the same for every thread count.
 * G is read from a table in memory (written by the JavaScript side), so a test can break it.
 * Scratch arrays indexed by xi have strides skewed off multiples of 4 KiB (SKEW). The transforms
 * run every channel of one tile per call with pointers computed once; patches inside the image are
 * read in place, edge patches are first gathered into a zero-padded patch.
 * winogradSkip (0 in use) lets bench/winograd-phases.ts time each phase by skipping it.
 *
 * Parameter words: Conv in src/engine/kernel-params.ts (WinogradG, WinogradFlip its own).
 */
import { imax, imin, pi, pp, relu4, shareStart, thread } from './common';
import { tileLoad, tilePanel, tileStore } from './tile';
import { Conv } from '../src/engine/kernel-params';

/**
 * Profiling only (bench/winograd-phases.ts): bits skip phases, leaving wrong results: 1 input
 * transform, 2 interleave (forward) or gy transform (filter), 4 products, 8 output transform.
 */
export let winogradSkip: i32 = 0;
/** Tiles per forward block. */
const TB: i32 = 32;
/**
 * Bytes added to the stride between the 16 positions xi of a scratch array: strides that are
 * multiples of 4 KiB (NET-B's are) put all 16 in one L1 set, and the transforms touch all 16 at once.
 */
const SKEW: i32 = 64;
/** Tiles per partial-sum group of backward-filter (fixed by the geometry, so sums never depend on threads). */
const GT: i32 = 256;
/** At most this many bytes of partial sums: large layers get fewer, larger groups. */
const MAX_PARTIAL_BYTES: i32 = 32 << 20;
/** Tiles per transformed sub-block of backward-filter. */
const SB: i32 = 32;
/** Input channels per chunk of winogradFilterReduce (its sums S[16][RC][O8] fit the filter's scratch, RC <= SB). */
const RC: i32 = 8;

@inline function c4(C: i32): i32 {
  return (C + 3) & ~3;
}

@inline function op8(O: i32): i32 {
  return (O + 7) & ~7;
}

/** Bytes of the packed transformed weights U[16][⌈O/8⌉][C][8]. */
export function winogradPackedBytes(C: i32, O: i32): i32 {
  return 16 * op8(O) * C * 4;
}

/**
 * Per-thread scratch of winogradForward: Vp[16][TB/4][C4][4] (panels of four tiles), M[16][TB][O8]
 * and Q[16][4][C4] (four tiles' transforms before they are interleaved into Vp).
 */
export function winogradForwardScratchBytes(C: i32, O: i32): i32 {
  return 16 * ((TB * (c4(C) + op8(O)) + 5 * c4(C)) * 4 + 2 * SKEW);
}

/** Per-thread scratch of winogradFilter: Vp[16][C4/4][SB][4] and Z[16][⌈O/8⌉][SB][8] (also the reduce's). */
export function winogradFilterScratchBytes(C: i32, O: i32): i32 {
  return 16 * ((SB * (c4(C) + op8(O)) + c4(C)) * 4 + 2 * SKEW) + 256;
}

/** Partial-sum groups of winogradFilter (its work units): GT tiles each, fewer when they would not fit. */
export function winogradFilterGroups(N: i32, OH: i32, OW: i32, C: i32, O: i32): i32 {
  const T = N * ((OH + 1) >> 1) * ((OW + 1) >> 1);
  const most = MAX_PARTIAL_BYTES / (16 * c4(C) * op8(O) * 4);
  return imax(1, imin((T + GT - 1) / GT, most));
}

/** Bytes of the partial sums P[group][16][C4][O8]. */
export function winogradFilterPartialBytes(N: i32, OH: i32, OW: i32, C: i32, O: i32): i32 {
  return winogradFilterGroups(N, OH, OW, C, O) * 16 * c4(C) * op8(O) * 4;
}

@inline function gAt(gt: usize, i: i32, j: i32): f32 {
  return load<f32>(gt + (<usize>(i * 3 + j) << 2));
}

/**
 * U[xi][ob][c][j] = (G g Gᵀ)[xi] for output channel o = 8·ob + j and input channel c, where
 * g[t] is w[o][t][c] (w: [O][3][3][C]) or, with flip, w[c][8 - t][o] (w: [C][3][3][O], the
 * forward layer's weights seen by its backward-data).
 */
export function winogradPack(params: usize): void {
  const w = pp(params, Conv.Weights), dst = pp(params, Conv.Packed), gt = pp(params, Conv.WinogradG);
  const C = pi(params, Conv.C), O = pi(params, Conv.O), flip = pi(params, Conv.WinogradFlip) != 0;
  const OB = (O + 7) >> 3;
  const xiStride = <usize>(OB * C * 8) << 2;
  // G's columns as vectors over its rows i (G[0..3][r]) and its entries, read once.
  const G0 = gColumn(gt, 0), G1 = gColumn(gt, 1), G2 = gColumn(gt, 2);
  for (let ob = 0; ob < OB; ob++) {
    for (let c = 0; c < C; c++) {
      for (let j = 0; j < 8; j++) {
        const o = ob * 8 + j, d = dst + ((<usize>((ob * C + c) * 8 + j)) << 2);
        if (o >= O) {
          for (let xi = 0; xi < 16; xi++) store<f32>(d + <usize>xi * xiStride, 0);
          continue;
        }
        // work[i][s] = Σ_r G[i][r] g[r][s] (lanes i), then U[i][l] = Σ_s work[i][s] G[l][s].
        const src = flip ? w + (<usize>(c * 9 * O + o) << 2) : w + (<usize>(o * 9 * C + c) << 2);
        const step = flip ? -(<isize>O << 2) : <isize>C << 2, last = flip ? <isize>8 * (<isize>O << 2) : 0;
        const k = src + last;
        let w0 = f32x4.splat(0), w1 = w0, w2 = w0;
        for (let s = 0; s < 3; s++) {
          let a = f32x4.splat(0);
          a = f32x4.add(a, f32x4.mul(G0, f32x4.splat(load<f32>(k + (0 * 3 + s) * step))));
          a = f32x4.add(a, f32x4.mul(G1, f32x4.splat(load<f32>(k + (1 * 3 + s) * step))));
          a = f32x4.add(a, f32x4.mul(G2, f32x4.splat(load<f32>(k + (2 * 3 + s) * step))));
          if (s == 0) w0 = a;
          else if (s == 1) w1 = a;
          else w2 = a;
        }
        for (let l = 0; l < 4; l++) {
          let u = f32x4.splat(0);
          u = f32x4.add(u, f32x4.mul(w0, f32x4.splat(gAt(gt, l, 0))));
          u = f32x4.add(u, f32x4.mul(w1, f32x4.splat(gAt(gt, l, 1))));
          u = f32x4.add(u, f32x4.mul(w2, f32x4.splat(gAt(gt, l, 2))));
          store<f32>(d + <usize>l * xiStride, f32x4.extract_lane(u, 0));
          store<f32>(d + <usize>(4 + l) * xiStride, f32x4.extract_lane(u, 1));
          store<f32>(d + <usize>(8 + l) * xiStride, f32x4.extract_lane(u, 2));
          store<f32>(d + <usize>(12 + l) * xiStride, f32x4.extract_lane(u, 3));
        }
      }
    }
  }
}

/** Column r of G as a vector over its rows: (G[0][r], G[1][r], G[2][r], G[3][r]). */
@inline function gColumn(gt: usize, r: i32): v128 {
  let v = f32x4.splat(gAt(gt, 0, r));
  v = f32x4.replace_lane(v, 1, gAt(gt, 1, r));
  v = f32x4.replace_lane(v, 2, gAt(gt, 2, r));
  return f32x4.replace_lane(v, 3, gAt(gt, 3, r));
}

/** Four channels of pixel (h, w) of image base `img`, zero outside the image or past C. */
@inline function ld(img: usize, h: i32, w: i32, H: i32, W: i32, C: i32, c: i32): v128 {
  if (<u32>h >= <u32>H || <u32>w >= <u32>W) return f32x4.splat(0);
  const p = img + ((<usize>(h * W + w) * <usize>C + <usize>c) << 2);
  if (c + 4 <= C) return v128.load(p);
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (c + 1 < C) v = f32x4.replace_lane(v, 1, load<f32>(p, 4));
  if (c + 2 < C) v = f32x4.replace_lane(v, 2, load<f32>(p, 8));
  return v;
}

/**
 * Bᵀ d B of one 4×4 patch (origin h0, w0), every channel: channels c..c+3 stored at
 * dst + (c/4)·cStep + xi·xiStride. A patch inside the image is read in place; one that crosses
 * its edge (or has C not divisible by 4) is first copied into `patch` ([4][4][C4], zero-padded).
 * A called function (not inlined into each kernel): the same speed, less code.
 */
function inputTransform(img: usize, h0: i32, w0: i32, H: i32, W: i32, C: i32,
  dst: usize, cStep: usize, xiStride: usize, patch: usize): void {
  const C4 = c4(C);
  let p = patch, pix = <usize>C4 << 2, row = pix << 2;
  if (h0 >= 0 && w0 >= 0 && h0 + 4 <= H && w0 + 4 <= W && C == C4) {
    row = <usize>(W * C) << 2;
    p = img + ((<usize>(h0 * W + w0) * <usize>C) << 2);
  } else {
    gatherPatch(img, h0, w0, H, W, C, patch);
  }
  const p1 = p + row, p2 = p1 + row, p3 = p2 + row, pix2 = pix << 1, pix3 = pix2 + pix;
  const x4 = xiStride << 2;
  for (let c = 0; c < C4; c += 4) {
    const o = <usize>c << 2, d = dst + <usize>(c >> 2) * cStep;
    transformPatch(p + o, p1 + o, p2 + o, p3 + o, pix, pix2, pix3, d, d + x4, d + 2 * x4, d + 3 * x4, xiStride);
  }
}

/** Copies the patch at (h0, w0) into patch[4][4][C4], zero outside the image and past C. */
function gatherPatch(img: usize, h0: i32, w0: i32, H: i32, W: i32, C: i32, patch: usize): void {
  const pixBytes = <usize>c4(C) << 2;
  memory.fill(patch, 0, 16 * pixBytes);
  for (let r = 0; r < 4; r++) {
    const h = h0 + r;
    if (<u32>h >= <u32>H) continue;
    for (let s = 0; s < 4; s++) {
      const w = w0 + s;
      if (<u32>w >= <u32>W) continue;
      memory.copy(patch + <usize>(r * 4 + s) * pixBytes, img + ((<usize>(h * W + w) * <usize>C) << 2), <usize>C << 2);
    }
  }
}

/**
 * Bᵀ d B for four channels: row r of the patch at p_r (pixels pix bytes apart), output row i
 * (positions 4i..4i+3) at q_i (positions xiStride apart). Written out row by row (binaryen keeps
 * a loop over columns, and its 16 values live across it spill).
 */
@inline function transformPatch(p0: usize, p1: usize, p2: usize, p3: usize, pix: usize, pix2: usize, pix3: usize,
  q0: usize, q1: usize, q2: usize, q3: usize, xiStride: usize): void {
  // Bᵀ on the left: t[0] = d0 - d2, t[1] = d1 + d2, t[2] = d2 - d1, t[3] = d1 - d3 (per column), then B on the right.
  transformRow(q0, xiStride, false, p0, p2, pix, pix2, pix3);
  transformRow(q1, xiStride, true, p1, p2, pix, pix2, pix3);
  transformRow(q2, xiStride, false, p2, p1, pix, pix2, pix3);
  transformRow(q3, xiStride, false, p1, p3, pix, pix2, pix3);
}

/** Row t = a ± b of Bᵀ d (patch rows a and b, four columns pix bytes apart), then putRow. */
@inline function transformRow(q: usize, xiStride: usize, add: bool, a: usize, b: usize, pix: usize, pix2: usize,
  pix3: usize): void {
  putRow(q, xiStride, combine(add, a, b), combine(add, a + pix, b + pix), combine(add, a + pix2, b + pix2),
    combine(add, a + pix3, b + pix3));
}

@inline function combine(add: bool, a: usize, b: usize): v128 {
  return add ? f32x4.add(v128.load(a), v128.load(b)) : f32x4.sub(v128.load(a), v128.load(b));
}

/** Row transform (B on the right) of one row of t, stored at q, q + xiStride, ... (four positions). */
@inline function putRow(q: usize, xiStride: usize, a: v128, b: v128, c: v128, d: v128): void {
  v128.store(q, f32x4.sub(a, c));
  v128.store(q + xiStride, f32x4.add(b, c));
  v128.store(q + 2 * xiStride, f32x4.sub(c, b));
  v128.store(q + 3 * xiStride, f32x4.sub(b, d));
}

/**
 * Q[xi][j][c] (four tiles j, rows `row` bytes apart, positions xi 4·row apart) interleaved into
 * the panel Vp[xi][c][j] (positions xiStride apart): a 4×4 transpose per four channels.
 */
@inline function interleave(Q: usize, row: usize, Vp: usize, xiStride: usize, C4: i32): void {
  for (let xi = 0; xi < 16; xi++) {
    const q = Q + <usize>xi * (row << 2), v = Vp + <usize>xi * xiStride;
    for (let c = 0; c < C4; c += 4) {
      const p = q + (<usize>c << 2);
      const r0 = v128.load(p), r1 = v128.load(p + row), r2 = v128.load(p + 2 * row), r3 = v128.load(p + 3 * row);
      const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
      const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
      const d = v + (<usize>c << 4);
      v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
      v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
      v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
      v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
    }
  }
}

/**
 * For each of `groups` panels a[k][4] (k < n, aGroup bytes apart): out rows (outStride apart,
 * 4·outStride per panel) = Σ_k a[k][r] · b[k][0..8]. One call per b, the loop over panels inside.
 */
function panelRows(a: usize, aGroup: usize, groups: i32, n: i32, b: usize, out: usize, outStride: usize): void {
  const block = outStride << 2;
  for (let g = 0; g < groups; g++) {
    tilePanel(a + <usize>g * aGroup, b, n, false);
    tileStore(out + <usize>g * block, outStride);
  }
}

/**
 * For each of `blocks` b panels b_j[k][8] (bBlock bytes apart): out rows r (outStride apart,
 * columns 8j..8j+7) (+)= Σ_{k<n} a[k][r] · b_j[k][0..8], a a packed panel [n][4].
 */
function panelSums(a: usize, n: i32, b: usize, bBlock: usize, blocks: i32, out: usize, outStride: usize, acc: bool): void {
  for (let j = 0; j < blocks; j++) {
    const o = out + (<usize>j << 5);
    if (acc) tileLoad(o, outStride);
    tilePanel(a, b + <usize>j * bBlock, n, acc);
    tileStore(o, outStride);
  }
}

/** Stores v (channels o..o+3 of one output pixel), its ReLU at reluDelta further when asked. */
@inline function storeOut(p: usize, v: v128, o: i32, O: i32, relu: bool, reluDelta: usize): void {
  if (o + 4 <= O) {
    v128.store(p, v);
    if (relu) v128.store(p + reluDelta, relu4(v));
  } else {
    const r = relu4(v);
    store<f32>(p, f32x4.extract_lane(v, 0));
    if (relu) store<f32>(p + reluDelta, f32x4.extract_lane(r, 0));
    if (o + 1 < O) {
      store<f32>(p, f32x4.extract_lane(v, 1), 4);
      if (relu) store<f32>(p + reluDelta, f32x4.extract_lane(r, 1), 4);
    }
    if (o + 2 < O) {
      store<f32>(p, f32x4.extract_lane(v, 2), 8);
      if (relu) store<f32>(p + reluDelta, f32x4.extract_lane(r, 2), 8);
    }
  }
}

@inline function biasAt(bias: usize, o: i32, O: i32): v128 {
  if (bias == 0) return f32x4.splat(0);
  if (o + 4 <= O) return v128.load(bias + (<usize>o << 2));
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(bias + (<usize>o << 2)));
  if (o + 1 < O) v = f32x4.replace_lane(v, 1, load<f32>(bias + (<usize>(o + 1) << 2)));
  if (o + 2 < O) v = f32x4.replace_lane(v, 2, load<f32>(bias + (<usize>(o + 2) << 2)));
  return v;
}

/** y = conv(x, w) (+ b), ReLU(y) at word 23 when not 0; threads split blocks of TB tiles. */
export function winogradForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Conv.In), U = pp(params, Conv.Packed), bias = pp(params, Conv.Bias), y = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const reluOut = pp(params, Conv.Relu), relu = reluOut != 0, reluDelta = reluOut - y;
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1, TI = TH * TW, T = N * TI;
  const blocks = (T + TB - 1) / TB;
  const b0 = shareStart(blocks, part, parts), b1 = shareStart(blocks, part + 1, parts);
  const C4 = c4(C), OB = (O + 7) >> 3, O8 = OB << 3;
  const V = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
  const vRow = <usize>C4 << 2, vXi = <usize>TB * vRow + SKEW, vGroup = vRow << 2;
  const mRow = <usize>O8 << 2, mXi = <usize>TB * mRow + SKEW;
  const M = V + 16 * vXi, Q = M + 16 * mXi, patch = Q + 16 * (vRow << 2);
  const uXi = <usize>(OB * C * 8) << 2, uOb = <usize>(C * 8) << 2;
  const imgBytes = <usize>(H * W * C) << 2, outImg = <usize>(OH * OW * O) << 2;
  for (let b = b0; b < b1; b++) {
    const t0 = b * TB, nt = imin(TB, T - t0), nt4 = (nt + 3) & ~3;
    for (let i = 0; i < nt4; i += 4) {
      if (!(winogradSkip & 1)) for (let j = 0; j < 4; j++) {
        const dst = Q + <usize>j * vRow;
        if (i + j >= nt) {
          for (let xi = 0; xi < 16; xi++) memory.fill(dst + <usize>xi * vGroup, 0, vRow);
          continue;
        }
        const t = t0 + i + j, n = t / TI, r = t - n * TI, th = r / TW, tw = r - th * TW;
        inputTransform(x + <usize>n * imgBytes, 2 * th - PH, 2 * tw - PW, H, W, C, dst, 16, vGroup, patch);
      }
      if (!(winogradSkip & 2)) interleave(Q, vRow, V + <usize>i * vRow, vXi, C4);
    }
    if (!(winogradSkip & 4)) for (let xi = 0; xi < 16; xi++) {
      for (let ob = 0; ob < OB; ob++) {
        panelRows(V + <usize>xi * vXi, vGroup, nt4 >> 2, C, U + <usize>xi * uXi + <usize>ob * uOb,
          M + <usize>xi * mXi + (<usize>ob << 5), mRow);
      }
    }
    if (!(winogradSkip & 8)) for (let i = 0; i < nt; i++) {
      const t = t0 + i, n = t / TI, r = t - n * TI, th = r / TW, tw = r - th * TW;
      const oh = 2 * th, ow = 2 * tw;
      const yb = y + <usize>n * outImg + ((<usize>(oh * OW + ow) * <usize>O) << 2);
      outputTransform(M + <usize>i * mRow, mXi, yb, O, bias, OW, oh + 1 < OH, ow + 1 < OW, relu, reluDelta);
    }
  }
}

/**
 * y (+ bias, ReLU copy) of one tile from M (rows m, positions xi mXi bytes apart): Aᵀ M A per
 * four channels, the 2×2 outputs stored at yb (down, right: whether the lower row and right
 * column exist). Whole tiles with O divisible by 4 (most of them) take a path without the checks.
 */
function outputTransform(m: usize, mXi: usize, yb: usize, O: i32, bias: usize, OW: i32, down: bool, right: bool,
  relu: bool, reluDelta: usize): void {
  if (down && right && (O & 3) == 0) outputTransformAt(true, m, mXi, yb, O, bias, OW, true, true, relu, reluDelta);
  else outputTransformAt(false, m, mXi, yb, O, bias, OW, down, right, relu, reluDelta);
}

@inline function outputTransformAt(whole: bool, m: usize, mXi: usize, yb: usize, O: i32, bias: usize, OW: i32,
  down: bool, right: bool, relu: bool, reluDelta: usize): void {
  const x4 = mXi << 2, r1 = m + x4, r2 = r1 + x4, r3 = r2 + x4;
  const rowBytes = <usize>(OW * O) << 2, pixBytes = <usize>O << 2;
  for (let o = 0; o < O; o += 4) {
    const off = <usize>o << 2;
    // Aᵀ on the left (rows 0..3 → 2), then A on the right (columns 0..3 → 2).
    let u00 = f32x4.splat(0), u01 = u00, u02 = u00, u03 = u00, u10 = u00, u11 = u00, u12 = u00, u13 = u00;
    for (let s = 0; s < 4; s++) {
      const c = off + <usize>s * mXi;
      const m0 = v128.load(m + c), m1 = v128.load(r1 + c), m2 = v128.load(r2 + c), m3 = v128.load(r3 + c);
      const a = f32x4.add(f32x4.add(m0, m1), m2), e = f32x4.sub(f32x4.sub(m1, m2), m3);
      if (s == 0) { u00 = a; u10 = e; }
      else if (s == 1) { u01 = a; u11 = e; }
      else if (s == 2) { u02 = a; u12 = e; }
      else { u03 = a; u13 = e; }
    }
    const bv = whole ? (bias == 0 ? f32x4.splat(0) : v128.load(bias + off)) : biasAt(bias, o, O);
    const p = yb + off;
    const y00 = f32x4.add(f32x4.add(f32x4.add(u00, u01), u02), bv);
    if (whole) {
      v128.store(p, y00);
      const y01 = f32x4.add(f32x4.sub(f32x4.sub(u01, u02), u03), bv);
      v128.store(p + pixBytes, y01);
      const y10 = f32x4.add(f32x4.add(f32x4.add(u10, u11), u12), bv);
      v128.store(p + rowBytes, y10);
      const y11 = f32x4.add(f32x4.sub(f32x4.sub(u11, u12), u13), bv);
      v128.store(p + rowBytes + pixBytes, y11);
      if (relu) {
        const q = p + reluDelta;
        v128.store(q, relu4(y00));
        v128.store(q + pixBytes, relu4(y01));
        v128.store(q + rowBytes, relu4(y10));
        v128.store(q + rowBytes + pixBytes, relu4(y11));
      }
      continue;
    }
    storeOut(p, y00, o, O, relu, reluDelta);
    if (right) storeOut(p + pixBytes, f32x4.add(f32x4.sub(f32x4.sub(u01, u02), u03), bv), o, O, relu, reluDelta);
    if (down) {
      storeOut(p + rowBytes, f32x4.add(f32x4.add(f32x4.add(u10, u11), u12), bv), o, O, relu, reluDelta);
      if (right) storeOut(p + rowBytes + pixBytes, f32x4.add(f32x4.sub(f32x4.sub(u11, u12), u13), bv), o, O, relu, reluDelta);
    }
  }
}

/**
 * A gy Aᵀ of one 2×2 block of gy (origin oh, ow), every channel: channels o..o+3 stored at
 * dst + (o/8)·obStep + (o%8)·4 + xi·xiStride, for o < ⌈O/8⌉·8 (lanes past O are never read back).
 */
function gradTransform(img: usize, oh: i32, ow: i32, OH: i32, OW: i32, O: i32,
  dst: usize, obStep: usize, xiStride: usize): void {
  const O8 = op8(O);
  if (oh + 2 <= OH && ow + 2 <= OW && O == O8) {
    // Blocks inside gy (all of them on even sizes): plain loads, pointers stepping over o.
    const pix = <usize>O << 2, p0 = img + ((<usize>(oh * OW + ow) * <usize>O) << 2), p1 = p0 + <usize>OW * pix;
    for (let o = 0; o < O8; o += 4) {
      const off = <usize>o << 2;
      gradPatch(v128.load(p0 + off), v128.load(p0 + pix + off), v128.load(p1 + off), v128.load(p1 + pix + off),
        dst + <usize>(o >> 3) * obStep + (<usize>(o & 7) << 2), xiStride);
    }
  } else {
    for (let o = 0; o < O8; o += 4) {
      gradPatch(ld(img, oh, ow, OH, OW, O, o), ld(img, oh, ow + 1, OH, OW, O, o), ld(img, oh + 1, ow, OH, OW, O, o),
        ld(img, oh + 1, ow + 1, OH, OW, O, o), dst + <usize>(o >> 3) * obStep + (<usize>(o & 7) << 2), xiStride);
    }
  }
}

/** A g Aᵀ of the 2×2 block g00..g11 (four channels), stored at dst + xi·xiStride. */
@inline function gradPatch(g00: v128, g01: v128, g10: v128, g11: v128, dst: usize, xiStride: usize): void {
  // Rows: z0 = g0, z1 = g0 + g1, z2 = g0 - g1, z3 = -g1 (A on the left), then the same on columns.
  const s0 = f32x4.add(g00, g10), d0 = f32x4.sub(g00, g10), s1 = f32x4.add(g01, g11), d1 = f32x4.sub(g01, g11);
  gradRow(dst, 0, xiStride, g00, g01);
  gradRow(dst, 4, xiStride, s0, s1);
  gradRow(dst, 8, xiStride, d0, d1);
  gradRow(dst, 12, xiStride, f32x4.neg(g10), f32x4.neg(g11));
}

@inline function gradRow(dst: usize, xi0: i32, xiStride: usize, a: v128, b: v128): void {
  v128.store(dst + <usize>xi0 * xiStride, a);
  v128.store(dst + <usize>(xi0 + 1) * xiStride, f32x4.add(a, b));
  v128.store(dst + <usize>(xi0 + 2) * xiStride, f32x4.sub(a, b));
  v128.store(dst + <usize>(xi0 + 3) * xiStride, f32x4.neg(b));
}

/**
 * Partial sums P[g][xi][c][o] = Σ over the tiles of group g of (Bᵀ d B)[xi][c] · (A gy Aᵀ)[xi][o],
 * tiles in increasing order; threads split the groups. Word 1 is gy, word 22 the partial sums.
 */
export function winogradFilter(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Conv.In), gy = pp(params, Conv.Packed), partials = pp(params, Conv.Partials);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const TH = (OH + 1) >> 1, TW = (OW + 1) >> 1, TI = TH * TW, T = N * TI;
  const groups = winogradFilterGroups(N, OH, OW, C, O);
  const g0 = shareStart(groups, part, parts), g1 = shareStart(groups, part + 1, parts);
  const C4 = c4(C), OB = (O + 7) >> 3, O8 = OB << 3;
  const Vp = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
  const vpCg = <usize>SB << 4, vpXi = <usize>(C4 >> 2) * vpCg + SKEW;
  const zOb = <usize>SB << 5, zXi = <usize>OB * zOb + SKEW;
  const Z = Vp + 16 * vpXi, patch = Z + 16 * zXi;
  const pRow = <usize>O8 << 2, pXi = <usize>C4 * pRow, pGroup = <usize>16 * pXi;
  const imgBytes = <usize>(H * W * C) << 2, gyImg = <usize>(OH * OW * O) << 2;
  for (let g = g0; g < g1; g++) {
    const P = partials + <usize>g * pGroup;
    const gStart = shareStart(T, g, groups), gEnd = shareStart(T, g + 1, groups);
    for (let s0 = gStart; s0 < gEnd; s0 += SB) {
      const nt = imin(SB, gEnd - s0);
      for (let i = 0; i < nt; i++) {
        const t = s0 + i, n = t / TI, r = t - n * TI, th = r / TW, tw = r - th * TW;
        const img = x + <usize>n * imgBytes, gimg = gy + <usize>n * gyImg;
        if (!(winogradSkip & 1)) inputTransform(img, 2 * th - PH, 2 * tw - PW, H, W, C, Vp + (<usize>i << 4), vpCg, vpXi, patch);
        if (!(winogradSkip & 2)) gradTransform(gimg, 2 * th, 2 * tw, OH, OW, O, Z + (<usize>i << 5), zOb, zXi);
      }
      const first = s0 == gStart;
      if (!(winogradSkip & 4)) for (let xi = 0; xi < 16; xi++) {
        for (let c = 0; c < C4; c += 4) {
          panelSums(Vp + <usize>xi * vpXi + <usize>(c >> 2) * vpCg, nt, Z + <usize>xi * zXi, zOb, OB,
            P + <usize>xi * pXi + <usize>c * pRow, pRow, !first);
        }
      }
    }
  }
}

/**
 * gw[o][kh][kw][c] += (Gᵀ m G)[kh][kw], m = Σ_g P[g][·][c][o] in group order; threads split c.
 */
export function winogradFilterReduce(params: usize, part: i32, parts: i32): void {
  const gw = pp(params, Conv.Out), partials = pp(params, Conv.Partials), gt = pp(params, Conv.WinogradG);
  const N = pi(params, Conv.N), C = pi(params, Conv.C), O = pi(params, Conv.O), OH = pi(params, Conv.OH);
  const OW = pi(params, Conv.OW);
  const groups = winogradFilterGroups(N, OH, OW, C, O);
  const C4 = c4(C), O8 = op8(O);
  const pRow = <usize>O8 << 2, pXi = <usize>C4 * pRow, pGroup = <usize>16 * pXi;
  const S = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
  const sXi = <usize>RC * pRow, m = S + 16 * sXi;
  const ca = shareStart(C, part, parts), cb = shareStart(C, part + 1, parts);
  for (let c0 = ca; c0 < cb; c0 += RC) {
    // S[xi][c - c0][o] = Σ_g P[g][xi][c][o] for RC rows c, groups in order: each add streams a run of rows.
    const rows = <usize>imin(RC, cb - c0) * pRow;
    for (let xi = 0; xi < 16; xi++) {
      const src = partials + <usize>xi * pXi + <usize>c0 * pRow, dst = S + <usize>xi * sXi;
      memory.copy(dst, src, rows);
      for (let g = 1; g < groups; g++) addRun(dst, src + <usize>g * pGroup, rows);
    }
    const c1 = imin(c0 + RC, cb);
    for (let c = c0; c < c1; c++) reduceRow(S + <usize>(c - c0) * pRow, sXi, m, gt, gw, c, C, O);
  }
}

/** d[0..bytes) += s[0..bytes), four floats at a time (bytes a multiple of 16). */
function addRun(d: usize, s: usize, bytes: usize): void {
  const end = d + bytes;
  for (; d < end; d += 16, s += 16) v128.store(d, f32x4.add(v128.load(d), v128.load(s)));
}

/** gw[o][kh][kw][c] += (Gᵀ m G)[kh][kw] for every o, m[xi][o] the summed row at src (positions sXi apart). */
function reduceRow(src: usize, sXi: usize, m: usize, gt: usize, gw: usize, c: i32, C: i32, O: i32): void {
  for (let o = 0; o < O; o += 4) {
    for (let xi = 0; xi < 16; xi++) v128.store(m + (<usize>xi << 4), v128.load(src + <usize>xi * sXi + (<usize>o << 2)));
    for (let kh = 0; kh < 3; kh++) {
      for (let kw = 0; kw < 3; kw++) {
        let r = f32x4.splat(0);
        for (let i = 0; i < 4; i++) {
          const gi = gAt(gt, i, kh);
          if (gi == 0) continue;
          let row = f32x4.splat(0);
          for (let j = 0; j < 4; j++) {
            const gj = gAt(gt, j, kw);
            if (gj != 0) row = f32x4.add(row, f32x4.mul(f32x4.splat(gj), v128.load(m + (<usize>(i * 4 + j) << 4))));
          }
          r = f32x4.add(r, f32x4.mul(f32x4.splat(gi), row));
        }
        const t = kh * 3 + kw, step = <usize>(9 * C) << 2;
        const p = gw + (<usize>((o * 9 + t) * C + c) << 2);
        store<f32>(p, load<f32>(p) + f32x4.extract_lane(r, 0));
        if (o + 1 < O) store<f32>(p + step, load<f32>(p + step) + f32x4.extract_lane(r, 1));
        if (o + 2 < O) store<f32>(p + 2 * step, load<f32>(p + 2 * step) + f32x4.extract_lane(r, 2));
        if (o + 3 < O) store<f32>(p + 3 * step, load<f32>(p + 3 * step) + f32x4.extract_lane(r, 3));
      }
    }
  }
}
