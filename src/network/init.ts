/**
 * Seeded initialisation "at random near the origin" (notes, section 4): He (Kaiming) normal,
 * std = sqrt(2 / fan_in), for weights that feed a ReLU-family activation; Glorot (Xavier) uniform,
 * limit sqrt(6 / (fan_in + fan_out)), otherwise. Biases start at zero.
 */
import type { Floats } from '../core/floats.js';
import type { Rng } from '../core/rng.js';
import type { ParamSpec } from '../layers/layer.js';

/** Weight initialisation: 'he' (for ReLU-family layers), 'glorot', or 'auto' (He before a ReLU-family activation, Glorot otherwise). */
export type InitScheme = 'auto' | 'he' | 'glorot';

export function initTensor(t: Floats, spec: ParamSpec, scheme: 'he' | 'glorot', rng: Rng): void {
  if (spec.fill !== undefined || !spec.fan) {
    t.fill(spec.fill ?? 0);
    return;
  }
  if (scheme === 'he') {
    const std = Math.sqrt(2 / spec.fan.in);
    for (let i = 0; i < t.length; i++) t[i] = std * rng.normal();
  } else {
    const limit = Math.sqrt(6 / (spec.fan.in + spec.fan.out));
    for (let i = 0; i < t.length; i++) t[i] = (2 * rng.uniform() - 1) * limit;
  }
}
