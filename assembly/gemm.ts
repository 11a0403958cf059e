/**
 * Matrix multiply C[M,N] (+)= op(A)·op(B) (+ bias), the dense layers' workhorse.
 *
 * GotoBLAS structure: B is packed in KC×NC blocks into 8-column panels, A in MC×KC blocks into
 * 4-row panels, and the 4×8 register tile of tile.ts (eight f32x4 accumulators) runs over each pair of panels.
 * Edge tiles use the same tile on zero-padded panels, so every element of C is computed by the
 * same sequence of float32 operations wherever it sits: its sum over k runs in blocks of KC in
 * increasing k, each block summed from zero and then added to C. Splitting C between threads
 * (by rows or by columns) therefore never changes a bit of the result.
 */
import { imin, pi, pp, relu1, relu4, reluDelta, setReluOutput, shareStart, thread } from './common';
import { acc00, acc01, acc10, acc11, acc20, acc21, acc30, acc31, tilePanel, tileSpill } from './tile';
import { Gemm } from '../src/engine/kernel-params';

export const MR: i32 = 4;
export const NR: i32 = 8;
export const KC: i32 = 256;
export const MC: i32 = 128;
export const NC: i32 = 1024;
/** Columns of B packed at a time when A is one block: four panels (packB4). */
const NR_GROUP: i32 = 4 * NR;

const TRANS_A: i32 = 1;
const TRANS_B: i32 = 2;
const ACCUMULATE: i32 = 4;

