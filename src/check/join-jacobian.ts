/**
 * The Jacobians ∂y/∂x_i of a join (Add, Concat) for one sample, materialised densely by central
 * differences of its forward pass alone, in float64 on the reference kernels: the join's part of
 * Algorithm 1 on a graph, independent of the backward it checks. Joins are linear, so the
 * differences are exact up to rounding.
 */
import { Rng } from '../core/rng.js';
import { sizeOf } from '../core/shape.js';
import { referenceKernels } from '../kernels/reference/index.js';
import type { JoinLayer } from '../layers/join.js';
import type { Matrix } from './jacobian.js';

/** One matrix per input (rows: the join's outputs, columns: that input's entries). */
export function joinJacobians(layer: JoinLayer, xs: Float64Array[], h = 1e-3): Matrix[] {
  const ctx = { kernels: referenceKernels, training: false, rng: new Rng(0) };
  const rows = sizeOf(layer.outputShape), inputs = xs.map((x) => Float64Array.from(x));
  const plus = new Float64Array(rows), minus = new Float64Array(rows);
  return inputs.map((x) => {
    const m: Matrix = { rows, cols: x.length, data: new Float64Array(rows * x.length) };
    for (let j = 0; j < x.length; j++) {
      const old = x[j];
      x[j] = old + h;
      layer.forwardJoin(inputs, plus, 1, ctx);
      x[j] = old - h;
      layer.forwardJoin(inputs, minus, 1, ctx);
      x[j] = old;
      for (let i = 0; i < rows; i++) m.data[i * x.length + j] = (plus[i] - minus[i]) / (2 * h);
    }
    return m;
  });
}
