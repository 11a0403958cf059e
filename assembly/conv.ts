/**
 * 2-D convolution on channels-last data, all strides, paddings and dilations.
 *
 * Forward (conv2dForward) is an implicit GEMM over tiles of 4 consecutive output pixels: for each
 * tile the input values its windows read are packed into a panel a[k][4] (k running over taps,
 * then channels; a window row that lies wholly inside the input is one run of KW·C values, so
 * its taps merge into one entry; positions in the padding are zeros, taps that only see padding
 * are skipped), and a 4-pixel × 8-channel register tile runs over the panel and the pre-packed
 * weights [⌈O/8⌉][KH·KW][C][8].
 * Backward-data with stride 1 (conv2dBackwardDataScatter) is a GEMM followed by col2im: for 4
 * consecutive gy pixels of a row and each window row kh, Z = gy·W[:, kh] is 4 × KW·C, computed
 * as 4×8 tiles over K = O, and each row of Z is added to the run of the gx row that pixel's
 * window row covers (never a tap in the padding); threads split the images. (With a width
 * dilation it is the forward convolution of gy with the weights flipped and transposed, padding
 * (K-1)·D - P.) With larger strides it is a direct kernel (conv2dBackwardData) that tiles 4 input
 * pixels of one row with the same column residue modulo the stride (so they see the same taps)
 * × 8 input channels.
 * Backward-filter (conv2dBackwardFilter) is a GEMM gw[O, KH·KW·C] += gyᵀ · im2col(x) over blocks
 * of 256 pixels, both operands packed; threads split fixed groups of whole images (and, when
 * there are few, slices of the columns), each group summing into partial sums of its own, which
 * convFilterSum adds to gw in group order.
 *
 * Inputs with few channels (C ≤ 4: a network's first layer) have paths of their own, since a
 * reduction of only KH·KW·C terms per tap row wastes most of a tile: each image is copied into
 * a zero-padded planar buffer [C][Hp][Wp], then conv2dForwardDirect vectorises over 8 adjacent
 * output pixels × 4 output channels (stride 1 in width), and conv2dFilterDirect over 8 output
 * channels × 4 taps, one image at a time into per-image partial sums that convFilterReduce adds
 * to gw in image order.
 *
 * Every output element is a single chain of float32 operations in a fixed order that depends only
 * on the geometry and on which tile, image or pixel block it belongs to, and threads split the
 * work by whole tiles, rows, images or columns, so results are bitwise identical for any thread
 * count.
 *
 * Parameter block (words): 0 input (x, or gy for backward-data), 1 packed weights (forward,
 * backward-data) or gy (backward-filter), 2 bias or 0, 3 output (y, gx or gw),
 * 4 N, 5 H, 6 W, 7 C, 8 O, 9 OH, 10 OW, 11 KH, 12 KW, 13 SH, 14 SW, 15 PH, 16 PW, 17 DH, 18 DW,
 * 19 per-thread scratch base, 20 per-thread scratch bytes, 21 weights w[O, KH, KW, C] (packing),
 * 22 partial sums of backward-filter (per image group, or per image in conv2dFilterDirect).
 */
import { imax, imin, pi, pp, shareStart, thread } from './common';
import { STORE_ACC, STORE_BIAS, storeEdge, storeRow } from './gemm';

/** Tiles whose tap lists are built together and then reused for every channel block. */
const G: i32 = 8;
/** Pixels per block of backward-filter. */
const KCP: i32 = 256;

@inline function zeroBytes(C: i32, O: i32): usize {
  return <usize>((C > O ? C : O) + 8) << 2;
}

/** Per-thread scratch of forward and backward-data: zero row, spilled tile, tap lists, counts. */
export function convScratchBytes(C: i32, O: i32, KH: i32, KW: i32): i32 {
  return <i32>zeroBytes(C, O) + 128 + G * KH * KW * 20 + G * 4 + 64;
}

/** Bytes of the packed weights: [⌈O/8⌉][KH·KW][C][8] forward, [⌈C/8⌉][KH·KW][O][8] backward-data. */
export function convPackedBytes(C: i32, O: i32, KH: i32, KW: i32, backwardData: i32): i32 {
  const lanes = backwardData ? (C + 7) & ~7 : (O + 7) & ~7;
  return lanes * KH * KW * (backwardData ? O : C) * 4;
}

/** Packs w[O, T, C] into wp[⌈O/8⌉][T][C][8] (forward). */
export function convPackForward(params: usize): void {
  const w = pp(params, 21), dst = pp(params, 1);
  const C = pi(params, 7), O = pi(params, 8), T = pi(params, 11) * pi(params, 12);
  const OB = (O + 7) >> 3;
  let d = dst;
  for (let ob = 0; ob < OB; ob++) {
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C; c++) {
        for (let j = 0; j < 8; j++) {
          const o = ob * 8 + j;
          store<f32>(d, o < O ? load<f32>(w + ((<usize>(o * T + t) * <usize>C + <usize>c) << 2)) : 0);
          d += 4;
        }
      }
    }
  }
}

/**
 * Packs w[O, T, C] into wq[⌈C/8⌉][T][O][8] (backward-data: the same weights, channels in lanes).
 * convPackFlipped takes the taps in reverse order: the forward-layout weights of the convolution
 * that backward-data with stride 1 is (see conv2dForward).
 */
function packBackward(params: usize, flip: bool): void {
  const w = pp(params, 21), dst = pp(params, 1);
  const C = pi(params, 7), O = pi(params, 8), T = pi(params, 11) * pi(params, 12);
  const CB = (C + 7) >> 3;
  let d = dst;
  for (let cb = 0; cb < CB; cb++) {
    for (let tt = 0; tt < T; tt++) {
      const t = flip ? T - 1 - tt : tt;
      for (let o = 0; o < O; o++) {
        const src = w + ((<usize>(o * T + t) * <usize>C) << 2);
        if (cb * 8 + 8 <= C) {
          v128.store(d, v128.load(src + (<usize>(cb * 8) << 2)));
          v128.store(d, v128.load(src + (<usize>(cb * 8) << 2), 16), 16);
          d += 32;
        } else {
          for (let j = 0; j < 8; j++) {
            const c = cb * 8 + j;
            store<f32>(d, c < C ? load<f32>(src + (<usize>c << 2)) : 0);
            d += 4;
          }
        }
      }
    }
  }
}

export function convPackBackwardData(params: usize): void {
  packBackward(params, false);
}

export function convPackFlipped(params: usize): void {
  packBackward(params, true);
}

/** Packs w[O, K = T·C] into wd[⌈O/4⌉][K][4] (conv2dForwardDirect). */
export function convPackDirect(params: usize): void {
  const w = pp(params, 21), dst = pp(params, 1);
  const C = pi(params, 7), O = pi(params, 8), K = pi(params, 11) * pi(params, 12) * C;
  const OG = (O + 3) >> 2;
  let d = dst;
  for (let og = 0; og < OG; og++) {
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < 4; j++) {
        const o = og * 4 + j;
        store<f32>(d, o < O ? load<f32>(w + ((<usize>o * <usize>K + <usize>k) << 2)) : 0);
        d += 4;
      }
    }
  }
}

/** Bytes of the direct path's packed weights. */
export function convDirectPackedBytes(C: i32, O: i32, KH: i32, KW: i32): i32 {
  return ((O + 3) & ~3) * KH * KW * C * 4;
}

/** Stores one row of a conv tile: eight lanes straight, fewer through the spill buffer. */
@inline function storeConvRow(out: usize, x0: v128, x1: v128, nv: i32, mode: i32, bias: usize, tmp: usize): void {
  if (out == 0) return;
  if (nv == 8) {
    storeRow(out, x0, x1, mode, bias);
  } else {
    v128.store(tmp, x0);
    v128.store(tmp, x1, 16);
    storeEdge(tmp, out, 0, 1, nv, mode, bias);
  }
}

