/**
 * Exports refuse a network holding NaN or ±Inf: non-finite numbers never reach a saved model. On a
 * device engine they read the host copies, which must be up to date.
 */
import { DescentError } from '../core/errors.js';
import { firstNonFinite, NonFiniteError } from '../core/finite.js';
import type { Sequential } from '../network/sequential.js';

export function checkFiniteNetwork(net: Sequential, what: string): void {
  // Exporters read the host copies of w and the buffers (hostTensors); on a device (WebGPU) they
  // must be current: fit leaves them so, other device-side changes need a download.
  if (!net.hostInSync) {
    throw new DescentError(`${what}: the network changed on the ${net.kernels.name} engine's device since its numbers were ` +
      'last read: await net.download() first');
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
