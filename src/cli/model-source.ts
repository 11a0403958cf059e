/** A model named on the command line: a preset name or a JSON spec file ({inputShape?, layers} or a list of layers). */
import { existsSync, readFileSync } from 'node:fs';
import { DescentError } from '../core/errors.js';
import type { LayerConfig } from '../layers/layer.js';
import { isPreset, preset, presetNames } from '../models/presets.js';
import type { ArchitectureConfig } from '../network/sequential.js';

/** Without an input shape, a preset gets the one it is made for, and a spec file [28, 28, 1] unless it names one. */
export function loadArchitecture(model: string, givenShape?: number[], classes = 10): ArchitectureConfig {
  if (isPreset(model)) return preset(model, givenShape, classes);
  const inputShape = givenShape ?? [28, 28, 1];
  if (!existsSync(model)) throw new DescentError(`model "${model}" is neither a preset (${presetNames.join(', ')}) nor a file`);
  let spec: unknown;
  try {
    spec = JSON.parse(readFileSync(model, 'utf8'));
  } catch (e) {
    throw new DescentError(`${model}: not a JSON model spec (${(e as Error).message})`);
  }
  if (Array.isArray(spec)) return { inputShape, layers: spec as LayerConfig[] };
  const s = spec as Partial<ArchitectureConfig>;
  if (!s || !Array.isArray(s.layers)) throw new DescentError(`${model}: a model spec needs a "layers" list`);
  return { inputShape: s.inputShape ?? inputShape, layers: s.layers };
}
