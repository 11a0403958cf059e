/**
 * Convolution paths for inputs with few channels (C ≤ 4, a network's first layer): forward and
 * backward-filter on a zero-padded planar copy of each image. See conv.ts for the design.
 */
import { imax, imin, pi, pp, relu1, relu4, reluDelta, setReluOutput, shareStart, thread } from './common';
import { acc00, acc01, acc10, acc11, acc20, acc21, acc30, acc31, tileGather, tilePanelGatherB, tileRowRunsStrided } from './tile';
import { Conv } from '../src/engine/kernel-params';

/**
 * Output channels of the direct forward's group that starts at channel o: 4, or all 5 or 6 that
 * are left (one tile of 6 lanes instead of a tile of 4 and one of 2).
 */
@inline function directGroup(O: i32, o: i32): i32 {
  const left = O - o;
  return left == 5 || left == 6 ? left : imin(4, left);
}

/**
 * Packs w[O, K = T·C] into wd: per channel group at o, [K][4] (or [K][6] for a group of 5 or 6),
 * from float o·K; [K][8] per group of 8 when O is a multiple of 8 (channelTile).
 */
export function convPackDirect(params: usize): void {
  const w = pp(params, Conv.Weights), dst = pp(params, Conv.Packed);
  const C = pi(params, Conv.C), O = pi(params, Conv.O), K = pi(params, Conv.KH) * pi(params, Conv.KW) * C;
  const by8 = (O & 7) == 0;
  for (let og = 0; og < O; og += by8 ? 8 : 4) {
    const lanes = by8 ? 8 : directGroup(O, og) > 4 ? 6 : 4;
    let d = dst + (<usize>(og * K) << 2);
    for (let k = 0; k < K; k++) {
      for (let j = 0; j < lanes; j++) {
        const o = og + j;
        store<f32>(d, o < O ? load<f32>(w + ((<usize>o * <usize>K + <usize>k) << 2)) : 0);
        d += 4;
      }
    }
    if (lanes == 6) break;
  }
}

/** Bytes of the direct path's packed weights. */
export function convDirectPackedBytes(C: i32, O: i32, KH: i32, KW: i32): i32 {
  return ((O + 3) & ~3) * KH * KW * C * 4;
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
  const C = pi(params, Conv.C), OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH);
  const KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), DH = pi(params, Conv.DH), DW = pi(params, Conv.DW);
  return C * paddedRows(OH, SH, KH, DH) * directWidth(OW, KW, DW) * 4 + KH * KW * C * 4 + 64;
}

/**
 * 8 adjacent output pixels × 4 output channels: for each of the K taps, the pixels' inputs are
 * one run of 8 values of the padded copy (stride 1) and the channels' weights four splats.
 * Stores the first np pixels' first nv channels (+ bias).
 */
