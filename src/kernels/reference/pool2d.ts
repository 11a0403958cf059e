/**
 * Reference max- and average-pooling on channels-last data (notes, Appendix: p_i = max_{q∈P(i)}).
 * Max-pool padding never wins (it is -∞, as in PyTorch); average-pool padding counts as zeros.
 */
import type { Floats } from '../../core/floats.js';
import { hash32 } from '../../core/rng.js';
import type { Pool2dGeometry } from '../kernels.js';

export function maxPool2dForward(x: Floats, y: Floats, argmax: Int32Array, g: Pool2dGeometry, tieSeed: number): void {
  const { N, H, W, C, OH, OW, KH, KW, SH, SW, PH, PW } = g;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        for (let c = 0; c < C; c++) {
          const out = ((n * OH + oh) * OW + ow) * C + c;
          let best = -Infinity, bestIndex = -1, ties = 0;
          for (let kh = 0; kh < KH; kh++) {
            const ih = oh * SH - PH + kh;
            if (ih < 0 || ih >= H) continue;
            for (let kw = 0; kw < KW; kw++) {
              const iw = ow * SW - PW + kw;
              if (iw < 0 || iw >= W) continue;
              const i = ((n * H + ih) * W + iw) * C + c;
              const v = x[i];
              if (v > best || bestIndex < 0 || v !== v) { // a NaN wins and stays, as in PyTorch
                best = v; bestIndex = i; ties = 1;
              } else if (v === best && tieSeed >= 0) {
                // Footnote 2: a tie goes to one of the maxima at random. Reservoir sampling keeps
                // each of the `ties` candidates with probability 1/ties.
                ties++;
                if (hash32(tieSeed, out * 64 + ties) % ties === 0) bestIndex = i;
              }
            }
          }
          y[out] = best;
          argmax[out] = bestIndex;
        }
      }
    }
  }
}

export function maxPool2dBackward(gy: Floats, argmax: Int32Array, gx: Floats, g: Pool2dGeometry): void {
  const { N, H, W, C, OH, OW } = g;
  gx.fill(0, 0, N * H * W * C);
  const outputs = N * OH * OW * C;
  for (let i = 0; i < outputs; i++) gx[argmax[i]] += gy[i];
}

export function avgPool2dForward(x: Floats, y: Floats, g: Pool2dGeometry): void {
  const { N, H, W, C, OH, OW, KH, KW, SH, SW, PH, PW } = g;
  const scale = 1 / (KH * KW);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const out = ((n * OH + oh) * OW + ow) * C;
        for (let c = 0; c < C; c++) y[out + c] = 0;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PH + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PW + kw;
            if (iw < 0 || iw >= W) continue;
            const i = ((n * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) y[out + c] += x[i + c];
          }
        }
        for (let c = 0; c < C; c++) y[out + c] *= scale;
      }
    }
  }
}

export function avgPool2dBackward(gy: Floats, gx: Floats, g: Pool2dGeometry): void {
  const { N, H, W, C, OH, OW, KH, KW, SH, SW, PH, PW } = g;
  const scale = 1 / (KH * KW);
  gx.fill(0, 0, N * H * W * C);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < OH; oh++) {
      for (let ow = 0; ow < OW; ow++) {
        const out = ((n * OH + oh) * OW + ow) * C;
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * SH - PH + kh;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * SW - PW + kw;
            if (iw < 0 || iw >= W) continue;
            const i = ((n * H + ih) * W + iw) * C;
            for (let c = 0; c < C; c++) gx[i + c] += gy[out + c] * scale;
          }
        }
      }
    }
  }
}
