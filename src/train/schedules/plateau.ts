/**
 * Schedules driven by the watched metric, one value per epoch. 'plateau' is PyTorch's ReduceLROnPlateau:
 * after more than `patience` epochs without progress, its level s ← max(s·factor, minLr) (s starts at the
 * base rate), then `cooldown` epochs in which bad epochs are not counted. A person's commands scale α on
 * top of s (src/train/learning-rate.ts), so a manual rate is reduced from, not undone. 'adam-then-sgd' is the notes' closing advice: the same plateau test
 * decides, once, when to leave Adam for plain SGD with a fixed, small step (eq. 6 with α_t = sgdLr).
 */
import { check } from '../../core/errors.js';
import { checkNumber } from '../optimizers/optimizer.js';
import {
  checkInt, checkNullable, stateOf, type AdamThenSgdConfig, type PlateauConfig, type PlateauOptions,
  type Schedule, type ScheduleDecision, type ScheduleState,
} from './schedule.js';

/** Fills in ReduceLROnPlateau's defaults: mode min, patience 10, threshold 1e-4 relative. */
export function plateauOptions(o: PlateauOptions, who: string): Required<PlateauOptions> {
  const mode = o.mode ?? 'min', thresholdMode = o.thresholdMode ?? 'rel';
  check(mode === 'min' || mode === 'max', `${who} mode must be 'min' or 'max', got ${JSON.stringify(mode)}`);
  check(thresholdMode === 'rel' || thresholdMode === 'abs', `${who} thresholdMode must be 'rel' or 'abs', got ${JSON.stringify(thresholdMode)}`);
  return {
    mode, thresholdMode,
    patience: checkInt(o.patience ?? 10, `${who} patience`, 0),
    threshold: checkNumber(o.threshold ?? 1e-4, `${who} threshold`, 0),
  };
}

/** ReduceLROnPlateau's bookkeeping: best metric so far, epochs without progress, cooldown left. */
class PlateauDetector {
  best: number | null = null; // null: nothing seen yet (PyTorch's ±inf, kept JSON-safe)
  badEpochs = 0;
  cooldownLeft = 0;

  constructor(private readonly o: Required<PlateauOptions>, private readonly cooldown: number, private readonly who: string) {}

  private improves(a: number): boolean {
    if (!Number.isFinite(a)) return false; // a diverged epoch (NaN, ∞) is never progress
    if (this.best === null) return true;
    const { mode, threshold, thresholdMode } = this.o, b = this.best;
    if (mode === 'min') return thresholdMode === 'rel' ? a < b * (1 - threshold) : a < b - threshold;
    return thresholdMode === 'rel' ? a > b * (1 + threshold) : a > b + threshold;
  }

  /** Feeds one epoch's metric; true when more than `patience` epochs in a row made no progress. */
  observe(metric: number | undefined): boolean {
    check(typeof metric === 'number', `the ${this.who} schedule needs a metric at every epoch end (validation loss or error)`);
    if (this.improves(metric)) {
      this.best = metric;
      this.badEpochs = 0;
    } else {
      this.badEpochs++;
    }
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.badEpochs = 0; // epochs in cooldown do not count
    }
    if (this.badEpochs <= this.o.patience) return false;
    this.cooldownLeft = this.cooldown;
    this.badEpochs = 0;
    return true;
  }

  state(): ScheduleState {
    return { best: this.best, badEpochs: this.badEpochs, cooldownLeft: this.cooldownLeft };
  }
  loadState(o: ScheduleState): void {
    check(o.best === null || (typeof o.best === 'number' && Number.isFinite(o.best)), `${this.who} state: best must be a number or null`);
    this.best = o.best;
    this.badEpochs = checkInt(o.badEpochs, `${this.who} state badEpochs`, 0);
    this.cooldownLeft = checkInt(o.cooldownLeft, `${this.who} state cooldownLeft`, 0);
  }
}

