/**
 * A model's input preprocessing, x ↦ (x·scale − mean[c]) / std[c], checked and made explicit for
 * the exporters, which put it into the exported model (ONNX, TensorFlow.js) or next to it (PyTorch).
 */
import { DescentError } from '../core/errors.js';
import type { Preprocessing } from './model-file.js';

/** Preprocessing with every part present: mean and std hold one number per channel. */
export interface InputTransform {
  scale: number;
  mean: number[];
  std: number[];
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * The transform for an input whose last axis has `channels` entries, or null when `p` changes
 * nothing. A single mean or std applies to every channel. Throws naming the bad entry.
 */
export function inputTransform(p: Preprocessing | undefined, channels: number, where: string): InputTransform | null {
  if (p === undefined || p === null) return null;
  const scale = p.scale ?? 1;
  if (!finite(scale) || scale === 0) throw new DescentError(`${where}: preprocessing scale must be a finite non-zero number, got ${JSON.stringify(p.scale)}`);
  const perChannel = (key: 'mean' | 'std', fallback: number): number[] => {
    const v = p[key];
    if (v === undefined) return new Array<number>(channels).fill(fallback);
    if (!Array.isArray(v) || !v.every(finite) || (v.length !== 1 && v.length !== channels)) {
      throw new DescentError(`${where}: preprocessing ${key} must be 1 or ${channels} finite numbers (one per channel), got ${JSON.stringify(v)}`);
    }
    return v.length === 1 ? new Array<number>(channels).fill(v[0]) : [...v];
  };
  const mean = perChannel('mean', 0), std = perChannel('std', 1);
  if (std.some((s) => s === 0)) throw new DescentError(`${where}: preprocessing std must not be 0, got ${JSON.stringify(p.std)}`);
  if (scale === 1 && mean.every((m) => m === 0) && std.every((s) => s === 1)) return null;
  return { scale, mean, std };
}

/** One line for people: what a raw input goes through before the network. */
export function describeTransform(t: InputTransform | null): string {
  if (!t) return 'none: the network takes its input as it is';
  const list = (v: number[]) => (v.every((x) => x === v[0]) ? String(v[0]) : `[${v.join(', ')}]`);
  return `x ↦ (x · ${t.scale} − ${list(t.mean)}) / ${list(t.std)} per channel (last axis of [H, W, C])`;
}
