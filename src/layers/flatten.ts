/**
 * Flatten [H, W, C] to [H·W·C]. Its Jacobian is the identity: the numbers do not move, only the
 * shape changes. Note the order is channels-last (h, w, c), not PyTorch's (c, h, w): importers
 * permute the columns of the dense layer that follows.
 */
import type { Floats } from '../core/floats.js';
import { sizeOf, type Shape } from '../core/shape.js';
import { Layer, type LayerConfig, type RunContext } from './layer.js';

/** [H, W, C] → [H·W·C] (channels-last order); no computation. */
export class Flatten extends Layer {
  readonly type = 'Flatten';

  protected outputShapeFor(input: Shape): Shape {
    return [sizeOf(input)];
  }

  forward(x: Floats, y: Floats, N: number, _ctx: RunContext): void {
    const n = N * sizeOf(this.inputShape);
    y.set(x.subarray(0, n));
  }

  backward(_x: Floats, _y: Floats, gy: Floats, gx: Floats | null, N: number, _ctx: RunContext): void {
    if (gx) gx.set(gy.subarray(0, N * sizeOf(this.inputShape)));
  }

  config(): LayerConfig {
    return { type: this.type };
  }
}
