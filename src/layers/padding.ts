/**
 * Padding of a sliding window (Conv2d, MaxPool2d), as the user writes it:
 *   a number p             p on every side;
 *   [ph, pw]               ph above and below, pw left and right (PyTorch's `padding=(ph, pw)`);
 *   [top, bottom, left, right]   any asymmetric padding;
 *   'valid'                no padding (Keras's name for 0);
 *   'same'                 TensorFlow's rule: the output is ⌈in / stride⌉ and the total padding
 *                          max((⌈in/s⌉ − 1)·s + (k − 1)·d + 1 − in, 0) is split with the odd one
 *                          at the bottom/right (what even kernels and strides need).
 * 'same' is resolved when the input shape is known; the spec is kept as written in model files.
 */
import type { Pair } from './options.js';

export type PaddingSpec = number | Pair | [number, number, number, number] | 'same' | 'valid';

/** Resolved padding of one image: rows above and below, columns left and right. */
export type Pads = [top: number, bottom: number, left: number, right: number];

/** Check a padding option; returns it normalised ('valid' and numbers stay as given). */
export function paddingSpec(value: unknown, name: string): PaddingSpec {
  if (value === 'same' || value === 'valid') return value;
  const v = typeof value === 'number' ? [value] : Array.isArray(value) ? value : null;
  if (!v || ![1, 2, 4].includes(v.length) || !v.every((n) => Number.isInteger(n) && n >= 0)) {
    throw new Error(`${name} must be 'same', 'valid', an integer >= 0, [height, width] or ` +
      `[top, bottom, left, right] of them, got ${JSON.stringify(value)}`);
  }
  return typeof value === 'number' ? value : (v.slice() as Pair | Pads);
}

/** TensorFlow's 'same' padding along one axis: [before, after], the odd one after. */
export function samePadding(input: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const out = Math.ceil(input / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - input, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** The four paddings of an H×W input under `spec`. */
export function resolvePads(spec: PaddingSpec, H: number, W: number, kernel: Pair, stride: Pair, dilation: Pair = [1, 1]): Pads {
  if (spec === 'valid') return [0, 0, 0, 0];
  if (spec === 'same') {
    const [t, b] = samePadding(H, kernel[0], stride[0], dilation[0]);
    const [l, r] = samePadding(W, kernel[1], stride[1], dilation[1]);
    return [t, b, l, r];
  }
  if (typeof spec === 'number') return [spec, spec, spec, spec];
  if (spec.length === 2) return [spec[0], spec[0], spec[1], spec[1]];
  return [spec[0], spec[1], spec[2], spec[3]];
}

/** Output length of a sliding window with `before` + `after` padding (floor mode, as PyTorch). */
export function windowOutputPadded(input: number, kernel: number, stride: number, before: number, after: number,
  dilation = 1): number {
  return Math.floor((input + before + after - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Padding for the summary: "1×1", "1×2", "0,1,0,1" (top, bottom, left, right) or "same (0,1,0,1)". */
export function describePads(spec: PaddingSpec, pads: Pads): string {
  const [t, b, l, r] = pads;
  const plain = t === b && l === r ? `${t}×${l}` : `${t},${b},${l},${r}`;
  return spec === 'same' ? `same (${plain})` : plain;
}
