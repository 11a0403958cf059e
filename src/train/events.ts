/**
 * What a trainer reports while it runs: typed events for each step and epoch (with the rate α it ran at),
 * every change of the learning rate that a schedule's shape does not explain (a person's command, a
 * plateau reduction, an optimizer switch), pauses, stops and checkpoints. A CLI progress bar and the web
 * dashboard subscribe to these; the run's event log is the list of them.
 */

export interface StepEvent {
  type: 'step';
  step: number;
  epoch: number;
  /** Mini-batch risk before this step's update. */
  loss: number;
  /** Mini-batch zero-one error (fraction). */
  error: number;
  /** α this step ran at (a schedule's rate changes are here, not in 'lr' events). */
  lr: number;
  batchSize: number;
  /** ||w_t - w_(t-1)|| for this step. */
  stepSize: number;
  /** Steps done in this epoch, and how many it has. */
  stepInEpoch: number;
  stepsPerEpoch: number;
  imagesPerSecond: number;
}

export interface EpochRecord {
  epoch: number;
  /** Training risk L_T: the mean of the mini-batch risks of the epoch. */
  loss: number;
  /** Training zero-one error over the epoch's mini-batches. */
  error: number;
  valLoss?: number;
  valError?: number;
  /** ||w_e - w_(e-1)|| between the ends of consecutive epochs. */
  stepSize: number;
  /** |L_T(w_e) - L_T(w_(e-1))|, from consecutive epochs' training risks (Infinity after the first). */
  lossChange: number;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface EpochEvent extends EpochRecord {
  type: 'epoch';
  /** Early stopping: best epoch so far and epochs of patience left (when enabled). */
  bestEpoch?: number;
  patienceLeft?: number;
}

/** Who changed α: a person ('manual'), a plateau reduction, the Adam → SGD switch. A schedule's shape is not an event. */
export type LrSource = 'manual' | 'plateau' | 'switch';

export interface LrEvent {
  type: 'lr';
  step: number;
  epoch: number;
  from: number;
  to: number;
  source: LrSource;
  /** For an optimizer switch (Adam → SGD): the new optimizer kind. */
  optimizer?: string;
}

export interface ControlEvent {
  type: 'pause' | 'resume' | 'stop';
  step: number;
  epoch: number;
  reason?: string;
}

export interface CheckpointEvent {
  type: 'checkpoint';
  step: number;
  epoch: number;
  bytes: number;
}

/** Something the user should know that does not stop training (a diverging loss). */
export interface WarningEvent {
  type: 'warning';
  step: number;
  epoch: number;
  message: string;
}

export interface EndEvent {
  type: 'end';
  step: number;
  epoch: number;
  reason: StopReason;
  message: string;
}

export type StopReason = 'epochs' | 'max_steps' | 'max_seconds' | 'early_stopping' | 'step_size' | 'loss_change' |
  'user' | 'non_finite';

export type TrainEvent = StepEvent | EpochEvent | LrEvent | ControlEvent | CheckpointEvent | WarningEvent | EndEvent;

/** A minimal typed emitter that works in browsers and Node alike. */
export class Emitter {
  private listeners = new Map<string, Set<(e: TrainEvent) => void>>();

  on<K extends TrainEvent['type']>(type: K | '*', listener: (e: Extract<TrainEvent, { type: K }>) => void): () => void {
    const set = this.listeners.get(type) ?? new Set();
    set.add(listener as (e: TrainEvent) => void);
    this.listeners.set(type, set);
    return () => set.delete(listener as (e: TrainEvent) => void);
  }

  emit(e: TrainEvent): void {
    for (const l of this.listeners.get(e.type) ?? []) l(e);
    for (const l of this.listeners.get('*') ?? []) l(e);
  }
}
