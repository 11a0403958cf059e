/**
 * The Jacobian matrices of eq. (5), materialised densely for one layer and a small input:
 *   Jw = ∂x^(k)/∂w^(k)  (d_k × j_k)   and   Jx = ∂x^(k)/∂x^(k-1)  (d_k × d_{k-1}).
 * Column j is the change of the layer's output when its j-th input (or parameter) moves, taken by
 * central differences in float64 on the layer's forward alone, so it never calls the backward it
 * is used to check. For layers linear in the probed variable (dense, convolution, pooling) the
 * difference is exact up to rounding. The "sample" is the whole input tensor: for batch-norm in
 * training mode, whose output couples the samples of a batch, pass a batch.
 */
import { HeapArena } from '../core/arena.js';
import type { Floats } from '../core/floats.js';
import type { Shape } from '../core/shape.js';
import { sizeOf } from '../core/shape.js';
import type { LayerConfig } from '../layers/layer.js';
import { layerFromConfig } from '../layers/registry.js';
import { Sequential } from '../network/sequential.js';

/** A dense row-major matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export interface LayerJacobians {
  net: Sequential;
  /** ∂x^(k)/∂x^(k-1), rows = outputs, cols = inputs. */
  jx: Matrix;
  /** ∂x^(k)/∂w^(k), rows = outputs, cols = parameters in w order. */
  jw: Matrix;
}

/**
 * Build the layer alone as a float64 network on `x` (N samples of `inputShape`) and materialise
 * its Jacobians. The network's generator is rewound before every forward, so a random layer
 * (dropout, max-pool ties) keeps one mask throughout.
 */
export function explicitJacobians(config: LayerConfig, inputShape: Shape, x: Float64Array, N: number,
  options: { training?: boolean; seed?: number; h?: number } = {}): LayerJacobians {
  const net = new Sequential([layerFromConfig(config)], { inputShape, arena: new HeapArena('float64'), seed: options.seed ?? 7 });
  const training = options.training ?? true;
  const h = options.h ?? 1e-6;
  const start = net.rng.state();
  const outputs = N * sizeOf(net.outputShape);
  const run = (input: Float64Array): Float64Array => {
    net.rng.setState(start);
    return Float64Array.from(net.forward(input, N, training).subarray(0, outputs));
  };
  const probe = (v: Floats, cols: number, input: () => Float64Array): Matrix => {
    const m: Matrix = { rows: outputs, cols, data: new Float64Array(outputs * cols) };
    for (let j = 0; j < cols; j++) {
      const old = v[j];
      v[j] = old + h;
      const plus = run(input());
      v[j] = old - h;
      const minus = run(input());
      v[j] = old;
      for (let i = 0; i < outputs; i++) m.data[i * cols + j] = (plus[i] - minus[i]) / (2 * h);
    }
    return m;
  };
  const xi = Float64Array.from(x);
  const jx = probe(xi, xi.length, () => xi);
  const jw = probe(net.w, net.w.length, () => xi);
  run(xi); // leave the network at x, with the masks of this generator state, ready for backward
  return { net, jx, jw };
}

/** The row vector g·J. */
export function rowTimes(g: ArrayLike<number>, m: Matrix): Float64Array {
  const out = new Float64Array(m.cols);
  for (let i = 0; i < m.rows; i++) {
    const gi = g[i];
    if (gi === 0) continue;
    for (let j = 0; j < m.cols; j++) out[j] += gi * m.data[i * m.cols + j];
  }
  return out;
}
