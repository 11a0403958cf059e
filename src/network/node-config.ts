/** A graph node from its JSON form: a layer's config plus an optional "name" and "inputs". */
import type { LayerConfig } from '../layers/layer.js';
import { layerFromConfig } from '../layers/registry.js';
import type { GraphNode } from './topology.js';

/** Throws a plain Error naming the problem; the caller adds where (file, node). */
export function nodeFromConfig(config: LayerConfig): GraphNode {
  if (typeof config !== 'object' || config === null) return { layer: layerFromConfig(config) };
  const { name, inputs, ...layer } = config as LayerConfig & { name?: unknown; inputs?: unknown };
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new Error(`"name" must be a non-empty string, got ${JSON.stringify(name)}`);
  }
  if (inputs !== undefined && !(Array.isArray(inputs) && inputs.length > 0 && inputs.every((i) => typeof i === 'string'))) {
    throw new Error(`"inputs" must be a non-empty list of node names, got ${JSON.stringify(inputs)}`);
  }
  return { name, inputs: inputs as string[] | undefined, layer: layerFromConfig(layer as LayerConfig) };
}