function directTile(xa: usize, offs: usize, K: i32, wp: usize, yo: usize, ldy: usize, np: i32, nv: i32,
  bias: usize): void {
  // The 4×8 tile, rows = the 4 channels (panel wp), lanes = the 8 pixels of tap k at xa + offs_k.
  tilePanelGatherB(wp, offs, 4, xa, K);
  const a0 = acc00, b0 = acc01, a1 = acc10, b1 = acc11, a2 = acc20, b2 = acc21, a3 = acc30, b3 = acc31;
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

/** a + x·w, lane by lane (one rounding for the product, one for the sum). */
@inline function madd(a: v128, x: v128, w: v128): v128 {
  return f32x4.add(a, f32x4.mul(x, w));
}

/**
 * directTile for a group of 5 or 6 channels (weights [K][6]): 8 adjacent pixels (4 unless `wide`)
 * × 6 channels, twelve accumulators; the same sums in the same order as directTile's.
 */
@inline function directTile6Run(wide: bool, xa: usize, offs: usize, K: i32, wp: usize, yo: usize, ldy: usize,
  np: i32, nv: i32, bias: usize): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
  let b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0;
  const oEnd = offs + (<usize>K << 2);
  while (offs < oEnd) {
    const xs = xa + <usize>load<u32>(offs);
    const x0 = v128.load(xs), x1 = wide ? v128.load(xs, 16) : x0;
    let w = v128.load32_splat(wp);
    a0 = madd(a0, x0, w); if (wide) b0 = madd(b0, x1, w);
    w = v128.load32_splat(wp, 4);
    a1 = madd(a1, x0, w); if (wide) b1 = madd(b1, x1, w);
    w = v128.load32_splat(wp, 8);
    a2 = madd(a2, x0, w); if (wide) b2 = madd(b2, x1, w);
    w = v128.load32_splat(wp, 12);
    a3 = madd(a3, x0, w); if (wide) b3 = madd(b3, x1, w);
    w = v128.load32_splat(wp, 16);
    a4 = madd(a4, x0, w); if (wide) b4 = madd(b4, x1, w);
    w = v128.load32_splat(wp, 20);
    a5 = madd(a5, x0, w); if (wide) b5 = madd(b5, x1, w);
    offs += 4;
    wp += 24;
  }
  if (bias != 0) {
    // The bias of channel j added to its sums: directStore's addition, before the transpose.
    let v = v128.load32_splat(bias);
    a0 = f32x4.add(a0, v); if (wide) b0 = f32x4.add(b0, v);
    v = v128.load32_splat(bias, 4);
    a1 = f32x4.add(a1, v); if (wide) b1 = f32x4.add(b1, v);
    v = v128.load32_splat(bias, 8);
    a2 = f32x4.add(a2, v); if (wide) b2 = f32x4.add(b2, v);
    v = v128.load32_splat(bias, 12);
    a3 = f32x4.add(a3, v); if (wide) b3 = f32x4.add(b3, v);
    v = v128.load32_splat(bias, 16);
    a4 = f32x4.add(a4, v); if (wide) b4 = f32x4.add(b4, v);
    if (nv == 6) {
      v = v128.load32_splat(bias, 20);
      a5 = f32x4.add(a5, v); if (wide) b5 = f32x4.add(b5, v);
    }
  }
  store6(yo, ldy, imin(np, 4), nv, a0, a1, a2, a3, a4, a5);
  if (wide && np > 4) store6(yo + 4 * ldy, ldy, np - 4, nv, b0, b1, b2, b3, b4, b5);
}

function directTile6(xa: usize, offs: usize, K: i32, wp: usize, yo: usize, ldy: usize, np: i32, nv: i32,
  bias: usize): void {
  directTile6Run(true, xa, offs, K, wp, yo, ldy, np, nv, bias);
}

function directTile6Narrow(xa: usize, offs: usize, K: i32, wp: usize, yo: usize, ldy: usize, np: i32, nv: i32,
  bias: usize): void {
  directTile6Run(false, xa, offs, K, wp, yo, ldy, np, nv, bias);
}

/** Pixels r < np (lane r of c_j = channel j) at yo + r·ldy: channels 0-3 as one vector, 4-5 as a pair. */
@inline function store6(yo: usize, ldy: usize, np: i32, nv: i32, c0: v128, c1: v128, c2: v128, c3: v128, c4: v128,
  c5: v128): void {
  const t0 = v128.shuffle<f32>(c0, c1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c2, c3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(c0, c1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(c2, c3, 2, 6, 3, 7);
  const lo = v128.shuffle<f32>(c4, c5, 0, 4, 1, 5), hi = v128.shuffle<f32>(c4, c5, 2, 6, 3, 7);
  directStore(yo, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5), 4, 0);
  directStore2(yo + 16, lo, nv - 4, 0);
  if (np > 1) {
    directStore(yo + ldy, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7), 4, 0);
    directStore2(yo + ldy + 16, lo, nv - 4, 1);
  }
  if (np > 2) {
    directStore(yo + 2 * ldy, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5), 4, 0);
    directStore2(yo + 2 * ldy + 16, hi, nv - 4, 0);
  }
  if (np > 3) {
    directStore(yo + 3 * ldy, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7), 4, 0);
    directStore2(yo + 3 * ldy + 16, hi, nv - 4, 1);
  }
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
  store2(y, v, nv, h);
  if (reluDelta != 0) store2(y + reluDelta, relu4(v), nv, h);
}

