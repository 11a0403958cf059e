/**
 * The engine's one 4×8 register tile: acc[r][0..8] (+)= Σ_{k<n} a_r[k] · b[k][0..8] for rows
 * r = 0..3, b[k] two f32x4 (packed [k][8], or gathered), eight f32x4 accumulators. Every
 * GEMM-shaped kernel (gemm, convolution forward and backward, the first layer's direct forward and
 * its backward-filter by channel vectors, Winograd) runs this loop; each stores the result its own way.
 *
 * a comes in one of two layouts: a packed panel a[k][4] (the four rows interleaved, loaded with
 * immediate offsets from one pointer) or four rows of their own (four pointers), or gathered
 * through a table of pointers; b is packed, or gathered (step k's 8 values where a table says).
 * The helpers are @inline, so the layout flag is a constant and -O3 keeps only its loads: the
 * loop is the one each kernel had written out by hand.
 *
 * An inlined function cannot return eight values, so the accumulators are handed out through the
 * module globals acc00..acc31 (row r, lanes 0-3 and 4-7): the loop itself runs on locals, and
 * the globals are read and written once per run, outside it. They are per instance, so per thread.
 */

export let acc00: v128 = f32x4(0, 0, 0, 0);
export let acc01: v128 = f32x4(0, 0, 0, 0);
export let acc10: v128 = f32x4(0, 0, 0, 0);
export let acc11: v128 = f32x4(0, 0, 0, 0);
export let acc20: v128 = f32x4(0, 0, 0, 0);
export let acc21: v128 = f32x4(0, 0, 0, 0);
export let acc30: v128 = f32x4(0, 0, 0, 0);
export let acc31: v128 = f32x4(0, 0, 0, 0);

/** Layouts of a and b (compile-time constants of tileRun). */
const PANEL: i32 = 0, ROWS: i32 = 1, GATHER: i32 = 2, GATHER_PAIR: i32 = 3, GATHER_B: i32 = 4;

/**
 * The loop, by the layout of a: PANEL, row r at a0 + 4r, a0 stepping 16 bytes (a1..a3 unused);
 * ROWS, row r at a_r, each stepping 4 bytes; GATHER, step k's four values at *a1 + a0 + 4r, the
 * pointer a1 stepping a2 bytes (a table of pointers: one gathered panel row per step);
 * GATHER_PAIR, as GATHER for rows 0 and 1, rows 2 and 3 at *(a1 + a3) + a0 + 4(r - 2);
 * GATHER_B, a as PANEL and b gathered: step k's 8 values at b + *a1, the table pointer a1
 * stepping a2 bytes (b itself does not move). Elsewhere b is packed [k][8], stepping 32 bytes
 * (`bStep`, ROWS only: b[k] rows further apart; the rows of a step `aStep` bytes, 4 elsewhere). With
 * `carry` the sums continue from acc00..acc31, else from zero. ROWS: `runs` runs of n values
 * each, the rows skipping `skip` bytes between runs (b runs on), so a window of several rows is
 * one run of the tile (1 and 0 elsewhere).
 * With `into` (PANEL; a compile-time constant; n ≥ 1), each of the `runs` runs (a skipping
 * `skip` bytes between them, b running on) is a sum of its own: it starts from its first product
 * (not 0 + product: the same number but for the sign of a zero product), keeps the lanes where
 * m0/m1 are all ones (if `masked`), and is stored to rows r of `out` (`stride` bytes apart) if it
 * is the first, else added to them (out + sum); the accumulators stay in locals (acc00..acc31
 * are not written).
 */
