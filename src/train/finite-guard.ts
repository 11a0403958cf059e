/**
 * The trainer's guard against non-finite numbers and divergence.
 *
 * - A NaN or ±∞ in the loss of a step, in w or the running statistics after an update, or in an
 *   epoch's validation loss stops training (Keras' TerminateOnNaN does the same for the loss).
 *   w and the running statistics are then put back to the last finite state a checkpoint holds: the
 *   start of the current epoch, or the last step checkpoint if later. Not the weights just before
 *   the failing step: after a divergence those are finite but useless (|w| ~ 1e33).
 * - A loss that grows far above where it started is a divergence even while it is finite (Adam
 *   with lr 1e6 reaches 2.8e37): when an epoch's training loss exceeds DIVERGENCE_FACTOR times
 *   the first step's loss (at least DIVERGENCE_FLOOR), the trainer warns once, and trains on,
 *   as Keras and PyTorch would (neither stops a finite run by itself).
 *
 * The check of w costs nothing: the trainer already sums (w_t - w_(t-1))² for the step size, and
 * that sum is finite exactly when every w_t is (w_(t-1) being finite).
 */
import { firstNonFinite } from '../core/finite.js';
import type { Sequential } from '../network/sequential.js';

/** An epoch's loss above this many times the first step's loss draws a divergence warning. */
export const DIVERGENCE_FACTOR = 10;
/** ... but never below this (a run that starts near 0 may wander a little). */
export const DIVERGENCE_FLOOR = 0.1;

export interface GuardWhere {
  step: number;
  epoch: number;
}

export class FiniteGuard {
  private w: Float32Array = new Float32Array(0);
  private buffers: Float32Array = new Float32Array(0);
  private keptAt: GuardWhere & { label: string } = { step: 0, epoch: 0, label: 'the start' };
  private firstLoss = Number.NaN;
  private warned = false;

  /** Remember w and the running statistics as the state to fall back on. */
  keep(net: Sequential, where: GuardWhere, label: string): void {
    this.w = net.getWeights();
    this.buffers = Float32Array.from(net.buffers);
    this.keptAt = { ...where, label };
  }

  /** Put the kept state back; returns a phrase saying which state that is. */
  restore(net: Sequential): string {
    if (this.w.length === net.parameterCount) {
      net.setWeights(this.w);
      net.setBuffers(this.buffers);
    }
    return `the weights of step ${this.keptAt.step} (${this.keptAt.label}) were restored`;
  }

  /** Why w cannot be trained (a NaN or ∞ in it), or null. */
  static startProblem(net: Sequential): string | null {
    const i = firstNonFinite(net.w), j = firstNonFinite(net.buffers);
    if (i >= 0) return `cannot train: the network's weights hold ${net.w[i]} at index ${i} of w`;
    if (j >= 0) return `cannot train: the network's running statistics hold ${net.buffers[j]} at index ${j}`;
    return null;
  }

  /** A step's loss: the message if it is not finite. Remembers the first loss of the run. */
  loss(risk: number, where: GuardWhere): string | null {
    if (!Number.isFinite(risk)) return `the loss became ${risk} at step ${where.step + 1} (epoch ${where.epoch + 1})`;
    if (Number.isNaN(this.firstLoss)) this.firstLoss = risk;
    return null;
  }

  /** After an update: stepSize2 = Σ(w_t - w_(t-1))², finite exactly when w_t is. */
  weights(net: Sequential, stepSize2: number, where: GuardWhere): string | null {
    const i = Number.isFinite(stepSize2) ? -1 : firstNonFinite(net.w);
    if (i >= 0) return `the weights became ${net.w[i]} (w[${i}]) at step ${where.step + 1} (epoch ${where.epoch + 1})`;
    const j = firstNonFinite(net.buffers);
    if (j >= 0) return `the running statistics became ${net.buffers[j]} at step ${where.step + 1} (epoch ${where.epoch + 1})`;
    return null;
  }

  /** An epoch's validation loss: the message if it is not finite (such an epoch is never the best). */
  validation(valLoss: number | undefined, epoch: number): string | null {
    if (valLoss === undefined || Number.isFinite(valLoss)) return null;
    return `the validation loss became ${valLoss} at epoch ${epoch}`;
  }

  /** The divergence warning for an epoch's training loss, once per run. */
  divergence(trainLoss: number, epoch: number): string | null {
    const bound = DIVERGENCE_FACTOR * Math.max(this.firstLoss, DIVERGENCE_FLOOR);
    if (this.warned || !(trainLoss > bound)) return null;
    this.warned = true;
    return `training is diverging: the loss of epoch ${epoch}, ${trainLoss.toPrecision(3)}, is more than ` +
      `${DIVERGENCE_FACTOR}× the first step's ${this.firstLoss.toPrecision(3)} (try a smaller learning rate)`;
  }
}

/** How a non-finite stop reads: what happened, that training stopped, what was restored, what to try. */
export function nonFiniteMessage(problem: string, restored: string): string {
  return `${problem}; training stopped and ${restored} ` +
    '(a NaN or infinity in the data, or too large a learning rate?)';
}