@inline function store2(y: usize, v: v128, nv: i32, h: i32): void {
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
    const r = bias != 0 ? f32x4.add(v, v128.load(bias)) : v;
    v128.store(y, r);
    if (reluDelta != 0) v128.store(y + reluDelta, relu4(r));
    return;
  }
  const r0 = bias != 0 ? f32x4.extract_lane(v, 0) + load<f32>(bias) : f32x4.extract_lane(v, 0);
  store1(y, r0, 0);
  if (nv > 1) store1(y, bias != 0 ? f32x4.extract_lane(v, 1) + load<f32>(bias, 4) : f32x4.extract_lane(v, 1), 4);
  if (nv > 2) store1(y, bias != 0 ? f32x4.extract_lane(v, 2) + load<f32>(bias, 8) : f32x4.extract_lane(v, 2), 8);
}

/** One value at y + offset, and its ReLU when fused. */
@inline function store1(y: usize, v: f32, offset: usize): void {
  store<f32>(y + offset, v);
  if (reluDelta != 0) store<f32>(y + offset + reluDelta, relu1(v));
}

/**
 * 4 adjacent output pixels × 8 channels, for O a multiple of 8: per tap, the pixels' inputs are four
 * splats (the padded copy's columns are the pixels) and the channels' weights two vectors of the
 * [K][8] packing. Channel lanes need no transpose to store and a row's last pixels waste at most
 * 3 of 4 lanes; the same sums in the same order as directTile's. Stores the first np pixels (+ bias).
 */
function channelTile(xa: usize, offs: usize, K: i32, wp: usize, yo: usize, ldy: usize, np: i32, bias: usize): void {
  // The 4×8 tile, its four rows gathered: pixel r's tap at *offs_k + xa + 4r.
  tileGather(offs, 4, xa, wp, K);
  storePixel8(yo, acc00, acc01, bias);
  if (np > 1) storePixel8(yo + ldy, acc10, acc11, bias);
  if (np > 2) storePixel8(yo + 2 * ldy, acc20, acc21, bias);
  if (np > 3) storePixel8(yo + 3 * ldy, acc30, acc31, bias);
}

/** Channels 0-3 (a) and 4-7 (b) of one pixel at y (+ bias), and their ReLU when fused. */
@inline function storePixel8(y: usize, a: v128, b: v128, bias: usize): void {
  directStore(y, a, 4, bias);
  directStore(y + 16, b, 4, bias != 0 ? bias + 16 : 0);
}

/** One padded image of conv2dForwardDirect by channelTile: per output row, 4 pixels × each group of 8 channels. */
function forwardByChannels(xp: usize, y: usize, n: i32, OH: i32, OW: i32, O: i32, SH: i32, Wp: i32, offs: usize, K: i32,
  wd: usize, bias: usize, ldy: usize): void {
  for (let oh = 0; oh < OH; oh++) {
    const xrow = xp + (<usize>(oh * SH * Wp) << 2);
    const yrow = y + <usize>((n * OH + oh) * OW) * ldy;
    for (let ow = 0; ow < OW; ow += 4) {
      const xa = xrow + (<usize>ow << 2), ya = yrow + <usize>ow * ldy, np = imin(4, OW - ow);
      for (let o = 0; o < O; o += 8) {
        channelTile(xa, offs, K, wd + (<usize>(o * K) << 2), ya + (<usize>o << 2), ldy, np,
          bias != 0 ? bias + (<usize>o << 2) : 0);
      }
    }
  }
}

/**
 * Forward for C ≤ 4 and stride 1 in width: weights packed by convPackDirect into param 1, threads
 * split the images; each image is padded into the thread's scratch, then tiled 8 pixels × 4
 * channels.
 */