/** ReduceLROnPlateau: the rate times factor when the watched metric stops improving. */
export class ReduceOnPlateau implements Schedule {
  readonly kind = 'plateau';
  private readonly cfg: Required<PlateauConfig>;
  private readonly detector: PlateauDetector;
  private level: number | null = null; // null: the base rate, until the first reduction

  constructor(options: Omit<PlateauConfig, 'kind'> = {}) {
    this.cfg = {
      kind: 'plateau', ...plateauOptions(options, 'plateau'),
      factor: checkNumber(options.factor ?? 0.1, 'plateau factor', 0, 1),
      cooldown: checkInt(options.cooldown ?? 0, 'plateau cooldown', 0),
      minLr: checkNumber(options.minLr ?? 0, 'plateau minLr', 0),
      eps: checkNumber(options.eps ?? 1e-8, 'plateau eps', 0),
    };
    this.detector = new PlateauDetector(this.cfg, this.cfg.cooldown, 'plateau');
  }
  rateAt(_step: number, _epoch: number, baseLr: number): number {
    return this.level ?? baseLr;
  }
  endEpoch(epoch: number, metric: number | undefined, baseLr: number): ScheduleDecision | undefined {
    if (!this.detector.observe(metric)) return undefined;
    const level = this.level ?? baseLr, next = Math.max(level * this.cfg.factor, this.cfg.minLr);
    if (level - next <= this.cfg.eps) return undefined; // already at minLr
    this.level = next;
    return { lr: next, message: `epoch ${epoch}: no progress for ${this.cfg.patience + 1} epochs, lr ${level} → ${next}` };
  }
  config(): Required<PlateauConfig> {
    return { ...this.cfg };
  }
  state(): ScheduleState {
    return { kind: this.kind, lr: this.level, ...this.detector.state() };
  }
  loadState(s: unknown): void {
    const o = stateOf(s, this.kind);
    this.level = checkNullable(o.lr, 'plateau state lr', 0);
    this.detector.loadState(o);
  }
}

/** Adam until the watched metric plateaus, then SGD at a fixed small rate (the notes' advice). */
export class AdamThenSgd implements Schedule {
  readonly kind = 'adam-then-sgd';
  private readonly cfg: Required<AdamThenSgdConfig>;
  private readonly detector: PlateauDetector;
  private phase: 'adam' | 'sgd' = 'adam';

  constructor(options: Omit<AdamThenSgdConfig, 'kind'> = {}) {
    this.cfg = {
      kind: 'adam-then-sgd', ...plateauOptions(options, 'adam-then-sgd'),
      sgdLr: checkNumber(options.sgdLr ?? 1e-3, 'adam-then-sgd sgdLr', 0),
    };
    this.detector = new PlateauDetector(this.cfg, 0, 'adam-then-sgd');
  }
  /** 'adam' until the switch, then 'sgd'. */
  get optimizer(): 'adam' | 'sgd' {
    return this.phase;
  }
  rateAt(_step: number, _epoch: number, baseLr: number): number {
    return this.phase === 'adam' ? baseLr : this.cfg.sgdLr;
  }
  endEpoch(epoch: number, metric: number | undefined): ScheduleDecision | undefined {
    if (this.phase === 'sgd' || !this.detector.observe(metric)) return undefined;
    this.phase = 'sgd';
    const lr = this.cfg.sgdLr;
    return { lr, switchTo: { kind: 'sgd', lr },
      message: `epoch ${epoch}: no progress for ${this.cfg.patience + 1} epochs, switching from Adam to SGD with lr ${lr}` };
  }
  config(): Required<AdamThenSgdConfig> {
    return { ...this.cfg };
  }
  state(): ScheduleState {
    return { kind: this.kind, phase: this.phase, ...this.detector.state() };
  }
  loadState(s: unknown): void {
    const o = stateOf(s, this.kind);
    check(o.phase === 'adam' || o.phase === 'sgd', `adam-then-sgd state: phase must be 'adam' or 'sgd', got ${JSON.stringify(o.phase)}`);
    this.phase = o.phase;
    this.detector.loadState(o);
  }
}
