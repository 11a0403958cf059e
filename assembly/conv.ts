/**
 * 2-D convolution on channels-last data, all strides, paddings and dilations.
 *
 * Forward and backward-data are direct (implicit GEMM): a register tile of 4 pixels × 8 channels
 * walks a list of taps, each tap giving the 4 pixels' input rows (or a zero row where the window
 * leaves the input) and a panel of pre-packed weights. Forward tiles 4 consecutive output pixels
 * × 8 output channels; backward-data tiles 4 input pixels of one row with the same column residue
 * modulo the stride (so they see the same taps) × 8 input channels. Backward-filter is a GEMM
 * gw[O, KH·KW·C] += gyᵀ · im2col(x) whose im2col panels are packed on the fly, block by block of
 * 256 pixels, and whose columns are split between threads.
 *
 * Every output element is a single chain of float32 operations in a fixed order (taps, then
 * channels; for backward-filter pixel blocks of fixed size), and threads split the work by whole
 * tiles, rows or columns, so results are bitwise identical for any thread count.
 *
 * Parameter block (words): 0 input (x, or gy for backward-data), 1 packed weights (forward,
 * backward-data) or gy (backward-filter), 2 bias or 0, 3 output (y, gx or gw),
 * 4 N, 5 H, 6 W, 7 C, 8 O, 9 OH, 10 OW, 11 KH, 12 KW, 13 SH, 14 SW, 15 PH, 16 PW, 17 DH, 18 DW,
 * 19 per-thread scratch base, 20 per-thread scratch bytes, 21 weights w[O, KH, KW, C] (packing).
 */
import { imin, pi, pp, shareStart } from './common';
import { STORE_BIAS, storeEdge, storeRow } from './gemm';

/** Tiles whose tap lists are built together and then reused for every channel block. */
const G: i32 = 8;
/** Pixels per block of backward-filter, and im2col columns packed at a time. */
const KCP: i32 = 256;
const NCOL: i32 = 256;

@inline function zeroBytes(C: i32, O: i32): usize {
  return <usize>((C > O ? C : O) + 8) << 2;
}

/** Per-thread scratch of forward and backward-data: zero row, spilled tile, tap lists, counts. */
export function convScratchBytes(C: i32, O: i32, KH: i32, KW: i32): i32 {
  return <i32>zeroBytes(C, O) + 128 + G * KH * KW * 20 + G * 4 + 64;
}