/**
 * The 4-pixel × 8-channel tile: for each tap entry {weight offset, 4 row pointers} and each of
 * the L reduced channels, acc[r] += row_r[l] · panel[tap][l][0..8]. Writes rows whose pointer
 * is non-zero (nv lanes), adding the bias when given.
 */
function convTile(ent: usize, nEnt: i32, wPanel: usize, L: i32, y0: usize, y1: usize, y2: usize, y3: usize,
  nv: i32, bias: usize, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const lBytes = <usize>L << 2;
  for (let e = 0; e < nEnt; e++) {
    const eb = ent + <usize>e * 20;
    let wp = wPanel + <usize>load<u32>(eb);
    let p0 = <usize>load<u32>(eb, 4), p1 = <usize>load<u32>(eb, 8);
    let p2 = <usize>load<u32>(eb, 12), p3 = <usize>load<u32>(eb, 16);
    const pEnd = p0 + lBytes;
    while (p0 < pEnd) {
      const b0 = v128.load(wp), b1 = v128.load(wp, 16);
      let a = v128.load32_splat(p0);
      c00 = f32x4.add(c00, f32x4.mul(a, b0));
      c01 = f32x4.add(c01, f32x4.mul(a, b1));
      a = v128.load32_splat(p1);
      c10 = f32x4.add(c10, f32x4.mul(a, b0));
      c11 = f32x4.add(c11, f32x4.mul(a, b1));
      a = v128.load32_splat(p2);
      c20 = f32x4.add(c20, f32x4.mul(a, b0));
      c21 = f32x4.add(c21, f32x4.mul(a, b1));
      a = v128.load32_splat(p3);
      c30 = f32x4.add(c30, f32x4.mul(a, b0));
      c31 = f32x4.add(c31, f32x4.mul(a, b1));
      p0 += 4; p1 += 4; p2 += 4; p3 += 4;
      wp += 32;
    }
  }
  const mode = bias != 0 ? STORE_BIAS : 0;
  storeConvRow(y0, c00, c01, nv, mode, bias, tmp);
  storeConvRow(y1, c10, c11, nv, mode, bias, tmp);
  storeConvRow(y2, c20, c21, nv, mode, bias, tmp);
  storeConvRow(y3, c30, c31, nv, mode, bias, tmp);
}

@inline function writeEntry(e: usize, wofs: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
  store<u32>(e, <u32>wofs);
  store<u32>(e, <u32>p0, 4);
  store<u32>(e, <u32>p1, 8);
  store<u32>(e, <u32>p2, 12);
  store<u32>(e, <u32>p3, 16);
}

/** Tiles of 4 pixels whose panels are packed together (so a weight panel serves them all from L1). */
@inline function groupTiles(K: i32): i32 {
  return imax(1, imin(8, 32768 / imax(1, K * 16)));
}

/** Per-thread scratch of conv2dForward: packed panels, zero row, spilled tile, entry lists, counts. */
export function convForwardScratchBytes(C: i32, KH: i32, KW: i32): i32 {
  const T = KH * KW, K = T * C, G = groupTiles(K);
  return G * K * 16 + (KW * C + 8) * 4 + 128 + G * T * 8 + G * 4 + 64;
}

/** Lane r of panel[k][4], k < L, is src_r[k]: 4×4 transposes, then a scalar tail. */
@inline function pack4(dst: usize, L: i32, s0: usize, s1: usize, s2: usize, s3: usize): void {
  let k = 0;
  for (; k + 4 <= L; k += 4) {
    const o = <usize>k << 2;
    const r0 = v128.load(s0 + o), r1 = v128.load(s1 + o), r2 = v128.load(s2 + o), r3 = v128.load(s3 + o);
    const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
    const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
    const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
    const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
    const d = dst + (<usize>k << 4);
    v128.store(d, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
    v128.store(d, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 16);
    v128.store(d, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 32);
    v128.store(d, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 48);
  }
  for (; k < L; k++) {
    const o = <usize>k << 2;
    const d = dst + (<usize>k << 4);
    store<f32>(d, load<f32>(s0 + o));
    store<f32>(d, load<f32>(s1 + o), 4);
    store<f32>(d, load<f32>(s2 + o), 8);
    store<f32>(d, load<f32>(s3 + o), 12);
  }
}

@inline function putEntry(e: usize, wofs: usize, L: i32): void {
  store<u32>(e, <u32>wofs);
  store<u32>(e, <u32>L, 4);
}

/**
 * The 4-pixel × 8-channel tile over a packed panel a[k][4]: entry e {weight offset, L} takes the
 * next L rows of the panel against L rows of the weight panel from its offset.
 */
function packedTile(ap: usize, ent: usize, nEnt: i32, wPanel: usize, y0: usize, y1: usize, y2: usize, y3: usize,
  nv: i32, bias: usize, tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  for (let e = 0; e < nEnt; e++) {
    const eb = ent + (<usize>e << 3);
    let bp = wPanel + <usize>load<u32>(eb);
    const aEnd = ap + (<usize>load<u32>(eb, 4) << 4);
    while (ap < aEnd) {
      const b0 = v128.load(bp), b1 = v128.load(bp, 16);
      let a = v128.load32_splat(ap);
      c00 = f32x4.add(c00, f32x4.mul(a, b0));
      c01 = f32x4.add(c01, f32x4.mul(a, b1));
      a = v128.load32_splat(ap, 4);
      c10 = f32x4.add(c10, f32x4.mul(a, b0));
      c11 = f32x4.add(c11, f32x4.mul(a, b1));
      a = v128.load32_splat(ap, 8);
      c20 = f32x4.add(c20, f32x4.mul(a, b0));
      c21 = f32x4.add(c21, f32x4.mul(a, b1));
      a = v128.load32_splat(ap, 12);
      c30 = f32x4.add(c30, f32x4.mul(a, b0));
      c31 = f32x4.add(c31, f32x4.mul(a, b1));
      ap += 16;
      bp += 32;
    }
  }
  const mode = bias != 0 ? STORE_BIAS : 0;
  storeConvRow(y0, c00, c01, nv, mode, bias, tmp);
  storeConvRow(y1, c10, c11, nv, mode, bias, tmp);
  storeConvRow(y2, c20, c21, nv, mode, bias, tmp);
  storeConvRow(y3, c30, c31, nv, mode, bias, tmp);
}

/** y[N·OH·OW, O] = conv(x, w) (+ b); threads split the 4-pixel tiles. */
export function conv2dForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), wpk = pp(params, 1), bias = pp(params, 2), y = pp(params, 3);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), SW = pi(params, 14), PH = pi(params, 15), PW = pi(params, 16);
  const DH = pi(params, 17), DW = pi(params, 18);
  const T = KH * KW, K = T * C, P = N * OH * OW;
  const tiles = (P + 3) >> 2;
  const t0 = shareStart(tiles, part, parts), t1 = shareStart(tiles, part + 1, parts);
  if (t0 >= t1) return;
  const G = groupTiles(K);
  const packed = pp(params, 19) + <usize>thread * pp(params, 20);
  const zero = packed + (<usize>(G * K) << 4), zb = <usize>(KW * C + 8) << 2;
  const tmp = zero + zb, ent = tmp + 128, cnt = ent + <usize>(G * T * 8);
  memory.fill(zero, 0, zb);
  const OB = (O + 7) >> 3;
  const panelBytes = <usize>K * 32, tapBytes = <usize>C * 32;
  const rowBytes = <usize>O << 2, pixBytes = <usize>C << 2;
  const OHW = OH * OW;
  // A window row (taps kh, 0..KW-1) is one contiguous run of KW·C values when it lies inside.
  const mergeable = DW == 1 || KW == 1;
  const L = KW * C;
  for (let g = t0; g < t1; g += G) {
    const ge = imin(t1, g + G);
    for (let t = g; t < ge; t++) {
      // The four pixels' window origins (a pixel past the end reads only zeros).
      const q = t << 2;
      let ih0: i32 = 0, ih1: i32 = 0, ih2: i32 = 0, ih3: i32 = 0;
      let iw0: i32 = 0, iw1: i32 = 0, iw2: i32 = 0, iw3: i32 = 0;
      let nb0: usize = 0, nb1: usize = 0, nb2: usize = 0, nb3: usize = 0;
      let v0 = false, v1 = false, v2 = false, v3 = false;
      for (let r = 0; r < 4; r++) {
        const p = q + r;
        if (p >= P) break;
        const n = p / OHW, rem = p - n * OHW, oh = rem / OW, ow = rem - oh * OW;
        const ih = oh * SH - PH, iw = ow * SW - PW, nb = x + ((<usize>n * <usize>H * <usize>W * <usize>C) << 2);
        if (r == 0) { ih0 = ih; iw0 = iw; nb0 = nb; v0 = true; }
        else if (r == 1) { ih1 = ih; iw1 = iw; nb1 = nb; v1 = true; }
        else if (r == 2) { ih2 = ih; iw2 = iw; nb2 = nb; v2 = true; }
        else { ih3 = ih; iw3 = iw; nb3 = nb; v3 = true; }
      }
      const in0 = iw0 >= 0 && iw0 + KW <= W, in1 = iw1 >= 0 && iw1 + KW <= W;
      const in2 = iw2 >= 0 && iw2 + KW <= W, in3 = iw3 >= 0 && iw3 + KW <= W;
      const eBase = ent + <usize>((t - g) * T * 8);
      let dst = packed + (<usize>((t - g) * K) << 4);
      let ne = 0;
      for (let kh = 0; kh < KH; kh++) {
        const dh = kh * DH;
        const h0 = ih0 + dh, h1 = ih1 + dh, h2 = ih2 + dh, h3 = ih3 + dh;
        const r0 = v0 && <u32>h0 < <u32>H, r1 = v1 && <u32>h1 < <u32>H;
        const r2 = v2 && <u32>h2 < <u32>H, r3 = v3 && <u32>h3 < <u32>H;
        if (!(r0 || r1 || r2 || r3)) continue;
        if (mergeable && (!r0 || in0) && (!r1 || in1) && (!r2 || in2) && (!r3 || in3)) {
          pack4(dst, L,
            r0 ? nb0 + <usize>(h0 * W + iw0) * pixBytes : zero, r1 ? nb1 + <usize>(h1 * W + iw1) * pixBytes : zero,
            r2 ? nb2 + <usize>(h2 * W + iw2) * pixBytes : zero, r3 ? nb3 + <usize>(h3 * W + iw3) * pixBytes : zero);
          putEntry(eBase + (<usize>ne << 3), <usize>(kh * KW) * tapBytes, L);
          ne++;
          dst += <usize>L << 4;
          continue;
        }
        for (let kw = 0; kw < KW; kw++) {
          const dw = kw * DW;
          const w0 = iw0 + dw, w1 = iw1 + dw, w2 = iw2 + dw, w3 = iw3 + dw;
          const p0 = r0 && <u32>w0 < <u32>W ? nb0 + <usize>(h0 * W + w0) * pixBytes : zero;
          const p1 = r1 && <u32>w1 < <u32>W ? nb1 + <usize>(h1 * W + w1) * pixBytes : zero;
          const p2 = r2 && <u32>w2 < <u32>W ? nb2 + <usize>(h2 * W + w2) * pixBytes : zero;
          const p3 = r3 && <u32>w3 < <u32>W ? nb3 + <usize>(h3 * W + w3) * pixBytes : zero;
          if (p0 == zero && p1 == zero && p2 == zero && p3 == zero) continue;
          pack4(dst, C, p0, p1, p2, p3);
          putEntry(eBase + (<usize>ne << 3), <usize>(kh * KW + kw) * tapBytes, C);
          ne++;
          dst += <usize>C << 4;
        }
      }
      store<i32>(cnt + (<usize>(t - g) << 2), ne);
    }
    for (let ob = 0; ob < OB; ob++) {
      const wPanel = wpk + <usize>ob * panelBytes;
      const nv = imin(8, O - ob * 8);
      const bo = bias != 0 ? bias + (<usize>ob << 5) : 0;
      for (let t = g; t < ge; t++) {
        const q = t << 2;
        const yb = y + <usize>q * rowBytes + (<usize>ob << 5);
        packedTile(packed + (<usize>((t - g) * K) << 4), ent + <usize>((t - g) * T * 8),
          load<i32>(cnt + (<usize>(t - g) << 2)), wPanel,
          yb, q + 1 < P ? yb + rowBytes : 0, q + 2 < P ? yb + 2 * rowBytes : 0, q + 3 < P ? yb + 3 * rowBytes : 0,
          nv, bo, tmp);
      }
    }
  }
}