@inline function tileRun(form: i32, a0: usize, a1: usize, a2: usize, a3: usize, b: usize, n: i32, carry: bool,
  runs: i32, skip: usize, into: bool = false, out: usize = 0, stride: usize = 0, masked: bool = false,
  m0: v128 = i32x4.splat(-1), m1: v128 = i32x4.splat(-1), aStep: usize = 4, bStep: usize = 32): void {
  let c00 = f32x4.splat(0), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  if (carry) {
    c00 = acc00; c01 = acc01; c10 = acc10; c11 = acc11; c20 = acc20; c21 = acc21; c30 = acc30; c31 = acc31;
  }
  // For runs = 1 the outer loop folds away at -O3 (no branch back): the code of the single loop.
  let run = 0;
  while (true) {
    const aEnd = form == ROWS ? a0 + <usize>n * aStep : a0 + (<usize>n << (form == PANEL ? 4 : 2));
    const bEnd = b + (<usize>n << 5);
    const tEnd: usize = form == GATHER_B ? a1 + <usize>n * a2 : 0;
    if (into) {
      // Step 0 is its product alone: one add fewer per lane and run.
      const b0 = v128.load(b), b1 = v128.load(b, 16);
      let x = v128.load32_splat(a0);
      c00 = f32x4.mul(x, b0); c01 = f32x4.mul(x, b1);
      x = v128.load32_splat(a0, 4);
      c10 = f32x4.mul(x, b0); c11 = f32x4.mul(x, b1);
      x = v128.load32_splat(a0, 8);
      c20 = f32x4.mul(x, b0); c21 = f32x4.mul(x, b1);
      x = v128.load32_splat(a0, 12);
      c30 = f32x4.mul(x, b0); c31 = f32x4.mul(x, b1);
      a0 += 16; b += 32;
    }
    while (form == GATHER || form == GATHER_PAIR ? b < bEnd : form == GATHER_B ? a1 < tEnd : a0 < aEnd) {
      let b0: v128, b1: v128;
      if (form == GATHER_B) {
        const bk = b + <usize>load<u32>(a1);
        b0 = v128.load(bk); b1 = v128.load(bk, 16);
      } else {
        b0 = v128.load(b); b1 = v128.load(b, 16);
      }
      const gather = form == GATHER || form == GATHER_PAIR;
      const ag = gather ? <usize>load<u32>(a1) + a0 : a0;
      const ah = form == GATHER_PAIR ? <usize>load<u32>(a1 + a3) + a0 : ag;
      let x = v128.load32_splat(ag);
      c00 = f32x4.add(c00, f32x4.mul(x, b0));
      c01 = f32x4.add(c01, f32x4.mul(x, b1));
      x = form == ROWS ? v128.load32_splat(a1) : v128.load32_splat(ag, 4);
      c10 = f32x4.add(c10, f32x4.mul(x, b0));
      c11 = f32x4.add(c11, f32x4.mul(x, b1));
      x = form == ROWS ? v128.load32_splat(a2) : form == GATHER_PAIR ? v128.load32_splat(ah) : v128.load32_splat(ag, 8);
      c20 = f32x4.add(c20, f32x4.mul(x, b0));
      c21 = f32x4.add(c21, f32x4.mul(x, b1));
      x = form == ROWS ? v128.load32_splat(a3) : form == GATHER_PAIR ? v128.load32_splat(ah, 4) : v128.load32_splat(ag, 12);
      c30 = f32x4.add(c30, f32x4.mul(x, b0));
      c31 = f32x4.add(c31, f32x4.mul(x, b1));
      if (form == PANEL) {
        a0 += 16;
      } else if (form == ROWS) {
        a0 += aStep; a1 += aStep; a2 += aStep; a3 += aStep;
      } else if (form == GATHER_B) {
        a0 += 16; a1 += a2;
      } else {
        a1 += a2;
      }
      if (form != GATHER_B) b += bStep;
    }
    if (into) {
      if (masked) {
        c00 = v128.and(c00, m0); c01 = v128.and(c01, m1); c10 = v128.and(c10, m0); c11 = v128.and(c11, m1);
        c20 = v128.and(c20, m0); c21 = v128.and(c21, m1); c30 = v128.and(c30, m0); c31 = v128.and(c31, m1);
      }
      const o1 = out + stride, o2 = out + 2 * stride, o3 = out + 3 * stride;
      if (run > 0) {
        c00 = f32x4.add(v128.load(out), c00); c01 = f32x4.add(v128.load(out, 16), c01);
        c10 = f32x4.add(v128.load(o1), c10); c11 = f32x4.add(v128.load(o1, 16), c11);
        c20 = f32x4.add(v128.load(o2), c20); c21 = f32x4.add(v128.load(o2, 16), c21);
        c30 = f32x4.add(v128.load(o3), c30); c31 = f32x4.add(v128.load(o3, 16), c31);
      }
      v128.store(out, c00); v128.store(out, c01, 16); v128.store(o1, c10); v128.store(o1, c11, 16);
      v128.store(o2, c20); v128.store(o2, c21, 16); v128.store(o3, c30); v128.store(o3, c31, 16);
    }
    if (runs <= 1 || ++run == runs) break;
    a0 += skip; a1 += skip; a2 += skip; a3 += skip;
  }
  if (!into) {
    acc00 = c00; acc01 = c01; acc10 = c10; acc11 = c11; acc20 = c20; acc21 = c21; acc30 = c30; acc31 = c31;
  }
}

/** The tile over a packed panel a[k][4], k < n. */
@inline export function tilePanel(a: usize, b: usize, n: i32, carry: bool): void {
  tileRun(PANEL, a, 0, 0, 0, b, n, carry, 1, 0);
}

/**
 * `runs` runs of the tile over a packed panel, each of n ≥ 1 steps and a sum of its own (from its
 * first product, so a sum of -0 products is -0, where 0 + ... would give +0), b running on from
 * run to run and a skipping `skip` bytes between runs: out = run 0, then out + run 1, ...
 * (rows r of out `stride` bytes apart; lanes outside m0/m1 cleared first when `masked`). The
 * accumulators stay in registers: no spill to acc00..acc31 between a run and its addition.
 */
@inline export function tilePanelRunsInto(a: usize, b: usize, n: i32, runs: i32, skip: usize, out: usize, stride: usize,
  masked: bool, m0: v128, m1: v128): void {
  tileRun(PANEL, a, 0, 0, 0, b, n, false, runs, skip, true, out, stride, masked, m0, m1);
}

