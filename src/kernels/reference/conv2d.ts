/**
 * Reference 2-D convolution (cross-correlation, as every framework computes it) on
 * channels-last data: y[n,oh,ow,o] = b[o] + Σ_{kh,kw,c} w[o,kh,kw,c] · x[n, oh·SH - PH + kh·DH, ow·SW - PW + kw·DW, g·Cg + c],
 * with Cg = C/G input channels per group and g = ⌊o / (O/G)⌋ the group of output o.
 * Positions outside the input are zero padding (PH, PW above and left; below and right as OH, OW
 * imply), which contributes nothing (not even 0·∞ = NaN: a padded position is not an input).
 * A zero gradient is skipped only when the other factor is all finite, so that 0·∞ and 0·NaN
 * still give NaN.
 */
import { allFinite } from '../../core/finite.js';
import type { Floats } from '../../core/floats.js';
import type { Conv2dGeometry } from '../kernels.js';
import { activationForward } from './activations.js';
import { addBias, sumRows } from './bias.js';

/** Input channels per group, output channels per group. */
function groupSizes(g: Conv2dGeometry): [number, number] {
  const G = g.G ?? 1;
  return [g.C / G, g.O / G];
}

export function conv2dForward(x: Floats, w: Floats, b: Floats | null, y: Floats, g: Conv2dGeometry,
  relu?: Floats | null): void {
  const { N, H, W, C, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW } = g;
  const [Cg, Og] = groupSizes(g);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const yo = ((n * OH + oh) * OW + ow) * O;
        for (let o = 0; o < O; o++) {
          const c0 = Math.floor(o / Og) * Cg;
          let s = 0;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * SH - PH + kh * DH;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * SW - PW + kw * DW;
              if (iw < 0 || iw >= W) continue;
              const xo = ((n * H + ih) * W + iw) * C + c0;
              const wo = ((o * KH + kh) * KW + kw) * Cg;
              for (let c = 0; c < Cg; c++) s += w[wo + c] * x[xo + c];
            }
          }
          y[yo + o] = s;
        }
      }
    }
  }
  if (b) addBias(y, b, N * OH * OW, O);
  if (relu) activationForward('relu', y, relu, N * OH * OW * O, 0);
}

/** gx = g·∂y/∂x: each output gradient flows back to the inputs its window read, weighted by w. */
export function conv2dBackwardData(gy: Floats, w: Floats, gx: Floats, g: Conv2dGeometry): void {
  const { N, H, W, C, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW } = g;
  const [Cg, Og] = groupSizes(g);
  gx.fill(0, 0, N * H * W * C);
  const skipZeros = allFinite(w, O * KH * KW * Cg);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const yo = ((n * OH + oh) * OW + ow) * O;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PW + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const xb = ((n * H + ih) * W + iw) * C;
            for (let o = 0; o < O; o++) {
              const gyo = gy[yo + o];
              if (gyo === 0 && skipZeros) continue;
              const xo = xb + Math.floor(o / Og) * Cg;
              const wo = ((o * KH + kh) * KW + kw) * Cg;
              for (let c = 0; c < Cg; c++) gx[xo + c] += gyo * w[wo + c];
            }
          }
        }
      }
    }
  }
}

/** gw += g·∂y/∂w: ∂y[n,oh,ow,o]/∂w[o,kh,kw,c] is the input value the weight multiplied. */
export function conv2dBackwardFilter(x: Floats, gy: Floats, gw: Floats, gb: Floats | null, g: Conv2dGeometry): void {
  const { N, H, W, C, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW } = g;
  const [Cg, Og] = groupSizes(g);
  const skipZeros = allFinite(x, N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const yo = ((n * OH + oh) * OW + ow) * O;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PH + kh * DH;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PW + kw * DW;
            if (iw < 0 || iw >= W) continue;
            const xb = ((n * H + ih) * W + iw) * C;
            for (let o = 0; o < O; o++) {
              const gyo = gy[yo + o];
              if (gyo === 0 && skipZeros) continue;
              const xo = xb + Math.floor(o / Og) * Cg;
              const wo = ((o * KH + kh) * KW + kw) * Cg;
              for (let c = 0; c < Cg; c++) gw[wo + c] += gyo * x[xo + c];
            }
          }
        }
      }
    }
  }
  if (gb) sumRows(gy, gb, N * OH * OW, O);
}