// ---- backward-data with stride 1: scatter form ----------------------------------------------

/** Bytes of the scatter form's packed weights [KH][⌈KW·C/8⌉][O][8]. */
export function convScatterPackedBytes(C: i32, O: i32, KH: i32, KW: i32): i32 {
  return KH * ((KW * C + 7) >> 3) * O * 32;
}

/** Packs w[O][KH][KW·C] into [KH][⌈KW·C/8⌉][O][8] (columns past KW·C are zeros). */
export function convPackScatter(params: usize): void {
  const w = pp(params, 21), dst = pp(params, 1);
  const C = pi(params, 7), O = pi(params, 8), KH = pi(params, 11), KW = pi(params, 12);
  const L = KW * C, JB = (L + 7) >> 3;
  let d = dst;
  for (let kh = 0; kh < KH; kh++) {
    for (let jb = 0; jb < JB; jb++) {
      for (let o = 0; o < O; o++) {
        const src = w + (<usize>((o * KH + kh) * L + jb * 8) << 2);
        if (jb * 8 + 8 <= L) {
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
        } else {
          for (let e = 0; e < 8; e++) store<f32>(d + (<usize>e << 2), jb * 8 + e < L ? load<f32>(src + (<usize>e << 2)) : 0);
        }
        d += 32;
      }
    }
  }
}

export function convScatterScratchBytes(O: i32): i32 {
  return O * 16 + (O + 8) * 4 + 128 + 64;
}

/**
 * Adds row r of a spilled 4×8 tile to gx run positions f0..f0+7 of a row of rowLen floats,
 * skipping positions outside the row and columns past the window row (col ≥ L).
 */
@inline function scatterEdge(tmp: usize, r: i32, row: usize, f0: i32, rowLen: i32, colLeft: i32): void {
  for (let e = 0; e < 8; e++) {
    const f = f0 + e;
    if (e < colLeft && f >= 0 && f < rowLen) {
      const at = row + (<usize>f << 2);
      store<f32>(at, load<f32>(at) + load<f32>(tmp + (<usize>(r * 8 + e) << 2)));
    }
  }
}

/**
 * gx = ∂/∂x for stride 1 (and unit width dilation), scatter form: for 4 adjacent gy pixels of a
 * row and window row kh, Z[r][kw·C + c] = Σ_o gy[p_r, o] · w[o, kh, kw, c] is one 4×8 tile per 8
 * columns (K = O), and row r of Z adds to the run of gx row oh - PH + kh·DH that pixel r's window
 * row covers (KW·C contiguous values from column ow_r - PW). Threads split the images; within an
 * image the additions run in a fixed order (pixels, then kh, then columns), so every gx value is
 * the same chain of float32 operations for any split. No tap in the padding is ever computed.
 */
