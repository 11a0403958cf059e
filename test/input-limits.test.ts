/**
 * The size limits on inputs (src/core/limits.ts, src/node/files.ts): reads are bounded before and
 * after gunzip, networks too large to allocate are refused before allocation, layer options are all
 * understood, and stale temporary files of killed atomic writes are removed.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { MAX_LAYERS, MAX_PARAMETERS } from '../src/core/limits.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import { Sequential } from '../src/network/sequential.js';
import { readFileMaybeGzip, removeStaleTemporaries, writeFileAtomic } from '../src/node/files.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-limits-'));

test('reads are bounded: a file, a gzip bomb and a device are refused, not read into memory', () => {
  const file = join(dir, 'big.bin');
  writeFileSync(file, new Uint8Array(5000));
  assert.equal(readFileMaybeGzip(file, 5000).length, 5000);
  assert.throws(() => readFileMaybeGzip(file, 4999), /big\.bin is 0 MiB: more than the 0 MiB Descent reads from one file/);
  const bomb = join(dir, 'bomb.gz');
  writeFileSync(bomb, gzipSync(new Uint8Array(1 << 20)));
  assert.equal(readFileMaybeGzip(bomb).length, 1 << 20);
  assert.throws(() => readFileMaybeGzip(bomb, 1 << 19), /bomb\.gz decompresses to more than/);
  assert.throws(() => readFileMaybeGzip(dir), /cannot read .*: it is a directory/);
  if (existsSync('/dev/zero')) assert.throws(() => readFileMaybeGzip('/dev/zero'), /cannot read \/dev\/zero: it is a device, not a file/);
});

test('a network too large to allocate is refused before allocation, naming the layer', () => {
  const dense = (n: number) => ({ inputShape: [64], layers: [{ type: 'Dense', outFeatures: n }] });
  assert.ok(Sequential.fromConfig(dense(1000)));
  assert.throws(() => Sequential.fromConfig(dense(2 ** 23)), /layer 0 \(Dense\) brings the network to 545259520 parameters, more than the 268435456/);
  assert.equal(MAX_PARAMETERS, 268435456);
  assert.throws(() => Sequential.fromConfig({ inputShape: [4096, 4096, 2], layers: [{ type: 'ReLU' }] }), /the input has 33554432 values per sample/);
  assert.throws(() => Sequential.fromConfig({ inputShape: [8, 8, 1], layers: [{ type: 'Conv2d', outChannels: 2 ** 20, kernelSize: 1 }] }),
    /layer 0 \(Conv2d\) has 67108864 values per sample/);
  assert.throws(() => Sequential.fromConfig({ inputShape: [8], layers: Array(MAX_LAYERS + 1).fill({ type: 'ReLU' }) }), /1001 layers, more than the 1000/);
});

test('every option of a layer must be understood and kept as given', () => {
  const conv = (extra: object) => Sequential.fromConfig({ inputShape: [8, 8, 1], layers: [{ type: 'Conv2d', outChannels: 2, kernelSize: 3, ...extra }] });
  assert.equal(conv({ stride: 2 }).outputShape.join(), '3,3,2');
  assert.deepEqual(conv({ stride: [2, 1] }).layers[0].config().stride, [2, 1]);
  assert.throws(() => conv({ strides: 2 }), /layer 0 \(Conv2d\): unknown option "strides" \(its options: outChannels, kernelSize, stride, padding, dilation, groups, bias\)/);
  assert.throws(() => conv({ stride: null }), /option "stride" is null, which the layer would take as \[1,1\]/);
  assert.throws(() => conv({ bias: 'false' }), /Conv2d bias must be true or false, got "false"/);
  assert.throws(() => conv({ padding: true }), /Conv2d padding must be 'same', 'valid', an integer >= 0, \[height, width\] or \[top, bottom, left, right\] of them, got true/);
  assert.throws(() => Sequential.fromConfig({ inputShape: [4], layers: [{ type: 'ReLU', inplace: true }] }), /unknown option "inplace" \(it takes no options\)/);
  assert.throws(() => Sequential.fromConfig({ inputShape: [4], layers: [null as never] }), /layer 0: a layer must be an object with a "type" string/);
});

test('stale temporary files of killed writes are removed; a living process\'s are kept', () => {
  const dead = '.model.safetensors.4194305.0123456789ab.tmp', mine = `.model.safetensors.${process.pid}.0123456789ab.tmp`;
  const other = '.notes.txt.4194305.0123456789ab.tmp', unrelated = 'model.tmp';
  for (const f of [dead, mine, other, unrelated]) writeFileSync(join(dir, f), 'x');
  writeFileAtomic(join(dir, 'model.safetensors'), 'new');
  let files = readdirSync(dir);
  assert.ok(!files.includes(dead) && files.includes(mine) && files.includes(other) && files.includes(unrelated), files.join());
  removeStaleTemporaries(dir);
  files = readdirSync(dir);
  assert.ok(!files.includes(other) && files.includes(mine) && files.includes(unrelated), files.join());
});

test('a safetensors header nested deep is refused with a line, not a stack overflow', () => {
  const header = new TextEncoder().encode(`{"w":{"dtype":"F32","shape":${'['.repeat(100000)}${']'.repeat(100000)},"data_offsets":[0,0]}}`);
  const bytes = new Uint8Array(8 + header.length);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
  bytes.set(header, 8);
  assert.throws(() => decodeSafetensors(bytes, 'deep.safetensors'), /^DescentError: deep\.safetensors: header nests deeper than a safetensors header does$/);
});
