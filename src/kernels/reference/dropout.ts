/** Reference inverted dropout: kept units are scaled by 1/(1-p), so evaluation needs no change. */
import type { Floats } from '../../core/floats.js';
import { hash32 } from '../../core/rng.js';

/** Unit i is dropped when its hash falls below p·2³²: the same mask on every engine and thread count. */
export function dropoutForward(x: Floats, y: Floats, n: number, p: number, seed: number): void {
  const threshold = p * 4294967296, scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) y[i] = hash32(seed, i) < threshold ? 0 : x[i] * scale;
}

export function dropoutBackward(gy: Floats, gx: Floats, n: number, p: number, seed: number): void {
  const threshold = p * 4294967296, scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) gx[i] = hash32(seed, i) < threshold ? 0 : gy[i] * scale;
}
