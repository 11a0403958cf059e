/**
 * The notes' one long parameter vector w (and the buffer vector beside it): each layer's named
 * tensors are consecutive views of one engine tensor, so an optimizer steps over all of w at once.
 */
import { sizeOf } from '../core/shape.js';
import type { Tensor } from '../core/tensor.js';
import type { Layer, ParamSpec } from '../layers/layer.js';
import type { TensorSlot } from './sequential.js';

/** The number of elements of every layer's tensors together. */
export function countOf(specs: ParamSpec[][]): number {
  let n = 0;
  for (const layerSpecs of specs) for (const s of layerSpecs) n += sizeOf(s.shape);
  return n;
}

/** Carves consecutive views, layer by layer, out of one vector. */
export function carve(layers: Layer[], specs: ParamSpec[][], vector: Tensor, slots: TensorSlot[],
  bind: (layer: Layer, name: string, view: Tensor) => void,
  view: (t: Tensor, offset: number, length: number) => Tensor): void {
  let offset = 0;
  specs.forEach((layerSpecs, k) => {
    for (const s of layerSpecs) {
      const length = sizeOf(s.shape);
      bind(layers[k], s.name, view(vector, offset, length));
      slots.push({ layer: k, name: s.name, shape: s.shape, offset, length });
      offset += length;
    }
  });
}
