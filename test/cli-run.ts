/** Running the built `descent` command as a user does, and the one-line error every failure must give. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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
