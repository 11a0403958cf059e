/**
 * Shapes of one sample, channels-last: an image is [H, W, C], a vector is [F].
 * A batch of N samples is stored N-major, so sample n of a batch occupies
 * [n * size(shape), (n + 1) * size(shape)). Channels-last keeps the C values of one pixel
 * adjacent, which is what the SIMD convolution kernels want (see docs/layout in README).
 */
export type Shape = readonly number[];

/** The number of elements of a shape. */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** A shape as text, e.g. [28, 28, 1]. */
export function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}
