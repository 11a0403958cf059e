/**
 * What the WebGPU engine cannot run, known when a network is placed on it (and again when a batch
 * size is reserved), so that it is refused in one line before a run starts rather than failing at
 * a dispatch: a tensor larger than the adapter's largest storage binding (each tensor is bound
 * whole), a GEMM with more than 65,535 tiles of 32 rows, and more than 65,535 channels where one
 * workgroup sums each channel (bias gradients, batch norm).
 */
import type { DeviceNode } from '../../kernels/kernels.js';

/** Workgroups along one dispatch dimension (WebGPU's guaranteed minimum, and SwiftShader's). */
export const MAX_GROUPS = 65535;
/** Output rows (and columns) of one GEMM tile. */
export const TILE = 32;

const GEMM_ROWS = MAX_GROUPS * TILE;
const CONVS = new Set(['Conv2d', 'DepthwiseConv2d']);
/** Layers whose backward (bias) or forward (batch norm) runs one workgroup per output channel. */
const PER_CHANNEL = new Set(['Conv2d', 'DepthwiseConv2d', 'Dense', 'BatchNorm2d', 'BatchNorm1d']);

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const pixels = (shape: readonly number[]) => count(shape.slice(0, -1));

/** Why the engine cannot run `node` at `batch` samples, or null; `maxElements` is one binding's floats. */
export function unsupportedNode(node: DeviceNode, batch: number, maxElements: number): string | null {
  const per = (batch === 1 ? 'one sample' : `a batch of ${batch}`);
  for (const [what, shape] of [...node.inputs.map((s) => ['input', s] as const), ['output', node.output] as const]) {
    if (batch * count(shape) > maxElements) {
      return `its ${what} for ${per} holds ${batch * count(shape)} floats, more than the ${maxElements} ` +
        'of the WebGPU adapter\'s largest storage binding (use a smaller batch)';
    }
  }
  const channels = node.output[node.output.length - 1];
  if (PER_CHANNEL.has(node.type) && channels > MAX_GROUPS) {
    return `${channels} output channels are more than the ${MAX_GROUPS} the WebGPU engine sums per channel in one dispatch`;
  }
  const rows = CONVS.has(node.type) ? Math.max(...[node.output, ...node.inputs].map(pixels)) * batch
    : node.type === 'Dense' ? batch : 0;
  if (rows > GEMM_ROWS) {
    return `its matrix product for ${per} has ${rows} rows, more than the ${GEMM_ROWS} one WebGPU dispatch covers (use a smaller batch)`;
  }
  return null;
}
