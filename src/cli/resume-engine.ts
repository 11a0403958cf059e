/**
 * The engine of a resumed run, as PyTorch users expect of `torch.load` (a CUDA checkpoint comes back
 * on CUDA unless `map_location` says otherwise): `--resume` continues on the engine the run trained
 * on (the resolved one: `auto` that picked webgpu is saved as webgpu) and its GPU adapter; an
 * explicit `--engine` is honoured, with one line saying that the continuation is not bitwise the
 * one the original engine would compute (engines round float32 differently).
 */
import { DescentError } from '../core/errors.js';
import type { Engine } from '../node/engine.js';
import type { TrainFlags } from './train.js';

/** What a checkpoint's meta keeps of the engine: the one that ran, and the adapter asked for on webgpu. */
export function engineMeta(engine: Engine, flags: TrainFlags): Pick<TrainFlags, 'engine' | 'gpuAdapter'> {
  if (engine.name !== 'webgpu') return { engine: engine.name };
  return { engine: 'webgpu', gpuAdapter: flags.gpuAdapter ?? (process.env.DESCENT_GPU_ADAPTER === 'swiftshader' ? 'swiftshader' : 'system') };
}

/** Puts back the checkpoint's engine (and adapter) unless --engine (--gpu-adapter) was given. */
export function restoreEngine(flags: TrainFlags, explicit: Set<string>, saved: Partial<TrainFlags>): void {
  if (!saved.engine || explicit.has('engine')) return;
  flags.engine = saved.engine;
  if (saved.engine === 'webgpu' && saved.gpuAdapter && !explicit.has('gpuAdapter')) flags.gpuAdapter = saved.gpuAdapter;
}

/** The engine failed to start for a resumed run that asked for it only through its checkpoint: say how to choose another. */
export function resumedEngineError(e: unknown, saved: Partial<TrainFlags>, explicit: Set<string>): unknown {
  if (!saved.engine || explicit.has('engine') || !(e instanceof Error)) return e;
  const other = saved.engine === 'reference' ? 'wasm' : 'reference';
  const instead = saved.engine === 'webgpu' ? 'wasm continues it on the CPU' : `${other} continues it`;
  return new DescentError(`${e.message} (the checkpoint was trained on the ${saved.engine} engine; --engine ${instead}, ` +
    'not bitwise as it would have)');
}

/** One line when the run continues on another engine than it trained on, else null. */
export function engineChangeNote(saved: Partial<TrainFlags>, engine: Engine): string | null {
  if (!saved.engine || saved.engine === 'auto' || saved.engine === engine.name) return null;
  return `note: this run trained on the ${saved.engine} engine and continues on ${engine.name}: the continuation is not ` +
    `bitwise the one ${saved.engine} would compute (engines round float32 differently)`;
}
