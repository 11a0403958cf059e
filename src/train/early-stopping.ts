/**
 * Early termination (notes, section 4): watch the zero-one error on a validation set and stop when
 * it bottoms out, even if the training risk would keep falling. "Bottoms out" = no improvement by
 * more than minDelta for `patience` epochs. The best w is kept and, by default, restored at the end.
 */
import { check } from '../core/errors.js';
import type { Floats } from '../core/floats.js';

/** The metric early stopping (and the plateau schedules) watch; lower is better for all four. */
export type Monitor = 'val_error' | 'val_loss' | 'train_loss' | 'train_error';

/** Early termination on a watched metric (notes, section 4). */
export interface EarlyStoppingOptions {
  /** The watched metric (default 'val_error', the validation zero-one error). */
  monitor?: Monitor;
  /** Epochs without improvement before stopping (default 5). */
  patience?: number;
  /** An improvement must exceed this to count (default 0). */
  minDelta?: number;
  /** At the end, put back w (and running statistics) of the best epoch (default true). */
  restoreBestWeights?: boolean;
}

/** What a checkpoint keeps of early stopping. */
export interface EarlyStoppingState {
  /** The best value of the watched metric so far. */
  best: number;
  /** The epoch it was reached, from 0 (−1: none yet). */
  bestEpoch: number;
  /** Epochs since then. */
  wait: number;
}

/** Tracks the watched metric epoch by epoch and says when to stop; keeps a copy of the best weights. */
export class EarlyStopping {
  /** The watched metric. */
  readonly monitor: Monitor;
  /** Epochs without improvement before stopping. */
  readonly patience: number;
  /** The least improvement that counts. */
  readonly minDelta: number;
  /** Restore the best epoch's weights at the end. */
  readonly restoreBestWeights: boolean;
  /** The best value of the watched metric so far. */
  best = Infinity;
  /** The epoch it was reached, from 0 (−1: none yet). */
  bestEpoch = -1;
  /** Epochs since then. */
  wait = 0;
  /** A copy of w at the best epoch. */
  bestWeights: Float32Array | null = null;
  /** A copy of the running statistics at the best epoch. */
  bestBuffers: Float32Array | null = null;

  constructor(options: EarlyStoppingOptions = {}) {
    this.monitor = options.monitor ?? 'val_error';
    this.patience = options.patience ?? 5;
    this.minDelta = options.minDelta ?? 0;
    this.restoreBestWeights = options.restoreBestWeights ?? true;
    check(Number.isInteger(this.patience) && this.patience >= 0, `early stopping patience must be an integer >= 0, got ${this.patience}`);
    check(Number.isFinite(this.minDelta) && this.minDelta >= 0, `early stopping minDelta must be >= 0, got ${this.minDelta}`);
  }

  /** Feed one epoch's value of the monitored metric (lower is better); true means stop now. */
  update(epoch: number, value: number, w: Floats, buffers: Floats): boolean {
    if (value < this.best - this.minDelta) {
      this.best = value;
      this.bestEpoch = epoch;
      this.wait = 0;
      this.bestWeights = Float32Array.from(w);
      this.bestBuffers = Float32Array.from(buffers);
      return false;
    }
    this.wait++;
    return this.wait > this.patience;
  }

  /** Epochs of patience left. */
  get patienceLeft(): number {
    return Math.max(0, this.patience - this.wait);
  }

  /** Its state, for checkpoints. */
  state(): EarlyStoppingState {
    return { best: this.best, bestEpoch: this.bestEpoch, wait: this.wait };
  }

  /** Restores a state from a checkpoint. */
  loadState(s: EarlyStoppingState, bestWeights: Float32Array | null, bestBuffers: Float32Array | null): void {
    this.best = s.best ?? Infinity;
    this.bestEpoch = s.bestEpoch;
    this.wait = s.wait;
    this.bestWeights = bestWeights;
    this.bestBuffers = bestBuffers;
  }
}
