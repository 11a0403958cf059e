/** Learning-rate schedules: values over time, PyTorch's plateau rule, the Adam → SGD switch, state. (A person's commands: learning-rate.test.ts.) */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DescentError } from '../src/core/errors.js';
import { createSchedule, type OneCycleConfig, type Schedule, type ScheduleConfig, type ScheduleDecision } from '../src/train/schedules/index.js';
import { assertClose } from './helpers.js';

/** Rates at the start of epochs 0..n-1 (epoch-based schedules ignore the step). */
function perEpoch(s: Schedule, n: number, base = 1): number[] {
  return Array.from({ length: n }, (_, e) => s.rateAt(e * 100, e, base));
}

/**
 * What a trainer does, one step per epoch: take the scheduled rate, train, report the metric.
 * Returns the rate used in each epoch and the epochs (0-based) at which a decision came back.
 */
function drive(s: Schedule, metrics: number[], base = 1, from = 0): { rates: number[]; decisions: [number, ScheduleDecision][] } {
  const rates: number[] = [], decisions: [number, ScheduleDecision][] = [];
  metrics.forEach((m, i) => {
    const e = from + i;
    rates.push(s.rateAt(e, e, base));
    const d = s.endEpoch(e, m, base);
    if (d) decisions.push([e, d]);
  });
  return { rates, decisions };
}

describe('fixed schedules give the expected rate over time', () => {
  it('constant', () => {
    assert.deepEqual(perEpoch(createSchedule({ kind: 'constant' }), 4, 0.3), [0.3, 0.3, 0.3, 0.3]);
  });

  it('multistep: divide by 10 (gamma 0.1, the default) at epochs 2 and 4', () => {
    assertClose(perEpoch(createSchedule({ kind: 'multistep', milestones: [2, 4] }), 6), [1, 1, 0.1, 0.1, 0.01, 0.01], 1e-15, 'multistep');
  });

  it('step: multiply by gamma every stepSize epochs', () => {
    assert.deepEqual(perEpoch(createSchedule({ kind: 'step', stepSize: 3, gamma: 0.5 }), 8, 2), [2, 2, 2, 1, 1, 1, 0.5, 0.5]);
  });

  it('exponential: gamma per epoch', () => {
    assertClose(perEpoch(createSchedule({ kind: 'exponential', gamma: 0.9 }), 5), [1, 0.9, 0.81, 0.729, 0.6561], 1e-15, 'exponential');
  });

  it('cosine: linear warm-up, half cosine down to minLr at totalSteps, then minLr', () => {
    const s = createSchedule({ kind: 'cosine', warmupSteps: 4, totalSteps: 14, minLr: 0.01 });
    const at = (step: number) => s.rateAt(step, 0, 1);
    assertClose([0, 1, 2, 3].map(at), [0.25, 0.5, 0.75, 1], 1e-15, 'warm-up');
    assertClose([4, 9, 14, 20].map(at), [1, 0.505, 0.01, 0.01], 1e-15, 'annealing');
    assertClose([at(6)], [0.01 + 0.99 * (1 + Math.cos(Math.PI * 0.2)) / 2], 1e-15, 'step 6');
    assert.equal(createSchedule({ kind: 'cosine', totalSteps: 10 }).rateAt(0, 0, 0.1), 0.1, 'no warm-up starts at the base rate');
  });
});

