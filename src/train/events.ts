/**
 * What a trainer reports while it runs: typed events for each step and epoch (with the rate α it ran at),
 * every change of the learning rate that a schedule's shape does not explain (a person's command, a
 * plateau reduction, an optimizer switch), pauses, stops and checkpoints. A CLI progress bar and the web
 * dashboard subscribe to these; the run's event log is the list of them.
 */

/** After every optimizer step. */
export interface StepEvent {
  /** Event kind. */
  type: 'step';
  /** Optimizer steps taken before this one (0 for the first). */
  step: number;
  /** The epoch being trained, from 0. */
  epoch: number;
  /** Mini-batch risk before this step's update. */
  loss: number;
  /** Mini-batch zero-one error (fraction). */
  error: number;
  /** α this step ran at (a schedule's rate changes are here, not in 'lr' events). */
  lr: number;
  /** Samples in this mini-batch. */
  batchSize: number;
  /** ||w_t - w_(t-1)|| for this step. */
  stepSize: number;
  /** Steps done in this epoch, and how many it has. */
  stepInEpoch: number;
  /** Steps in this epoch. */
  stepsPerEpoch: number;
  /** Training throughput, averaged over the epoch so far. */
  imagesPerSecond: number;
}

/** The summary of one epoch, as History keeps it. */
export interface EpochRecord {
  /** The epoch, counted from 1. */
  epoch: number;
  /** Training risk L_T: the mean of the mini-batch risks of the epoch. */
  loss: number;
  /** Training zero-one error over the epoch's mini-batches. */
  error: number;
  /** Validation risk, when there is validation data. */
  valLoss?: number;
  /** Validation zero-one error (fraction), when there is validation data. */
  valError?: number;
  /** ||w_e - w_(e-1)|| between the ends of consecutive epochs. */
  stepSize: number;
  /** |L_T(w_e) - L_T(w_(e-1))|, from consecutive epochs' training risks (Infinity after the first). */
  lossChange: number;
  /** The learning rate at the end of the epoch. */
  lr: number;
  /** Training throughput over the epoch. */
  imagesPerSecond: number;
  /** Wall-clock time of the epoch, validation included. */
  seconds: number;
}

/** After every epoch (and its validation pass). */
export interface EpochEvent extends EpochRecord {
  /** Event kind. */
  type: 'epoch';
  /** Early stopping: best epoch so far and epochs of patience left (when enabled). */
  bestEpoch?: number;
  /** Epochs of patience left (with early stopping). */
  patienceLeft?: number;
}

/** Who changed α: a person ('manual'), a plateau reduction, the Adam → SGD switch. A schedule's shape is not an event. */
export type LrSource = 'manual' | 'plateau' | 'switch';

/** Whenever the learning rate changes. */
export interface LrEvent {
  /** Event kind. */
  type: 'lr';
  /** Steps taken when the change applies. */
  step: number;
  /** The epoch, from 0. */
  epoch: number;
  /** The rate before. */
  from: number;
  /** The rate after. */
  to: number;
  /** Who changed it. */
  source: LrSource;
  /** For an optimizer switch (Adam → SGD): the new optimizer kind. */
  optimizer?: string;
}

/** A pause, resume or stop asked for by a user (CLI, dashboard, `Trainer.stop`). */
export interface ControlEvent {
  /** Which control. */
  type: 'pause' | 'resume' | 'stop';
  /** Steps taken when it applied. */
  step: number;
  /** The epoch, from 0. */
  epoch: number;
  /** Why, in words (for a stop). */
  reason?: string;
}

/** After a checkpoint was handed to onCheckpoint. */
export interface CheckpointEvent {
  /** Event kind. */
  type: 'checkpoint';
  /** Steps taken at the checkpoint. */
  step: number;
  /** The epoch, from 0. */
  epoch: number;
  /** The checkpoint's size in bytes. */
  bytes: number;
}

/** Something the user should know that does not stop training (a diverging loss). */
export interface WarningEvent {
  /** Event kind. */
  type: 'warning';
  /** Steps taken. */
  step: number;
  /** The epoch, from 0. */
  epoch: number;
  /** What happened, in words. */
  message: string;
}

/** When training ends, for whatever reason. */
export interface EndEvent {
  /** Event kind. */
  type: 'end';
  /** Steps taken in all. */
  step: number;
  /** The last epoch, from 0. */
  epoch: number;
  /** Why it ended. */
  reason: StopReason;
  /** The same in words. */
  message: string;
}

/** Why training ended: all epochs done, a limit, early stopping, a classic criterion, the user, or a non-finite loss. */
export type StopReason = 'epochs' | 'max_steps' | 'max_seconds' | 'early_stopping' | 'step_size' | 'loss_change' |
  'user' | 'non_finite';

/** Every event a Trainer emits; `trainer.on(type, listener)` receives those of one type, `'*'` all. */
export type TrainEvent = StepEvent | EpochEvent | LrEvent | ControlEvent | CheckpointEvent | WarningEvent | EndEvent;

/** A minimal typed emitter that works in browsers and Node alike. */
export class Emitter {
  private listeners = new Map<string, Set<(e: TrainEvent) => void>>();

  /** Calls `listener` for every event of `type` ('*': all); returns a function that removes it. */
  on<K extends TrainEvent['type']>(type: K | '*', listener: (e: Extract<TrainEvent, { type: K }>) => void): () => void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener as (e: TrainEvent) => void);
    this.listeners.set(type, set);
    return () => set.delete(listener as (e: TrainEvent) => void);
  }

  /** Sends an event to its listeners. */
  emit(e: TrainEvent): void {
    for (const l of this.listeners.get(e.type) ?? []) l(e);
    for (const l of this.listeners.get('*') ?? []) l(e);
  }
}
