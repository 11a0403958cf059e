/**
 * Validation of an architecture given as JSON (spec files, model files, checkpoints) before any
 * layer is built: its shape, its size, and then that every option was understood. Core code.
 */
import { ShapeError } from '../core/errors.js';
import { MAX_CONFIG_DEPTH, MAX_LAYERS } from '../core/limits.js';
import type { Layer, LayerConfig } from '../layers/layer.js';

/** Levels of a JSON value, leaves included (5 is 1, [5] is 2), counted without recursing (a crafted value may nest 100,000 deep); stops past `limit`. */
export function jsonDepth(value: unknown, limit = MAX_CONFIG_DEPTH): number {
  let level: unknown[] = [value], depth = 0;
  while (level.length > 0 && depth <= limit) {
    const next: unknown[] = [];
    for (const v of level) if (v !== null && typeof v === 'object') for (const child of Object.values(v as object)) next.push(child);
    depth++;
    level = next;
  }
  return depth;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The shape of an ArchitectureConfig: `{ inputShape: number[], layers: [{ type, ...options }] }`. */
export function checkArchitectureShape(config: unknown): void {
  if (!isPlainObject(config) || !Array.isArray(config.layers) || !Array.isArray(config.inputShape)) {
    throw new ShapeError('an architecture needs "inputShape" (e.g. [28, 28, 1]) and a "layers" list');
  }
  if (config.layers.length > MAX_LAYERS) {
    throw new ShapeError(`the architecture has ${config.layers.length} layers, more than the ${MAX_LAYERS} Descent builds`);
  }
  const shape = config.inputShape;
  if (shape.length === 0 || shape.length > 4 || !shape.every((d) => Number.isSafeInteger(d) && d > 0)) {
    throw new ShapeError(`input shape must be 1 to 4 positive integers like [28, 28, 1], got ${JSON.stringify(shape).slice(0, 80)}`);
  }
  config.layers.forEach((c: unknown, k: number) => {
    if (!isPlainObject(c) || typeof c.type !== 'string') {
      throw new ShapeError(`layer ${k}: a layer must be an object with a "type" string`);
    }
    if (jsonDepth(c) > MAX_CONFIG_DEPTH) throw new ShapeError(`layer ${k} (${c.type}): its options nest too deeply`);
  });
}

/**
 * Every key of a layer's JSON must be an option the layer took: it reports all of them in
 * config(). An unknown key is refused by name (`"strides": 2` would otherwise give stride 1).
 */
export function checkKnownOptions(config: LayerConfig, layer: Layer, k: number): void {
  const taken = layer.config(), known = Object.keys(taken);
  for (const [key, given] of Object.entries(config)) {
    if (!known.includes(key)) {
      const options = known.filter((o) => o !== 'type');
      throw new ShapeError(`layer ${k} (${config.type}): unknown option "${key}"` +
        (options.length ? ` (its options: ${options.join(', ')})` : ' (it takes no options)'));
    }
    if (!sameOption(given, taken[key])) {
      throw new ShapeError(`layer ${k} (${config.type}): option "${key}" is ${JSON.stringify(given)}, ` +
        `which the layer would take as ${JSON.stringify(taken[key])}: give that value`);
    }
  }
}

/** Did the layer keep the value as given? (A size n is kept as the pair [n, n].) */
function sameOption(given: unknown, taken: unknown): boolean {
  if (typeof given === 'number' && Array.isArray(taken)) return taken.every((t) => t === given);
  if (Array.isArray(given) && Array.isArray(taken)) return given.length === taken.length && given.every((g, i) => g === taken[i]);
  return given === taken;
}
