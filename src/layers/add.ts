/**
 * Add: y = x_1 + x_2 + … + x_m, summed left to right (the join of a residual block). Its Jacobian
 * with respect to each input is the identity, so each input receives g unchanged.
 * Broadcasting, only where it is unambiguous: the first input sets the output shape; every other
 * input has that shape, or is one value per channel ([C] or [1, 1, C]) added at every position of
 * its sample, whose gradient is then g summed over the positions.
 */
import type { Tensor } from '../core/tensor.js';
import { fmt, sizeOf, type Shape } from '../core/shape.js';
import type { LayerConfig, RunContext } from './layer.js';
import { JoinLayer, shapesOf } from './join.js';

export class Add extends JoinLayer {
  readonly type = 'Add';

  protected joinShape(shapes: Shape[]): Shape {
    const out = shapes[0], C = out[out.length - 1];
    shapes.slice(1).forEach((s, i) => {
      if (!sameShape(s, out) && !perChannel(s, out)) {
        throw new Error(`cannot add ${shapesOf(shapes)}: input ${i + 2} ${fmt(s)} must equal the first input's ` +
          `shape ${fmt(out)} or be one value per channel ([${C}] or [1, 1, ${C}])`);
      }
    });
    return out;
  }

  /** Whether input i is broadcast per channel (rather than of the full shape). */
  private broadcast(i: number): boolean {
    return !sameShape(this.inputShapes[i], this.outputShape);
  }

  forwardJoin(xs: Tensor[], y: Tensor, N: number, ctx: RunContext): void {
    const n = N * sizeOf(this.outputShape), C = this.outputShape[this.outputShape.length - 1], R = n / (N * C);
    for (let i = 1; i < xs.length; i++) {
      const a = i === 1 ? xs[0] : y; // ((x_1 + x_2) + x_3) + …: one fixed order
      if (this.broadcast(i)) ctx.kernels.addBroadcast(a, xs[i], y, N, R, C);
      else ctx.kernels.addTensors(a, xs[i], y, n);
    }
  }

  backwardJoin(_xs: Tensor[], _y: Tensor, gy: Tensor, gxs: (Tensor | null)[], N: number, ctx: RunContext): void {
    const n = N * sizeOf(this.outputShape), C = this.outputShape[this.outputShape.length - 1], R = n / (N * C);
    gxs.forEach((gx, i) => {
      if (!gx) return;
      if (this.broadcast(i)) ctx.kernels.sumBroadcast(gy, gx, N, R, C);
      else ctx.kernels.copyBlock(gy, gx, 1, n, n, 0, n, 0);
    });
  }

  config(): LayerConfig {
    return { type: this.type };
  }
}

function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function perChannel(s: Shape, out: Shape): boolean {
  return s.length <= out.length && s[s.length - 1] === out[out.length - 1] && s.slice(0, -1).every((d) => d === 1);
}
