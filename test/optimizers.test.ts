/** The optimizers reproduce PyTorch's trajectories, clip like clip_grad_norm_, and checkpoint exactly. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import { DescentError } from '../src/core/errors.js';
import type { DType, Floats } from '../src/core/floats.js';
import { clipGradNorm, createOptimizer, fromLegacyNames, type Optimizer, type OptimizerConfig } from '../src/train/optimizers/index.js';
import { assertClose, fixture } from './helpers.js';

interface Trajectories {
  c: number[];
  d: number[];
  w0: number[];
  steps: number;
  runs: { name: string; config: string; w_after_each_step: number[][] }[];
}
const fx = fixture<Trajectories>('optimizers.json');

/** The fixture's `config` is a Python dict repr; PyTorch-only switches must be off, the rest maps 1:1. */
function configOf(name: string, repr: string): OptimizerConfig {
  const json = repr.replace(/'/g, '"').replace(/\(/g, '[').replace(/\)/g, ']')
    .replace(/\bFalse\b/g, 'false').replace(/\bTrue\b/g, 'true').replace(/\bNone\b/g, 'null');
  const options = JSON.parse(json) as Record<string, unknown>;
  for (const key of ['maximize', 'foreach', 'capturable', 'differentiable', 'fused']) {
    assert.ok(!options[key], `${name}: ${key} is not supported`);
    delete options[key];
  }
  const kind = name.startsWith('adamw') ? 'adamw' : name.split('_')[0];
  return { kind, ...options } as OptimizerConfig;
}

/** g = c·w + d, the gradient of f(w) = ½Σ c w² + Σ d w. */
function gradient(w: Floats, g: Floats): void {
  for (let i = 0; i < w.length; i++) g[i] = fx.c[i] * w[i] + fx.d[i];
}

function setup(config: OptimizerConfig, dtype: DType): { opt: Optimizer; w: Floats; g: Floats } {
  const arena = new HeapArena(dtype), n = fx.w0.length;
  const w = arena.floats(n), g = arena.floats(n);
  w.set(fx.w0);
  return { opt: createOptimizer(config, n, arena), w, g };
}

function run(opt: Optimizer, w: Floats, g: Floats, steps: number): Floats[] {
  const path: Floats[] = [];
  for (let t = 0; t < steps; t++) {
    gradient(w, g);
    opt.step(w, g);
    path.push(w.slice());
  }
  return path;
}

describe('optimizers reproduce PyTorch 20-step trajectories', () => {
  for (const r of fx.runs) {
    for (const [dtype, tol] of [['float64', 1e-9], ['float32', 2e-5]] as const) {
      it(`${r.name} (${dtype})`, () => {
        const { opt, w, g } = setup(configOf(r.name, r.config), dtype);
        const path = run(opt, w, g, fx.steps);
        path.forEach((wt, t) => assertClose(wt, r.w_after_each_step[t], tol, `${r.name} step ${t + 1}`, 1e-6));
        assert.equal(opt.stepCount, fx.steps);
        for (const b of Object.values(opt.state().buffers)) assert.ok(dtype === 'float64' ? b instanceof Float64Array : b instanceof Float32Array);
      });
    }
  }

  it('reads the pre-0.2 snake_case names (old checkpoints) as camelCase, and refuses both spellings at once', () => {
    const legacy = { kind: 'adagrad', lr_decay: 0.5, weight_decay: 0.25, initial_accumulator_value: 0.125 } as unknown as OptimizerConfig;
    assert.deepEqual(fromLegacyNames(legacy), { kind: 'adagrad', lrDecay: 0.5, weightDecay: 0.25, initialAccumulatorValue: 0.125 });
    const config = createOptimizer(legacy, 1).config() as Record<string, unknown>;
    assert.equal(config.lrDecay, 0.5);
    assert.equal(config.weight_decay, undefined);
    const both = { kind: 'sgd', weight_decay: 0.1, weightDecay: 0.2 } as unknown as OptimizerConfig;
    assert.throws(() => createOptimizer(both, 1), /both "weight_decay" and "weightDecay"/);
  });

  it('config() fills in PyTorch defaults', () => {
    assert.deepEqual(createOptimizer({ kind: 'adam' }, 1).config(),
      { kind: 'adam', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, amsgrad: false });
    assert.equal(createOptimizer({ kind: 'adamw' }, 1).config().weightDecay, 1e-2);
    assert.deepEqual(createOptimizer({ kind: 'rmsprop' }, 1).config(),
      { kind: 'rmsprop', lr: 1e-2, alpha: 0.99, eps: 1e-8, weightDecay: 0, momentum: 0, centered: false });
    assert.deepEqual(createOptimizer({ kind: 'adagrad' }, 1).config(),
      { kind: 'adagrad', lr: 1e-2, lrDecay: 0, weightDecay: 0, initialAccumulatorValue: 0, eps: 1e-10 });
    assert.deepEqual(createOptimizer({ kind: 'sgd', lr: 0.1 }, 1).config(),
      { kind: 'sgd', lr: 0.1, momentum: 0, dampening: 0, weightDecay: 0, nesterov: false });
    assert.deepEqual(Object.keys(createOptimizer({ kind: 'sgd', lr: 0.1 }, 3).state().buffers), [], 'plain SGD keeps no state');
  });

  it('centered RMSprop: first step is w − α g / (√(α_s(1 − α_s)) |g| + ε)', () => {
    const { opt, w, g } = setup({ kind: 'rmsprop', lr: 0.01, centered: true }, 'float64');
    run(opt, w, g, 1);
    const expected = fx.w0.map((w0, i) => {
      const gi = fx.c[i] * w0 + fx.d[i];
      return w0 - (0.01 * gi) / (Math.sqrt(0.99 * 0.01) * Math.abs(gi) + 1e-8);
    });
    assertClose(w, expected, 1e-12, 'centered RMSprop', 1e-6);
  });

  it('amsgrad keeps the running maximum of exp_avg_sq and uses it', () => {
    const n = 1, opt = createOptimizer({ kind: 'adam', lr: 0.1, amsgrad: true }, n, new HeapArena('float64'));
    const plain = createOptimizer({ kind: 'adam', lr: 0.1 }, n, new HeapArena('float64'));
    const w = new Float64Array([1]), wp = new Float64Array([1]);
    let vMax = 0;
    for (const gi of [3, 2, 1, 0.5, 0.1]) {
      opt.step(w, new Float64Array([gi]));
      plain.step(wp, new Float64Array([gi]));
      const { exp_avg_sq, max_exp_avg_sq } = opt.state().buffers;
      vMax = Math.max(vMax, exp_avg_sq[0]);
      assert.equal(max_exp_avg_sq[0], vMax);
    }
    assert.ok(w[0] > wp[0], 'with shrinking gradients amsgrad takes smaller steps than Adam');
  });
});

describe('clipGradNorm', () => {
  it('scales by maxNorm / (norm + 1e-6) when the global norm exceeds maxNorm, and returns the norm before', () => {
    const g = new Float32Array([3, 0, -4, 0]);
    assert.equal(clipGradNorm(g, 1), 5);
    const s = 1 / (5 + 1e-6);
    assertClose(g, [3 * s, 0, -4 * s, 0], 1e-6, 'clipped g', 1e-9);
  });

  it('leaves a gradient within the bound untouched', () => {
    const g = new Float64Array([0.3, 0.4]);
    assert.equal(clipGradNorm(g, 1), 0.5);
    assert.deepEqual([...g], [0.3, 0.4]);
  });

  it('leaves a non-finite gradient untouched and reports the norm', () => {
    const g = new Float64Array([Infinity, 1]);
    assert.equal(clipGradNorm(g, 1), Infinity);
    assert.deepEqual([...g], [Infinity, 1]);
    assert.throws(() => clipGradNorm(g, -1), /maxNorm/);
  });
});

describe('validation', () => {
  const bad: [OptimizerConfig, RegExp][] = [
    [{ kind: 'sgd', lr: -0.1 }, /lr must be a finite number >= 0/],
    [{ kind: 'sgd', lr: NaN }, /lr/],
    [{ kind: 'sgd', lr: Infinity }, /lr/],
    [{ kind: 'sgd', lr: 0.1, momentum: -0.9 }, /SGD momentum/],
    [{ kind: 'sgd', lr: 0.1, nesterov: true }, /nesterov needs momentum > 0 and dampening = 0/],
    [{ kind: 'sgd', lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }, /nesterov/],
    [{ kind: 'sgd', lr: 0.1, weightDecay: -1 }, /SGD weightDecay/],
    [{ kind: 'adam', betas: [1, 0.999] }, /Adam betas\[0\] must be a finite number in \[0, 1\)/],
    [{ kind: 'adamw', betas: [0.9, -0.1] }, /AdamW betas\[1\]/],
    [{ kind: 'adam', eps: -1 }, /Adam eps/],
    [{ kind: 'rmsprop', alpha: -0.5 }, /RMSprop alpha/],
    [{ kind: 'rmsprop', momentum: -1 }, /RMSprop momentum/],
    [{ kind: 'adagrad', lrDecay: -1 }, /Adagrad lrDecay/],
    [{ kind: 'adagrad', initialAccumulatorValue: -1 }, /Adagrad initialAccumulatorValue/],
    [{ kind: 'lbfgs' } as unknown as OptimizerConfig, /unknown optimizer kind "lbfgs"/],
  ];
  for (const [config, message] of bad) {
    it(`rejects ${JSON.stringify(config)}`, () => {
      assert.throws(() => createOptimizer(config, 4), (e: unknown) => e instanceof DescentError && message.test(e.message));
    });
  }

  it('rejects a bad lr set later, and w or g of the wrong length', () => {
    const opt = createOptimizer({ kind: 'adam' }, 3);
    assert.throws(() => { opt.lr = -1; }, DescentError);
    assert.equal(opt.lr, 1e-3);
    assert.throws(() => opt.step(new Float32Array(3), new Float32Array(2)), /paramCount = 3/);
  });
});

describe('state round trip and lr changes', () => {
  const configs: OptimizerConfig[] = [
    { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true },
    { kind: 'adam', lr: 0.1, amsgrad: true },
    { kind: 'adamw', lr: 0.1 },
    { kind: 'rmsprop', lr: 0.01, momentum: 0.9, centered: true },
    { kind: 'adagrad', lr: 0.1, lrDecay: 0.01, initialAccumulatorValue: 0.1 },
  ];
  for (const config of configs) {
    it(`${config.kind}: state() after 7 steps + loadState into a fresh optimizer continues bitwise identically`, () => {
      const a = setup(config, 'float32');
      run(a.opt, a.w, a.g, 7);
      const saved = a.opt.state(), wSaved = a.w.slice();
      const rest = run(a.opt, a.w, a.g, 8);

      const b = setup(config, 'float32');
      b.w.set(wSaved);
      b.opt.loadState(saved);
      assert.equal(b.opt.stepCount, 7);
      const again = run(b.opt, b.w, b.g, 8);
      again.forEach((wt, t) => assert.deepEqual(wt, rest[t], `step ${8 + t}`));
      assert.deepEqual(a.opt.state(), b.opt.state());
    });
  }

  it('state() returns copies; loadState rejects a length or name mismatch', () => {
    const a = setup({ kind: 'adam', lr: 0.1 }, 'float64');
    run(a.opt, a.w, a.g, 2);
    const saved = a.opt.state(), before = saved.buffers.exp_avg.slice();
    run(a.opt, a.w, a.g, 1);
    assert.deepEqual(saved.buffers.exp_avg, before, 'a checkpoint is not changed by later steps');
    const short = { stepCount: 2, buffers: { ...saved.buffers, exp_avg: new Float64Array(5) } };
    assert.throws(() => a.opt.loadState(short), /buffer exp_avg has 5 entries, the optimizer has 6 parameters/);
    const { exp_avg_sq: _, ...missing } = saved.buffers;
    assert.throws(() => a.opt.loadState({ stepCount: 2, buffers: missing }), /expected buffers \[exp_avg, exp_avg_sq\]/);
  });

  for (const config of configs) {
    it(`${config.kind}: an lr change takes effect on the next step`, () => {
      const a = setup(config, 'float64'), b = setup(config, 'float64');
      run(a.opt, a.w, a.g, 3);
      run(b.opt, b.w, b.g, 3);
      const w3 = a.w.slice();
      b.opt.lr = a.opt.lr / 10;
      assert.equal(b.opt.config().lr, a.opt.lr / 10);
      const wa = run(a.opt, a.w, a.g, 1)[0], wb = run(b.opt, b.w, b.g, 1)[0];
      // Same state and gradient, so every rule here moves w by a step proportional to lr: a tenth of it.
      const stepA = wa.map((x, i) => (x - w3[i]) / 10), stepB = wb.map((x, i) => x - w3[i]);
      assertClose(stepB, stepA, 1e-9, 'step after lr / 10', 1e-12);
    });
  }

  it('plain SGD with lr set to 0 does not move w; eq. (6) step is exactly α g', () => {
    const opt = createOptimizer({ kind: 'sgd', lr: 0.5 }, 2, new HeapArena('float64'));
    const w = new Float64Array([1, 2]), g = new Float64Array([0.25, -1]);
    opt.step(w, g);
    assert.deepEqual([...w], [1 - 0.125, 2.5]);
    opt.lr = 0;
    opt.step(w, g);
    assert.deepEqual([...w], [0.875, 2.5]);
  });
});