/** Lane r of panel[k][4], k < L, is src_r[k]: 4×4 transposes, then a scalar tail. */
@inline export function pack4(dst: usize, L: i32, s0: usize, s1: usize, s2: usize, s3: usize): void {
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

/**
 * Store modes of a tile: add to what C holds, add the bias row, and also write ReLU of the
 * result reluDelta bytes further (the next layer's output, fused: no second pass over C).
 */
export const STORE_ACC: i32 = 1;
export const STORE_BIAS: i32 = 2;
export const STORE_RELU: i32 = 4;

/** Per-thread scratch bytes of gemm: packed A block, packed B block, one spilled tile. */
export function gemmScratchBytes(): i32 {
  return (MC * KC + KC * NC + 64) * 4;
}

/** Packs rows [i0, i0+mc) × columns [p0, p0+kc) of op(A) into 4-row panels: panel[k][4]. */
function packA(ap: usize, a: usize, transA: bool, M: i32, K: i32, i0: i32, mc: i32, p0: i32, kc: i32): void {
  for (let ir = 0; ir < mc; ir += MR) {
    const rows = imin(MR, mc - ir);
    const dst = ap + (<usize>(ir * kc) << 2);
    if (transA) {
      // op(A)(i, k) = a[k·M + i]: four adjacent floats per k.
      let src = a + ((<usize>p0 * <usize>M + <usize>(i0 + ir)) << 2);
      const step = <usize>M << 2;
      if (rows == MR) {
        for (let k = 0; k < kc; k++) {
          v128.store(dst + (<usize>k << 4), v128.load(src));
          src += step;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const d = dst + (<usize>k << 4);
          for (let r = 0; r < MR; r++) store<f32>(d + (<usize>r << 2), r < rows ? load<f32>(src + (<usize>r << 2)) : 0);
          src += step;
        }
      }
    } else {
      // op(A)(i, k) = a[i·K + k]: rows are contiguous; interleave four of them.
      if (rows == MR) {
        const s0 = a + ((<usize>(i0 + ir) * <usize>K + <usize>p0) << 2);
        const rs = <usize>K << 2;
        const s1 = s0 + rs, s2 = s1 + rs, s3 = s2 + rs;
        pack4(dst, kc, s0, s1, s2, s3);
      } else {
        for (let r = 0; r < MR; r++) {
          const src = a + ((<usize>(i0 + ir + r) * <usize>K + <usize>p0) << 2);
          for (let k = 0; k < kc; k++) {
            store<f32>(dst + (<usize>(k * MR + r) << 2), r < rows ? load<f32>(src + (<usize>k << 2)) : 0);
          }
        }
      }
    }
  }
}

/**
 * Four full panels of non-transposed B side by side (32 adjacent floats per k): each row's two cache
 * lines are read once, where a panel at a time would come back to them after kc rows, N floats apart
 * (rows 4 KiB-aliased in L1 when N is a multiple of 1024).
 */
function packB4(dst: usize, src: usize, step: usize, kc: i32): void {
  const ps = <usize>(NR * kc) << 2;
  for (let k = 0; k < kc; k++) {
    const d = dst + (<usize>k << 5);
    v128.store(d, v128.load(src)); v128.store(d, v128.load(src, 16), 16);
    v128.store(d + ps, v128.load(src, 32)); v128.store(d + ps, v128.load(src, 48), 16);
    v128.store(d + 2 * ps, v128.load(src, 64)); v128.store(d + 2 * ps, v128.load(src, 80), 16);
    v128.store(d + 3 * ps, v128.load(src, 96)); v128.store(d + 3 * ps, v128.load(src, 112), 16);
    src += step;
  }
}

/** Packs rows [p0, p0+kc) × columns [j0, j0+nc) of op(B) into 8-column panels: panel[k][8]. */
function packB(bp: usize, b: usize, transB: bool, N: i32, K: i32, j0: i32, nc: i32, p0: i32, kc: i32): void {
  for (let jr = 0; jr < nc; jr += NR) {
    const cols = imin(NR, nc - jr);
    const dst = bp + (<usize>(jr * kc) << 2);
    if (!transB) {
      // op(B)(k, j) = b[k·N + j]: eight adjacent floats per k.
      let src = b + ((<usize>p0 * <usize>N + <usize>(j0 + jr)) << 2);
      const step = <usize>N << 2;
      if (jr + 4 * NR <= nc) {
        packB4(dst, src, step, kc);
        jr += 3 * NR;
      } else if (cols == NR) {
        for (let k = 0; k < kc; k++) {
          const d = dst + (<usize>k << 5);
          v128.store(d, v128.load(src));
          v128.store(d, v128.load(src, 16), 16);
          src += step;
        }
      } else {
        for (let k = 0; k < kc; k++) {
          const d = dst + (<usize>k << 5);
          for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), c < cols ? load<f32>(src + (<usize>c << 2)) : 0);
          src += step;
        }
      }
    } else if (cols == NR) {
      // op(B)(k, j) = b[j·K + k]: columns of op(B) are contiguous rows of b; four k at a time from
      // each of the eight rows, transposed (two 4×4 transposes) into four panel rows.
      const s0 = b + ((<usize>(j0 + jr) * <usize>K + <usize>p0) << 2), rs = <usize>K << 2;
      let k = 0;
      for (; k + 4 <= kc; k += 4) {
        const o = <usize>k << 2;
        const d = dst + (<usize>k << 5);
        for (let half = 0; half < 2; half++) {
          const h = s0 + <usize>(half * 4) * rs + o;
          const r0 = v128.load(h), r1 = v128.load(h + rs), r2 = v128.load(h + 2 * rs), r3 = v128.load(h + 3 * rs);
          const t0 = v128.shuffle<f32>(r0, r1, 0, 4, 1, 5);
          const t1 = v128.shuffle<f32>(r2, r3, 0, 4, 1, 5);
          const t2 = v128.shuffle<f32>(r0, r1, 2, 6, 3, 7);
          const t3 = v128.shuffle<f32>(r2, r3, 2, 6, 3, 7);
          const dh = d + (<usize>half << 4);
          v128.store(dh, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
          v128.store(dh, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 32);
          v128.store(dh, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 64);
          v128.store(dh, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 96);
        }
      }
      for (; k < kc; k++) {
        const d = dst + (<usize>k << 5), o = <usize>k << 2;
        for (let c = 0; c < NR; c++) store<f32>(d + (<usize>c << 2), load<f32>(s0 + <usize>c * rs + o));
      }
    } else {
      // op(B)(k, j) = b[j·K + k], fewer than eight columns left.
      for (let c = 0; c < NR; c++) {
        const d = dst + (<usize>c << 2);
        if (c < cols) {
          const src = b + ((<usize>(j0 + jr + c) * <usize>K + <usize>p0) << 2);
          for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 5), load<f32>(src + (<usize>k << 2)));
        } else {
          for (let k = 0; k < kc; k++) store<f32>(d + (<usize>k << 5), 0);
        }
      }
    }
  }
}

