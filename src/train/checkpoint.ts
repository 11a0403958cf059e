/**
 * Checkpoints: everything needed to continue a run bit for bit — the architecture, w, running
 * statistics, optimizer, schedule and learning-rate state, the generator's state, the position inside
 * the epoch (its shuffled order too), early-stopping state and the history (bounded: its size does not
 * grow with the steps). Stored as a safetensors file (tensors as tensors, the rest as JSON in its
 * metadata) with a CRC-32 over both, so a truncated or corrupted checkpoint is refused with a clear
 * error and never half-loaded. A NaN or ∞ in any tensor is refused both ways (NonFiniteError): such a
 * checkpoint is never written, nor loaded. Format 2; format 1 (before the learning rate had one home)
 * is still read, through checkpoint-v1.ts.
 */
import { crc32 } from '../core/checksum.js';
import { DescentError, oneLine } from '../core/errors.js';
import { checkFinite } from '../core/finite.js';
import type { Floats } from '../core/floats.js';
import type { RngState } from '../core/rng.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../io/safetensors.js';
import type { ArchitectureConfig } from '../network/sequential.js';
import { CHECKPOINT_FORMAT_1, migrateHistory1, migrateSchedule1 } from './checkpoint-v1.js';
import type { EarlyStoppingState } from './early-stopping.js';
import type { LearningRateState } from './learning-rate.js';
import { fromLegacyNames, type OptimizerConfig, type OptimizerState } from './optimizers/index.js';
import type { ScheduleConfig } from './schedules/index.js';
import type { History } from './trainer.js';
import { bracketDepth, checkCheckpointState, MAX_STATE_DEPTH } from './checkpoint-check.js';

/** The `format` a checkpoint's metadata carries. */
export const CHECKPOINT_FORMAT = 'descent-checkpoint-2';

/** Everything a checkpoint holds: the architecture, w, running statistics, optimizer, schedule and generator state, the position in the epoch, early stopping and the history. */
export interface TrainerSnapshot {
  /** The network's architecture. */
  architecture: ArchitectureConfig;
  /** The parameter vector w. */
  w: Floats;
  /** The running statistics. */
  buffers: Floats;
  /** The optimizer's config and state. */
  optimizer: { config: OptimizerConfig; state: OptimizerState };
  /** The schedule's config and state, if any. */
  schedule: { config: ScheduleConfig; state: unknown } | null;
  /** The learning rate's state; no base in a format-1 checkpoint (the trainer's options give it). */
  rate: Omit<LearningRateState, 'base'> & { base?: number };
  /** The generator's state. */
  rng: RngState;
  /** Where in the epoch training stood (null between epochs). */
  position: { epoch: number; step: number; stepInEpoch: number; lossSum: number; wrong: number; seen: number } | null;
  /** The epoch's shuffled order of samples. */
  order: Int32Array | null;
  /** w at the start of the epoch (for the step-size criterion). */
  epochStartWeights: Float32Array;
  /** The previous epoch's training risk (for the loss-change criterion). */
  previousEpochLoss: number;
  /** Early stopping's state and best weights, if enabled. */
  earlyStopping: { state: EarlyStoppingState; bestWeights: Float32Array | null; bestBuffers: Float32Array | null } | null;
  /** The history so far. */
  history: History;
  /** The caller's meta (FitOptions.meta). */
  meta: Record<string, unknown>;
}

const f32 = (a: ArrayLike<number>): TensorInput => ({ shape: [a.length], data: Float32Array.from(a) });

/** JSON that keeps Infinity and NaN (early stopping starts at best = Infinity). */
function stringify(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? { $number: String(v) } : v));
}
function parse(text: string): unknown {
  return JSON.parse(text, (_k, v) => (v && typeof v === 'object' && '$number' in v ? Number(v.$number) : v));
}

function checksum(tensors: Map<string, { data: ArrayBufferView }>, json: string): string {
  let c = crc32(new TextEncoder().encode(json));
  for (const name of [...tensors.keys()].sort()) {
    const d = tensors.get(name)!.data;
    c = crc32(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), c);
  }
  return c.toString(16).padStart(8, '0');
}

/** A checkpoint's bytes (safetensors with a CRC-32); Trainer writes them through onCheckpoint. */
export function encodeCheckpoint(s: TrainerSnapshot): Uint8Array {
  const tensors = new Map<string, TensorInput>();
  tensors.set('w', f32(s.w));
  tensors.set('buffers', f32(s.buffers));
  tensors.set('epoch_start_weights', f32(s.epochStartWeights));
  for (const [name, b] of Object.entries(s.optimizer.state.buffers)) tensors.set(`optimizer.${name}`, f32(b));
  if (s.order) tensors.set('order', { shape: [s.order.length], data: Int32Array.from(s.order) });
  if (s.earlyStopping?.bestWeights) tensors.set('best_weights', f32(s.earlyStopping.bestWeights));
  if (s.earlyStopping?.bestBuffers) tensors.set('best_buffers', f32(s.earlyStopping.bestBuffers));
  // The step risks as float64 (exact, and a fixed 8 bytes each: the size does not drift with their digits).
  const { stepLosses, ...history } = s.history;
  tensors.set('step_losses', { shape: [stepLosses.length], data: Float64Array.from(stepLosses) });
  for (const [name, t] of tensors) if (t.data instanceof Float32Array) checkFinite(t.data, name, 'cannot write the checkpoint');
  const state = stringify({
    architecture: s.architecture,
    optimizer: { config: s.optimizer.config, stepCount: s.optimizer.state.stepCount, buffers: Object.keys(s.optimizer.state.buffers) },
    schedule: s.schedule,
    rate: s.rate,
    rng: s.rng,
    position: s.position,
    previousEpochLoss: s.previousEpochLoss,
    earlyStopping: s.earlyStopping ? s.earlyStopping.state : null,
    history,
    meta: s.meta,
  });
  return encodeSafetensors(tensors, { format: CHECKPOINT_FORMAT, state, checksum: checksum(tensors, state) });
}

