/**
 * Resizing an image (channels-last, values as floats) to a given height and width, each axis on
 * its own (separable), each output value a weighted mean of input values:
 *   - shrinking an axis: area averaging. Output pixel i covers the input interval
 *     [i·s, (i+1)·s) with s = in/out, and each input pixel is weighted by how much of it lies
 *     inside (so 64 → 32 averages pairs exactly, and no input pixel is skipped);
 *   - enlarging an axis: bilinear interpolation at the output pixel's centre, (i + ½)·s − ½ in
 *     input coordinates (half-pixel centres, as PyTorch's align_corners=False), edges clamped;
 *   - the same size: a copy.
 * The weights depend only on the sizes, so the result is the same on every machine.
 */
import { check } from '../core/errors.js';

/** Per output index along one axis: the input indices it reads and their weights (summing to 1). */
export function axisWeights(input: number, output: number): { index: Int32Array; weight: Float64Array; start: Int32Array } {
  const s = input / output;
  const index: number[] = [], weight: number[] = [], start = new Int32Array(output + 1);
  for (let i = 0; i < output; i++) {
    start[i] = index.length;
    if (input === output) {
      index.push(i); weight.push(1);
    } else if (s > 1) {
      const lo = i * s, hi = (i + 1) * s;
      for (let j = Math.floor(lo); j < Math.min(input, Math.ceil(hi)); j++) {
        const covered = Math.min(hi, j + 1) - Math.max(lo, j);
        if (covered > 0) { index.push(j); weight.push(covered / s); }
      }
    } else {
      const centre = Math.min(Math.max((i + 0.5) * s - 0.5, 0), input - 1);
      const j = Math.floor(centre), f = centre - j;
      index.push(j); weight.push(1 - f);
      if (f > 0) { index.push(j + 1); weight.push(f); }
    }
  }
  start[output] = index.length;
  return { index: Int32Array.from(index), weight: Float64Array.from(weight), start };
}

/** `src` ([h, w, c] channels-last) resized to [H, W, c]; written into `out` at `offset` if given. */
export function resizeImage(src: ArrayLike<number>, h: number, w: number, c: number, H: number, W: number,
  out: Float32Array = new Float32Array(H * W * c), offset = 0): Float32Array {
  check(src.length >= h * w * c, () => `resize: a ${h}×${w}×${c} image needs ${h * w * c} values, got ${src.length}`);
  check([H, W].every((d) => Number.isInteger(d) && d > 0), () => `resize: the size ${H}×${W} must be positive integers`);
  const rows = axisWeights(h, H), cols = axisWeights(w, W);
  // Columns first (h × W × c, float64), then rows.
  const tmp = new Float64Array(h * W * c);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < W; x++)
      for (let k = cols.start[x]; k < cols.start[x + 1]; k++) {
        const from = (y * w + cols.index[k]) * c, to = (y * W + x) * c, wt = cols.weight[k];
        for (let ch = 0; ch < c; ch++) tmp[to + ch] += wt * src[from + ch];
      }
  for (let y = 0; y < H; y++) {
    const to = offset + y * W * c;
    const acc = new Float64Array(W * c);
    for (let k = rows.start[y]; k < rows.start[y + 1]; k++) {
      const from = rows.index[k] * W * c, wt = rows.weight[k];
      for (let i = 0; i < W * c; i++) acc[i] += wt * tmp[from + i];
    }
    out.set(acc, to);
  }
  return out;
}