export function conv2dForwardDirect(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Conv.In), wd = pp(params, Conv.Packed), bias = pp(params, Conv.Bias), y = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  const reluOut = pp(params, Conv.Relu);
  setReluOutput(reluOut != 0 ? reluOut : y, y);
  const K = KH * KW * C;
  const Hp = paddedRows(OH, SH, KH, DH), Wp = directWidth(OW, KW, DW);
  const xp = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
  const offs = xp + (<usize>(C * Hp * Wp) << 2);
  tapOffsets(offs, KH, KW, C, DH, DW, Hp, Wp);
  const ldy = <usize>O << 2;
  for (let n = n0; n < n1; n++) {
    padImage(xp, x, n, H, W, C, Hp, Wp, PH, PW);
    if ((O & 7) == 0) {
      forwardByChannels(xp, y, n, OH, OW, O, SH, Wp, offs, K, wd, bias, ldy);
      continue;
    }
    // All channel groups of 8 pixels in turn: their output rows are finished while in L1.
    for (let oh = 0; oh < OH; oh++) {
      const xrow = xp + (<usize>(oh * SH * Wp) << 2);
      const yrow = y + <usize>((n * OH + oh) * OW) * ldy;
      for (let ow = 0; ow < OW; ow += 8) {
        const xa = xrow + (<usize>ow << 2), ya = yrow + <usize>ow * ldy, np = imin(8, OW - ow);
        for (let o = 0; o < O; o += 4) {
          const wg = wd + (<usize>(o * K) << 2);
          const nv = directGroup(O, o);
          const bo = bias != 0 ? bias + (<usize>o << 2) : 0, yo = ya + (<usize>o << 2);
          if (nv > 4) {
            if (np > 4) directTile6(xa, offs, K, wg, yo, ldy, np, nv, bo);
            else directTile6Narrow(xa, offs, K, wg, yo, ldy, np, nv, bo);
            break;
          }
          if (nv <= 2) directTile2(xa, offs, K, wg, yo, ldy, np, nv, bo);
          else directTile(xa, offs, K, wg, yo, ldy, np, nv, bo);
        }
      }
    }
  }
}

/** Per-thread scratch of conv2dFilterDirect (padded planes, tap offsets). */
export function convFilterDirectScratchBytes(params: usize): i32 {
  const C = pi(params, Conv.C), OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH);
  const KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), DH = pi(params, Conv.DH), DW = pi(params, Conv.DW);
  return C * paddedRows(OH, SH, KH, DH) * paddedRows(OW, SW, KW, DW) * 4 + KH * KW * C * 4 + 64;
}

/** Bytes of conv2dFilterDirect's per-image partial sums [N][K][⌈O/8⌉·8]. */
export function convFilterPartialBytes(N: i32, C: i32, O: i32, KH: i32, KW: i32): i32 {
  return N * KH * KW * C * ((O + 7) & ~7) * 4;
}

/**
 * Σ over one image's pixels of x[tap k_i] · gy[o..o+8] for 4 taps (byte offsets o0..o3 in the
 * padded planes): the 4×8 tile (rows the taps, b gy's rows ldg apart), stored to out + i·ldo.
 */