/** One output row of a full tile: x (+ C) (+ bias), eight floats. */
@inline export function storeRow(c: usize, x0: v128, x1: v128, mode: i32, bias: usize): void {
  if (mode & STORE_ACC) {
    x0 = f32x4.add(v128.load(c), x0);
    x1 = f32x4.add(v128.load(c, 16), x1);
  }
  if (mode & STORE_BIAS) {
    x0 = f32x4.add(x0, v128.load(bias));
    x1 = f32x4.add(x1, v128.load(bias, 16));
  }
  v128.store(c, x0);
  v128.store(c, x1, 16);
  if (mode & STORE_RELU) {
    v128.store(c + reluDelta, relu4(x0));
    v128.store(c + reluDelta, relu4(x1), 16);
  }
}

/**
 * Stores the first `mr` rows and `nr` columns of a spilled tile tmp[4][8] at c (row stride ldc
 * bytes) with the same arithmetic as storeRow.
 */
export function storeEdge(tmp: usize, c: usize, ldc: usize, mr: i32, nr: i32, mode: i32, bias: usize): void {
  for (let r = 0; r < mr; r++) {
    const row = c + <usize>r * ldc;
    for (let j = 0; j < nr; j++) {
      let v = load<f32>(tmp + (<usize>(r * NR + j) << 2));
      const cj = row + (<usize>j << 2);
      if (mode & STORE_ACC) v = load<f32>(cj) + v;
      if (mode & STORE_BIAS) v = v + load<f32>(bias + (<usize>j << 2));
      store<f32>(cj, v);
      if (mode & STORE_RELU) store<f32>(cj + reluDelta, relu1(v));
    }
  }
}

/** The 4×8 register tile (tile.ts) over packed panels a[k][4], b[k][8], stored by `mode` (timed by probe.ts). */
export function tile(ap: usize, bp: usize, kc: i32, c: usize, ldc: usize, mr: i32, nr: i32, mode: i32, bias: usize,
  tmp: usize): void {
  tilePanel(ap, bp, kc, false);
  if (mr == MR && nr == NR) {
    storeRow(c, acc00, acc01, mode, bias);
    storeRow(c + ldc, acc10, acc11, mode, bias);
    storeRow(c + 2 * ldc, acc20, acc21, mode, bias);
    storeRow(c + 3 * ldc, acc30, acc31, mode, bias);
  } else {
    tileSpill(tmp);
    storeEdge(tmp, c, ldc, mr, nr, mode, bias);
  }
}

