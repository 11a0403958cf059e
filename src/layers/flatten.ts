/**
 * Flatten [H, W, C] to [H·W·C]. Its Jacobian is the identity: the numbers do not move, only the
 * shape changes. Note the order is channels-last (h, w, c), not PyTorch's (c, h, w): importers
 * permute the columns of the dense layer that follows.
 */
import { sizeOf, type Shape } from '../core/shape.js';
import { PassThrough } from './identity.js';

/** [H, W, C] → [H·W·C] (channels-last order); no computation. */
export class Flatten extends PassThrough {
  readonly type = 'Flatten';

  protected outputShapeFor(input: Shape): Shape {
    return [sizeOf(input)];
  }
}