describe('one-cycle (PyTorch OneCycleLR, cycle_momentum=False)', () => {
  // The rates torch 1.13's OneCycleLR gives with max_lr 0.1 at steps 0..T-1 (printed by Debian's python3-torch).
  const torchRates: [Omit<OneCycleConfig, 'kind'>, number[]][] = [
    [{ totalSteps: 10 }, [0.0040000000000000036, 0.052000000000000005, 0.1, 0.09504846320134738, 0.0811745653949763,
      0.06112620219362893, 0.03887419780637107, 0.0188258346050237, 0.004951936798652629, 4e-07]],
    [{ totalSteps: 7, pctStart: 0.25, divFactor: 10, finalDivFactor: 100 }, [0.009999999999999995, 0.09944209976994517,
      0.08666594099789983, 0.06116492065111791, 0.03180121583289857, 0.008779373222916066, 0.0001]],
    [{ totalSteps: 12, annealStrategy: 'linear' }, [0.004, 0.04092307692307694, 0.07784615384615387, 0.09523811428571428,
      0.0833334, 0.0714286857142857, 0.05952397142857143, 0.04761925714285714, 0.03571454285714286, 0.023809828571428576,
      0.01190511428571428, 3.999999999976245e-07]],
    [{ totalSteps: 11, threePhase: true }, [0.0040000000000000036, 0.04223411137347358, 0.09602614247226175, 0.07968065546151361,
      0.019237449125504597, 0.003946095132185532, 0.003372546027409893, 0.002347461625698327, 0.0012081196838748941,
      0.00032939147473640937, 4e-07]],
    // Cycles too short for a warm-up step: PyTorch skips the warm-up.
    [{ totalSteps: 2, pctStart: 0.25 }, [0.0750001, 4e-07]],
    [{ totalSteps: 3 }, [0.09944154354509119, 0.046263710266697504, 4e-07]],
    [{ totalSteps: 1 }, [4e-07]],
  ];
  for (const [options, expected] of torchRates) {
    it(`matches OneCycleLR step by step: ${JSON.stringify(options)}`, () => {
      const s = createSchedule({ kind: 'onecycle', ...options });
      assertClose(expected.map((_, t) => s.rateAt(t, 0, 0.1)), expected, 1e-12, 'onecycle');
    });
  }

  it('skips a warm-up that spans no step (where PyTorch divides by zero): 4 steps with pctStart 0.25 start at the peak', () => {
    const s = createSchedule({ kind: 'onecycle', totalSteps: 4, pctStart: 0.25 });
    const rates = [0, 1, 2, 3].map((t) => s.rateAt(t, 0, 0.1));
    assert.ok(rates.every(Number.isFinite), String(rates));
    assertClose(rates, [0.1, 0.1 * (0.75 + 0.25 / 25 / 1e4), 0.1 * (0.25 + 0.75 / 25 / 1e4), 4e-7], 1e-12, 'short cycle');
  });

  it('stays at its last rate past totalSteps, and fills in the defaults', () => {
    const s = createSchedule({ kind: 'onecycle', totalSteps: 10 });
    assertClose([s.rateAt(10, 3, 0.1), s.rateAt(1000, 9, 0.1)], [4e-7, 4e-7], 1e-18, 'after the cycle');
    assert.deepEqual(s.config(), { kind: 'onecycle', totalSteps: 10, pctStart: 0.3, divFactor: 25, finalDivFactor: 1e4,
      annealStrategy: 'cos', threePhase: false });
  });

  it('a different peak or shape gives different rates (the comparison can fail)', () => {
    const [options, expected] = torchRates[0]!;
    const off = createSchedule({ kind: 'onecycle', ...options, pctStart: 0.4 });
    assert.throws(() => assertClose(expected.map((_, t) => off.rateAt(t, 0, 0.1)), expected, 1e-12, 'onecycle'));
  });
});

