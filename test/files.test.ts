import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { readFileMaybeGzip, readTextMaybeGzip, writeFileAtomic } from '../src/node/files.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-files-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

test('readFileMaybeGzip detects gzip by content, not by name', () => {
  const bytes = Uint8Array.from([0, 1, 2, 250]);
  fs.writeFileSync(path.join(dir, 'plain.gz'), bytes); // a misleading name: not gzip
  fs.writeFileSync(path.join(dir, 'packed.bin'), gzipSync(bytes));
  assert.deepEqual(readFileMaybeGzip(path.join(dir, 'plain.gz')), bytes);
  assert.deepEqual(readFileMaybeGzip(path.join(dir, 'packed.bin')), bytes);
  // A plain Uint8Array, not a Buffer, so slice() copies as everywhere else.
  assert.equal(Object.getPrototypeOf(readFileMaybeGzip(path.join(dir, 'packed.bin'))), Uint8Array.prototype);
  fs.writeFileSync(path.join(dir, 'text.gz'), gzipSync('héllo'));
  assert.equal(readTextMaybeGzip(path.join(dir, 'text.gz')), 'héllo');
});

test('writeFileAtomic writes and replaces whole files and leaves no temporary file', () => {
  const file = path.join(dir, 'model.json');
  writeFileAtomic(file, 'first');
  writeFileAtomic(file, Uint8Array.from([104, 105]));
  assert.equal(fs.readFileSync(file, 'utf8'), 'hi');
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.includes('model')), ['model.json']);
});

test('writeFileAtomic failures name the path and clean up', () => {
  const missing = path.join(dir, 'no-such-dir', 'out.bin');
  assert.throws(() => writeFileAtomic(missing, 'x'), (e: Error) => e.message === `cannot write ${missing}: no such file or directory`);
  // The target is a directory: the rename fails, and the temporary file must not stay behind.
  const taken = path.join(dir, 'taken');
  fs.mkdirSync(taken);
  fs.writeFileSync(path.join(taken, 'keep'), '');
  const before = fs.readdirSync(dir).sort();
  assert.throws(() => writeFileAtomic(taken, 'x'), (e: Error) => e.message.startsWith(`cannot write ${taken}: `));
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
});
