#!/usr/bin/env node
/**
 * Runs the built test files (dist/test/*.test.js whose source test/*.test.ts still exists, or those
 * named on the command line) on Node's test runner. Listing them here rather than with a shell glob
 * makes `npm test` work on Windows too; matching the sources keeps a renamed test's old build out.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join('dist', 'test');
const named = process.argv.slice(2);
const hasSource = (f) => existsSync(join('test', f.replace(/\.js$/, '.ts')));
const files = named.length > 0 ? named
  : readdirSync(dir).filter((f) => f.endsWith('.test.js') && hasSource(f)).sort().map((f) => join(dir, f));
const { status, error } = spawnSync(process.execPath, ['--test', ...files], { stdio: 'inherit' });
if (error) throw error;
process.exit(status ?? 1);
