/**
 * The Jacobian matrices of eq. (5), materialised densely for one layer and a small input:
 *   Jw = ∂x^(k)/∂w^(k)  (d_k × j_k)   and   Jx = ∂x^(k)/∂x^(k-1)  (d_k × d_{k-1}).
 * Column j is the change of the layer's output when its j-th input (or parameter) moves, taken by
 * differences in float64 on the layer's forward alone, so it never calls the backward it is used
 * to check. For layers linear in the probed variable (dense, convolution, pooling) the difference
 * is exact up to rounding. The "sample" is the whole input tensor: for batch-norm in training
 * mode, whose output couples the samples of a batch, pass a batch.
 *
 * Kinks (ReLU at a = 0, a max-pool tie): where the two one-sided differences disagree, the entry
 * is the derivative from the right, the notes' convention (ReLU's df/da = 1 for a ≥ 0), and the
 * entry is listed in `kinks`. At a max-pool tie every tied maximum then has a 1 in the row: the
 * notes give the gradient to ONE of them (footnote 2), which `firstOfTies` or a test picks.
 * Inputs closer than h to a kink, but not on it, are not supported (the difference straddles it).
 */
import { HeapArena } from '../core/arena.js';
import type { Floats } from '../core/floats.js';
import type { RngState } from '../core/rng.js';
import type { Shape } from '../core/shape.js';
import { sizeOf } from '../core/shape.js';
import type { LayerConfig } from '../layers/layer.js';
import { layerFromConfig } from '../layers/registry.js';
import { Sequential } from '../network/sequential.js';
import { hostFloats } from '../core/tensor.js';

/** A dense row-major matrix. */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

export interface LayerJacobians {
  /** The layer alone, as a float64 network on the reference kernels, left at x (ready for backward). */
  net: Sequential;
  /** ∂x^(k)/∂x^(k-1), rows = outputs, cols = inputs. */
  jx: Matrix;
  /** ∂x^(k)/∂w^(k), rows = outputs, cols = parameters in w order. */
  jw: Matrix;
  /** Row-major indices (i·cols + j) of the entries of jx and jw taken at a kink. */
  kinks: { x: Set<number>; w: Set<number> };
  /** The generator state every forward started from: another network set to it draws the same masks. */
  rngState: RngState;
}

export interface JacobianOptions {
  training?: boolean;
  seed?: number;
  h?: number;
  /** w^(k) to evaluate at; default: the layer's seeded initialisation, rounded to float32 values. */
  weights?: ArrayLike<number>;
  /** The layer's state (batch-norm running statistics); default: its initial state. */
  buffers?: ArrayLike<number>;
}

/** One-sided differences further apart than this (relative) mark a kink; smooth layers stay ~h·f''. */
const KINK = 1e-3;

/**
 * Build the layer alone as a float64 network on `x` (N samples of `inputShape`) and materialise
 * its Jacobians. The network's generator is rewound before every forward, so a random layer
 * (dropout, max-pool ties) keeps one mask throughout (`rngState`).
 */
export function explicitJacobians(config: LayerConfig, inputShape: Shape, x: ArrayLike<number>, N: number,
  options: JacobianOptions = {}): LayerJacobians {
  const net = new Sequential([layerFromConfig(config)], { inputShape, arena: new HeapArena('float64'), seed: options.seed ?? 7 });
  if (options.weights) net.setWeights(options.weights);
  else for (let i = 0; i < net.w.length; i++) net.w[i] = Math.fround(net.w[i]); // a float32 engine can sit at the same w
  if (options.buffers) net.setBuffers(options.buffers);
  const training = options.training ?? true;
  const h = options.h ?? 1e-6;
  const start = net.rng.state();
  const outputs = N * sizeOf(net.outputShape);
  const run = (input: Float64Array): Float64Array => {
    net.rng.setState(start);
    return Float64Array.from(hostFloats(net.forward(input, N, training), 'jacobian').subarray(0, outputs));
  };
  const xi = Float64Array.from(x);
  const base = run(xi);
  const probe = (v: Floats, cols: number, kinks: Set<number>): Matrix => {
    const m: Matrix = { rows: outputs, cols, data: new Float64Array(outputs * cols) };
    for (let j = 0; j < cols; j++) {
      const old = v[j];
      v[j] = old + h;
      const plus = run(xi);
      v[j] = old - h;
      const minus = run(xi);
      v[j] = old;
      for (let i = 0; i < outputs; i++) {
        const right = (plus[i] - base[i]) / h, left = (base[i] - minus[i]) / h;
        const kink = Math.abs(right - left) > KINK * (1 + Math.abs(right) + Math.abs(left));
        if (kink) kinks.add(i * cols + j);
        m.data[i * cols + j] = kink ? right : (plus[i] - minus[i]) / (2 * h);
      }
    }
    return m;
  };
  const kinks = { x: new Set<number>(), w: new Set<number>() };
  const jx = probe(xi, xi.length, kinks.x);
  const jw = probe(net.w, net.w.length, kinks.w);
  run(xi); // leave the network at x, with the masks of this generator state, ready for backward
  return { net, jx, jw, kinks, rngState: start };
}

/**
 * The Jacobian with every row's kinks resolved to the first kinked column: a max-pool tie goes to
 * the first tied maximum (the 'first' rule the layer applies in evaluation); a row with one kink
 * (ReLU at 0) is unchanged.
 */
export function firstOfTies(m: Matrix, kinks: Set<number>): Matrix {
  const data = Float64Array.from(m.data);
  const seen = new Set<number>();
  for (const e of [...kinks].sort((a, b) => a - b)) {
    const row = Math.floor(e / m.cols);
    if (seen.has(row)) data[e] = 0;
    else seen.add(row);
  }
  return { rows: m.rows, cols: m.cols, data };
}

/**
 * The Jacobians a one-layer network's backward implies, row by row: row i is what the backward
 * writes for g = e_i (into ∂L/∂x^(k-1) and ∂L/∂w). The network must be at its input (after a
 * forward); it may be on any engine.
 */
export function backwardJacobians(net: Sequential, N: number, training: boolean): { jx: Matrix; jw: Matrix } {
  if (net.layers.length !== 1) throw new Error('backwardJacobians takes a one-layer network');
  const rows = N * sizeOf(net.outputShape), inputs = N * sizeOf(net.inputShape), params = net.w.length;
  const jx: Matrix = { rows, cols: inputs, data: new Float64Array(rows * inputs) };
  const jw: Matrix = { rows, cols: params, data: new Float64Array(rows * params) };
  const g = hostFloats(net.activationGradient(1), 'jacobian');
  for (let i = 0; i < rows; i++) {
    g.fill(0, 0, rows);
    g[i] = 1;
    net.g.fill(0);
    net.backwardFrom(0, N, training, true);
    jx.data.set(hostFloats(net.activationGradient(0), 'jacobian').subarray(0, inputs), i * inputs);
    jw.data.set(net.g, i * params);
  }
  return { jx, jw };
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
