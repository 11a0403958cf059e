#!/usr/bin/env node
/**
 * Runs the built test files (dist/test/*.test.js, or those named on the command line) on Node's
 * test runner. Listing them here rather than with a shell glob makes `npm test` work on Windows too.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const dir = join('dist', 'test');
const named = process.argv.slice(2);
const files = named.length > 0 ? named : readdirSync(dir).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(dir, f));
const { status, error } = spawnSync(process.execPath, ['--test', ...files], { stdio: 'inherit' });
if (error) throw error;
process.exit(status ?? 1);
