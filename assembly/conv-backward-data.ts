/**
 * Convolution backward-data: the stride-1 scatter form (GEMM + col2im) and the direct kernel for
 * larger strides. See conv.ts for the design.
 */
import { imax, imin, pi, pp, shareStart, thread } from './common';
import { pack4, STORE_ACC, storeRow } from './gemm';
import { G, convTile, writeEntry, zeroBytes } from './conv-forward';
import { tilePanel, tilePanelRunsInto, tileSpill } from './tile';
import { Conv } from '../src/engine/kernel-params';

// ---- backward-data with stride 1: scatter form ----------------------------------------------

/** Bytes of the scatter form's packed weights [⌈KW·C/8⌉][KH][O][8]. */
export function convScatterPackedBytes(C: i32, O: i32, KH: i32, KW: i32): i32 {
  return KH * ((KW * C + 7) >> 3) * O * 32;
}

/**
 * Packs w[O][KH][KW·C] into [⌈KW·C/8⌉][KH][O][8] (columns past KW·C are zeros): for one block of 8
 * columns, the window rows follow on, so a run over several kh is one stretch of the panel.
 */
export function convPackScatter(params: usize): void {
  const w = pp(params, Conv.Weights), dst = pp(params, Conv.Packed);
  const C = pi(params, Conv.C), O = pi(params, Conv.O), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const L = KW * C, JB = (L + 7) >> 3;
  let d = dst;
  for (let jb = 0; jb < JB; jb++) {
    for (let kh = 0; kh < KH; kh++) {
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

/** Floats per row of the zero-margined Z buffer: 3·C zeros, the JB·8 columns, 3·C + 8 zeros. */
@inline function zRow(C: i32, KW: i32): i32 {
  return 6 * C + ((KW * C + 7) & ~7) + 8;
}

/** Per-thread scratch of the scatter form: one column strip of gy panels, zero row, spilled tile, Z buffer. */
export function convScatterScratchBytes(C: i32, O: i32, KW: i32, OH: i32): i32 {
  return OH * O * 16 + (O + 8) * 4 + 128 + 4 * zRow(C, KW) * 4 + 64;
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
 * gx[0..U) += Σ_{r < np} Z_r shifted by r·C, where row r of the Z buffer (margins of zeros) starts
 * at z + r·rowBytes and holds Z_r from float 3·C on. The four runs overlap, so adding them one
 * after another would load what was just stored, partly (a stalled store-to-load forward); summing
 * first makes every read-modify-write of gx a distinct block.
 */
@inline function addRuns(gx: usize, z: usize, rowBytes: usize, U: i32, C: i32, np: i32): void {
  const cb = <usize>C << 2;
  const z0 = z + 3 * cb, z1 = z + rowBytes + 2 * cb, z2 = z + 2 * rowBytes + cb, z3 = z + 3 * rowBytes;
  let t = 0;
  for (; t + 4 <= U; t += 4) {
    const o = <usize>t << 2;
    let s = v128.load(z0 + o);
    if (np > 1) s = f32x4.add(s, v128.load(z1 + o));
    if (np > 2) s = f32x4.add(s, v128.load(z2 + o));
    if (np > 3) s = f32x4.add(s, v128.load(z3 + o));
    v128.store(gx + o, f32x4.add(v128.load(gx + o), s));
  }
  for (; t < U; t++) {
    const o = <usize>t << 2;
    let s = load<f32>(z0 + o);
    if (np > 1) s += load<f32>(z1 + o);
    if (np > 2) s += load<f32>(z2 + o);
    if (np > 3) s += load<f32>(z3 + o);
    store<f32>(gx + o, load<f32>(gx + o) + s);
  }
}

/**
 * Images per work unit of the scatter form: 2 when rows end in a group of 2 pixels (OW = 4m + 2),
 * whose strips of the two images share one tile, else 1.
 */
@inline function scatterPairs(OW: i32): bool {
  return (OW & 3) == 2;
}

/** Work units of conv2dBackwardDataScatter (whole images, or pairs of images: see scatterPairs). */
export function convScatterUnits(N: i32, OW: i32): i32 {
  return scatterPairs(OW) ? (N + 1) >> 1 : N;
}

/**
 * gx = ∂/∂x for stride 1 (and unit width dilation), scatter form. For 4 adjacent gy pixels of a
 * row (a column strip) and one gx row ih, Z[r][kw·C + c] = Σ_kh Σ_o gy[oh_kh, ow_r, o] · w[o, kh, kw, c]
 * over the window rows kh that reach ih from gy row oh_kh = ih + PH - kh·DH: one 4×8 tile per 8
 * columns and window row (K = O), each a sum of its own, added up in a Z buffer straight from the
 * tile's registers (tilePanelRunsInto). One window row per run keeps the float32 chains short
 * (an earlier form of this kernel on NET-A's conv2, 3 seeds, against float64: runs of 2 rows ran
 * ×1.09 faster with a mean error 13% higher, all 5 rows ×1.2 faster with 48% higher). The strip's
 * gy pixels are packed once per image as panels [O][4], one per gy row, rows in reverse order, so
 * the rows a gx row needs follow on (DH panels apart) and meet the weights packed
 * [columns][kh][O][8] in one stretch. Row r of Z adds to the run of gx row ih that pixel r's window
 * row covers (KW·C contiguous values from column ow_r - PW), once per gx row and strip. A last
 * group of 2 pixels takes the same 2 pixels of the next image as tile rows 2 and 3 (threads then
 * split pairs of images). Threads split the images; within an image the additions run in a fixed
 * order (strips, then gx rows, then columns), so every gx value is the same chain of float32
 * operations for any split (test/conv-scatter-order.test.ts models it). No tap in the padding is
 * ever computed.
 */
export function conv2dBackwardDataScatter(params: usize, part: i32, parts: i32): void {
  const gx = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O), OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KW = pi(params, Conv.KW);
  const units = convScatterUnits(N, OW), pairs = scatterPairs(OW);
  const u0 = shareStart(units, part, parts), u1 = shareStart(units, part + 1, parts);
  if (u0 >= u1) return;
  const rowLen = W * C;
  const strip = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
  const zero = strip + <usize>OH * (<usize>O << 4), tmp = zero + (<usize>(O + 8) << 2);
  memory.fill(zero, 0, <usize>(O + 8) << 2);
  // Z buffer: 4 rows of zRow floats; only [3·C, 3·C + JB·8) of each row is ever written.
  const zb = tmp + 128;
  memory.fill(zb, 0, 4 * (<usize>zRow(C, KW) << 2));
  const full = pairs ? OW - 2 : OW;
  for (let u = u0; u < u1; u++) {
    const nA = pairs ? 2 * u : u, nB = imin(N, nA + (pairs ? 2 : 1));
    for (let n = nA; n < nB; n++) {
      memory.fill(gx + (<usize>(n * H) * <usize>rowLen << 2), 0, <usize>(H * rowLen) << 2);
      for (let ow0 = 0; ow0 < full; ow0 += 4) scatterStrip(params, strip, zero, tmp, zb, n, -1, ow0, imin(4, full - ow0));
    }
    if (pairs) scatterStrip(params, strip, zero, tmp, zb, nA, nA + 1 < N ? nA + 1 : -1, full, 2);
  }
}

/**
 * One strip of conv2dBackwardDataScatter: gy pixels ow0..ow0+np-1 of image n as tile rows 0..np-1
 * and, when m ≥ 0 (np = 2), those of image m as rows 2 and 3.
 */
function scatterStrip(params: usize, strip: usize, zero: usize, tmp: usize, zb: usize, n: i32, m: i32, ow0: i32,
  np: i32): void {
  const gy = pp(params, Conv.In), wb = pp(params, Conv.Packed), gx = pp(params, Conv.Out);
  const H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C), O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const PH = pi(params, Conv.PH), PW = pi(params, Conv.PW), DH = pi(params, Conv.DH);
  const L = KW * C, JB = (L + 7) >> 3, rowLen = W * C;
  const panelBytes = <usize>O << 4, gyPix = <usize>O << 2, khBytes = <usize>O * 32, jbBytes = <usize>KH * khBytes;
  const zRowBytes = <usize>zRow(C, KW) << 2, zCols = zb + (<usize>(3 * C) << 2);
  const imgN = gx + (<usize>(n * H) * <usize>rowLen << 2), imgM = gx + (<usize>(imax(m, 0) * H) * <usize>rowLen << 2);
  const both = m >= 0;
  for (let oh = 0; oh < OH; oh++) {
    const g0 = gy + <usize>((n * OH + oh) * OW + ow0) * gyPix;
    const g2 = both ? gy + <usize>((m * OH + oh) * OW + ow0) * gyPix : np > 2 ? g0 + 2 * gyPix : zero;
    pack4(strip + <usize>(OH - 1 - oh) * panelBytes, O, g0, np > 1 ? g0 + gyPix : zero,
      g2, both ? g2 + gyPix : np > 3 ? g0 + 3 * gyPix : zero);
  }
  const s0 = (ow0 - PW) * C;
  // All np runs inside the row: every full 8-column block adds with vectors.
  const inside = ow0 - PW >= 0 && ow0 + np - 1 - PW + KW <= W;
  const rowSkip = <usize>(DH - 1) * panelBytes;
  for (let ih = 0; ih < H; ih++) {
    // The window rows kh that reach ih: an interval [k0, k0 + nk), gy rows oh = ih + PH - kh·DH.
    let k0 = 0, nk = 0;
    for (let kh = 0; kh < KH; kh++) {
      if (<u32>(ih + PH - kh * DH) < <u32>OH) {
        if (nk == 0) k0 = kh;
        nk++;
      }
    }
    if (nk == 0) continue;
    const rowN = imgN + (<usize>(ih * rowLen) << 2), rowM = imgM + (<usize>(ih * rowLen) << 2);
    const ap = strip + <usize>(OH - 1 - (ih + PH - k0 * DH)) * panelBytes;
    if (inside) {
      // Each window row's product (a run of O steps) is summed into Z from the tile's registers as
      // it ends, lanes past L cleared (0·gy: zero unless gy holds an infinity or NaN; they must stay
      // out of gx); then the pixels' runs are summed and added to gx. The runs start from their
      // first product, not from +0: that changes only the sign of a zero sum, and gx, which starts
      // at +0, adds any zero as +0, so gx keeps the bits of sums from +0.
      const left = i32x4.splat(L - (JB - 1) * 8);
      const m0 = i32x4.lt_s(i32x4(0, 1, 2, 3), left), m1 = i32x4.lt_s(i32x4(4, 5, 6, 7), left);
      let wk = wb + <usize>k0 * khBytes, zc = zCols;
      for (let jb = 0; jb < JB; jb++) {
        const masked = jb == JB - 1 && (L & 7) != 0;
        // (A constant skip of 0 keeps the loop's pointer running on: ×1.05 on NET-A's conv2.)
        if (DH == 1) tilePanelRunsInto(ap, wk, O, nk, 0, zc, zRowBytes, masked, m0, m1);
        else tilePanelRunsInto(ap, wk, O, nk, rowSkip, zc, zRowBytes, masked, m0, m1);
        wk += jbBytes; zc += 32;
      }
      addRuns(rowN + (<usize>s0 << 2), zb, zRowBytes, (np - 1) * C + L, C, np);
      if (both) addRuns(rowM + (<usize>s0 << 2), zb + 2 * zRowBytes, zRowBytes, C + L, C, 2);
      continue;
    }
    // At the row's edges each window row's product goes to gx as it ends, position by position.
    for (let jb = 0; jb < JB; jb++) {
      const col = jb * 8, left = L - col, f = s0 + col;
      for (let i = 0; i < nk; i++) {
        tilePanel(ap + <usize>(i * DH) * panelBytes, wb + <usize>jb * jbBytes + <usize>(k0 + i) * khBytes, O, false);
        tileSpill(tmp);
        for (let r = 0; r < np; r++) scatterEdge(tmp, r, rowN, f + r * C, rowLen, left);
        if (both) for (let r = 2; r < 4; r++) scatterEdge(tmp, r, rowM, f + (r - 2) * C, rowLen, left);
      }
    }
  }
}

export function conv2dBackwardData(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, Conv.In), wq = pp(params, Conv.Packed), gx = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW);
  const T = KH * KW;
  const rows = N * H;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  if (r0 >= r1) return;
  const scratch = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
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
