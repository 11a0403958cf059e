/**
 * Grouped and depthwise convolution (G > 1 channel groups) on channels-last data: output channel
 * o of group g = o / Og sees input channels [g·Cg, (g+1)·Cg) through weights w[o, kh, kw, 0..Cg)
 * (Cg = C/G, Og = O/G). Such layers do KH·KW·Cg multiply-adds per output, too few for the GEMM
 * tiles of conv.ts, so these kernels are direct loops; depthwise with one filter per channel
 * (Cg = Og = 1, the common case) runs 4 channels per SIMD vector.
 *
 * Each output element is one chain of float32 operations in a fixed order (taps kh, kw, then the
 * group's channels; backward-filter: pixels n, oh, ow), and threads split whole units (output
 * rows, input rows, output channels), so results are bitwise identical for any thread count.
 * Every product is computed (no zero is skipped), so 0·∞ and 0·NaN give NaN, as in the reference
 * and the other kernels; a tap in the padding is never computed.
 *
 * Parameter words: Conv (0-18) and Grouped in src/engine/kernel-params.ts.
 */
import { pi, pp, relu1, relu4, shareStart, thread } from './common';
import { Conv, Grouped } from '../src/engine/kernel-params';

@inline function f32at(base: usize, i: i32): f32 {
  return load<f32>(base + (<usize>i << 2));
}

/** Four weights of consecutive output channels o..o+3 at tap t (they lie T apart). */
@inline function weights4(w: usize, o: i32, T: i32, t: i32): v128 {
  let v = f32x4.splat(f32at(w, o * T + t));
  v = f32x4.replace_lane(v, 1, f32at(w, (o + 1) * T + t));
  v = f32x4.replace_lane(v, 2, f32at(w, (o + 2) * T + t));
  return f32x4.replace_lane(v, 3, f32at(w, (o + 3) * T + t));
}

/** y = conv(x, w) (+ b), and ReLU(y) when word 20 is set; threads split the output rows (n, oh). */
export function conv2dGroupedForward(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Conv.In), w = pp(params, Conv.Packed), bias = pp(params, Conv.Bias), y = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW), G = pi(params, Grouped.G), relu = pp(params, Grouped.Relu);
  const wp = pp(params, Grouped.Packed);
  const Cg = C / G, Og = O / G, T = KH * KW;
  const depthwise = Cg == 1 && Og == 1 && wp != 0, O4 = depthwise ? O & ~3 : 0;
  const rows = N * OH;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  for (let r = r0; r < r1; r++) {
    const n = r / OH, oh = r - n * OH;
    for (let ow = 0; ow < OW; ow++) {
      const yo = (r * OW + ow) * O;
      let o = 0;
      for (; o < O4; o += 4) {
        let s = f32x4.splat(0);
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PW + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const xv = v128.load(x + (<usize>(((n * H + ih) * W + iw) * C + o) << 2));
            s = f32x4.add(s, f32x4.mul(v128.load(wp + (<usize>((kh * KW + kw) * O + o) << 2)), xv));
          }
        }
        if (bias != 0) s = f32x4.add(s, v128.load(bias + (<usize>o << 2)));
        v128.store(y + (<usize>(yo + o) << 2), s);
        if (relu != 0) v128.store(relu + (<usize>(yo + o) << 2), relu4(s));
      }
      for (; o < O; o++) {
        const c0 = (o / Og) * Cg;
        let s: f32 = 0;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PW + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const xo = ((n * H + ih) * W + iw) * C + c0, wo = (o * T + kh * KW + kw) * Cg;
            for (let c = 0; c < Cg; c++) s += f32at(w, wo + c) * f32at(x, xo + c);
          }
        }
        if (bias != 0) s += f32at(bias, o);
        store<f32>(y + (<usize>(yo + o) << 2), s);
        if (relu != 0) store<f32>(relu + (<usize>(yo + o) << 2), relu1(s));
      }
    }
  }
}

/**
 * gx = gy·∂y/∂x, gathered: each input value sums, over the taps whose window covers it (kh, kw
 * in order) and the output channels of its group, gy · w, starting from 0 in gx itself (this
 * thread's rows only). Threads split the input rows (n, ih).
 */