export function conv2dBackwardDataScatter(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, 0), wb = pp(params, 1), gx = pp(params, 3);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const PH = pi(params, 15), PW = pi(params, 16), DH = pi(params, 17);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  const L = KW * C, JB = (L + 7) >> 3, rowLen = W * C;
  const ap = pp(params, 19) + <usize>thread * pp(params, 20);
  const zero = ap + (<usize>O << 4), tmp = zero + (<usize>(O + 8) << 2);
  memory.fill(zero, 0, <usize>(O + 8) << 2);
  const gyPix = <usize>O << 2, jbBytes = <usize>O * 32, khBytes = <usize>JB * jbBytes;
  for (let n = n0; n < n1; n++) {
    const img = gx + (<usize>(n * H) * <usize>rowLen << 2);
    memory.fill(img, 0, <usize>(H * rowLen) << 2);
    for (let oh = 0; oh < OH; oh++) {
      const gyRow = gy + <usize>((n * OH + oh) * OW) * gyPix;
      for (let ow0 = 0; ow0 < OW; ow0 += 4) {
        const np = imin(4, OW - ow0);
        const g0 = gyRow + <usize>ow0 * gyPix;
        pack4(ap, O, g0, np > 1 ? g0 + gyPix : zero, np > 2 ? g0 + 2 * gyPix : zero, np > 3 ? g0 + 3 * gyPix : zero);
        const s0 = (ow0 - PW) * C;
        // All np runs inside the row: every full 8-column block adds with vectors.
        const inside = ow0 - PW >= 0 && ow0 + np - 1 - PW + KW <= W;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh - PH + kh * DH;
          if (<u32>ih >= <u32>H) continue;
          const row = img + (<usize>(ih * rowLen) << 2);
          const wk = wb + <usize>kh * khBytes;
          for (let jb = 0; jb < JB; jb++) {
            let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
            let a = ap, bp = wk + <usize>jb * jbBytes;
            const aEnd = ap + (<usize>O << 4);
            while (a < aEnd) {
              const b0 = v128.load(bp), b1 = v128.load(bp, 16);
              let v = v128.load32_splat(a);
              c00 = f32x4.add(c00, f32x4.mul(v, b0));
              c01 = f32x4.add(c01, f32x4.mul(v, b1));
              v = v128.load32_splat(a, 4);
              c10 = f32x4.add(c10, f32x4.mul(v, b0));
              c11 = f32x4.add(c11, f32x4.mul(v, b1));
              v = v128.load32_splat(a, 8);
              c20 = f32x4.add(c20, f32x4.mul(v, b0));
              c21 = f32x4.add(c21, f32x4.mul(v, b1));
              v = v128.load32_splat(a, 12);
              c30 = f32x4.add(c30, f32x4.mul(v, b0));
              c31 = f32x4.add(c31, f32x4.mul(v, b1));
              a += 16;
              bp += 32;
            }
            const col = jb * 8, f = s0 + col;
            if (inside && col + 8 <= L) {
              const at = row + (<usize>f << 2), cb = <usize>C << 2;
              storeRow(at, c00, c01, STORE_ACC, 0);
              if (np > 1) storeRow(at + cb, c10, c11, STORE_ACC, 0);
              if (np > 2) storeRow(at + 2 * cb, c20, c21, STORE_ACC, 0);
              if (np > 3) storeRow(at + 3 * cb, c30, c31, STORE_ACC, 0);
            } else {
              v128.store(tmp, c00); v128.store(tmp, c01, 16);
              v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
              v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
              v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
              const left = L - col;
              for (let r = 0; r < np; r++) scatterEdge(tmp, r, row, f + r * C, rowLen, left);
            }
          }
        }
      }
    }
  }
}

// ---- inputs with few channels ------------------------------------------------------------

/** Rows and columns of the padded planar copy of one image (direct paths). */
@inline function paddedRows(OH: i32, SH: i32, KH: i32, DH: i32): i32 {
  return (OH - 1) * SH + (KH - 1) * DH + 1;
}

/**
 * xp[c][r][s] = x[n, r - PH, s - PW, c], zero outside the image: the image n of x (NHWC) as
 * C zero-padded planes of Hp × Wp.
 */
function padImage(xp: usize, x: usize, n: i32, H: i32, W: i32, C: i32, Hp: i32, Wp: i32, PH: i32, PW: i32): void {
  const img = x + ((<usize>n * <usize>H * <usize>W * <usize>C) << 2);
  const sLo = imin(Wp, imax(0, PW)), sHi = imax(sLo, imin(Wp, W + PW));
  for (let c = 0; c < C; c++) {
    const plane = xp + (<usize>(c * Hp * Wp) << 2);
    for (let r = 0; r < Hp; r++) {
      const ih = r - PH;
      const row = plane + (<usize>(r * Wp) << 2);
      if (<u32>ih >= <u32>H) {
        memory.fill(row, 0, <usize>Wp << 2);
        continue;
      }
      memory.fill(row, 0, <usize>sLo << 2);
      const src = img + (<usize>((ih * W + sLo - PW) * C + c) << 2);
      if (C == 1) {
        memory.copy(row + (<usize>sLo << 2), src, <usize>(sHi - sLo) << 2);
      } else {
        for (let s = sLo; s < sHi; s++) store<f32>(row + (<usize>s << 2), load<f32>(src + (<usize>((s - sLo) * C) << 2)));
      }
      memory.fill(row + (<usize>sHi << 2), 0, <usize>(Wp - sHi) << 2);
    }
  }
}

/** offs[k] for k = (kh·KW + kw)·C + c: byte offset of tap (kh, kw) of plane c in the padded copy. */
function tapOffsets(offs: usize, KH: i32, KW: i32, C: i32, DH: i32, DW: i32, Hp: i32, Wp: i32): void {
  let k = 0;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      for (let c = 0; c < C; c++) {
        store<u32>(offs + (<usize>k << 2), <u32>((c * Hp * Wp + kh * DH * Wp + kw * DW) << 2));
        k++;
      }
    }
  }
}

/** Padded width of conv2dForwardDirect: whole blocks of 8 output columns, plus the kernel's reach. */
@inline function directWidth(OW: i32, KW: i32, DW: i32): i32 {
  return ((OW + 7) & ~7) + (KW - 1) * DW;
}

export function convDirectScratchBytes(params: usize): i32 {
  const C = pi(params, 7), OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), DH = pi(params, 17), DW = pi(params, 18);
  return C * paddedRows(OH, SH, KH, DH) * directWidth(OW, KW, DW) * 4 + KH * KW * C * 4 + 64;
}

/**
 * 8 adjacent output pixels × 4 output channels: for each of the K taps, the pixels' inputs are
 * one run of 8 values of the padded copy (stride 1) and the channels' weights four splats.
 * Stores the first np pixels' first nv channels (+ bias).
 */
function directTile(xa: usize, offs: usize, K: i32, wp: usize, yo: usize, ldy: usize, np: i32, nv: i32,
  bias: usize): void {
  let a0 = f32x4.splat(0), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
  const oEnd = offs + (<usize>K << 2);
  while (offs < oEnd) {
    const xs = xa + <usize>load<u32>(offs);
    const x0 = v128.load(xs), x1 = v128.load(xs, 16);
    let w = v128.load32_splat(wp);
    a0 = f32x4.add(a0, f32x4.mul(x0, w));
    b0 = f32x4.add(b0, f32x4.mul(x1, w));
    w = v128.load32_splat(wp, 4);
    a1 = f32x4.add(a1, f32x4.mul(x0, w));
    b1 = f32x4.add(b1, f32x4.mul(x1, w));
    w = v128.load32_splat(wp, 8);
    a2 = f32x4.add(a2, f32x4.mul(x0, w));
    b2 = f32x4.add(b2, f32x4.mul(x1, w));
    w = v128.load32_splat(wp, 12);
    a3 = f32x4.add(a3, f32x4.mul(x0, w));
    b3 = f32x4.add(b3, f32x4.mul(x1, w));
    offs += 4;
    wp += 16;
  }
  // a_j holds channel j of pixels 0..3, b_j of pixels 4..7: transpose to one vector per pixel.
  let t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  let t2 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  directStore(yo, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), nv, bias);
  if (np > 1) directStore(yo + ldy, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), nv, bias);
  if (np > 2) directStore(yo + 2 * ldy, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), nv, bias);
  if (np > 3) directStore(yo + 3 * ldy, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), nv, bias);
  if (np <= 4) return;
  yo += 4 * ldy;
  t0 = v128.shuffle<f32>(b0, b1, 0, 4, 1, 5); t1 = v128.shuffle<f32>(b2, b3, 0, 4, 1, 5);
  t2 = v128.shuffle<f32>(b0, b1, 2, 6, 3, 7); t3 = v128.shuffle<f32>(b2, b3, 2, 6, 3, 7);
  directStore(yo, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), nv, bias);
  if (np > 5) directStore(yo + ldy, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), nv, bias);
  if (np > 6) directStore(yo + 2 * ldy, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), nv, bias);
  if (np > 7) directStore(yo + 3 * ldy, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), nv, bias);
}

