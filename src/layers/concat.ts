/**
 * Concat along channels (the last axis): inputs [..., C_i] with equal leading dimensions give
 * [..., Σ C_i], input i's channels at offset Σ_{j<i} C_j. The Jacobian selects: each input receives
 * its block of channels of g.
 */
import type { Tensor } from '../core/tensor.js';
import { sizeOf, type Shape } from '../core/shape.js';
import type { LayerConfig, RunContext } from './layer.js';
import { JoinLayer, shapesOf } from './join.js';

export class Concat extends JoinLayer {
  readonly type = 'Concat';

  protected joinShape(shapes: Shape[]): Shape {
    const lead = shapes[0].slice(0, -1);
    for (const s of shapes) {
      if (s.length !== shapes[0].length || !s.slice(0, -1).every((d, i) => d === lead[i])) {
        throw new Error(`cannot concatenate ${shapesOf(shapes)} along channels: all but the last dimension must agree`);
      }
    }
    return [...lead, shapes.reduce((c, s) => c + s[s.length - 1], 0)];
  }

  /** Rows (N × positions), total channels, and each input's channels and offset. */
  private blocks(N: number): { R: number; total: number; parts: { C: number; offset: number }[] } {
    const total = this.outputShape[this.outputShape.length - 1];
    let offset = 0;
    const parts = this.inputShapes.map((s) => {
      const C = s[s.length - 1], part = { C, offset };
      offset += C;
      return part;
    });
    return { R: (N * sizeOf(this.outputShape)) / total, total, parts };
  }

  forwardJoin(xs: Tensor[], y: Tensor, N: number, ctx: RunContext): void {
    const { R, total, parts } = this.blocks(N);
    parts.forEach(({ C, offset }, i) => ctx.kernels.copyBlock(xs[i], y, R, C, C, 0, total, offset));
  }

  backwardJoin(_xs: Tensor[], _y: Tensor, gy: Tensor, gxs: (Tensor | null)[], N: number, ctx: RunContext): void {
    const { R, total, parts } = this.blocks(N);
    parts.forEach(({ C, offset }, i) => {
      const gx = gxs[i];
      if (gx) ctx.kernels.copyBlock(gy, gx, R, C, total, offset, C, 0);
    });
  }

  config(): LayerConfig {
    return { type: this.type };
  }
}
