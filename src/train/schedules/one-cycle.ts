/**
 * The one-cycle policy (Smith & Topin 2017) as PyTorch's OneCycleLR computes it, per step: the rate rises
 * from α₀/divFactor to α₀ (the base rate is OneCycleLR's max_lr) over the first pctStart of totalSteps,
 * then falls to α₀/(divFactor·finalDivFactor) at the last step; threePhase first falls back to the
 * initial rate, symmetrically, then anneals to the minimum. Each phase is a half cosine ('cos') or a
 * line ('linear'). Only the rate cycles (PyTorch's cycle_momentum=False). Two departures, both where
 * PyTorch throws: past totalSteps the rate stays at its minimum, and a phase that spans no step (the
 * warm-up of a 4-step cycle with pctStart 0.25, a ZeroDivisionError there) is skipped. A phase shorter
 * than that (a cycle of a few steps) is skipped by PyTorch's own rule, so short runs still work.
 */
import { check } from '../../core/errors.js';
import { checkNumber } from '../optimizers/optimizer.js';
import type { OneCycleConfig } from './schedule.js';
import { checkInt } from './schedule.js';
import { ShapedSchedule } from './shaped.js';

interface Phase {
  /** The (fractional) step at which the phase ends, as OneCycleLR counts it. */
  end: number;
  /** Rates at its start and end, as multiples of the base rate. */
  from: number;
  to: number;
}

/** OneCycleLR's anneal functions: a half cosine from `from` to `to`, or a line. */
const anneal = {
  cos: (from: number, to: number, pct: number) => to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1),
  linear: (from: number, to: number, pct: number) => (to - from) * pct + from,
};

/** The one-cycle schedule, with OneCycleLR's defaults (pctStart 0.3, divFactor 25, finalDivFactor 1e4, cosine, two phases). */
export function oneCycle(options: Omit<OneCycleConfig, 'kind'>): ShapedSchedule {
  const cfg: Required<OneCycleConfig> = {
    kind: 'onecycle',
    totalSteps: checkInt(options.totalSteps, 'onecycle totalSteps', 1),
    pctStart: checkNumber(options.pctStart ?? 0.3, 'onecycle pctStart', Number.MIN_VALUE, 1),
    divFactor: checkNumber(options.divFactor ?? 25, 'onecycle divFactor', 1),
    finalDivFactor: checkNumber(options.finalDivFactor ?? 1e4, 'onecycle finalDivFactor', 1),
    annealStrategy: options.annealStrategy ?? 'cos',
    threePhase: options.threePhase ?? false,
  };
  check(cfg.annealStrategy === 'cos' || cfg.annealStrategy === 'linear',
    () => `onecycle annealStrategy must be 'cos' or 'linear', got ${JSON.stringify(cfg.annealStrategy)}`);
  check(typeof cfg.threePhase === 'boolean', () => `onecycle threePhase must be true or false, got ${JSON.stringify(cfg.threePhase)}`);
  const phases = oneCyclePhases(cfg), f = anneal[cfg.annealStrategy];
  return new ShapedSchedule(cfg, (step, _e, base) => {
    const t = Math.min(step, cfg.totalSteps - 1);
    let start = 0;
    for (let i = 0; i < phases.length; i++) {
      const p = phases[i]!;
      const last = i === phases.length - 1;
      if (p.end > start && t <= p.end) return base * f(p.from, p.to, (t - start) / (p.end - start));
      if (last) return base * (p.end > start ? f(p.from, p.to, (t - start) / (p.end - start)) : p.to);
      start = p.end;
    }
    return base; // not reached: the last phase always answers
  });
}

/** OneCycleLR's phases, ending at fractional steps as PyTorch counts them. */
function oneCyclePhases(cfg: Required<OneCycleConfig>): Phase[] {
  const T = cfg.totalSteps, initial = 1 / cfg.divFactor, min = initial / cfg.finalDivFactor;
  return cfg.threePhase
    ? [{ end: cfg.pctStart * T - 1, from: initial, to: 1 }, { end: 2 * cfg.pctStart * T - 2, from: 1, to: initial },
      { end: T - 1, from: initial, to: min }]
    : [{ end: cfg.pctStart * T - 1, from: initial, to: 1 }, { end: T - 1, from: 1, to: min }];
}
