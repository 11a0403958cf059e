/**
 * The explicit-Jacobian check of a whole network, graph or chain: the Jacobians of its output
 * x^(K) with respect to the input x^(0) and to w, materialised densely by central differences of
 * the forward pass alone (float64), against what back-propagation sends back for each unit row
 * vector g = e_i at the output. Row i of ∂x^(K)/∂x^(0) must equal ∂L/∂x^(0) for L = e_i·x^(K), and
 * row i of ∂x^(K)/∂w must equal g. Through a graph this tests the fan-out sums and the joins.
 */
import type { Floats } from '../core/floats.js';
import { sizeOf } from '../core/shape.js';
import type { Sequential } from '../network/sequential.js';
import type { Matrix } from './jacobian.js';
import { hostFloats } from '../core/tensor.js';

export interface NetworkJacobians {
  /** By finite differences: ∂x^(K)/∂x^(0) and ∂x^(K)/∂w (rows: outputs). */
  jx: Matrix;
  jw: Matrix;
  /** By back-propagation of each e_i: the same matrices, row by row. */
  bx: Matrix;
  bw: Matrix;
}

/** Use a float64 network (HeapArena('float64')); the generator is rewound before every forward. */
export function networkJacobians(net: Sequential, x: Float64Array, N: number,
  options: { training?: boolean; h?: number } = {}): NetworkJacobians {
  const training = options.training ?? false, h = options.h ?? 1e-6;
  const start = net.rng.state(), K = net.layers.length;
  const outputs = N * sizeOf(net.outputShape), inputs = N * sizeOf(net.inputShape);
  const input = Float64Array.from(x.subarray(0, inputs));
  const run = (): Float64Array => {
    net.rng.setState(start);
    return Float64Array.from(hostFloats(net.forward(input, N, training), 'jacobian').subarray(0, outputs));
  };
  const probe = (v: Floats, cols: number): Matrix => {
    const m = matrix(outputs, cols);
    for (let j = 0; j < cols; j++) {
      const old = v[j];
      v[j] = old + h;
      const plus = run();
      v[j] = old - h;
      const minus = run();
      v[j] = old;
      for (let i = 0; i < outputs; i++) m.data[i * cols + j] = (plus[i] - minus[i]) / (2 * h);
    }
    return m;
  };
  const jx = probe(input, inputs), jw = probe(net.w, net.w.length);
  const bx = matrix(outputs, inputs), bw = matrix(outputs, net.w.length);
  for (let i = 0; i < outputs; i++) {
    run(); // forward at x: the state each backward reads (masks, batch statistics)
    const g = hostFloats(net.activationGradient(K), 'jacobian');
    g.fill(0);
    g[i] = 1;
    net.g.fill(0);
    net.backwardFrom(K - 1, N, training, true);
    bx.data.set(hostFloats(net.activationGradient(0), 'jacobian').subarray(0, inputs), i * inputs);
    bw.data.set(net.g, i * net.w.length);
  }
  net.rng.setState(start);
  return { jx, jw, bx, bw };
}

function matrix(rows: number, cols: number): Matrix {
  return { rows, cols, data: new Float64Array(rows * cols) };
}
