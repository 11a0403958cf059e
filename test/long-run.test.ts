/**
 * Long runs stay small: a tiny network trained 20,000 steps (online, under a per-step cosine schedule)
 * keeps the trainer's state flat between step 2,000 and step 20,000: the history's step window and
 * event log, the checkpoint's size (it grows only by the epoch records), the JavaScript heap and, on the
 * WebAssembly engine, the engine's memory. And the check is shown to catch the growth Descent had before
 * (every step's risk and, under a per-step schedule, an lr event per step kept in the history).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createDataset, type Dataset } from '../src/data/dataset.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { Sequential } from '../src/network/sequential.js';
import { Trainer, type FitOptions } from '../src/train/trainer.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const STEPS = 20_000, EARLY = 2_000, SAMPLES = 5_000;
/**
 * Heap growth allowed between the two points: below the ~2.3-2.5 MB of one lr event per step, above the
 * garbage collector's noise (up to 0.83 MB seen, the same at 20,000 and 80,000 steps: not a leak).
 */
const HEAP_SLACK = 1280 * 1024;
/** Checkpoint bytes allowed beyond the epoch records added (numbers in the JSON change length). */
const CHECKPOINT_SLACK = 256;

/** 5,000 samples of a 2×2 image, 3 classes: 4 epochs of 5,000 online steps. */
function tinyData(): Dataset {
  const x = new Float32Array(SAMPLES * 4), labels = new Int32Array(SAMPLES);
  for (let i = 0; i < SAMPLES; i++) {
    labels[i] = i % 3;
    x[i * 4 + (i % 3)] = 1;
    x[i * 4 + 3] = ((i * 7919) % 101) / 101;
  }
  return createDataset({ x, labels, shape: [2, 2, 1], classes: 3 }, 'tiny');
}

function tinyNet(engine: WasmEngine | null): Sequential {
  return Sequential.fromConfig({ inputShape: [2, 2, 1], layers: [{ type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' }] },
    { seed: 3, ...(engine ? { arena: engine.arena, kernels: engine.kernels } : {}) });
}

interface Point {
  checkpointBytes: number;
  heapBytes: number;
  engineBytes: number;
  stepLosses: number;
  events: number;
  epochRecordBytes: number;
}

/** Trains STEPS steps and measures the state at steps EARLY and STEPS; `imitateOld` adds the old per-step growth. */
async function longRun(engine: WasmEngine | null, imitateOld = false): Promise<{ early: Point; late: Point }> {
  const points = new Map<number, Partial<Point>>([[EARLY, {}], [STEPS, {}]]);
  const options: FitOptions = {
    epochs: STEPS / SAMPLES, batchSize: 1, optimizer: { kind: 'adam', lr: 0.01 }, schedule: { kind: 'cosine', totalSteps: STEPS },
    checkpointEvery: { steps: EARLY },
    onCheckpoint: (bytes, where) => {
      const p = points.get(where.step);
      if (p) p.checkpointBytes = bytes.length;
    },
    ...(imitateOld ? { keepStepLosses: STEPS } : {}),
  };
  const trainer = new Trainer(tinyNet(engine), options);
  trainer.on('step', (e) => {
    if (imitateOld) trainer.history.events.push({ type: 'lr', step: e.step, epoch: e.epoch, from: e.lr, to: e.lr, source: 'manual' });
    const p = points.get(e.step);
    if (!p) return;
    gc();
    Object.assign(p, {
      heapBytes: process.memoryUsage().heapUsed, engineBytes: engine?.arena.used ?? 0,
      stepLosses: trainer.history.stepLosses.length, events: trainer.history.events.length,
      epochRecordBytes: JSON.stringify(trainer.history.epochs).length,
    });
  });
  const history = await trainer.fit(tinyData());
  assert.equal(history.stopReason, 'epochs');
  return { early: points.get(EARLY) as Point, late: points.get(STEPS) as Point };
}

/** What grew between the two points, beyond what per-epoch records allow; empty when the run stayed flat. */
function growth({ early, late }: { early: Point; late: Point }): string[] {
  const problems: string[] = [];
  if (late.stepLosses !== early.stepLosses) problems.push(`history.stepLosses: ${early.stepLosses} → ${late.stepLosses}`);
  if (late.events !== early.events) problems.push(`history.events: ${early.events} → ${late.events}`);
  const allowed = late.epochRecordBytes - early.epochRecordBytes + CHECKPOINT_SLACK;
  if (late.checkpointBytes - early.checkpointBytes > allowed) {
    problems.push(`checkpoint: ${early.checkpointBytes} → ${late.checkpointBytes} bytes (allowed +${allowed})`);
  }
  if (late.heapBytes - early.heapBytes > HEAP_SLACK) problems.push(`heap: ${early.heapBytes} → ${late.heapBytes} bytes`);
  if (late.engineBytes !== early.engineBytes) problems.push(`engine memory: ${early.engineBytes} → ${late.engineBytes} bytes`);
  return problems;
}

describe('a run of 20,000 steps keeps memory and checkpoint size flat', () => {
  let engine: WasmEngine;
  before(async () => (engine = await createWasmEngine({ threads: 1 })));
  after(() => engine.dispose());

  it('on the reference engine', async () => {
    const run = await longRun(null);
    assert.deepEqual(growth(run), []);
    assert.equal(run.late.stepLosses, 1000, 'the default window of step risks');
    assert.equal(run.late.events, 0, 'a schedule\'s rate changes are not events');
  });

  it('on the WebAssembly engine', async () => {
    const run = await longRun(engine);
    assert.deepEqual(growth(run), []);
    assert.ok(run.late.engineBytes > 0, 'the engine\'s memory was measured');
  });

  it('the check catches the old growth: every step\'s risk and an lr event per step kept in the history', async () => {
    const problems = growth(await longRun(null, true));
    for (const what of ['history.stepLosses', 'history.events', 'checkpoint', 'heap']) {
      assert.ok(problems.some((p) => p.startsWith(what)), `${what} not caught: ${problems.join('; ')}`);
    }
  });
});
