/**
 * The contract of a layer with several inputs (a join of branches in a graph network): the same
 * life cycle as Layer, with a list of inputs. `backward` receives g = ∂ℓ/∂y and writes, for each
 * input i, g·∂y/∂x_i into gxs[i] (null where nobody needs it). A join has no parameters.
 */
import type { Tensor } from '../core/tensor.js';
import { fmt, type Shape } from '../core/shape.js';
import { Layer, type RunContext } from './layer.js';

export abstract class JoinLayer extends Layer {
  /** The shapes of the inputs, in the order the node lists them. */
  inputShapes: Shape[] = [];

  /** Check the input shapes and settle the output shape; throw a plain Error saying what is wrong. */
  buildJoin(inputShapes: Shape[]): Shape {
    if (inputShapes.length < 2) throw new Error(`${this.type} joins two or more inputs, got ${inputShapes.length}`);
    this.inputShapes = inputShapes;
    this.inputShape = inputShapes[0];
    this.outputShape = this.joinShape(inputShapes);
    return this.outputShape;
  }

  protected abstract joinShape(inputShapes: Shape[]): Shape;

  protected outputShapeFor(input: Shape): Shape {
    return this.buildJoin([input]);
  }

  abstract forwardJoin(xs: Tensor[], y: Tensor, N: number, ctx: RunContext): void;
  abstract backwardJoin(xs: Tensor[], y: Tensor, gy: Tensor, gxs: (Tensor | null)[], N: number, ctx: RunContext): void;

  forward(x: Tensor, y: Tensor, N: number, ctx: RunContext): void {
    this.forwardJoin([x], y, N, ctx);
  }

  backward(x: Tensor, y: Tensor, gy: Tensor, gx: Tensor | null, N: number, ctx: RunContext): void {
    this.backwardJoin([x], y, gy, [gx], N, ctx);
  }
}

/** "[8, 8, 16] and [8, 8, 32]": the shapes of a join's inputs, for error messages. */
export function shapesOf(shapes: Shape[]): string {
  return shapes.map(fmt).join(' and ');
}