/** Per-thread scratch of backward-filter: pointer table, packed im2col block, zero row, tile. */
export function convFilterScratchBytes(C: i32, KH: i32, KW: i32): i32 {
  return (KCP * KH * KW + NCOL * KCP + C + 8 + 32) * 4 + 64;
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

/** Packs w[O, T, C] into wq[⌈C/8⌉][T][O][8] (backward-data: the same weights, channels in lanes). */
export function convPackBackwardData(params: usize): void {
  const w = pp(params, 21), dst = pp(params, 1);
  const C = pi(params, 7), O = pi(params, 8), T = pi(params, 11) * pi(params, 12);
  const CB = (C + 7) >> 3;
  let d = dst;
  for (let cb = 0; cb < CB; cb++) {
    for (let t = 0; t < T; t++) {
      for (let o = 0; o < O; o++) {
        const src = w + ((<usize>(o * T + t) * <usize>C) << 2);
        for (let j = 0; j < 8; j++) {
          const c = cb * 8 + j;
          store<f32>(d, c < C ? load<f32>(src + (<usize>c << 2)) : 0);
          d += 4;
        }
      }
    }
  }
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

/** y[N·OH·OW, O] = conv(x, w) (+ b); threads split the 4-pixel tiles. */
export function conv2dForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), wpk = pp(params, 1), bias = pp(params, 2), y = pp(params, 3);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), SW = pi(params, 14), PH = pi(params, 15), PW = pi(params, 16);
  const DH = pi(params, 17), DW = pi(params, 18);
  const T = KH * KW, P = N * OH * OW;
  const tiles = (P + 3) >> 2;
  const t0 = shareStart(tiles, part, parts), t1 = shareStart(tiles, part + 1, parts);
  if (t0 >= t1) return;
  const scratch = pp(params, 19) + <usize>part * pp(params, 20);
  const zb = zeroBytes(C, O);
  memory.fill(scratch, 0, zb);
  const zero = scratch, tmp = scratch + zb, ent = tmp + 128, cnt = ent + <usize>(G * T * 20);
  const OB = (O + 7) >> 3;
  const panelBytes = <usize>T * <usize>C * 32, tapBytes = <usize>C * 32;
  const rowBytes = <usize>O << 2, pixBytes = <usize>C << 2;
  const OHW = OH * OW;
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
      const eBase = ent + <usize>((t - g) * T * 20);
      let ne = 0;
      for (let kh = 0; kh < KH; kh++) {
        const dh = kh * DH;
        const h0 = ih0 + dh, h1 = ih1 + dh, h2 = ih2 + dh, h3 = ih3 + dh;
        for (let kw = 0; kw < KW; kw++) {
          const dw = kw * DW;
          const w0 = iw0 + dw, w1 = iw1 + dw, w2 = iw2 + dw, w3 = iw3 + dw;
          const p0 = v0 && <u32>h0 < <u32>H && <u32>w0 < <u32>W ? nb0 + <usize>(h0 * W + w0) * pixBytes : zero;
          const p1 = v1 && <u32>h1 < <u32>H && <u32>w1 < <u32>W ? nb1 + <usize>(h1 * W + w1) * pixBytes : zero;
          const p2 = v2 && <u32>h2 < <u32>H && <u32>w2 < <u32>W ? nb2 + <usize>(h2 * W + w2) * pixBytes : zero;
          const p3 = v3 && <u32>h3 < <u32>H && <u32>w3 < <u32>W ? nb3 + <usize>(h3 * W + w3) * pixBytes : zero;
          if (p0 == zero && p1 == zero && p2 == zero && p3 == zero) continue;
          writeEntry(eBase + <usize>ne * 20, <usize>(kh * KW + kw) * tapBytes, p0, p1, p2, p3);
          ne++;
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
        convTile(ent + <usize>((t - g) * T * 20), load<i32>(cnt + (<usize>(t - g) << 2)), wPanel, C,
          yb, q + 1 < P ? yb + rowBytes : 0, q + 2 < P ? yb + 2 * rowBytes : 0, q + 3 < P ? yb + 3 * rowBytes : 0,
          nv, bo, tmp);
      }
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
  const scratch = pp(params, 19) + <usize>part * pp(params, 20);
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

/** acc[4 columns][8 channels] over kc pixels: packed im2col a[k][4] against gy rows (stride ldg). */
function filterTile(ap: usize, gp: usize, ldg: usize, kc: i32, out: usize, ldw: usize, nvJ: i32, nvO: i32,
  tmp: usize): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  const aEnd = ap + (<usize>kc << 4);
  while (ap < aEnd) {
    const b0 = v128.load(gp), b1 = v128.load(gp, 16);
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
    gp += ldg;
  }
  v128.store(tmp, c00); v128.store(tmp, c01, 16);
  v128.store(tmp, c10, 32); v128.store(tmp, c11, 48);
  v128.store(tmp, c20, 64); v128.store(tmp, c21, 80);
  v128.store(tmp, c30, 96); v128.store(tmp, c31, 112);
  // gw[o, j] += acc: channels are the lanes, columns the rows of the tile.
  for (let l = 0; l < nvO; l++) {
    const row = out + <usize>l * ldw;
    for (let r = 0; r < nvJ; r++) {
      const at = row + (<usize>r << 2);
      store<f32>(at, load<f32>(at) + load<f32>(tmp + (<usize>(r * 8 + l) << 2)));
    }
  }
}

/**
 * gw[O, KH·KW·C] += Σ_pixels gy[p, o] · x[window(p, tap), c], in blocks of KCP pixels; threads
 * split the columns (tap, channel) in groups of four. gb is handled by sumRows.
 */
