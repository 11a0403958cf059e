/**
 * Convolution backward-filter: gw += gyᵀ · im2col(x) over blocks of pixels, in fixed image groups
 * summed in group order. See conv.ts for the design.
 */
import { imax, imin, pi, pp, shareStart, thread } from './common';
import { KCP } from './conv-forward';
import { acc00, acc01, acc10, acc11, acc20, acc21, acc30, acc31, tileGather, tileGatherPair, tilePanel, tileSpill } from './tile';
import { Conv } from '../src/engine/kernel-params';

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
  tilePanel(ap, bp, kc, false);
  filterTileStore(out, ldw, nvJ, nvO, tmp, first);
}

/**
 * filterTile with the im2col columns read where they lie: pixel k's 4 columns at
 * *(tab + k·tabStep) + off (its window row's start in x), no panel packed. The same sums.
 */
function filterTileInPlace(tab: usize, tabStep: usize, off: usize, bp: usize, kc: i32, out: usize, ldw: usize,
  nvJ: i32, nvO: i32, tmp: usize, first: bool): void {
  tileGather(tab, tabStep, off, bp, kc);
  filterTileStore(out, ldw, nvJ, nvO, tmp, first);
}

/**
 * filterTileInPlace for the last two columns (L - 2, L - 1) of window rows kh and kh + 1 together
 * (rows 0-1 and 2-3 of the tile), where a window row ends in a half group (L % 4 = 2): one tile
 * where each row alone would fill half of one. out is row kh's column L - 2.
 */
function filterTilePair(tab: usize, tabStep: usize, off: usize, bp: usize, kc: i32, out: usize, ldw: usize,
  L: i32, nvO: i32, tmp: usize, first: bool): void {
  tileGatherPair(tab, tabStep, 4, off, bp, kc);
  tileSpill(tmp);
  filterSpilledStore(out, ldw, 4, nvO, tmp, first, <usize>(L - 2) << 2);
}

/**
 * Writes (first) or adds a spilled tile to out[o][j]: channels are the lanes, columns the rows of
 * the tile (nvJ of them, rows 2-3 `next` bytes further on: the next window row's for a pair).
 */
@inline function filterSpilledStore(out: usize, ldw: usize, nvJ: i32, nvO: i32, tmp: usize, first: bool, next: usize): void {
  for (let l = 0; l < nvO; l++) {
    const row = out + <usize>l * ldw;
    for (let r = 0; r < nvJ; r++) {
      const at = row + (<usize>r << 2) + (r >= 2 ? next : 0);
      const v = load<f32>(tmp + (<usize>(r * 8 + l) << 2));
      store<f32>(at, first ? v : load<f32>(at) + v);
    }
  }
}

/** Writes (first) or adds the tile's sums to out[o][j]: 4 columns (nvJ of them) × 8 channels (nvO). */
@inline function filterTileStore(out: usize, ldw: usize, nvJ: i32, nvO: i32, tmp: usize, first: bool): void {
  if (nvJ == 4 && nvO == 8) {
    // out[o, j..j+3] for each of the 8 channels: transposes of the tile's lanes.
    filterStore4(out, ldw, acc00, acc10, acc20, acc30, first);
    filterStore4(out + 4 * ldw, ldw, acc01, acc11, acc21, acc31, first);
  } else {
    tileSpill(tmp);
    filterSpilledStore(out, ldw, nvJ, nvO, tmp, first, 0);
  }
}

/**
 * The tiles of one block of kc pixels whose window rows all lie inside the input, groups g0..g1 of
 * 4 columns: each reads its columns in place through the window-row table runs[k][KH]; where a
 * window row ends in a half group (L % 4 = 2), its last two columns go with the next row's.
 */
function filterBlockInPlace(runs: usize, KH: i32, L: i32, RG: i32, g0: i32, g1: i32, bpan: usize, kc: i32, O: i32,
  out: usize, ldw: usize, tmp: usize, first: bool): void {
  const OB = (O + 7) >> 3, tabStep = <usize>KH << 2, pairTails = (L & 3) == 2;
  for (let ob = 0; ob < OB; ob++) {
    const bp = bpan + <usize>(ob * kc) * 32, nvO = imin(8, O - ob * 8), outRow = out + <usize>(ob * 8) * ldw;
    let paired = -1;
    for (let g = g0; g < g1; g++) {
      if (g == paired) continue;
      const kh = g / RG, c4 = (g - kh * RG) << 2;
      const tab = runs + (<usize>kh << 2), off = <usize>c4 << 2, at = outRow + (<usize>(kh * L + c4) << 2);
      if (pairTails && c4 == L - 2 && g + RG < g1) {
        // The next window row's last 2 columns come along (and are then done).
        filterTilePair(tab, tabStep, off, bp, kc, at, ldw, L, nvO, tmp, first);
        paired = g + RG;
      } else {
        filterTileInPlace(tab, tabStep, off, bp, kc, at, ldw, imin(4, L - c4), nvO, tmp, first);
      }
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
  const x = pp(params, Conv.In), gy = pp(params, Conv.Packed), partials = pp(params, Conv.Partials);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW);
  const T = KH * KW, J = T * C, L = KW * C, RG = (L + 3) >> 2, GJ = KH * RG;
  const U = filterImageGroups(N, O, J), CS = filterSlices(U, GJ), NG = (N + U - 1) / U;
  const w0 = shareStart(U * CS, part, parts), w1 = shareStart(U * CS, part + 1, parts);
  if (w0 >= w1) return;
  const O8 = (O + 7) & ~7, OB = O8 >> 3;
  const scratch = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
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
      if (allRuns) {
        // Every window row of the block inside the input: the tiles read the columns in place.
        filterBlockInPlace(runs, KH, L, RG, g0, g1, bpan, kc, O, out, ldw, tmp, first);
        continue;
      }
      for (let gc = g0; gc < g1; gc += GC) {
        const ng = imin(GC, g1 - gc);
        for (let gg = 0; gg < ng; gg++) {
          const g = gc + gg, kh = g / RG, c4 = (g - kh * RG) << 2;
          const dst = apan + <usize>(gg * kc) * 16;
          const tap = kh * KW + c4 / C, ch = c4 - (c4 / C) * C;
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
  const gw = pp(params, Conv.Out), partials = pp(params, Conv.Partials);
  const N = pi(params, Conv.N), C = pi(params, Conv.C), O = pi(params, Conv.O), KH = pi(params, Conv.KH);
  const KW = pi(params, Conv.KW);
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
