/** The learning rate's one home: a person's commands as a factor on top of the schedule, never silently undone. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LearningRate } from '../src/train/learning-rate.js';
import { createSchedule, type ScheduleConfig } from '../src/train/schedules/index.js';
import { assertClose } from './helpers.js';

/** One step per epoch, as schedules.test.ts drives a schedule: the rate of each epoch, then its metric. */
function drive(r: LearningRate, metrics: number[], from = 0): number[] {
  return metrics.map((m, i) => {
    const e = from + i, lr = r.at(e, e);
    r.endEpoch(e, m);
    return lr;
  });
}

const rate = (base: number, config: ScheduleConfig | null) => new LearningRate(base, config ? createSchedule(config) : null);

describe('LearningRate: the schedule alone', () => {
  it('without a schedule α is the base rate; with one, the schedule\'s rate from that base', () => {
    assert.deepEqual([rate(0.3, null).at(0, 0), rate(0.3, null).at(999, 9)], [0.3, 0.3]);
    const r = rate(0.5, { kind: 'multistep', milestones: [1] });
    assert.deepEqual([r.at(0, 0), r.at(10, 1)], [0.5, 0.05]);
  });
});

describe('LearningRate: a person\'s command scales the rest of the schedule', () => {
  it('no schedule: the rate set is kept exactly', () => {
    const r = rate(0.05, null);
    r.set(0.04, 2, 0);
    assert.deepEqual([r.at(2, 0), r.at(3, 0), r.at(500, 7)], [0.04, 0.04, 0.04]);
  });

  it('multistep: after "divide by 10" by hand, a later milestone still divides by 10 relative to it', () => {
    const r = rate(1, { kind: 'multistep', milestones: [2] });
    assert.equal(r.at(5, 1), 1);
    r.scale(0.1, 6, 1); // mid-epoch 1
    assertClose([r.at(6, 1), r.at(7, 1), r.at(8, 2), r.at(9, 3)], [0.1, 0.1, 0.01, 0.01], 1e-15, 'rates');
  });

  it('cosine: the step it applies from runs at exactly the rate set, and the shape goes on, scaled', () => {
    const r = rate(1, { kind: 'cosine', warmupSteps: 2, totalSteps: 12 });
    const plain = createSchedule({ kind: 'cosine', warmupSteps: 2, totalSteps: 12 });
    const x = plain.rateAt(4, 0, 1) / 10;
    r.set(x, 4, 0);
    assert.equal(r.at(4, 0), x);
    for (const step of [5, 8, 11]) assertClose([r.at(step, 0)], [plain.rateAt(step, 0, 1) / 10], 1e-15, `step ${step}`);
  });

  it('where the schedule had reached 0 there is no ratio: the rate set stays', () => {
    const r = rate(1, { kind: 'cosine', totalSteps: 10 });
    assert.equal(r.at(10, 0), 0);
    r.set(1e-3, 10, 0);
    assert.deepEqual([r.at(11, 0), r.at(50, 3)], [1e-3, 1e-3]);
  });

  it('two commands: the second scales the rate the first one left', () => {
    const r = rate(1, { kind: 'multistep', milestones: [2] });
    r.set(0.4, 0, 0);
    r.scale(0.5, 3, 1);
    assertClose([r.at(3, 1), r.at(9, 2)], [0.2, 0.02], 1e-15, 'rates');
  });

  it('plateau: reductions go on from the rate set', () => {
    const r = rate(1, { kind: 'plateau', patience: 0 });
    r.set(0.5, 0, 0);
    assertClose(drive(r, [1, 1, 1, 1]), [0.5, 0.5, 0.05, 0.005], 1e-15, 'rates');
  });

  it('adam-then-sgd: a manual Adam rate holds until the switch, which starts SGD at sgdLr', () => {
    const r = rate(1e-3, { kind: 'adam-then-sgd', patience: 0, sgdLr: 0.01 });
    r.set(1e-4, 0, 0);
    assert.deepEqual(drive(r, [1, 1, 1]), [1e-4, 1e-4, 0.01]);
    assert.equal(r.state().manual, null, 'the switch forgets the Adam rate');
  });

  it('a bad rate or factor is refused', () => {
    const r = rate(1, null);
    assert.throws(() => r.set(-1, 0, 0), /learning rate must be a finite number >= 0/);
    assert.throws(() => r.set(Number.NaN, 0, 0), /learning rate/);
    assert.throws(() => r.scale(Number.POSITIVE_INFINITY, 0, 0), /learning-rate factor/);
    assert.throws(() => rate(Number.NaN, null), /lr must be/);
  });
});

describe('LearningRate: state', () => {
  const configs: (ScheduleConfig | null)[] = [null, { kind: 'cosine', totalSteps: 30, warmupSteps: 3 }, { kind: 'plateau', patience: 1, factor: 0.5 },
    { kind: 'adam-then-sgd', patience: 2, sgdLr: 0.02 }];
  for (const config of configs) {
    it(`${config?.kind ?? 'no schedule'}: state() and the schedule's state through JSON continue identically`, () => {
      const metrics = [5, 4, 4, 4, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9];
      const a = rate(0.1, config);
      drive(a, metrics.slice(0, 4));
      a.scale(0.1, 4, 4);
      const saved = JSON.parse(JSON.stringify({ rate: a.state(), schedule: a.schedule?.state() ?? null }));
      const b = rate(0.7, config); // the base comes from the state
      b.schedule?.loadState(saved.schedule);
      b.loadState(saved.rate);
      assert.deepEqual(drive(b, metrics.slice(4), 4), drive(a, metrics.slice(4), 4));
      assert.deepEqual(b.state(), a.state());
    });
  }

  it('loadState refuses a malformed state', () => {
    const r = rate(1, null);
    assert.throws(() => r.loadState({ base: -1, manual: null, manualShape: 0 }), /learning-rate state base/);
    assert.throws(() => r.loadState({ base: 1, manual: Number.NaN, manualShape: 0 }), /learning-rate state manual/);
    assert.throws(() => r.loadState({ base: 1, manual: 1, manualShape: null as unknown as number }), /learning-rate state manualShape/);
    assert.throws(() => r.loadState(null as never), /learning-rate state must be an object/);
  });
});