/** C[m0:m1, n0:n1] of the product, with one thread's scratch. */
function gemmRegion(a: usize, b: usize, c: usize, M: i32, N: i32, K: i32, flags: i32, bias: usize, relu: bool,
  m0: i32, m1: i32, n0: i32, n1: i32, scratch: usize): void {
  const transA = (flags & TRANS_A) != 0, transB = (flags & TRANS_B) != 0, acc = (flags & ACCUMULATE) != 0;
  const ldc = <usize>N << 2;
  if (K == 0) {
    for (let i = m0; i < m1; i++) {
      for (let j = n0; j < n1; j++) {
        const cij = c + <usize>i * ldc + (<usize>j << 2);
        let v: f32 = acc ? load<f32>(cij) : 0;
        if (bias) v = v + load<f32>(bias + (<usize>j << 2));
        store<f32>(cij, v);
        if (relu) store<f32>(cij + reluDelta, relu1(v));
      }
    }
    return;
  }
  const ap = scratch, bp = scratch + (<usize>(MC * KC) << 2), tmp = bp + (<usize>(KC * NC) << 2);
  // Rows that fit one A block (a dense layer's batch): A is packed once per K block and B a group of
  // panels at a time, whose tiles run while it is still in L1 (the order of the tiles changes no sum).
  // Else GotoBLAS's order: B in blocks of NC columns × KC, A repacked per block.
  const oneA = m1 - m0 <= MC, outer = oneA ? n1 - n0 : NC, group = oneA ? NR_GROUP : NC;
  for (let j0 = n0; j0 < n1; j0 += outer) {
    const j1 = imin(n1, j0 + outer);
    for (let pc = 0; pc < K; pc += KC) {
      const kc = imin(KC, K - pc);
      const last = pc + kc >= K;
      const mode = (pc > 0 || acc ? STORE_ACC : 0) | (last && bias != 0 ? STORE_BIAS : 0) | (last && relu ? STORE_RELU : 0);
      if (oneA) packA(ap, a, transA, M, K, m0, m1 - m0, pc, kc);
      for (let jc = j0; jc < j1; jc += group) {
        const nc = imin(group, j1 - jc);
        packB(bp, b, transB, N, K, jc, nc, pc, kc);
        for (let ic = m0; ic < m1; ic += MC) {
          const mc = imin(MC, m1 - ic);
          if (!oneA) packA(ap, a, transA, M, K, ic, mc, pc, kc);
          for (let jr = 0; jr < nc; jr += NR) {
            const nr = imin(NR, nc - jr);
            const bpanel = bp + (<usize>(jr * kc) << 2);
            const crow = c + (<usize>(jc + jr) << 2);
            const brow = bias + (<usize>(jc + jr) << 2);
            for (let ir = 0; ir < mc; ir += MR) {
              tile(ap + (<usize>(ir * kc) << 2), bpanel, kc, crow + <usize>(ic + ir) * ldc, ldc,
                imin(MR, mc - ir), nr, mode, brow, tmp);
            }
          }
        }
      }
    }
  }
}

/**
 * Parameter words: Gemm in src/engine/kernel-params.ts (bias: added to column j after the sum;
 * relu: also writes ReLU(C) there).
 * Shares split C by whole 4-row or 8-column panels. Each share packs all of the operand it does not
 * split, so the split goes along N (each share repacking A, M·K values) when A is the smaller
 * operand and there are enough column panels, else along M.
 */
export function gemm(params: usize, part: i32, parts: i32): void {
  const M = pi(params, Gemm.M), N = pi(params, Gemm.N), K = pi(params, Gemm.K);
  let m0 = 0, m1 = M, n0 = 0, n1 = N;
  const mUnits = (M + MR - 1) / MR, nUnits = (N + NR - 1) / NR;
  const splitN = nUnits >= parts && (M <= N || mUnits < parts);
  if (!splitN) {
    m0 = imin(M, shareStart(mUnits, part, parts) * MR);
    m1 = imin(M, shareStart(mUnits, part + 1, parts) * MR);
  } else {
    n0 = imin(N, shareStart(nUnits, part, parts) * NR);
    n1 = imin(N, shareStart(nUnits, part + 1, parts) * NR);
  }
  if (m0 >= m1 || n0 >= n1) return;
  const c = pp(params, Gemm.C), relu = pp(params, Gemm.Relu);
  if (relu != 0) setReluOutput(relu, c);
  gemmRegion(pp(params, Gemm.A), pp(params, Gemm.B), c, M, N, K, pi(params, Gemm.Flags), pp(params, Gemm.Bias), relu != 0,
    m0, m1, n0, n1, pp(params, Gemm.Scratch) + <usize>thread * pp(params, Gemm.ScratchPer));
}