export function conv2dBackwardFilter(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), gy = pp(params, 1), gw = pp(params, 3);
  const N = pi(params, 4), H = pi(params, 5), W = pi(params, 6), C = pi(params, 7), O = pi(params, 8);
  const OH = pi(params, 9), OW = pi(params, 10), KH = pi(params, 11), KW = pi(params, 12);
  const SH = pi(params, 13), SW = pi(params, 14), PH = pi(params, 15), PW = pi(params, 16);
  const DH = pi(params, 17), DW = pi(params, 18);
  const T = KH * KW, P = N * OH * OW, J = T * C;
  const units = (J + 3) >> 2;
  const j0 = imin(J, shareStart(units, part, parts) * 4), j1 = imin(J, shareStart(units, part + 1, parts) * 4);
  if (j0 >= j1 || P == 0) return;
  const scratch = pp(params, 19) + <usize>part * pp(params, 20);
  const table = scratch, packed = table + <usize>(KCP * T * 4), zero = packed + <usize>(NCOL * KCP * 4);
  const tmp = zero + (<usize>(C + 8) << 2);
  memory.fill(zero, 0, <usize>(C + 8) << 2);
  const OB = (O + 7) >> 3;
  const ldg = <usize>O << 2, ldw = <usize>J << 2, pixBytes = <usize>C << 2;
  const vectorPack = (C & 3) == 0;
  const OHW = OH * OW;
  for (let pc = 0; pc < P; pc += KCP) {
    const kc = imin(KCP, P - pc);
    // Where each pixel's window reads x, tap by tap (zero row outside).
    let n = pc / OHW, rem = pc - n * OHW, oh = rem / OW, ow = rem - oh * OW;
    for (let k = 0; k < kc; k++) {
      const nb = x + <usize>n * <usize>H * <usize>W * pixBytes;
      const ihb = oh * SH - PH, iwb = ow * SW - PW;
      const tk = table + (<usize>(k * T) << 2);
      for (let kh = 0; kh < KH; kh++) {
        const ih = ihb + kh * DH;
        const rowOk = <u32>ih < <u32>H;
        for (let kw = 0; kw < KW; kw++) {
          const iw = iwb + kw * DW;
          const ptr = rowOk && <u32>iw < <u32>W ? nb + <usize>(ih * W + iw) * pixBytes : zero;
          store<u32>(tk + (<usize>(kh * KW + kw) << 2), <u32>ptr);
        }
      }
      if (++ow == OW) { ow = 0; if (++oh == OH) { oh = 0; n++; } }
    }
    for (let jc = j0; jc < j1; jc += NCOL) {
      const nc = imin(NCOL, j1 - jc);
      // Pack the im2col block: panel[k][4] for each group of four columns.
      for (let jr = 0; jr < nc; jr += 4) {
        const dst = packed + (<usize>(jr * kc) << 2);
        const col = jc + jr;
        if (vectorPack && jr + 4 <= nc) {
          const t = col / C, cOff = <usize>(col - t * C) << 2;
          for (let k = 0; k < kc; k++) {
            const src = <usize>load<u32>(table + (<usize>(k * T + t) << 2)) + cOff;
            v128.store(dst + (<usize>k << 4), v128.load(src));
          }
        } else {
          for (let r = 0; r < 4; r++) {
            const cr = col + r;
            const d = dst + (<usize>r << 2);
            if (jr + r < nc) {
              const t = cr / C, cOff = <usize>(cr - t * C) << 2;
              for (let k = 0; k < kc; k++) {
                store<f32>(d + (<usize>k << 4), load<f32>(<usize>load<u32>(table + (<usize>(k * T + t) << 2)) + cOff));
              }
            } else {
              for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 4), 0);
            }
          }
        }
      }
      for (let ob = 0; ob < OB; ob++) {
        const gyp = gy + <usize>pc * ldg + (<usize>ob << 5);
        const nvO = imin(8, O - ob * 8);
        const outRow = gw + <usize>(ob * 8) * ldw;
        for (let jr = 0; jr < nc; jr += 4) {
          filterTile(packed + (<usize>(jr * kc) << 2), gyp, ldg, kc, outRow + (<usize>(jc + jr) << 2), ldw,
            imin(4, nc - jr), nvO, tmp);
        }
      }
    }
  }
}
