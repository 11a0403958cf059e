/**
 * Checkpoint formats: format 1, written before the learning rate had one home, still resumes (the
 * fixtures were written by Descent at 0c404e1, with test/fixtures/checkpoint-v1/make.mjs); a format from
 * a newer Descent is refused with a clear message; format 2 keeps the step risks exactly.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { encodeSafetensors } from '../src/io/safetensors.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import type { LrEvent } from '../src/train/events.js';
import { Trainer, type FitOptions } from '../src/train/trainer.js';
import { assertClose, fixture } from './helpers.js';
import { patches, smallNet } from './synthetic.js';

/** The run of make.mjs. */
const options = (scheduled: boolean): FitOptions => ({
  epochs: 3, batchSize: 16, optimizer: { kind: 'adam', lr: 0.01 },
  ...(scheduled ? { schedule: { kind: 'cosine', totalSteps: 30, warmupSteps: 3 } } : {}),
  validation: patches(60, 4), earlyStopping: { monitor: 'val_error', patience: 5 }, augment: { shift: 1 },
});

type Name = 'plain' | 'manual' | 'unscheduled';
type Expected = Record<Name, { ratesAfter14: number[]; weights: string }>;

async function resumeV1(name: Name) {
  const bytes = new Uint8Array(readFileSync(new URL(`../../test/fixtures/checkpoint-v1/${name}.safetensors`, import.meta.url)));
  const net = smallNet(21), trainer = new Trainer(net, options(name !== 'unscheduled'));
  trainer.restore(bytes, `${name}.safetensors`);
  const resumedHistory = structuredClone(trainer.history);
  const rates: number[] = [];
  trainer.on('step', (e) => rates.push(e.lr));
  await trainer.fit(patches(150, 3));
  const expected = fixture<Expected>('checkpoint-v1/expected.json')[name];
  return { rates, weights: net.getWeights(), resumedHistory, expected: { rates: expected.ratesAfter14, weights: floatsOf(expected.weights) } };
}

describe('checkpoint formats', () => {
  it('format 1 without a manual change resumes to bitwise the same rates and weights as the run that wrote it', async () => {
    const r = await resumeV1('plain');
    assert.deepEqual(r.rates, r.expected.rates);
    assert.deepEqual(Buffer.from(r.weights.buffer), Buffer.from(r.expected.weights.buffer));
    assert.equal(r.resumedHistory.stepLosses.length, 14);
    assert.deepEqual(r.resumedHistory.events, [], 'its 13 per-step schedule events are dropped');
  });

  it('format 1 with a manual ÷10 keeps it: the same rates to rounding, the manual event kept', async () => {
    const r = await resumeV1('manual');
    assertClose(r.rates, r.expected.rates, 1e-14, 'rates after step 14', 0);
    assertClose(r.weights, r.expected.weights, 1e-5, 'weights');
    const kept = r.resumedHistory.events as LrEvent[];
    assert.deepEqual(kept.map((e) => [e.type, e.step, e.source]), [['lr', 5, 'manual']]);
  });

  it('format 1 without a schedule keeps a rate set by hand (it lived in the optimizer\'s lr): bitwise the same run', async () => {
    const r = await resumeV1('unscheduled');
    assert.deepEqual(r.rates, r.expected.rates);
    assert.ok(r.rates.every((lr) => lr === 0.004));
    assert.deepEqual(Buffer.from(r.weights.buffer), Buffer.from(r.expected.weights.buffer));
  });

  it('a checkpoint from a newer Descent is refused with a clear message', () => {
    const bytes = encodeSafetensors(new Map(), { format: 'descent-checkpoint-9', state: '{}', checksum: '0' });
    assert.throws(() => decodeCheckpoint(bytes, 'run.ckpt'),
      /run\.ckpt was written by a newer Descent \(format descent-checkpoint-9\); this one reads descent-checkpoint-1 and descent-checkpoint-2/);
  });

  it('format 2 keeps the window of step risks exactly (float64), NaN included', async () => {
    let bytes: Uint8Array | null = null;
    const trainer = new Trainer(smallNet(1), { epochs: 1, batchSize: 10, keepStepLosses: 2, checkpointEvery: { epochs: 1 }, onCheckpoint: (b) => (bytes = b) });
    await trainer.fit(patches(30, 1));
    trainer.history.stepLosses[0] = Number.NaN;
    const again = decodeCheckpoint(trainer.checkpoint()).history.stepLosses;
    assert.equal(decodeCheckpoint(bytes!).history.stepLosses.length, 2);
    assert.deepEqual(again, trainer.history.stepLosses);
  });
});

function floatsOf(base64: string): Float32Array {
  const b = Buffer.from(base64, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}
