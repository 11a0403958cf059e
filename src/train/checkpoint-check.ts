/**
 * Validation of a decoded checkpoint's fields. The CRC-32 catches corruption, not a crafted file
 * (anyone can recompute it): out-of-range order indices, a generator state that is not four
 * uint32 words, or an infinite step count would otherwise train on stale data or to NaN.
 * Core code; every message names the checkpoint and the field.
 */
import { DescentError } from '../core/errors.js';
import { MAX_CONFIG_DEPTH } from '../core/limits.js';

/**
 * The deepest nesting of brackets in JSON text, counted without parsing (a reviver would
 * recurse once per level). Brackets inside strings are skipped.
 */
export function bracketDepth(text: string): number {
  let depth = 0, max = 0, inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** A checkpoint's state JSON never nests deeper than its architecture's layer options (plus a few levels). */
export const MAX_STATE_DEPTH = MAX_CONFIG_DEPTH + 8;

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

interface Parts {
  state: Record<string, unknown>;
  w: Float32Array;
  epochStartWeights: Float32Array;
  order: Int32Array | null;
  best: Float32Array | null;
}

/** Throws a DescentError naming the first field that is not what the trainer wrote. */
export function checkCheckpointState(parts: Parts, source: string): void {
  const bad = (what: string) => new DescentError(`${source}: ${what}`);
  const { state: st, w, order } = parts;
  for (const key of ['architecture', 'optimizer', 'rng', 'history']) if (!isObject(st[key]) && !Array.isArray(st[key])) throw bad(`"${key}" is missing`);
  const history = st.history as Record<string, unknown>;
  if (!Array.isArray(history.epochs) || !Array.isArray(history.events)) throw bad('the history has no "epochs" and "events" lists');
  const opt = st.optimizer as Record<string, unknown>;
  if (!isObject(opt.config) || typeof opt.config.kind !== 'string') throw bad('the optimizer has no config');
  if (!isCount(opt.stepCount)) throw bad(`the optimizer's step count ${JSON.stringify(opt.stepCount)} is not an integer >= 0`);
  if (!Array.isArray(opt.buffers) || !opt.buffers.every((b) => typeof b === 'string')) throw bad("the optimizer's buffers must be a list of names");
  const rng = st.rng;
  if (!Array.isArray(rng) || rng.length !== 4 || !rng.every((v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32) || rng.every((v) => v === 0)) {
    throw bad(`the generator state ${JSON.stringify(rng).slice(0, 80)} is not four uint32 words, not all zero`);
  }
  if (st.schedule !== null && st.schedule !== undefined && !(isObject(st.schedule) && isObject(st.schedule.config))) throw bad('the schedule has no config');
  if (st.earlyStopping !== null && st.earlyStopping !== undefined && !isObject(st.earlyStopping)) throw bad('the early-stopping state is not an object');
  if (st.meta !== undefined && !isObject(st.meta)) throw bad('"meta" is not an object');
  if (typeof st.previousEpochLoss !== 'number') throw bad('"previousEpochLoss" is not a number');

  if (st.position !== null && st.position !== undefined) {
    const p = st.position;
    if (!isObject(p)) throw bad('the position in the epoch is not an object');
    for (const key of ['epoch', 'step', 'stepInEpoch', 'wrong', 'seen']) {
      if (!isCount(p[key])) throw bad(`position.${key} ${JSON.stringify(p[key])} is not an integer >= 0`);
    }
    if (typeof p.lossSum !== 'number' || !Number.isFinite(p.lossSum)) throw bad(`position.lossSum ${JSON.stringify(p.lossSum)} is not a finite number`);
    if (!order) throw bad('the position in the epoch has no "order" tensor');
    if ((p.seen as number) > order.length) throw bad(`position.seen ${p.seen} exceeds the ${order.length} samples of the epoch`);
  }
  if (order) checkPermutation(order, bad);

  const n = w.length;
  if (parts.epochStartWeights.length !== n) throw bad(`epoch_start_weights has ${parts.epochStartWeights.length} values, w has ${n}`);
  if (parts.best && parts.best.length !== n) throw bad(`best_weights has ${parts.best.length} values, w has ${n}`);
}

/** The epoch's order must hold each sample index 0..n-1 exactly once. */
function checkPermutation(order: Int32Array, bad: (what: string) => DescentError): void {
  const seen = new Uint8Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const j = order[i];
    if (j < 0 || j >= order.length) throw bad(`order[${i}] = ${j} is outside the epoch's samples 0..${order.length - 1}`);
    if (seen[j]) throw bad(`order holds sample ${j} twice`);
    seen[j] = 1;
  }
}