/** directTile for the last group of one or two channels (nv ≤ 2): 8 pixels × 2 channels. */
function directTile2(xa: usize, offs: usize, K: i32, wp: usize, yo: usize, ldy: usize, np: i32, nv: i32,
  bias: usize): void {
  let a0 = f32x4.splat(0), b0 = a0, a1 = a0, b1 = a0;
  const oEnd = offs + (<usize>K << 2);
  while (offs < oEnd) {
    const xs = xa + <usize>load<u32>(offs);
    const x0 = v128.load(xs), x1 = v128.load(xs, 16);
    let w = v128.load32_splat(wp);
    a0 = f32x4.add(a0, f32x4.mul(x0, w));
    b0 = f32x4.add(b0, f32x4.mul(x1, w));
    w = v128.load32_splat(wp, 4);
    a1 = f32x4.add(a1, f32x4.mul(x0, w));
    b1 = f32x4.add(b1, f32x4.mul(x1, w));
    offs += 4;
    wp += 16;
  }
  // Pixel r's two channels are lane r of a0/a1 (r < 4) or of b0/b1.
  const lo = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5), hi = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const lo2 = v128.shuffle<f32>(b0, b1, 0, 4, 1, 5), hi2 = v128.shuffle<f32>(b0, b1, 2, 6, 3, 7);
  const bv = bias != 0 ? (nv == 2 ? v128.load64_zero(bias) : v128.load32_zero(bias)) : f32x4.splat(0);
  const bb = v128.shuffle<f32>(bv, bv, 0, 1, 0, 1);
  directStore2(yo, f32x4.add(lo, bb), nv, 0);
  if (np > 1) directStore2(yo + ldy, f32x4.add(lo, bb), nv, 1);
  if (np > 2) directStore2(yo + 2 * ldy, f32x4.add(hi, bb), nv, 0);
  if (np > 3) directStore2(yo + 3 * ldy, f32x4.add(hi, bb), nv, 1);
  if (np > 4) directStore2(yo + 4 * ldy, f32x4.add(lo2, bb), nv, 0);
  if (np > 5) directStore2(yo + 5 * ldy, f32x4.add(lo2, bb), nv, 1);
  if (np > 6) directStore2(yo + 6 * ldy, f32x4.add(hi2, bb), nv, 0);
  if (np > 7) directStore2(yo + 7 * ldy, f32x4.add(hi2, bb), nv, 1);
}

/** Lanes 2h, 2h+1 of v (the first nv ≤ 2 of them) at y. */
@inline function directStore2(y: usize, v: v128, nv: i32, h: i32): void {
  if (nv == 2) {
    if (h == 0) v128.store64_lane(y, v, <u8>0, 0);
    else v128.store64_lane(y, v, <u8>1, 0);
  } else {
    if (h == 0) v128.store32_lane(y, v, <u8>0, 0);
    else v128.store32_lane(y, v, <u8>2, 0);
  }
}

/** The first nv lanes of v (+ bias) at y. */
@inline function directStore(y: usize, v: v128, nv: i32, bias: usize): void {
  if (nv == 4) {
    v128.store(y, bias != 0 ? f32x4.add(v, v128.load(bias)) : v);
    return;
  }
  const b0: f32 = bias != 0 ? load<f32>(bias) : 0;
  store<f32>(y, bias != 0 ? f32x4.extract_lane(v, 0) + b0 : f32x4.extract_lane(v, 0));
  if (nv > 1) store<f32>(y, bias != 0 ? f32x4.extract_lane(v, 1) + load<f32>(bias, 4) : f32x4.extract_lane(v, 1), 4);
  if (nv > 2) store<f32>(y, bias != 0 ? f32x4.extract_lane(v, 2) + load<f32>(bias, 8) : f32x4.extract_lane(v, 2), 8);
}

/**
 * Forward for C ≤ 4 and stride 1 in width: weights packed by convPackDirect into param 1, threads
 * split the images; each image is padded into the thread's scratch, then tiled 8 pixels × 4
 * channels.
 */
export function conv2dForwardDirect(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), wd = pp(params, 1), bias = pp(params, 2), y = pp(params, 3);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), PH = pi(params, 15), PW = pi(params, 16);
  const DH = pi(params, 17), DW = pi(params, 18);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  const K = KH * KW * C, OG = (O + 3) >> 2;
  const Hp = paddedRows(OH, SH, KH, DH), Wp = directWidth(OW, KW, DW);
  const xp = pp(params, 19) + <usize>thread * pp(params, 20);
  const offs = xp + (<usize>(C * Hp * Wp) << 2);
  tapOffsets(offs, KH, KW, C, DH, DW, Hp, Wp);
  const ldy = <usize>O << 2;
  for (let n = n0; n < n1; n++) {
    padImage(xp, x, n, H, W, C, Hp, Wp, PH, PW);
    // All channel groups of 8 pixels in turn: their output rows are finished while in L1.
    for (let oh = 0; oh < OH; oh++) {
      const xrow = xp + (<usize>(oh * SH * Wp) << 2);
      const yrow = y + <usize>((n * OH + oh) * OW) * ldy;
      for (let ow = 0; ow < OW; ow += 8) {
        const xa = xrow + (<usize>ow << 2), ya = yrow + <usize>ow * ldy, np = imin(8, OW - ow);
        for (let og = 0; og < OG; og++) {
          const wg = wd + (<usize>(og * K) << 4);
          const nv = imin(4, O - og * 4);
          const bo = bias != 0 ? bias + (<usize>og << 4) : 0;
          if (nv <= 2) directTile2(xa, offs, K, wg, ya + (<usize>og << 4), ldy, np, nv, bo);
          else directTile(xa, offs, K, wg, ya + (<usize>og << 4), ldy, np, nv, bo);
        }
      }
    }
  }
}

/** Per-thread scratch of conv2dFilterDirect (padded planes, tap offsets). */
export function convFilterDirectScratchBytes(params: usize): i32 {
  const C = pi(params, 7), OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), SW = pi(params, 14), DH = pi(params, 17), DW = pi(params, 18);
  return C * paddedRows(OH, SH, KH, DH) * paddedRows(OW, SW, KW, DW) * 4 + KH * KW * C * 4 + 64;
}

/** Bytes of conv2dFilterDirect's per-image partial sums [N][K][⌈O/8⌉·8]. */
export function convFilterPartialBytes(N: i32, C: i32, O: i32, KH: i32, KW: i32): i32 {
  return N * KH * KW * C * ((O + 7) & ~7) * 4;
}

/**
 * Σ over one image's pixels of x[tap k_i] · gy[o..o+8] for 4 taps (byte offsets o0..o3 in the
 * padded planes): 4 × 2 vector accumulators, stored to out + i·ldo.
 */
