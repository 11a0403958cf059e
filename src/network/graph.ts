/**
 * Graph networks: a directed acyclic graph of named nodes, each a layer reading one or more
 * earlier tensors. `Graph` is the same network class as `Sequential` (a Sequential is the graph
 * in which every node reads the one before); it exists so that code says what it builds.
 *
 *   const net = new Graph([
 *     { name: 'stem', layer: new Conv2d({ outChannels: 16, kernelSize: 3, padding: 1 }) },
 *     new ReLU(),                                             // reads the node before it
 *     ...residualBlock('block1', { input: '1', outChannels: 16 }),
 *     new GlobalAvgPool(), new Dense({ outFeatures: 10 }), new Softmax(),
 *   ], { inputShape: [32, 32, 3] });
 */
import type { LayerConfig } from '../layers/layer.js';
import type { Layer } from '../layers/layer.js';
import { nodeFromConfig } from './node-config.js';
import { Sequential, type SequentialOptions } from './sequential.js';
import type { GraphNode } from './topology.js';

export { INPUT, type GraphNode } from './topology.js';

export class Graph extends Sequential {
  constructor(nodes: Array<Layer | GraphNode>, options: SequentialOptions) {
    super(nodes, options);
  }
}

export interface ResidualBlockOptions {
  /** The name of the node the block reads ("input" for the network input). */
  input: string;
  outChannels: number;
  /** Stride of the first 3×3 convolution (2 halves the image). Default 1. */
  stride?: number;
  /**
   * The shortcut: 'identity' (x itself) or 'projection' (a 1×1 convolution with the block's stride,
   * then batch norm: He et al.'s option B). Default: 'projection' when stride > 1, else 'identity';
   * a block that changes the number of channels needs 'projection'.
   */
  shortcut?: 'identity' | 'projection';
}

/**
 * A ResNet basic block (He et al. 2016) as JSON nodes named `<name>.conv1`, …, `<name>.relu2`:
 * conv3×3(stride) → BN → ReLU → conv3×3 → BN, plus the shortcut, added, then ReLU. The last node,
 * `<name>.relu2`, is the block's output. Convolutions have no bias (batch norm follows).
 */
export function residualBlockConfig(name: string, options: ResidualBlockOptions): LayerConfig[] {
  const stride = options.stride ?? 1, O = options.outChannels;
  const shortcut = options.shortcut ?? (stride > 1 ? 'projection' : 'identity');
  const conv = (k: number, s: number, p: number) => ({ type: 'Conv2d', outChannels: O, kernelSize: k, stride: s, padding: p, bias: false });
  const nodes: LayerConfig[] = [
    { name: `${name}.conv1`, inputs: [options.input], ...conv(3, stride, 1) },
    { name: `${name}.bn1`, type: 'BatchNorm2d' },
    { name: `${name}.relu1`, type: 'ReLU' },
    { name: `${name}.conv2`, ...conv(3, 1, 1) },
    { name: `${name}.bn2`, type: 'BatchNorm2d' },
  ];
  let short = options.input;
  if (shortcut === 'projection') {
    nodes.push({ name: `${name}.shortcut.conv`, inputs: [options.input], ...conv(1, stride, 0) },
      { name: `${name}.shortcut.bn`, type: 'BatchNorm2d' });
    short = `${name}.shortcut.bn`;
  }
  nodes.push({ name: `${name}.add`, type: 'Add', inputs: [`${name}.bn2`, short] }, { name: `${name}.relu2`, type: 'ReLU' });
  return nodes;
}

/** The same block as graph nodes, for the TypeScript API: one call. */
export function residualBlock(name: string, options: ResidualBlockOptions): GraphNode[] {
  return residualBlockConfig(name, options).map((c) => nodeFromConfig(c));
}