describe('reduce-on-plateau (PyTorch ReduceLROnPlateau)', () => {
  it('reduces after more than `patience` bad epochs, counts a relative threshold, waits out the cooldown, stops at minLr', () => {
    const s = createSchedule({ kind: 'plateau', patience: 2, cooldown: 1, factor: 0.5, minLr: 0.2, threshold: 0.1 });
    // 9.5, 9.2, 9.1 are decreases but less than 10 % below the best 10: no progress, so epoch 3 reduces.
    // 8.0 is progress; then 8.0 repeats: epochs 5, 6, 7 are bad → reduce at 7; epoch 8 is cooldown and not
    // counted, so 9, 10, 11 → reduce at 11, clamped to minLr 0.2; at 15 there is nothing left to reduce.
    const metrics = [10, 9.5, 9.2, 9.1, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8];
    const { rates, decisions } = drive(s, metrics);
    assert.deepEqual(decisions.map(([e, d]) => [e, d.lr]), [[3, 0.5], [7, 0.25], [11, 0.2]]);
    assert.deepEqual(rates, [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2]);
    assert.ok(decisions.every(([, d]) => d.switchTo === undefined && /no progress for 3 epochs/.test(d.message)));
  });

  it('without a cooldown the second reduction comes one epoch earlier', () => {
    const s = createSchedule({ kind: 'plateau', patience: 2, factor: 0.5, threshold: 0.1 });
    const { decisions } = drive(s, [10, 9.5, 9.2, 9.1, 8, 8, 8, 8, 8, 8, 8]);
    assert.deepEqual(decisions.map(([e]) => e), [3, 7, 10]);
  });

  it('mode max with an absolute threshold; patience 0 reduces at the first bad epoch', () => {
    const s = createSchedule({ kind: 'plateau', mode: 'max', thresholdMode: 'abs', threshold: 0.01, patience: 0 });
    const { decisions } = drive(s, [0.5, 0.505, 0.52, 0.525, 0.51]);
    // 0.505 is not 0.01 above the best 0.5 (bad); 0.52 is (new best); 0.525 is not (bad); 0.51 is worse (bad).
    assertClose(decisions.map(([e, d]) => [e, d.lr]).flat(), [1, 0.1, 3, 0.01, 4, 0.001], 1e-15, 'decisions');
  });

  it('defaults are PyTorch\'s: min, factor 0.1, patience 10, threshold 1e-4 rel, cooldown 0, minLr 0', () => {
    assert.deepEqual(createSchedule({ kind: 'plateau' }).config(), {
      kind: 'plateau', mode: 'min', factor: 0.1, patience: 10, threshold: 1e-4, thresholdMode: 'rel', cooldown: 0, minLr: 0, eps: 1e-8,
    });
    const { decisions } = drive(createSchedule({ kind: 'plateau' }), Array(12).fill(1));
    assert.deepEqual(decisions.map(([e, d]) => [e, d.lr]), [[11, 0.1]]);
  });

  it('a missing metric is an error; a NaN metric is a bad epoch', () => {
    const s = createSchedule({ kind: 'plateau', patience: 1 });
    assert.throws(() => s.endEpoch(0, undefined, 1), /needs a metric at every epoch end/);
    assert.deepEqual(drive(createSchedule({ kind: 'plateau', patience: 1 }), [1, NaN, NaN]).decisions.map(([e]) => e), [2]);
  });
});

describe('adam-then-sgd', () => {
  it('uses the base (Adam) rate until the metric plateaus, then says once: switch to SGD with sgdLr', () => {
    const s = createSchedule({ kind: 'adam-then-sgd', patience: 2, sgdLr: 0.01 });
    // Progress through epoch 2 (0.7); 0.71, 0.70, 0.70 are not below 0.7·(1 − 1e-4): the switch fires at epoch 5.
    const { rates, decisions } = drive(s, [1, 0.8, 0.7, 0.71, 0.7, 0.7, 0.5, 0.5, 0.5, 0.5, 0.5], 1e-3);
    assert.equal(decisions.length, 1);
    const [epoch, d] = decisions[0];
    assert.equal(epoch, 5);
    assert.deepEqual(d.switchTo, { kind: 'sgd', lr: 0.01 });
    assert.equal(d.lr, 0.01);
    assert.match(d.message, /switching from Adam to SGD with lr 0\.01/);
    assert.deepEqual(rates, [...Array(6).fill(1e-3), ...Array(5).fill(0.01)]);
    assert.equal((s as unknown as { optimizer: string }).optimizer, 'sgd');
  });

  it('defaults: the plateau test\'s defaults and sgdLr 1e-3', () => {
    assert.deepEqual(createSchedule({ kind: 'adam-then-sgd' }).config(),
      { kind: 'adam-then-sgd', mode: 'min', patience: 10, threshold: 1e-4, thresholdMode: 'rel', sgdLr: 1e-3 });
  });
});

