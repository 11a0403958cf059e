/**
 * The learning rate α_t of the notes' eq. (6): its one home. Three things decide it, and only this
 * object holds them: the base rate α₀ (the optimizer's configured lr), the schedule's shape s(t), and
 * a person's commands ("÷10", "set α = x", from the CLI or the dashboard). Nothing else stores α: the
 * trainer writes α_t into the optimizer's `lr` just before step t, as PyTorch's scheduler.step() writes
 * optimizer.param_groups[0]['lr'], and a checkpoint keeps this object's state, not the optimizer's lr.
 *
 * The rule, with t_m the step from which a person's last command applies and m the rate it chose:
 *
 *   α_t = s(t)                    before any command
 *   α_t = m · s(t) / s(t_m)       after it: the command sets the rate now, and the schedule's shape
 *                                 goes on from there, scaled (a factor on top of the schedule)
 *
 * "÷10" chooses m = α_(t_m)/10, "set α = x" chooses m = x, so step t_m runs at exactly x. A later
 * milestone still divides by 10, the cosine still decays (its floor minLr scaled too: ÷10 means ÷10),
 * a plateau reduction still reduces from the person's rate; the schedule never undoes a command. Where
 * s(t_m) = 0 (a cosine that has ended at 0) there is no ratio, and α stays m. The switch from Adam to
 * SGD ('adam-then-sgd') forgets the command, since its rate was Adam's: SGD starts at sgdLr.
 *
 * Why a factor on top and not a new base: it is what a PyTorch user gets who writes
 * param_groups[0]['lr'] by hand under StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR or
 * ReduceLROnPlateau (they update the current lr in their chainable form, so the write persists and later
 * decays apply to it; PyTorch's cosine leaves its floor eta_min unscaled), without PyTorch's trap of
 * LambdaLR's and OneCycleLR's closed forms silently overwriting it at the next step. And it is what the
 * notes' "divide by 10" means while a schedule runs: the whole curve, from now on, a tenth of what it
 * would have been.
 */
import { check } from '../core/errors.js';
import { checkNumber } from './optimizers/optimizer.js';
import type { Schedule, ScheduleDecision } from './schedules/index.js';

/** What a checkpoint keeps of the rate; the schedule's own state (a plateau's level) is kept beside it. */
export interface LearningRateState {
  /** α₀, the optimizer's configured lr. */
  base: number;
  /** m: the rate a person's last command chose; null when there was none (or an optimizer switch since). */
  manual: number | null;
  /** s(t_m), the schedule's value at the step that command applied from (0: α stays m). */
  manualShape: number;
}

/** The learning rate's one home (`trainer.rate`): the base rate, the schedule's shape and a person's commands. */
export class LearningRate {
  /** The schedule, if any. */
  readonly schedule: Schedule | null;
  #base: number;
  #manual: number | null = null;
  #manualShape = 0;

  constructor(base: number, schedule: Schedule | null) {
    this.#base = checkNumber(base, 'lr', 0);
    this.schedule = schedule;
  }

  /** α₀. */
  get base(): number {
    return this.#base;
  }

  /** s(t): the schedule's own rate for the step `step` (steps taken before it) of epoch `epoch`; α₀ without one. */
  scheduled(step: number, epoch: number): number {
    return this.schedule ? this.schedule.rateAt(step, epoch, this.#base) : this.#base;
  }

  /** α_t: the rate of the step `step` of epoch `epoch`, by the rule above. */
  at(step: number, epoch: number): number {
    const s = this.scheduled(step, epoch);
    if (this.#manual === null) return s;
    return this.#manualShape > 0 ? this.#manual * (s / this.#manualShape) : this.#manual;
  }

  /** A person's "set α = lr", applying from the step `step` of epoch `epoch`. */
  set(lr: number, step: number, epoch: number): void {
    checkNumber(lr, 'learning rate', 0);
    this.#manualShape = this.scheduled(step, epoch);
    this.#manual = lr;
  }

  /** A person's "multiply α by factor" (÷10 is 0.1), applying from the step `step` of epoch `epoch`. */
  scale(factor: number, step: number, epoch: number): void {
    this.set(this.at(step, epoch) * checkNumber(factor, 'learning-rate factor', 0), step, epoch);
  }

  /** At an epoch end: a metric-driven schedule may change its level, or switch optimizers (which forgets a command). */
  endEpoch(epoch: number, metric: number | undefined): ScheduleDecision | undefined {
    const decision = this.schedule?.endEpoch(epoch, metric, this.#base);
    if (decision?.switchTo) {
      this.#manual = null;
      this.#manualShape = 0;
    }
    return decision;
  }

  /** Its state, for checkpoints. */
  state(): LearningRateState {
    return { base: this.#base, manual: this.#manual, manualShape: this.#manualShape };
  }

  /** Restores a state from a checkpoint. */
  loadState(s: LearningRateState): void {
    check(s !== null && typeof s === 'object', 'learning-rate state must be an object');
    const base = checkNumber(s.base, 'learning-rate state base', 0);
    const manual = s.manual === null ? null : checkNumber(s.manual, 'learning-rate state manual', 0);
    const manualShape = checkNumber(s.manualShape, 'learning-rate state manualShape', 0);
    this.#base = base;
    this.#manual = manual;
    this.#manualShape = manualShape;
  }
}
