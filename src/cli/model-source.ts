/** A model named on the command line: a preset name or a JSON spec file ({inputShape?, layers} or a list of layers). */
import { existsSync } from 'node:fs';
import { DescentError, oneLine } from '../core/errors.js';
import { MAX_CONFIG_DEPTH } from '../core/limits.js';
import type { LayerConfig } from '../layers/layer.js';
import { isPreset, preset, presetNames } from '../models/presets.js';
import { jsonDepth } from '../network/config-check.js';
import type { ArchitectureConfig } from '../network/sequential.js';
import { readFileMaybeGzip } from '../node/files.js';

/** A spec file is a few hundred bytes; 1 MiB leaves room for any network Descent builds. */
const MAX_SPEC_BYTES = 2 ** 20;

export function loadArchitecture(model: string, inputShape: number[] = [28, 28, 1], classes = 10): ArchitectureConfig {
  if (isPreset(model)) return preset(model, inputShape, classes);
  if (!existsSync(model)) throw new DescentError(`model "${model}" is neither a preset (${presetNames.join(', ')}) nor a file`);
  let spec: unknown;
  try {
    spec = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(readFileMaybeGzip(model, MAX_SPEC_BYTES)));
  } catch (e) {
    if (e instanceof DescentError) throw e;
    throw new DescentError(`${model}: not a JSON model spec (${oneLine((e as Error).message)})`);
  }
  if (jsonDepth(spec, MAX_CONFIG_DEPTH + 2) > MAX_CONFIG_DEPTH + 2) throw new DescentError(`${model}: the spec nests too deeply to be a model spec`);
  if (Array.isArray(spec)) return { inputShape, layers: spec as LayerConfig[] };
  if (spec === null || typeof spec !== 'object' || !Array.isArray((spec as ArchitectureConfig).layers)) {
    throw new DescentError(`${model}: a model spec needs a "layers" list`);
  }
  const s = spec as Partial<ArchitectureConfig> & Record<string, unknown>;
  const unknown = Object.keys(s).find((k) => k !== 'layers' && k !== 'inputShape');
  if (unknown) throw new DescentError(`${model}: unknown key "${unknown}" (a spec has "inputShape" and "layers")`);
  return { inputShape: s.inputShape ?? inputShape, layers: s.layers! };
}