describe('state round trip and validation', () => {
  const configs: ScheduleConfig[] = [
    { kind: 'constant' },
    { kind: 'multistep', milestones: [3, 6], gamma: 0.5 },
    { kind: 'step', stepSize: 2 },
    { kind: 'exponential', gamma: 0.95 },
    { kind: 'cosine', totalSteps: 30, warmupSteps: 3, minLr: 1e-4 },
    { kind: 'plateau', patience: 1, cooldown: 1, factor: 0.5 },
    { kind: 'adam-then-sgd', patience: 2, sgdLr: 0.02 },
  ];
  const metrics = [5, 4, 4, 4, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9, 3.9];
  for (const config of configs) {
    it(`${config.kind}: config() rebuilds it, and state() through JSON continues identically`, () => {
      const a = createSchedule(config);
      drive(a, metrics.slice(0, 5), 0.1);
      const saved = JSON.parse(JSON.stringify({ config: a.config(), state: a.state() })) as { config: ScheduleConfig; state: unknown };
      const b = createSchedule(saved.config);
      b.loadState(saved.state);
      assert.deepEqual(b.config(), a.config());
      assert.deepEqual(drive(b, metrics.slice(5), 0.1, 5), drive(a, metrics.slice(5), 0.1, 5));
      assert.deepEqual(b.state(), a.state());
    });
  }

  it('loadState refuses another kind\'s state or a malformed one', () => {
    const s = createSchedule({ kind: 'plateau' });
    assert.throws(() => s.loadState(createSchedule({ kind: 'constant' }).state()), /state is for "constant", this schedule is "plateau"/);
    assert.throws(() => s.loadState({ ...s.state(), badEpochs: -1 }), /badEpochs/);
    assert.throws(() => s.loadState(null), DescentError);
  });

  const bad: [unknown, RegExp][] = [
    [{ kind: 'multistep', milestones: [1.5] }, /multistep milestones\[0\] must be an integer >= 0/],
    [{ kind: 'multistep', milestones: [2], gamma: 0 }, /multistep gamma/],
    [{ kind: 'step', stepSize: 0 }, /step stepSize must be an integer >= 1/],
    [{ kind: 'exponential' }, /exponential gamma/],
    [{ kind: 'cosine', totalSteps: 5, warmupSteps: 5 }, /cosine totalSteps must be an integer >= 6/],
    [{ kind: 'cosine', totalSteps: 5, minLr: -1 }, /cosine minLr/],
    [{ kind: 'onecycle', totalSteps: 0 }, /onecycle totalSteps must be an integer >= 1/],
    [{ kind: 'onecycle', totalSteps: 10, pctStart: 1 }, /onecycle pctStart/],
    [{ kind: 'onecycle', totalSteps: 10, divFactor: 0.5 }, /onecycle divFactor/],
    [{ kind: 'onecycle', totalSteps: 10, annealStrategy: 'cosine' }, /onecycle annealStrategy/],
    [{ kind: 'plateau', factor: 1 }, /plateau factor must be a finite number in \[0, 1\)/],
    [{ kind: 'plateau', mode: 'down' }, /plateau mode must be 'min' or 'max'/],
    [{ kind: 'plateau', thresholdMode: 'pct' }, /plateau thresholdMode/],
    [{ kind: 'plateau', patience: -1 }, /plateau patience/],
    [{ kind: 'plateau', cooldown: 0.5 }, /plateau cooldown/],
    [{ kind: 'adam-then-sgd', sgdLr: -0.1 }, /adam-then-sgd sgdLr/],
    [{ kind: 'warm-restarts' }, /unknown schedule kind "warm-restarts"/],
  ];
  for (const [config, message] of bad) {
    it(`rejects ${JSON.stringify(config)}`, () => {
      assert.throws(() => createSchedule(config as ScheduleConfig), (e: unknown) => e instanceof DescentError && message.test(e.message));
    });
  }
});
