/**
 * Reading checkpoints of format 1, written before the learning rate had one home (format 2). Format 1
 * kept α in three places (the optimizer's lr, a manual ratio or rate in the schedule's state, and the base
 * rate in the trainer's options), and its history grew with every step: each step's risk and, under a
 * per-step schedule, an lr event per step. This turns its parts into format 2's: the manual rate moves
 * from the schedule's state into the learning rate's (the base still comes from the resuming trainer's
 * options, as it did), and the history drops what format 2 does not keep (the trainer trims the window
 * of step risks). A run resumed from format 1 takes the same rates, bitwise unless a person had changed
 * the rate under a fixed-shape schedule (then to the last bit or so: format 1 kept a ratio).
 */
import type { History } from './trainer.js';
import type { LearningRateState } from './learning-rate.js';
import type { ScheduleConfig } from './schedules/index.js';

export const CHECKPOINT_FORMAT_1 = 'descent-checkpoint-1';

type Schedule1 = { config: ScheduleConfig; state: unknown } | null;

/**
 * The format-2 schedule part and the learning rate's state (without its base) from format 1's schedule
 * part and its optimizer's lr (the rate in force).
 */
export function migrateSchedule1(schedule: Schedule1, optimizerLr: unknown): { schedule: Schedule1; rate: Omit<LearningRateState, 'base'> } {
  const none = { manual: null, manualShape: 0 };
  // Without a schedule, a manual rate lived only in the optimizer's lr: it stays (it is the base if none was set).
  if (!schedule) return { schedule, rate: { manual: optimizerLr as number, manualShape: 0 } };
  if (!schedule.state || typeof schedule.state !== 'object') return { schedule, rate: none };
  const { lr, ratio, pinned, lastShape, ...rest } = schedule.state as Record<string, unknown>;
  switch (schedule.config?.kind) {
    case 'plateau': // its lr was its level, or a manual rate it had adopted: either way the level now
      return { schedule, rate: none };
    case 'adam-then-sgd': // a manual rate held until the switch, where s(t) is constant: α stays m
      return { schedule: { ...schedule, state: rest }, rate: lr === null || lr === undefined ? none : { manual: lr as number, manualShape: 0 } };
    default: { // fixed shapes: α was ratio · s(t), or pinned
      const state = { kind: rest.kind };
      if (pinned !== null && pinned !== undefined) return { schedule: { ...schedule, state }, rate: { manual: pinned as number, manualShape: 0 } };
      if (ratio === 1 || ratio === undefined || lastShape === null || lastShape === undefined) return { schedule: { ...schedule, state }, rate: none };
      return { schedule: { ...schedule, state }, rate: { manual: (ratio as number) * (lastShape as number), manualShape: lastShape as number } };
    }
  }
}

/** Format 1's history without a schedule's per-step lr events and checkpoint events (format 2 keeps neither). */
export function migrateHistory1(history: History): History {
  const events = Array.isArray(history?.events) ? history.events : [];
  return {
    ...history,
    events: events.filter((e) => e?.type !== 'checkpoint' && !(e?.type === 'lr' && (e.source as string) === 'schedule')),
  };
}