/** Reads a checkpoint's bytes, refusing a truncated or corrupted one; `source` names it in errors. */
export function decodeCheckpoint(bytes: Uint8Array, source = 'checkpoint'): TrainerSnapshot {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes, source);
  } catch (e) {
    throw new DescentError(`${source} is not a readable checkpoint (truncated or corrupted?): ${(e as Error).message}`);
  }
  const { tensors, metadata } = decoded;
  const v1 = metadata.format === CHECKPOINT_FORMAT_1;
  if (!v1 && metadata.format !== CHECKPOINT_FORMAT) {
    const newer = /^descent-checkpoint-\d+$/.test(metadata.format ?? '');
    throw new DescentError(newer
      ? `${source} was written by a newer Descent (format ${metadata.format}); this one reads ${CHECKPOINT_FORMAT_1} and ${CHECKPOINT_FORMAT}`
      : `${source} is not a Descent checkpoint (format ${JSON.stringify(metadata.format)}, expected ${CHECKPOINT_FORMAT})`);
  }
  const actual = checksum(tensors, metadata.state ?? '');
  if (actual !== metadata.checksum) {
    throw new DescentError(`${source} is corrupted: checksum ${actual} does not match the recorded ${metadata.checksum}`);
  }
  if (typeof metadata.state !== 'string' || bracketDepth(metadata.state) > MAX_STATE_DEPTH) {
    throw new DescentError(`${source}: its state is missing or nests too deeply`);
  }
  let parsed: unknown;
  try {
    parsed = parse(metadata.state);
  } catch (e) {
    throw new DescentError(`${source}: its state is not valid JSON: ${oneLine((e as Error).message)}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new DescentError(`${source}: its state is not a JSON object`);
  const order = tensors.get('order')?.data;
  if (order !== undefined && !(order instanceof Int32Array)) throw new DescentError(`${source}: tensor "order" is not I32`);
  for (const [name, t] of tensors) {
    const [want, ok] = name === 'step_losses' ? ['F64', t.data instanceof Float64Array] : ['F32', t.data instanceof Float32Array];
    if (name !== 'order' && !ok) throw new DescentError(`${source}: tensor "${name}" is ${t.dtype}, expected ${want}`);
  }
  const w = tensors.get('w')?.data as Float32Array | undefined, start = tensors.get('epoch_start_weights')?.data as Float32Array | undefined;
  if (!w || !start) throw new DescentError(`${source}: tensor "${w ? 'epoch_start_weights' : 'w'}" is missing`);
  for (const [name, t] of tensors) if (t.data instanceof Float32Array) checkFinite(t.data, name, source);
  checkCheckpointState({ state: parsed as Record<string, unknown>, w, epochStartWeights: start, order: order ?? null,
    best: (tensors.get('best_weights')?.data as Float32Array | undefined) ?? null }, source);
  const st = parsed as {
    architecture: ArchitectureConfig; optimizer: { config: OptimizerConfig; stepCount: number; buffers: string[] };
    schedule: TrainerSnapshot['schedule']; rate: TrainerSnapshot['rate']; rng: RngState; position: TrainerSnapshot['position'];
    previousEpochLoss: number; earlyStopping: EarlyStoppingState | null; history: History; meta?: Record<string, unknown>;
  };
  const get = (name: string) => tensors.get(name)?.data as Float32Array | undefined;
  const need = (name: string) => {
    const t = get(name);
    if (!t) throw new DescentError(`${source}: tensor "${name}" is missing`);
    return t;
  };
  if (!st.history || typeof st.history !== 'object') throw new DescentError(`${source}: its history is missing`);
  if (v1) Object.assign(st, migrateSchedule1(st.schedule, st.optimizer?.config?.lr), { history: migrateHistory1(st.history) });
  else if (!st.rate || typeof st.rate !== 'object') throw new DescentError(`${source}: its learning-rate state is missing`);
  else st.history.stepLosses = Array.from(need('step_losses'));
  const optimizerBuffers: Record<string, Floats> = {};
  for (const name of st.optimizer.buffers) optimizerBuffers[name] = need(`optimizer.${name}`);
  return {
    architecture: st.architecture,
    w: need('w'),
    buffers: need('buffers'),
    optimizer: { config: fromLegacyNames(st.optimizer.config), state: { stepCount: st.optimizer.stepCount, buffers: optimizerBuffers } },
    schedule: st.schedule,
    rate: st.rate,
    rng: st.rng,
    position: st.position,
    order: (tensors.get('order')?.data as Int32Array | undefined) ?? null,
    epochStartWeights: need('epoch_start_weights'),
    previousEpochLoss: st.previousEpochLoss,
    earlyStopping: st.earlyStopping
      ? { state: st.earlyStopping, bestWeights: get('best_weights') ?? null, bestBuffers: get('best_buffers') ?? null }
      : null,
    history: st.history,
    meta: st.meta ?? {},
  };
}
