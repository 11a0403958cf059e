/**
 * What the CLI calls for the dashboard:
 *  - `descent ui <run-dir>`: uiCommand opens the server on a run directory's files (a finished run, or
 *    one that another process is still recording: the page follows it, read-only) and prints the address;
 *    given a folder of runs (`descent ui runs/`), the page lists them and compares their curves.
 *  - `descent train --ui`: recordRun + startDashboard with the trainer, via startTrainingDashboard.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescentError } from '../core/errors.js';
import type { Trainer } from '../train/trainer.js';
import { RunRecorder, RUN_FILES, type RecorderOptions } from './run-recorder.js';
import { type Dashboard, isRunDir, listRuns, startDashboard } from './server.js';

export interface UiCommandOptions {
  host?: string;
  port?: number;
  /** Where to print the address (default: stdout). */
  log?: (line: string) => void;
}

/** `descent ui <run-dir>`: serve the run's dashboard until closed; resolves once it listens. */
export async function uiCommand(runDir: string, options: UiCommandOptions = {}): Promise<Dashboard> {
  const dir = path.resolve(runDir);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new DescentError(`no run directory at ${dir}`);
  const runs = isRunDir(dir) ? [] : listRuns(dir);
  if (!isRunDir(dir) && runs.length === 0) {
    throw new DescentError(`${dir} is not a run directory: it has no ${RUN_FILES.run} or ${RUN_FILES.metrics} ` +
      'and no sub-folder that has (runs recorded by `descent train` have them)');
  }
  const dashboard = await startDashboard({ runDir: dir, host: options.host, port: options.port });
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  log(`Descent dashboard for ${runs.length ? `the ${runs.length} run${runs.length === 1 ? '' : 's'} in ` : ''}${dir}: ${dashboard.url}`);
  log(`(read-only: ${runs.length ? 'the runs are shown from their files' : 'this run has no live trainer here'}; Ctrl-C to quit)`);
  return dashboard;
}

export interface TrainingDashboardOptions extends RecorderOptions, UiCommandOptions {}

/**
 * `descent train --ui`: record the run into `runDir` and serve its dashboard with the live trainer.
 * Set the trainer's onCheckpoint to `(bytes, where) => recorder.saveCheckpoint(bytes, where)` so the
 * stop button's checkpoint lands in the run directory. Call recorder.close() and dashboard.close()
 * when done (the recorder also closes itself at the trainer's end event).
 */
export async function startTrainingDashboard(trainer: Trainer, runDir: string, options: TrainingDashboardOptions = {}):
  Promise<{ recorder: RunRecorder; dashboard: Dashboard }> {
  const recorder = new RunRecorder(runDir, trainer, options);
  let dashboard: Dashboard;
  try {
    dashboard = await startDashboard({ runDir, trainer, host: options.host, port: options.port });
  } catch (e) {
    recorder.close();
    throw e;
  }
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  log(`Descent dashboard: ${dashboard.url}`);
  return { recorder, dashboard };
}
