/**
 * An architecture as the layers themselves write it: each layer's JSON rebuilt through its
 * constructor and config(), so that two spellings of one network compare equal (a checkpoint
 * written before an option existed lacks it; today's config() lists it with its default, e.g.
 * Conv2d's groups: 1). A config a layer refuses is returned as it was.
 */
import { layerFromConfig } from '../layers/registry.js';
import type { ArchitectureConfig } from './sequential.js';

export function canonicalArchitecture(config: ArchitectureConfig): ArchitectureConfig {
  try {
    return { ...config, layers: config.layers.map((c) => layerFromConfig(c).config()) };
  } catch {
    return config;
  }
}
