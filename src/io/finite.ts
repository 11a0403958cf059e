/** Exports refuse a network holding NaN or ±Inf: non-finite numbers never reach a saved model. */
import { DescentError } from '../core/errors.js';
import type { Sequential } from '../network/sequential.js';

export function checkFiniteNetwork(net: Sequential, what: string): void {
  for (const [slots, vector] of [[net.paramSlots, net.w], [net.bufferSlots, net.buffers]] as const) {
    for (const s of slots) {
      for (let i = s.offset; i < s.offset + s.length; i++) {
        if (!Number.isFinite(vector[i])) {
          throw new DescentError(`${what}: ${s.name} of layer ${s.layer} (${net.layers[s.layer].type}) holds ${vector[i]} ` +
            `at index ${i - s.offset}; a saved model's numbers must be finite`);
        }
      }
    }
  }
}
