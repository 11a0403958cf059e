/** The training run used by the resume test, in both processes. */
import type { FitOptions } from '../src/train/trainer.js';
import { patches } from './synthetic.js';

export function resumeRunOptions(): FitOptions {
  return {
    epochs: 3, batchSize: 16, optimizer: { kind: 'adam', lr: 0.01 },
    schedule: { kind: 'multistep', milestones: [2], gamma: 0.1 },
    validation: patches(60, 4), earlyStopping: { monitor: 'val_error', patience: 5 },
    augment: { shift: 1 },
  };
}