function filterDirect4(xp: usize, gy: usize, ldg: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize,
  o0: usize, o1: usize, o2: usize, o3: usize, out: usize, ldo: usize): void {
  let a0 = f32x4.splat(0), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
  let g = gy;
  for (let oh = 0; oh < OH; oh++) {
    let xa = xp + <usize>oh * rowStep;
    for (let ow = 0; ow < OW; ow++) {
      const g0 = v128.load(g), g1 = v128.load(g, 16);
      let v = v128.load32_splat(xa + o0);
      a0 = f32x4.add(a0, f32x4.mul(v, g0));
      b0 = f32x4.add(b0, f32x4.mul(v, g1));
      v = v128.load32_splat(xa + o1);
      a1 = f32x4.add(a1, f32x4.mul(v, g0));
      b1 = f32x4.add(b1, f32x4.mul(v, g1));
      v = v128.load32_splat(xa + o2);
      a2 = f32x4.add(a2, f32x4.mul(v, g0));
      b2 = f32x4.add(b2, f32x4.mul(v, g1));
      v = v128.load32_splat(xa + o3);
      a3 = f32x4.add(a3, f32x4.mul(v, g0));
      b3 = f32x4.add(b3, f32x4.mul(v, g1));
      xa += colStep;
      g += ldg;
    }
  }
  v128.store(out, a0); v128.store(out, b0, 16);
  out += ldo;
  v128.store(out, a1); v128.store(out, b1, 16);
  out += ldo;
  v128.store(out, a2); v128.store(out, b2, 16);
  out += ldo;
  v128.store(out, a3); v128.store(out, b3, 16);
}

/** filterDirect4 for a single tap. */
function filterDirect1(xp: usize, gy: usize, ldg: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize,
  o0: usize, out: usize): void {
  let a0 = f32x4.splat(0), b0 = a0, a1 = a0, b1 = a0;
  let g = gy;
  for (let oh = 0; oh < OH; oh++) {
    let xa = xp + <usize>oh * rowStep + o0;
    let ow = 0;
    // Two pixels per step into two accumulator pairs, added at the end.
    for (; ow + 2 <= OW; ow += 2) {
      let v = v128.load32_splat(xa);
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(g)));
      b0 = f32x4.add(b0, f32x4.mul(v, v128.load(g, 16)));
      v = v128.load32_splat(xa + colStep);
      a1 = f32x4.add(a1, f32x4.mul(v, v128.load(g + ldg)));
      b1 = f32x4.add(b1, f32x4.mul(v, v128.load(g + ldg, 16)));
      xa += 2 * colStep;
      g += 2 * ldg;
    }
    if (ow < OW) {
      const v = v128.load32_splat(xa);
      a0 = f32x4.add(a0, f32x4.mul(v, v128.load(g)));
      b0 = f32x4.add(b0, f32x4.mul(v, v128.load(g, 16)));
      g += ldg;
    }
  }
  v128.store(out, f32x4.add(a0, a1));
  v128.store(out, f32x4.add(b0, b1), 16);
}

/**
 * Backward-filter for C ≤ 4: threads split the images; image n's Σ_pixels x[window] · gy goes to
 * partials[n][K][O8] (O8 = ⌈O/8⌉·8; lanes past O hold garbage that convFilterReduce ignores).
 */
export function conv2dFilterDirect(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), gy = pp(params, 1), partials = pp(params, 22);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), SW = pi(params, 14), PH = pi(params, 15), PW = pi(params, 16);
  const DH = pi(params, 17), DW = pi(params, 18);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  const K = KH * KW * C, O8 = (O + 7) & ~7;
  const Hp = paddedRows(OH, SH, KH, DH), Wp = paddedRows(OW, SW, KW, DW);
  const xp = pp(params, 19) + <usize>thread * pp(params, 20);
  const offs = xp + (<usize>(C * Hp * Wp) << 2);
  tapOffsets(offs, KH, KW, C, DH, DW, Hp, Wp);
  const ldg = <usize>O << 2, ldo = <usize>O8 << 2;
  const rowStep = <usize>(SH * Wp) << 2, colStep = <usize>SW << 2;
  for (let n = n0; n < n1; n++) {
    padImage(xp, x, n, H, W, C, Hp, Wp, PH, PW);
    const gyN = gy + <usize>(n * OH * OW) * ldg;
    const out = partials + <usize>(n * K) * ldo;
    for (let ob = 0; ob < O8; ob += 8) {
      const g = gyN + (<usize>ob << 2);
      let k = 0;
      for (; k + 4 <= K; k += 4) {
        const ok = offs + (<usize>k << 2);
        filterDirect4(xp, g, ldg, OH, OW, rowStep, colStep, <usize>load<u32>(ok), <usize>load<u32>(ok, 4),
          <usize>load<u32>(ok, 8), <usize>load<u32>(ok, 12), out + <usize>k * ldo + (<usize>ob << 2), ldo);
      }
      for (; k < K; k++) {
        filterDirect1(xp, g, ldg, OH, OW, rowStep, colStep, <usize>load<u32>(offs + (<usize>k << 2)),
          out + <usize>k * ldo + (<usize>ob << 2));
      }
    }
  }
}

/** gw[o, k] += Σ_n partials[n][k][o], images in order (on the calling thread, after the run). */
export function convFilterReduce(params: usize): void {
  const gw = pp(params, 3), partials = pp(params, 22);
  const N = pi(params, 4), C = pi(params, 7), O = pi(params, 8), K = pi(params, 11) * pi(params, 12) * C;
  const O8 = (O + 7) & ~7;
  const ldo = <usize>O8 << 2, step = <usize>K * ldo;
  for (let k = 0; k < K; k++) {
    for (let o = 0; o < O; o += 4) {
      let src = partials + <usize>k * ldo + (<usize>o << 2);
      let s = v128.load(src);
      for (let n = 1; n < N; n++) {
        src += step;
        s = f32x4.add(s, v128.load(src));
      }
      const at = gw + (<usize>(o * K + k) << 2), ldw = <usize>K << 2;
      store<f32>(at, load<f32>(at) + f32x4.extract_lane(s, 0));
      if (o + 1 < O) store<f32>(at + ldw, load<f32>(at + ldw) + f32x4.extract_lane(s, 1));
      if (o + 2 < O) store<f32>(at + 2 * ldw, load<f32>(at + 2 * ldw) + f32x4.extract_lane(s, 2));
      if (o + 3 < O) store<f32>(at + 3 * ldw, load<f32>(at + 3 * ldw) + f32x4.extract_lane(s, 3));
    }
  }
}

/**
 * gx[N·H·W, C] = ∂/∂x of the convolution; threads split the input rows (n, ih). Within a row,
 * pixels of one column residue modulo SW share their valid taps and are tiled four at a time.
 */
