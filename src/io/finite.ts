/** Exports refuse a network holding NaN or ±Inf: non-finite numbers never reach a saved model. */
import { DescentError } from '../core/errors.js';
import { firstNonFinite, NonFiniteError } from '../core/finite.js';
import type { Sequential } from '../network/sequential.js';

export function checkFiniteNetwork(net: Sequential, what: string): void {
  // The exporters read each layer's tensors, which on a device (WebGPU) are handles, not numbers.
  if (net.device) {
    throw new DescentError(`${what}: the network is on the ${net.kernels.name} engine; save it and load it on a CPU engine ` +
      '(loadModel without an engine) to export it');
  }
  for (const [slots, vector] of [[net.paramSlots, net.w], [net.bufferSlots, net.buffers]] as const) {
    for (const s of slots) {
      const i = firstNonFinite(vector.subarray(s.offset, s.offset + s.length));
      if (i >= 0) {
        throw new NonFiniteError(`${what}: ${s.name} of layer ${s.layer} (${net.layers[s.layer].type}) holds ` +
          `${vector[s.offset + i]} at index ${i}; a saved model's numbers must be finite`);
      }
    }
  }
}