function filterDirect4(xp: usize, gy: usize, ldg: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize,
  o0: usize, o1: usize, o2: usize, o3: usize, out: usize, ldo: usize): void {
  // Rows: the 4 taps' pixels along an output row (colStep apart), the next output row rowStep on.
  tileRowRunsStrided(xp + o0, xp + o1, xp + o2, xp + o3, colStep, gy, ldg, OW, OH, rowStep - <usize>OW * colStep);
  v128.store(out, acc00); v128.store(out, acc01, 16);
  out += ldo;
  v128.store(out, acc10); v128.store(out, acc11, 16);
  out += ldo;
  v128.store(out, acc20); v128.store(out, acc21, 16);
  out += ldo;
  v128.store(out, acc30); v128.store(out, acc31, 16);
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

/** Lanes 0-3 of v at at, at + ld, at + 2·ld, at + 3·ld. */
@inline function storeLanes(at: usize, ld: usize, v: v128): void {
  store<f32>(at, f32x4.extract_lane(v, 0));
  store<f32>(at + ld, f32x4.extract_lane(v, 1));
  store<f32>(at + 2 * ld, f32x4.extract_lane(v, 2));
  store<f32>(at + 3 * ld, f32x4.extract_lane(v, 3));
}

/**
 * For one input channel, DW = 1: Σ over one image's pixels of x[window row kh0 + r, columns
 * 0-3] · gy[o + j] for rows r < 4 and channels j < 2, the lanes four taps of a window row (no lane
 * wasted whatever O is). xa: the first pixel's window row kh0; rows rowBytes apart. Lane l of
 * sum (j, r) is tap k = (kh0 + r)·KW + l, stored at out[k][o + j] (taps ldo apart) where o + j < O.
 * Each lane sums its pixels in order from zero, as filterDirect4 does.
 */
function filterRows4(xa: usize, gy: usize, ldg: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize,
  rowBytes: usize, KW: i32, out: usize, ldo: usize, two: bool): void {
  let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
  let g = gy;
  const r2 = rowBytes * 2, r3 = rowBytes * 3;
  for (let oh = 0; oh < OH; oh++) {
    let x = xa + <usize>oh * rowStep;
    const gEnd = g + <usize>OW * ldg;
    while (g < gEnd) {
      const u = v128.load32_splat(g), v = v128.load32_splat(g, 4);
      const x0 = v128.load(x), x1 = v128.load(x + rowBytes), x2 = v128.load(x + r2), x3 = v128.load(x + r3);
      a0 = f32x4.add(a0, f32x4.mul(x0, u));
      b0 = f32x4.add(b0, f32x4.mul(x0, v));
      a1 = f32x4.add(a1, f32x4.mul(x1, u));
      b1 = f32x4.add(b1, f32x4.mul(x1, v));
      a2 = f32x4.add(a2, f32x4.mul(x2, u));
      b2 = f32x4.add(b2, f32x4.mul(x2, v));
      a3 = f32x4.add(a3, f32x4.mul(x3, u));
      b3 = f32x4.add(b3, f32x4.mul(x3, v));
      x += colStep;
      g += ldg;
    }
  }
  storeLanes(out, ldo, a0);
  storeLanes(out + <usize>KW * ldo, ldo, a1);
  storeLanes(out + <usize>(2 * KW) * ldo, ldo, a2);
  storeLanes(out + <usize>(3 * KW) * ldo, ldo, a3);
  if (!two) return;
  out += 4;
  storeLanes(out, ldo, b0);
  storeLanes(out + <usize>KW * ldo, ldo, b1);
  storeLanes(out + <usize>(2 * KW) * ldo, ldo, b2);
  storeLanes(out + <usize>(3 * KW) * ldo, ldo, b3);
}

/**
 * filterRows4 for one window row and up to six channels (nv): lanes taps 0-3 of the row, six
 * accumulators, sum j stored at out[k][j] (taps ldo apart) for j < nv.
 */
function filterRow6(xa: usize, gy: usize, ldg: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize,
  out: usize, ldo: usize, nv: i32): void {
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0;
  let g = gy;
  for (let oh = 0; oh < OH; oh++) {
    let x = xa + <usize>oh * rowStep;
    const gEnd = g + <usize>OW * ldg;
    while (g < gEnd) {
      const v = v128.load(x);
      c0 = f32x4.add(c0, f32x4.mul(v, v128.load32_splat(g)));
      c1 = f32x4.add(c1, f32x4.mul(v, v128.load32_splat(g, 4)));
      c2 = f32x4.add(c2, f32x4.mul(v, v128.load32_splat(g, 8)));
      c3 = f32x4.add(c3, f32x4.mul(v, v128.load32_splat(g, 12)));
      c4 = f32x4.add(c4, f32x4.mul(v, v128.load32_splat(g, 16)));
      c5 = f32x4.add(c5, f32x4.mul(v, v128.load32_splat(g, 20)));
      x += colStep;
      g += ldg;
    }
  }
  storeLanes(out, ldo, c0);
  if (nv > 1) storeLanes(out + 4, ldo, c1);
  if (nv > 2) storeLanes(out + 8, ldo, c2);
  if (nv > 3) storeLanes(out + 12, ldo, c3);
  if (nv > 4) storeLanes(out + 16, ldo, c4);
  if (nv > 5) storeLanes(out + 20, ldo, c5);
}

/**
 * One image of conv2dFilterDirect for one input channel and KW = 5 (DW = 1): window columns 0-3 as
 * vectors of taps (filterRows4 on four rows at a time, filterRow6 on the rest), column 4 as before
 * (filterDirect4 on its taps four at a time, filterDirect1 on the last tap when K mod 4 = 1). The
 * same sums in the same order as the channel-vector loops, without their lanes past O.
 */
function filterByRows(xp: usize, gy: usize, ldg: usize, OH: i32, OW: i32, rowStep: usize, colStep: usize,
  rowBytes: usize, KH: i32, O: i32, offs: usize, out: usize, ldo: usize): void {
  const KW = 5, K = KH * KW, O8 = (O + 7) & ~7;
  let kh = 0;
  for (; kh + 4 <= KH; kh += 4) {
    const xa = xp + <usize>kh * rowBytes, at = out + <usize>(kh * KW) * ldo;
    for (let o = 0; o < O; o += 2) {
      filterRows4(xa, gy + (<usize>o << 2), ldg, OH, OW, rowStep, colStep, rowBytes, KW, at + (<usize>o << 2), ldo,
        o + 1 < O);
    }
  }
  for (; kh < KH; kh++) {
    const xa = xp + <usize>kh * rowBytes, at = out + <usize>(kh * KW) * ldo;
    for (let o = 0; o < O; o += 6) {
      filterRow6(xa, gy + (<usize>o << 2), ldg, OH, OW, rowStep, colStep, at + (<usize>o << 2), ldo, imin(6, O - o));
    }
  }
  // Column 4: taps k = 5·kh + 4, five rows of out apart.
  const last = (K & 3) == 1 ? KH - 1 : KH;
  for (let ob = 0; ob < O8; ob += 8) {
    const g = gy + (<usize>ob << 2);
    for (let h = 0; h < last; h += 4) {
      const k = h * KW + 4, ok = offs + (<usize>k << 2), s = <usize>(KW << 2);
      filterDirect4(xp, g, ldg, OH, OW, rowStep, colStep, <usize>load<u32>(ok), <usize>load<u32>(ok + s),
        <usize>load<u32>(ok + 2 * s), <usize>load<u32>(ok + 3 * s), out + <usize>k * ldo + (<usize>ob << 2),
        <usize>KW * ldo);
    }
    if (last < KH) {
      filterDirect1(xp, g, ldg, OH, OW, rowStep, colStep, <usize>load<u32>(offs + (<usize>(K - 1) << 2)),
        out + <usize>(K - 1) * ldo + (<usize>ob << 2));
    }
  }
}

/**
 * Backward-filter for C ≤ 4: threads split the images; image n's Σ_pixels x[window] · gy goes to
 * partials[n][K][O8] (O8 = ⌈O/8⌉·8; lanes past O hold garbage that convFilterReduce ignores).
 */
export function conv2dFilterDirect(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Conv.In), gy = pp(params, Conv.Packed), partials = pp(params, Conv.Partials);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  if (n0 >= n1) return;
  const K = KH * KW * C, O8 = (O + 7) & ~7;
  const Hp = paddedRows(OH, SH, KH, DH), Wp = paddedRows(OW, SW, KW, DW);
  const xp = pp(params, Conv.Scratch) + <usize>thread * pp(params, Conv.ScratchPer);
  const offs = xp + (<usize>(C * Hp * Wp) << 2);
  tapOffsets(offs, KH, KW, C, DH, DW, Hp, Wp);
  const ldg = <usize>O << 2, ldo = <usize>O8 << 2;
  const rowStep = <usize>(SH * Wp) << 2, colStep = <usize>SW << 2;
  // One channel, 5 wide, O not a multiple of 8: vectors over taps instead of lanes past O (and
  // the column-4 tap groups stay whole fours: K mod 4 ≤ 1).
  const byRows = C == 1 && KW == 5 && DW == 1 && (K & 3) <= 1 && (O & 7) != 0;
  for (let n = n0; n < n1; n++) {
    padImage(xp, x, n, H, W, C, Hp, Wp, PH, PW);
    const gyN = gy + <usize>(n * OH * OW) * ldg;
    const out = partials + <usize>(n * K) * ldo;
    if (byRows) {
      filterByRows(xp, gyN, ldg, OH, OW, rowStep, colStep, <usize>(DH * Wp) << 2, KH, O, offs, out, ldo);
      continue;
    }
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
  const gw = pp(params, Conv.Out), partials = pp(params, Conv.Partials);
  const N = pi(params, Conv.N), C = pi(params, Conv.C), O = pi(params, Conv.O);
  const K = pi(params, Conv.KH) * pi(params, Conv.KW) * C;
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
