/** Running the built `descent` command as a user does, and the one-line error every failure must give. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The CLI's entry point in dist/. */
export const CLI_MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

export interface CliResult { status: number | null; stdout: string; stderr: string }

/** A runner of `descent …` with `cwd` as its working folder. */
export function cliIn(cwd: string): (...args: string[]) => CliResult {
  return (...args) => {
    const r = spawnSync(process.execPath, [CLI_MAIN, ...args], { encoding: 'utf8', cwd, timeout: 120_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };
}

/** A failure is one line on stderr, "descent: …", and a non-zero exit. */
export function assertOneLineError(r: CliResult, pattern: RegExp): void {
  assert.notEqual(r.status, 0, `expected failure, got ${r.status}: ${r.stdout}`);
  const lines = r.stderr.trim().split('\n').filter((l) => !l.startsWith('(run with --help'));
  assert.equal(lines.length, 1, `one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], /^descent: /);
  assert.match(lines[0], pattern);
}

/** A `descent …` run started in the background with piped output (not a terminal). */
export interface PipedCli {
  child: ChildProcess;
  /** Its output so far. */
  out: { stdout: string; stderr: string };
  /** Its exit code, once it exits. */
  exited: Promise<number | null>;
  /** The address a `--ui` run prints, once printed (fails if the run ends or 60 s pass first). */
  dashboardUrl: () => Promise<string>;
}

/** Start `descent …` in `cwd` with its output piped; kill its child when done. */
export function spawnCli(cwd: string, args: string[]): PipedCli {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (c) => (out.stdout += c));
  child.stderr!.on('data', (c) => (out.stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const dashboardUrl = async () => {
    const start = Date.now();
    let url: string | undefined;
    while (!(url = /dashboard: (http\S+)/.exec(out.stdout)?.[1])) {
      assert.ok(Date.now() - start < 60_000 && child.exitCode === null, `no dashboard address: ${out.stdout}${out.stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return url;
  };
  return { child, out, exited, dashboardUrl };
}
