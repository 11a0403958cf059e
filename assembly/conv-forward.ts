/**
 * Convolution forward (implicit GEMM over 4-pixel × 8-channel tiles) and the weight packing and
 * tile code that backward-data shares. The design of all convolution kernels is described in conv.ts.
 */
import { imax, imin, pi, pp, setReluOutput, shareStart, thread } from './common';
import { pack4, STORE_BIAS, STORE_RELU, storeEdge, storeRow } from './gemm';
import { acc00, acc01, acc10, acc11, acc20, acc21, acc30, acc31, tileClear, tilePanel, tileRowRuns, tileRows } from './tile';
import { Conv } from '../src/engine/kernel-params';

/** Tiles whose tap lists are built together and then reused for every channel block. */
export const G: i32 = 8;
/** Pixels per block of backward-filter. */
export const KCP: i32 = 256;

@inline export function zeroBytes(C: i32, O: i32): usize {
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
  const w = pp(params, Conv.Weights), dst = pp(params, Conv.Packed);
  const C = pi(params, Conv.C), O = pi(params, Conv.O), T = pi(params, Conv.KH) * pi(params, Conv.KW);
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
  const w = pp(params, Conv.Weights), dst = pp(params, Conv.Packed);
  const C = pi(params, Conv.C), O = pi(params, Conv.O), T = pi(params, Conv.KH) * pi(params, Conv.KW);
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
export function convTile(ent: usize, nEnt: i32, wPanel: usize, L: i32, y0: usize, y1: usize, y2: usize, y3: usize,
  nv: i32, bias: usize, tmp: usize): void {
  if (nEnt == 0) tileClear();
  for (let e = 0; e < nEnt; e++) {
    const eb = ent + <usize>e * 20;
    tileRows(<usize>load<u32>(eb, 4), <usize>load<u32>(eb, 8), <usize>load<u32>(eb, 12), <usize>load<u32>(eb, 16),
      wPanel + <usize>load<u32>(eb), L, e > 0);
  }
  storeTileRows(y0, y1, y2, y3, nv, bias != 0 ? STORE_BIAS : 0, bias, tmp);
}

/** Stores the tile's rows r at y_r (none where y_r is 0), by `mode`. */
@inline function storeTileRows(y0: usize, y1: usize, y2: usize, y3: usize, nv: i32, mode: i32, bias: usize,
  tmp: usize): void {
  storeConvRow(y0, acc00, acc01, nv, mode, bias, tmp);
  storeConvRow(y1, acc10, acc11, nv, mode, bias, tmp);
  storeConvRow(y2, acc20, acc21, nv, mode, bias, tmp);
  storeConvRow(y3, acc30, acc31, nv, mode, bias, tmp);
}

@inline export function writeEntry(e: usize, wofs: usize, p0: usize, p1: usize, p2: usize, p3: usize): void {
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


/**
 * Appends the entry {wofs, L} to the ne entries at eBase and returns the new count. A run that
 * continues the previous one in the weight panel extends it (the panel rows follow on anyway), so
 * a window that lies inside the input is one run of the tile, with no hand-over between runs.
 */
@inline function addEntry(eBase: usize, ne: i32, wofs: usize, L: i32): i32 {
  if (ne > 0) {
    const last = eBase + (<usize>(ne - 1) << 3), lastL = load<i32>(last, 4);
    if (<usize>load<u32>(last) + (<usize>lastL << 5) == wofs) {
      store<i32>(last, lastL + L, 4);
      return ne;
    }
  }
  const e = eBase + (<usize>ne << 3);
  store<u32>(e, <u32>wofs);
  store<i32>(e, L, 4);
  return ne + 1;
}

/**
 * The 4-pixel × 8-channel tile over a packed panel a[k][4]: entry e {weight offset, L} takes the
 * next L rows of the panel against L rows of the weight panel from its offset.
 */
function packedTile(ap: usize, ent: usize, nEnt: i32, wPanel: usize, y0: usize, y1: usize, y2: usize, y3: usize,
  nv: i32, bias: usize, relu: bool, tmp: usize): void {
  if (nEnt == 0) tileClear();
  for (let e = 0; e < nEnt; e++) {
    const eb = ent + (<usize>e << 3), L = load<i32>(eb, 4);
    tilePanel(ap, wPanel + <usize>load<u32>(eb), L, e > 0);
    ap += <usize>L << 4;
  }
  storeTileRows(y0, y1, y2, y3, nv, (bias != 0 ? STORE_BIAS : 0) | (relu ? STORE_RELU : 0), bias, tmp);
}

/**
 * packedTile for a tile whose four windows lie wholly inside the input (stride 1 in width): the
 * tile reads each window row of KW·C values where it is (row r of window row kh at p_r + kh·rowStep),
 * no panel packed. The same sums in the same order as packedTile's single merged entry.
 */
function inPlaceTile(pe: usize, KH: i32, L: i32, rowStep: usize, wPanel: usize, y0: usize, y1: usize, y2: usize,
  y3: usize, nv: i32, bias: usize, relu: bool, tmp: usize): void {
  const p0 = <usize>load<u32>(pe), p1 = <usize>load<u32>(pe, 4), p2 = <usize>load<u32>(pe, 8), p3 = <usize>load<u32>(pe, 12);
  tileRowRuns(p0, p1, p2, p3, wPanel, L, KH, rowStep - (<usize>L << 2));
  storeTileRows(y0, y1, y2, y3, nv, (bias != 0 ? STORE_BIAS : 0) | (relu ? STORE_RELU : 0), bias, tmp);
}

/** y[N·OH·OW, O] = conv(x, w) (+ b), and ReLU(y) at param 23 when it is not 0; threads split the 4-pixel tiles. */
export function conv2dForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Conv.In), wpk = pp(params, Conv.Packed), bias = pp(params, Conv.Bias), y = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW);
  const reluOut = pp(params, Conv.Relu), relu = reluOut != 0;
  if (relu) setReluOutput(reluOut, y);
  const T = KH * KW, K = T * C, P = N * OH * OW;
  const tiles = (P + 3) >> 2;
  const t0 = shareStart(tiles, part, parts), t1 = shareStart(tiles, part + 1, parts);
  if (t0 >= t1) return;
  const G = groupTiles(K);
  const packed = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
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
  // Tiles read x in place where the tap lists have room for 4 pointers.
  const inPlace = mergeable && T >= 2;
  const rowStep = <usize>(DH * W) * pixBytes;
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
      if (inPlace && v3 && in0 && in1 && in2 && in3 && imin(imin(ih0, ih1), imin(ih2, ih3)) >= 0 &&
        imax(imax(ih0, ih1), imax(ih2, ih3)) + (KH - 1) * DH < H) {
        // Every window inside: the tile reads x where it is (count -1, the 4 window origins).
        store<u32>(eBase, <u32>(nb0 + <usize>(ih0 * W + iw0) * pixBytes));
        store<u32>(eBase, <u32>(nb1 + <usize>(ih1 * W + iw1) * pixBytes), 4);
        store<u32>(eBase, <u32>(nb2 + <usize>(ih2 * W + iw2) * pixBytes), 8);
        store<u32>(eBase, <u32>(nb3 + <usize>(ih3 * W + iw3) * pixBytes), 12);
        store<i32>(cnt + (<usize>(t - g) << 2), -1);
        continue;
      }
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
          ne = addEntry(eBase, ne, <usize>(kh * KW) * tapBytes, L);
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
          ne = addEntry(eBase, ne, <usize>(kh * KW + kw) * tapBytes, C);
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
        const ne = load<i32>(cnt + (<usize>(t - g) << 2));
        if (ne < 0) {
          inPlaceTile(ent + <usize>((t - g) * T * 8), KH, L, rowStep, wPanel, yb, yb + rowBytes, yb + 2 * rowBytes,
            yb + 3 * rowBytes, nv, bo, relu, tmp);
          continue;
        }
        packedTile(packed + (<usize>((t - g) * K) << 4), ent + <usize>((t - g) * T * 8), ne, wPanel,
          yb, q + 1 < P ? yb + rowBytes : 0, q + 2 < P ? yb + 2 * rowBytes : 0, q + 3 < P ? yb + 3 * rowBytes : 0,
          nv, bo, relu, tmp);
      }
    }
  }
}