export function conv2dBackwardData(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, 0), wq = pp(params, 1), gx = pp(params, 3);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), SW = pi(params, 14), PH = pi(params, 15), PW = pi(params, 16);
  const DH = pi(params, 17), DW = pi(params, 18);
  const T = KH * KW;
  const rows = N * H;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  if (r0 >= r1) return;
  const scratch = pp(params, 19) + <usize>thread * pp(params, 20);
  const zb = zeroBytes(C, O);
  memory.fill(scratch, 0, zb);
  const zero = scratch, tmp = scratch + zb, ent = tmp + 128, cnt = ent + <usize>(G * T * 20);
  const CB = (C + 7) >> 3;
  const panelBytes = <usize>T * <usize>O * 32, tapBytes = <usize>O * 32;
  const gyPix = <usize>O << 2, gxPix = <usize>C << 2;
  const residues = imin(SW, W);
  for (let row = r0; row < r1; row++) {
    const n = row / H, ih = row - n * H;
    const gyN = gy + <usize>n * <usize>OH * <usize>OW * gyPix;
    const gxRow = gx + <usize>row * <usize>W * gxPix;
    for (let rw = 0; rw < residues; rw++) {
      const count = (W - rw + SW - 1) / SW; // pixels iw = rw + SW·j, j < count
      for (let j0 = 0; j0 < count; j0 += 4 * G) {
        const jEnd = imin(count, j0 + 4 * G);
        let tIdx = 0;
        for (let j = j0; j < jEnd; j += 4) {
          const eBase = ent + <usize>(tIdx * T * 20);
          let ne = 0;
          for (let kh = 0; kh < KH; kh++) {
            const numH = ih + PH - kh * DH;
            if (numH < 0 || numH % SH != 0) continue;
            const oh = numH / SH;
            if (oh >= OH) continue;
            const gyRow = gyN + <usize>oh * <usize>OW * gyPix;
            for (let kw = 0; kw < KW; kw++) {
              const num0 = rw + SW * j + PW - kw * DW; // same residue for the four pixels
              if (num0 % SW != 0) continue;
              const ow0 = num0 / SW; // ow of pixel r is ow0 + r (num0 may be negative; then ow0 ≤ 0)
              let p0 = zero, p1 = zero, p2 = zero, p3 = zero;
              if (num0 >= 0 && ow0 < OW && j < count) p0 = gyRow + <usize>ow0 * gyPix;
              if (num0 + SW >= 0 && ow0 + 1 < OW && j + 1 < count) p1 = gyRow + <usize>(ow0 + 1) * gyPix;
              if (num0 + 2 * SW >= 0 && ow0 + 2 < OW && j + 2 < count) p2 = gyRow + <usize>(ow0 + 2) * gyPix;
              if (num0 + 3 * SW >= 0 && ow0 + 3 < OW && j + 3 < count) p3 = gyRow + <usize>(ow0 + 3) * gyPix;
              if (p0 == zero && p1 == zero && p2 == zero && p3 == zero) continue;
              writeEntry(eBase + <usize>ne * 20, <usize>(kh * KW + kw) * tapBytes, p0, p1, p2, p3);
              ne++;
            }
          }
          store<i32>(cnt + (<usize>tIdx << 2), ne);
          tIdx++;
        }
        for (let cb = 0; cb < CB; cb++) {
          const wPanel = wq + <usize>cb * panelBytes;
          const nv = imin(8, C - cb * 8);
          tIdx = 0;
          for (let j = j0; j < jEnd; j += 4) {
            const base = gxRow + <usize>(rw + SW * j) * gxPix + (<usize>cb << 5);
            const step = <usize>SW * gxPix;
            convTile(ent + <usize>(tIdx * T * 20), load<i32>(cnt + (<usize>tIdx << 2)), wPanel, O,
              base, j + 1 < count ? base + step : 0, j + 2 < count ? base + 2 * step : 0,
              j + 3 < count ? base + 3 * step : 0, nv, 0, tmp);
            tIdx++;
          }
        }
      }
    }
  }
}

// ---- backward-filter -----------------------------------------------------------------------

/** Partial sums of backward-filter may take this many bytes (more units: more parallel work). */
const FILTER_PARTIAL_BUDGET: i32 = 4 << 20;
/** Groups of 4 columns packed at a time (256 columns of im2col). */
const GC: i32 = 64;

/**
 * Units of conv2dBackwardFilter: U groups of whole images (at most 16, and their partial sums
 * [U][O][J] within FILTER_PARTIAL_BUDGET) × CS slices of the columns (more slices when there are
 * few units). A function of the geometry only, so the arithmetic never depends on the split.
 */
@inline function filterImageGroups(N: i32, O: i32, J: i32): i32 {
  const byMemory = FILTER_PARTIAL_BUDGET / imax(1, O * J * 4);
  const want = imax(1, imin(imin(16, N), byMemory));
  const per = (N + want - 1) / want;
  return (N + per - 1) / per;
}

@inline function filterSlices(U: i32, GJ: i32): i32 {
  return imax(1, imin((16 + U - 1) / U, (GJ + 15) / 16));
}

/** Work units (image groups × column slices) of conv2dBackwardFilter. */
export function convFilterUnits(N: i32, C: i32, O: i32, KH: i32, KW: i32): i32 {
  const J = KH * KW * C, GJ = KH * ((KW * C + 3) >> 2), U = filterImageGroups(N, O, J);
  return U * filterSlices(U, GJ);
}

/** Bytes of the partial sums [U][O][J] of conv2dBackwardFilter. */
export function convFilterSumBytes(N: i32, C: i32, O: i32, KH: i32, KW: i32): i32 {
  const J = KH * KW * C;
  return filterImageGroups(N, O, J) * O * J * 4;
}

/** Per-thread scratch of conv2dBackwardFilter: pointer tables, packed im2col and gy blocks, zero row, tile. */
export function convFilterScratchBytes(C: i32, O: i32, KH: i32, KW: i32): i32 {
  const T = KH * KW, O8 = (O + 7) & ~7;
  return (KCP * (T + KH) + GC * KCP * 4 + KCP * O8 + KW * C + 8 + 32) * 4 + 64;
}

/** Rows o = 0..3 of out (stride ldw): [r0[o], r1[o], r2[o], r3[o]], written or added. */
@inline function filterStore4(out: usize, ldw: usize, r0: v128, r1: v128, r2: v128, r3: v128, first: bool): void {
  const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
  const o0 = v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), o1 = v128.shuffle<f32>(t0, t1, 2, 3, 6, 7);
  const o2 = v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), o3 = v128.shuffle<f32>(t2, t3, 2, 3, 6, 7);
  if (first) {
    v128.store(out, o0);
    v128.store(out + ldw, o1);
    v128.store(out + 2 * ldw, o2);
    v128.store(out + 3 * ldw, o3);
  } else {
    v128.store(out, f32x4.add(v128.load(out), o0));
    v128.store(out + ldw, f32x4.add(v128.load(out + ldw), o1));
    v128.store(out + 2 * ldw, f32x4.add(v128.load(out + 2 * ldw), o2));
    v128.store(out + 3 * ldw, f32x4.add(v128.load(out + 3 * ldw), o3));
  }
}

/**
 * acc[4 columns][8 channels] over kc pixels: packed im2col a[k][4] against packed gy b[k][8];
 * written (first block of a unit) or added to out[o][j] (row stride ldw bytes).
 */
function filterTile(ap: usize, bp: usize, kc: i32, out: usize, ldw: usize, nvJ: i32, nvO: i32, tmp: usize,
  first: bool): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const aEnd = ap + (<usize>kc << 4);
  while (ap < aEnd) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  if (nvJ == 4 && nvO == 8) {
    // out[o, j..j+3] for each of the 8 channels: transposes of the tile's lanes.
    filterStore4(out, ldw, c00, c10, c20, c30, first);
    filterStore4(out + 4 * ldw, ldw, c01, c11, c21, c31, first);
    return;
  }
  v128.store(tmp, c00); v128.store(tmp, c01, 16);
  v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
  v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
  // out[o, j]: channels are the lanes, columns the rows of the tile.
  for (let l = 0; l < nvO; l++) {
    const row = out + <usize>l * ldw;
    for (let r = 0; r < nvJ; r++) {
      const at = row + (<usize>r << 2);
      const v = load<f32>(tmp + (<usize>(r * 8 + l) << 2));
      store<f32>(at, first ? v : load<f32>(at) + v);
    }
  }
}

/**
 * Σ over the pixels of a unit's images of gy[p, o] · x[window(p, tap), c] into its partial sums
 * partials[u][O][J] (J = KH·KW·C columns in w's order), in blocks of KCP pixels: a GEMM with the
 * im2col block packed in groups of 4 columns (each window row of KW·C columns cut into ⌈KW·C/4⌉
 * groups, loaded as vectors from the input row when the window row lies inside it) and the gy
 * block packed by 8 channels. convFilterSum then adds the units to gw in order; gb is sumRows'.
 */
