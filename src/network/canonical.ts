/**
 * An architecture as the layers themselves write it: each layer's JSON rebuilt through its
 * constructor and config(), so that two spellings of one network compare equal (a checkpoint
 * written before an option existed lacks it; today's config() lists it with its default, e.g.
 * Conv2d's groups: 1). A config a layer refuses is returned as it was.
 */
import type { LayerConfig } from '../layers/layer.js';
import { layerFromConfig } from '../layers/registry.js';
import type { ArchitectureConfig } from './sequential.js';

export function canonicalArchitecture(config: ArchitectureConfig): ArchitectureConfig {
  try {
    // A graph node's name and inputs are not layer options: kept as they are, after the layer's own.
    return { ...config, layers: config.layers.map((c) => {
      const { name, inputs, ...layer } = c as LayerConfig & { name?: unknown; inputs?: unknown };
      return { ...layerFromConfig(layer as LayerConfig).config(), ...(name !== undefined ? { name } : {}), ...(inputs !== undefined ? { inputs } : {}) };
    }) };
  } catch {
    return config;
  }
}
