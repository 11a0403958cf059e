/**
 * Seeded initialisation "at random near the origin" (notes, section 4).
 *
 * - `pytorch` (the default): what torch.nn.Conv2d and torch.nn.Linear do, kaiming_uniform(a = √5),
 *   which is U(±1/√fan_in) for the weights, and U(±1/√fan_in) for the biases too. The logits of a
 *   fresh network are then small, p is near the simplex's centre and the first L_T is close to
 *   ln(classes) (2.30 for LeNet-5 on MNIST), as a PyTorch user expects.
 * - `glorot`: Keras's default, glorot_uniform, U(±√(6 / (fan_in + fan_out))), biases zero.
 * - `he`: He (Kaiming) normal, std √(2 / fan_in), biases zero.
 * - `auto`: He for weights that feed a ReLU-family activation, Glorot otherwise (Descent's old
 *   default: it keeps the standardised input's scale through every ReLU layer, and max-pooling
 *   raises it, so LeNet-5's first L_T is 4-5 rather than 2.3).
 * Tensors with a `fill` (batch-norm γ, running variance) start at that value.
 */
import type { Floats } from '../core/floats.js';
import type { Rng } from '../core/rng.js';
import type { ParamSpec } from '../layers/layer.js';

/** Weight initialisation: 'pytorch' (PyTorch's Conv2d/Linear default, the default here), 'he', 'glorot', or 'auto' (He before a ReLU-family activation, Glorot otherwise). */
export type InitScheme = 'pytorch' | 'glorot' | 'he' | 'auto';

/** The scheme a network gets when none is asked for. */
export const DEFAULT_INIT: InitScheme = 'pytorch';

/**
 * Draw one tensor. `layerFan` is the fan of the layer's weight: a bias has no fan of its own, and
 * PyTorch bounds it by the weight's fan-in.
 */
export function initTensor(t: Floats, spec: ParamSpec, scheme: Exclude<InitScheme, 'auto'>, rng: Rng,
  layerFan?: { in: number; out: number }): void {
  if (spec.fill !== undefined) {
    t.fill(spec.fill);
  } else if (!spec.fan) {
    if (scheme === 'pytorch' && layerFan && layerFan.in > 0) uniform(t, 1 / Math.sqrt(layerFan.in), rng);
    else t.fill(0);
  } else if (scheme === 'pytorch') {
    uniform(t, 1 / Math.sqrt(spec.fan.in), rng);
  } else if (scheme === 'he') {
    const std = Math.sqrt(2 / spec.fan.in);
    for (let i = 0; i < t.length; i++) t[i] = std * rng.normal();
  } else {
    uniform(t, Math.sqrt(6 / (spec.fan.in + spec.fan.out)), rng);
  }
}

function uniform(t: Floats, limit: number, rng: Rng): void {
  for (let i = 0; i < t.length; i++) t[i] = (2 * rng.uniform() - 1) * limit;
}