export function conv2dGroupedBackwardData(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, Conv.In), w = pp(params, Conv.Packed), gx = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW), G = pi(params, Grouped.G), wp = pp(params, Grouped.Packed);
  const Cg = C / G, Og = O / G, T = KH * KW;
  const depthwise = Cg == 1 && Og == 1 && wp != 0, C4 = depthwise ? C & ~3 : 0;
  const rows = N * H;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  for (let r = r0; r < r1; r++) {
    const n = r / H, ih = r - n * H;
    for (let iw = 0; iw < W; iw++) {
      const xo = (r * W + iw) * C;
      const gxp = gx + (<usize>xo << 2);
      memory.fill(gxp, 0, <usize>C << 2);
      for (let kh = 0; kh < KH; kh++) {
        const nh = ih + PH - kh * DH;
        if (nh < 0 || nh % SH != 0 || nh / SH >= OH) continue;
        const oh = nh / SH;
        for (let kw = 0; kw < KW; kw++) {
          const nw = iw + PW - kw * DW;
          if (nw < 0 || nw % SW != 0 || nw / SW >= OW) continue;
          const t = kh * KW + kw, yo = ((n * OH + oh) * OW + nw / SW) * O;
          const gyp = gy + (<usize>yo << 2);
          let ci = 0;
          for (; ci < C4; ci += 4) {
            const at = gxp + (<usize>ci << 2);
            const term = f32x4.mul(v128.load(gyp + (<usize>ci << 2)), v128.load(wp + (<usize>(t * O + ci) << 2)));
            v128.store(at, f32x4.add(v128.load(at), term));
          }
          for (; ci < C; ci++) {
            const grp = ci / Cg, c = ci - grp * Cg, o0 = grp * Og;
            const at = gxp + (<usize>ci << 2);
            let s = load<f32>(at);
            for (let o = o0; o < o0 + Og; o++) s += f32at(gyp, o) * f32at(w, (o * T + t) * Cg + c);
            store<f32>(at, s);
          }
        }
      }
    }
  }
}

/**
 * gw += gyᵀ·x over the windows, each weight summed from its current value over the pixels
 * (n, oh, ow) in order. Threads split the output channels (4 at a time for depthwise).
 */
export function conv2dGroupedBackwardFilter(params: usize, part: i32, parts: i32): void {
  const x = pp(params, Conv.In), gy = pp(params, Conv.Packed), gw = pp(params, Conv.Out);
  const N = pi(params, Conv.N), H = pi(params, Conv.H), W = pi(params, Conv.W), C = pi(params, Conv.C);
  const O = pi(params, Conv.O);
  const OH = pi(params, Conv.OH), OW = pi(params, Conv.OW), KH = pi(params, Conv.KH), KW = pi(params, Conv.KW);
  const SH = pi(params, Conv.SH), SW = pi(params, Conv.SW), PH = pi(params, Conv.PH), PW = pi(params, Conv.PW);
  const DH = pi(params, Conv.DH), DW = pi(params, Conv.DW), G = pi(params, Grouped.G);
  const Cg = C / G, Og = O / G, T = KH * KW;
  const depthwise = Cg == 1 && Og == 1;
  const units = depthwise ? (O + 3) >> 2 : O;
  const u0 = shareStart(units, part, parts), u1 = shareStart(units, part + 1, parts);
  for (let u = u0; u < u1; u++) {
    if (depthwise && u * 4 + 4 <= O) {
      const acc = pp(params, Grouped.Accumulators) + <usize>thread * pp(params, Grouped.AccumulatorsPer);
      filterDepthwise4(x, gy, gw, acc, u * 4, N, H, W, C, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW);
    }
    else {
      const oEnd = depthwise ? O : u + 1;
      for (let o = depthwise ? u * 4 : u; o < oEnd; o++) {
        const c0 = (o / Og) * Cg;
        for (let p = 0; p < N * OH * OW; p++) {
          const g = f32at(gy, p * O + o);
          const n = p / (OH * OW), rem = p - n * OH * OW, oh = rem / OW, ow = rem - oh * OW;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * SH - PH + kh * DH;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * SW - PW + kw * DW;
              if (iw < 0 || iw >= W) continue;
              const xo = ((n * H + ih) * W + iw) * C + c0, wo = (o * T + kh * KW + kw) * Cg;
              for (let c = 0; c < Cg; c++) {
                const at = gw + (<usize>(wo + c) << 2);
                store<f32>(at, load<f32>(at) + g * f32at(x, xo + c));
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Depthwise backward-filter for channels o..o+3: one vector accumulator per tap (in `acc`),
 * starting from gw, each gy vector loaded once per pixel; every weight sums its pixels in order.
 */
function filterDepthwise4(x: usize, gy: usize, gw: usize, acc: usize, o: i32, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32,
  KH: i32, KW: i32, SH: i32, SW: i32, PH: i32, PW: i32, DH: i32, DW: i32): void {
  const T = KH * KW;
  for (let t = 0; t < T; t++) v128.store(acc + (<usize>t << 4), weights4(gw, o, T, t));
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const g = v128.load(gy + (<usize>(((n * OH + oh) * OW + ow) * C + o) << 2));
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H) continue;
          const row = x + (<usize>(((n * H + ih) * W) * C + o) << 2);
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PW + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const a = acc + (<usize>(kh * KW + kw) << 4);
            v128.store(a, f32x4.add(v128.load(a), f32x4.mul(g, v128.load(row + (<usize>(iw * C) << 2)))));
          }
        }
      }
    }
  }
  for (let t = 0; t < T; t++) {
    const v = v128.load(acc + (<usize>t << 4));
    store<f32>(gw + (<usize>(o * T + t) << 2), f32x4.extract_lane(v, 0));
    store<f32>(gw + (<usize>((o + 1) * T + t) << 2), f32x4.extract_lane(v, 1));
    store<f32>(gw + (<usize>((o + 2) * T + t) << 2), f32x4.extract_lane(v, 2));
    store<f32>(gw + (<usize>((o + 3) * T + t) << 2), f32x4.extract_lane(v, 3));
  }
}
