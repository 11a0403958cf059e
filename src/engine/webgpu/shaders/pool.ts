/**
 * Max- and average-pooling, one thread per output (forward) or per input (backward). The
 * backward passes gather instead of scattering, visiting the outputs whose window holds an input
 * in the order the CPU engines add them, so no two threads write one element.
 */
import { FLAT_MAIN, HASH_WGSL, type KernelSpec, type ScalarType } from './spec.js';

const POOL_DIMS: (readonly [string, ScalarType])[] = ['N', 'H', 'W', 'C', 'OH', 'OW', 'KH', 'KW', 'SH', 'SW', 'PH', 'PW']
  .map((n) => [n, 'i32'] as const);

/** The outputs (oh, ow) whose window covers input (ih, iw): oh·SH − PH ≤ ih ≤ oh·SH − PH + KH − 1. */
const WINDOWS_OF = /* wgsl */ `
fn first_out(i: i32, P_: i32, K: i32, S: i32) -> i32 {
  let t = i + P_ - K + 1;
  return select(0, (t + S - 1) / S, t > 0);
}
fn last_out(i: i32, P_: i32, S: i32, O: i32) -> i32 { return min(O - 1, (i + P_) / S); }`;

/** Input element e of x → its (n, ih, iw, c). */
const INPUT_COORDS = /* wgsl */ `
  let c = e % P.C;
  let iw = (e / P.C) % P.W;
  let ih = (e / (P.C * P.W)) % P.H;
  let n = e / (P.C * P.W * P.H);`;

/** Output element e of y → its (n, oh, ow, c). */
const OUTPUT_COORDS = /* wgsl */ `
  let c = e % P.C;
  let ow = (e / P.C) % P.OW;
  let oh = (e / (P.C * P.OW)) % P.OH;
  let n = e / (P.C * P.OW * P.OH);`;

/**
 * Max over the window; padding never wins; a NaN wins and stays (the last one, as PyTorch). Ties
 * go to one of the tied maxima by reservoir sampling on hash32(tieSeed, out·64 + ties), the CPU
 * engines' very draw, when useTies is set; else to the first.
 */
export const MAX_POOL_FORWARD: KernelSpec = {
  name: 'maxPool2dForward',
  tensors: [['x', 'f32'], ['y', 'f32'], ['argmax', 'i32']],
  scalars: [['total', 'u32'], ...POOL_DIMS, ['tieSeed', 'u32'], ['useTies', 'u32']],
  body: /* wgsl */ `${HASH_WGSL}
${FLAT_MAIN} {
  let out = flat(wid, nwg, lid);
  if (out >= P.total) { return; }
  let e = i32(out);
  ${OUTPUT_COORDS}
  var best = neg_inf();
  var bestIndex = -1;
  var ties = 0u;
  for (var kh = 0; kh < P.KH; kh++) {
    let ih = oh * P.SH - P.PH + kh;
    if (ih < 0 || ih >= P.H) { continue; }
    for (var kw = 0; kw < P.KW; kw++) {
      let iw = ow * P.SW - P.PW + kw;
      if (iw < 0 || iw >= P.W) { continue; }
      let i = ((n * P.H + ih) * P.W + iw) * P.C + c;
      let v = x[P.off_x + u32(i)];
      if (bestIndex < 0 || is_nan(v) || (v > best && !is_nan(best))) {
        best = v;
        bestIndex = i;
        ties = 1u;
      } else if (v == best && !is_nan(best) && P.useTies != 0u) {
        ties = ties + 1u;
        if (hash32(P.tieSeed, out * 64u + ties) % ties == 0u) { bestIndex = i; }
      }
    }
  }
  y[P.off_y + out] = best;
  argmax[P.off_argmax + out] = bestIndex;
}`,
};

/** gx[i] = Σ gy[out] over the outputs whose recorded arg-max is i. */
export const MAX_POOL_BACKWARD: KernelSpec = {
  name: 'maxPool2dBackward',
  tensors: [['gy', 'f32'], ['argmax', 'i32'], ['gx', 'f32']],
  scalars: [['total', 'u32'], ...POOL_DIMS],
  body: /* wgsl */ `${WINDOWS_OF}
${FLAT_MAIN} {
  let u = flat(wid, nwg, lid);
  if (u >= P.total) { return; }
  let e = i32(u);
  ${INPUT_COORDS}
  var s = 0.0;
  for (var oh = first_out(ih, P.PH, P.KH, P.SH); oh <= last_out(ih, P.PH, P.SH, P.OH); oh++) {
    for (var ow = first_out(iw, P.PW, P.KW, P.SW); ow <= last_out(iw, P.PW, P.SW, P.OW); ow++) {
      let out = u32(((n * P.OH + oh) * P.OW + ow) * P.C + c);
      if (argmax[P.off_argmax + out] == e) { s = s + gy[P.off_gy + out]; }
    }
  }
  gx[P.off_gx + u] = s;
}`,
};

/** Mean over the window, padded positions counting as zeros (count_include_pad). */
export const AVG_POOL_FORWARD: KernelSpec = {
  name: 'avgPool2dForward',
  tensors: [['x', 'f32'], ['y', 'f32']],
  scalars: [['total', 'u32'], ...POOL_DIMS, ['scale', 'f32']],
  body: /* wgsl */ `
${FLAT_MAIN} {
  let out = flat(wid, nwg, lid);
  if (out >= P.total) { return; }
  let e = i32(out);
  ${OUTPUT_COORDS}
  var s = 0.0;
  for (var kh = 0; kh < P.KH; kh++) {
    let ih = oh * P.SH - P.PH + kh;
    if (ih < 0 || ih >= P.H) { continue; }
    for (var kw = 0; kw < P.KW; kw++) {
      let iw = ow * P.SW - P.PW + kw;
      if (iw < 0 || iw >= P.W) { continue; }
      s = s + x[P.off_x + u32(((n * P.H + ih) * P.W + iw) * P.C + c)];
    }
  }
  y[P.off_y + out] = s * P.scale;
}`,
};

export const AVG_POOL_BACKWARD: KernelSpec = {
  name: 'avgPool2dBackward',
  tensors: [['gy', 'f32'], ['gx', 'f32']],
  scalars: [['total', 'u32'], ...POOL_DIMS, ['scale', 'f32']],
  body: /* wgsl */ `${WINDOWS_OF}
${FLAT_MAIN} {
  let u = flat(wid, nwg, lid);
  if (u >= P.total) { return; }
  let e = i32(u);
  ${INPUT_COORDS}
  var s = 0.0;
  for (var oh = first_out(ih, P.PH, P.KH, P.SH); oh <= last_out(ih, P.PH, P.SH, P.OH); oh++) {
    for (var ow = first_out(iw, P.PW, P.KW, P.SW); ow <= last_out(iw, P.PW, P.SW, P.OW); ow++) {
      s = s + gy[P.off_gy + u32(((n * P.OH + oh) * P.OW + ow) * P.C + c)] * P.scale;
    }
  }
  gx[P.off_gx + u] = s;
}`,
};

export const POOL_KERNELS = [MAX_POOL_FORWARD, MAX_POOL_BACKWARD, AVG_POOL_FORWARD, AVG_POOL_BACKWARD];