/** The tile over four rows of n floats each (row r at a_r). */
@inline export function tileRows(a0: usize, a1: usize, a2: usize, a3: usize, b: usize, n: i32, carry: bool): void {
  tileRun(ROWS, a0, a1, a2, a3, b, n, carry, 1, 0);
}

/**
 * tileRows over `runs` runs of n values: row r's run i at a_r + i·(4n + skip) bytes, b read on
 * throughout (one run of the tile, its sums in registers, for a window read where it lies).
 */
@inline export function tileRowRuns(a0: usize, a1: usize, a2: usize, a3: usize, b: usize, n: i32, runs: i32,
  skip: usize): void {
  tileRowRunsStrided(a0, a1, a2, a3, 4, b, 32, n, runs, skip);
}

/**
 * tileRowRuns with strides: row r's step k at a_r + k·aStep (+ the runs' skips), b[k] at b + k·bStep
 * (b running on across runs), e.g. four taps' pixels along an output row and the pixels' gradients
 * gy[p][o..o+8] (rows of O floats).
 */
@inline export function tileRowRunsStrided(a0: usize, a1: usize, a2: usize, a3: usize, aStep: usize, b: usize,
  bStep: usize, n: i32, runs: i32, skip: usize): void {
  const ones = i32x4.splat(-1);
  tileRun(ROWS, a0, a1, a2, a3, b, n, false, runs, skip, false, 0, 0, false, ones, ones, aStep, bStep);
}

/**
 * The tile over a panel gathered through a table of n pointers (step `tabStep` bytes apart):
 * step k's four values are at *tab_k + off (4 consecutive floats, e.g. a run of im2col columns
 * read where it lies in the input).
 */
@inline export function tileGather(tab: usize, tabStep: usize, off: usize, b: usize, n: i32): void {
  tileRun(GATHER, off, tab, tabStep, 0, b, n, false, 1, 0);
}

/**
 * tileGather whose rows 2 and 3 come from a second table entry `second` bytes on: step k's values
 * *tab_k + off + {0, 4} and *(tab_k + second) + off + {0, 4} (two runs of 2 columns, e.g. the last
 * two columns of two window rows).
 */
@inline export function tileGatherPair(tab: usize, tabStep: usize, second: usize, off: usize, b: usize, n: i32): void {
  tileRun(GATHER_PAIR, off, tab, tabStep, second, b, n, false, 1, 0);
}

/**
 * The tile over a packed panel a[k][4], k < n, and b gathered through a table of n byte offsets
 * (u32, `tabStep` bytes apart): step k's 8 values at b + *tab_k (e.g. 8 adjacent pixels of tap k
 * in a padded image, the rows output channels).
 */
@inline export function tilePanelGatherB(a: usize, tab: usize, tabStep: usize, b: usize, n: i32): void {
  tileRun(GATHER_B, a, tab, tabStep, 0, b, n, false, 1, 0);
}

/** Zero sums (a tile with no runs). */
@inline export function tileClear(): void {
  const z = f32x4.splat(0);
  acc00 = z; acc01 = z; acc10 = z; acc11 = z; acc20 = z; acc21 = z; acc30 = z; acc31 = z;
}

/** Sets the accumulators to rows r of out (stride bytes apart), for a run that continues them. */
@inline export function tileLoad(out: usize, stride: usize): void {
  acc00 = v128.load(out); acc01 = v128.load(out, 16);
  acc10 = v128.load(out + stride); acc11 = v128.load(out + stride, 16);
  acc20 = v128.load(out + 2 * stride); acc21 = v128.load(out + 2 * stride, 16);
  acc30 = v128.load(out + 3 * stride); acc31 = v128.load(out + 3 * stride, 16);
}

/** Stores the accumulators to rows r of out (stride bytes apart). */
@inline export function tileStore(out: usize, stride: usize): void {
  v128.store(out, acc00); v128.store(out, acc01, 16);
  v128.store(out + stride, acc10); v128.store(out + stride, acc11, 16);
  v128.store(out + 2 * stride, acc20); v128.store(out + 2 * stride, acc21, 16);
  v128.store(out + 3 * stride, acc30); v128.store(out + 3 * stride, acc31, 16);
}

/** Keeps the lanes of each row where m0 (lanes 0-3) and m1 (lanes 4-7) are all ones, zeroes the rest. */
@inline export function tileMask(m0: v128, m1: v128): void {
  acc00 = v128.and(acc00, m0); acc01 = v128.and(acc01, m1); acc10 = v128.and(acc10, m0); acc11 = v128.and(acc11, m1);
  acc20 = v128.and(acc20, m0); acc21 = v128.and(acc21, m1); acc30 = v128.and(acc30, m0); acc31 = v128.and(acc31, m1);
}

/** Spills the accumulators to tmp[4][8], for stores of part of the tile. */
@inline export function tileSpill(tmp: usize): void {
  v128.store(tmp, acc00); v128.store(tmp, acc01, 16);
  v128.store(tmp, acc10, 32); v128.store(tmp, acc11, 48);
  v128.store(tmp, acc20, 64); v128.store(tmp, acc21, 80);
  v128.store(tmp, acc30, 96); v128.store(tmp, acc31, 112);
}