export function conv2dBackwardFilter(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), gy = pp(params, 1), partials = pp(params, 22);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), SW = pi(params, 14), PH = pi(params, 15), PW = pi(params, 16);
  const DH = pi(params, 17), DW = pi(params, 18);
  const T = KH * KW, J = T * C, L = KW * C, RG = (L + 3) >> 2, GJ = KH * RG;
  const U = filterImageGroups(N, O, J), CS = filterSlices(U, GJ), NG = (N + U - 1) / U;
  const w0 = shareStart(U * CS, part, parts), w1 = shareStart(U * CS, part + 1, parts);
  if (w0 >= w1) return;
  const O8 = (O + 7) & ~7, OB = O8 >> 3;
  const scratch = pp(params, 19) + <usize>thread * pp(params, 20);
  const table = scratch, runs = table + <usize>(KCP * T * 4), apan = runs + <usize>(KCP * KH * 4);
  const bpan = apan + <usize>(GC * KCP * 16), zero = bpan + <usize>(KCP * O8 * 4), tmp = zero + (<usize>(L + 8) << 2);
  memory.fill(zero, 0, <usize>(L + 8) << 2);
  const ldg = <usize>O << 2, ldw = <usize>J << 2, pixBytes = <usize>C << 2;
  const vecTap = (C & 3) == 0, runOk = DW == 1 || KW == 1;
  const noPad = runOk && PH <= 0 && PW <= 0 && (OH - 1) * SH - PH + (KH - 1) * DH < H && (OW - 1) * SW - PW + KW <= W;
  const OHW = OH * OW;
  for (let wu = w0; wu < w1; wu++) {
    const u = wu / CS, cs = wu - u * CS;
    const g0 = shareStart(GJ, cs, CS), g1 = shareStart(GJ, cs + 1, CS);
    const pStart = u * NG * OHW, pEnd = imin(N, (u + 1) * NG) * OHW;
    const out = partials + <usize>u * <usize>O * ldw;
    for (let pc = pStart; pc < pEnd; pc += KCP) {
      const kc = imin(KCP, pEnd - pc);
      // Where each pixel's window reads x: per tap (zero row outside), and per window row when
      // the row lies wholly inside the input (else 0).
      let n = pc / OHW, rem = pc - n * OHW, oh = rem / OW, ow = rem - oh * OW;
      let allRuns = true;
      if (noPad) {
        // Every window lies inside the input: only the window rows are needed.
        const rowBytes = <usize>W * pixBytes, dhBytes = <usize>DH * rowBytes;
        for (let k = 0; k < kc; k++) {
          let r = x + <usize>n * <usize>H * rowBytes + <usize>(oh * SH) * rowBytes + <usize>(ow * SW) * pixBytes;
          const rk = runs + (<usize>(k * KH) << 2);
          for (let kh = 0; kh < KH; kh++) {
            store<u32>(rk + (<usize>kh << 2), <u32>r);
            r += dhBytes;
          }
          if (++ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
        }
      }
      const kcTable = noPad ? 0 : kc;
      for (let k = 0; k < kcTable; k++) {
        const nb = x + <usize>n * <usize>H * <usize>W * pixBytes;
        const ihb = oh * SH - PH, iwb = ow * SW - PW;
        const tk = table + (<usize>(k * T) << 2), rk = runs + (<usize>(k * KH) << 2);
        const inside = runOk && iwb >= 0 && iwb + KW <= W;
        for (let kh = 0; kh < KH; kh++) {
          const ih = ihb + kh * DH;
          const rowOk = <u32>ih < <u32>H;
          if (!(rowOk && inside)) allRuns = false;
          store<u32>(rk + (<usize>kh << 2), rowOk && inside ? <u32>(nb + <usize>(ih * W + iwb) * pixBytes) : 0);
          for (let kw = 0; kw < KW; kw++) {
            const iw = iwb + kw * DW;
            const ptr = rowOk && <u32>iw < <u32>W ? nb + <usize>(ih * W + iw) * pixBytes : zero;
            store<u32>(tk + (<usize>(kh * KW + kw) << 2), <u32>ptr);
          }
        }
        if (++ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
      }
      // The gy block, 8 channels at a time: b[ob][k][8].
      for (let ob = 0; ob < OB; ob++) {
        const dst = bpan + <usize>(ob * kc) * 32;
        const src = gy + <usize>pc * ldg + (<usize>ob << 5);
        if (ob * 8 + 8 <= O) {
          for (let k = 0; k < kc; k++) {
            const sk = src + <usize>k * ldg, dk = dst + (<usize>k << 5);
            v128.store(dk, v128.load(sk));
            v128.store(dk, v128.load(sk, 16), 16);
          }
        } else {
          const nv = O - ob * 8;
          for (let k = 0; k < kc; k++) {
            const sk = src + <usize>k * ldg, dk = dst + (<usize>k << 5);
            for (let l = 0; l < 8; l++) store<f32>(dk + (<usize>l << 2), l < nv ? load<f32>(sk + (<usize>l << 2)) : 0);
          }
        }
      }
      const first = pc == pStart;
      for (let gc = g0; gc < g1; gc += GC) {
        const ng = imin(GC, g1 - gc);
        for (let gg = 0; gg < ng; gg++) {
          const g = gc + gg, kh = g / RG, c4 = (g - kh * RG) << 2;
          const dst = apan + <usize>(gg * kc) * 16;
          const tap = kh * KW + c4 / C, ch = c4 - (c4 / C) * C;
          if (allRuns) {
            // Every window row of the block lies inside the input (no padding here).
            let rp = runs + (<usize>kh << 2);
            const off = <usize>c4 << 2, rStep = <usize>KH << 2, dEnd = dst + (<usize>kc << 4);
            for (let d = dst; d < dEnd; d += 16) {
              v128.store(d, v128.load(<usize>load<u32>(rp) + off));
              rp += rStep;
            }
            continue;
          }
          for (let k = 0; k < kc; k++) {
            const d = dst + (<usize>k << 4);
            const rp = <usize>load<u32>(runs + (<usize>(k * KH + kh) << 2));
            if (rp != 0) {
              // Columns past the window row (its last group) read on into the next pixel: those
              // rows of the tile are never stored.
              v128.store(d, v128.load(rp + (<usize>c4 << 2)));
            } else if (vecTap) {
              v128.store(d, v128.load(<usize>load<u32>(table + (<usize>(k * T + tap) << 2)) + (<usize>ch << 2)));
            } else {
              for (let r = 0; r < 4; r++) {
                const col = c4 + r;
                let v: f32 = 0;
                if (col < L) {
                  const t = kh * KW + col / C, c = col - (col / C) * C;
                  v = load<f32>(<usize>load<u32>(table + (<usize>(k * T + t) << 2)) + (<usize>c << 2));
                }
                store<f32>(d + (<usize>r << 2), v);
              }
            }
          }
        }
        for (let ob = 0; ob < OB; ob++) {
          const bp = bpan + <usize>(ob * kc) * 32;
          const nvO = imin(8, O - ob * 8);
          const outRow = out + <usize>(ob * 8) * ldw;
          for (let gg = 0; gg < ng; gg++) {
            const g = gc + gg, kh = g / RG, c4 = (g - kh * RG) << 2;
            filterTile(apan + <usize>(gg * kc) * 16, bp, kc, outRow + (<usize>(kh * L + c4) << 2), ldw,
              imin(4, L - c4), nvO, tmp, first);
          }
        }
      }
    }
  }
}

/** gw[i] += Σ_u partials[u][i] over the O·J weights, units in order; threads split the weights. */
export function convFilterSum(params: usize, part: i32, parts: i32): void {
  const gw = pp(params, 3), partials = pp(params, 22);
  const N = pi(params, 4), C = pi(params, 7), O = pi(params, 8), KH = pi(params, 11), KW = pi(params, 12);
  const J = KH * KW * C, M = O * J, U = filterImageGroups(N, O, J);
  const vecs = (M + 3) >> 2;
  const i0 = shareStart(vecs, part, parts) << 2, i1 = imin(M, shareStart(vecs, part + 1, parts) << 2);
  const step = <usize>M << 2;
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    let src = partials + (<usize>i << 2);
    let s = v128.load(src);
    for (let u = 1; u < U; u++) {
      src += step;
      s = f32x4.add(s, v128.load(src));
    }
    const at = gw + (<usize>i << 2);
    v128.store(at, f32x4.add(v128.load(at), s));
  }
  for (; i < i1; i++) {
    let src = partials + (<usize>i << 2);
    let s = load<f32>(src);
    for (let u = 1; u < U; u++) {
      src += step;
      s += load<f32>(src);
    }
    const at = gw + (<usize>i << 2);
    store<f32>(at, load<f32>(at) + s);
  }
}
