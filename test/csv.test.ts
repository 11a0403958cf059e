import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseCsvDataset } from '../src/data/csv.js';
import { loadCsvFile } from '../src/node/csv-file.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'descent-csv-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

// Kaggle's layout with 2×2 images: a header, then label and four pixels per line.
const kaggle = 'label,pixel0,pixel1,pixel2,pixel3\n7,0,255,51,0\n2,255,255,0,102\n';

test('a Kaggle-style CSV with a header infers a square single-channel shape', () => {
  const ds = parseCsvDataset(kaggle);
  assert.deepEqual(ds.shape, [2, 2, 1]);
  assert.equal(ds.count, 2);
  assert.equal(ds.classes, 8);
  assert.deepEqual([...ds.labels], [7, 2]);
  assert.deepEqual([...ds.x].map((v) => Math.round(v * 255)), [0, 255, 51, 0, 255, 255, 0, 102]);
});

test('no header, CRLF line ends, a BOM and blank lines are all fine', () => {
  const ds = parseCsvDataset('\uFEFF1,0,0,0,0\r\n\r\n0, 255 ,0,0,0\r\n');
  assert.deepEqual([...ds.labels], [1, 0]);
  assert.equal(ds.x[4], 1);
});

test('an explicit shape is used and checked', () => {
  const ds = parseCsvDataset('1,0,0,0,0,0,0\n', { shape: [1, 2, 3], classes: 10 });
  assert.deepEqual(ds.shape, [1, 2, 3]);
  assert.equal(ds.classes, 10);
  assert.throws(() => parseCsvDataset('1,0,0,0,0,0,0\n', { shape: [2, 2, 1] }), /shape \[2, 2, 1\] needs 4 pixel columns, the rows have 6/);
  assert.throws(() => parseCsvDataset('1,0,0,0\n'), /cannot infer the image shape from 3 pixel columns .*pass the shape/);
});

test('errors give the line, the column and what is wrong', () => {
  const src = { source: 'train.csv' };
  assert.throws(() => parseCsvDataset(kaggle + '3,0,0,0\n', src), /train\.csv, line 4: expected 5 columns \(a label and 4 pixels\), found 4/);
  assert.throws(() => parseCsvDataset(kaggle + '3,0,x,0,0\n', src), /train\.csv, line 4, column 3: pixel value 'x' is not a number/);
  assert.throws(() => parseCsvDataset(kaggle + '3,0,,0,0\n', src), /line 4, column 3: pixel value '' is not a number/);
  assert.throws(() => parseCsvDataset(kaggle + '3,0,0,0,256\n', src), /line 4, column 5: pixel value '256' is outside 0\.\.255/);
  assert.throws(() => parseCsvDataset(kaggle + '1.5,0,0,0,0\n', src), /line 4, column 1: the label must be a non-negative integer, found '1\.5'/);
  // Strict fields: no wrap-around of large labels (4294967299 is not 3), no hex, binary or Infinity.
  assert.throws(() => parseCsvDataset(kaggle + '4294967299,0,0,0,0\n', src), /column 1: the label must be a non-negative integer, found '4294967299' \(at most 2147483647\)/);
  assert.throws(() => parseCsvDataset(kaggle + '0x1,0,0,0,0\n', src), /line 4, column 1: the label must be a non-negative integer, found '0x1'/);
  assert.throws(() => parseCsvDataset(kaggle + '1,0x10,0,0,0\n', src), /line 4, column 2: pixel value '0x10' is not a number/);
  assert.throws(() => parseCsvDataset(kaggle + '1,0b1,0,0,0\n', src), /column 2: pixel value '0b1' is not a number/);
  assert.throws(() => parseCsvDataset(kaggle + '1,Infinity,0,0,0\n', src), /column 2: pixel value 'Infinity' is not a number/);
  assert.deepEqual(Array.from(parseCsvDataset('0,255,1e2,.5,0.0\n').x), [1, 100 / 255, 0.5 / 255, 0].map(Math.fround));
  assert.throws(() => parseCsvDataset('label,a,b,c,d\n', src), /train\.csv has a header but no data rows/);
  assert.throws(() => parseCsvDataset('\n\n', src), /train\.csv is empty/);
  assert.throws(() => parseCsvDataset('0,0,0,0,0\n5,0,0,0,0\n', { ...src, classes: 3 }), /label 5 is out of range for 3 classes/);
});

test('CSV files load plain or gzipped, and errors name the path', () => {
  const plain = path.join(dir, 'train.csv');
  const gz = path.join(dir, 'train.csv.gz');
  fs.writeFileSync(plain, kaggle);
  fs.writeFileSync(gz, gzipSync(kaggle));
  assert.deepEqual(loadCsvFile(gz), loadCsvFile(plain));
  const broken = path.join(dir, 'broken.csv');
  fs.writeFileSync(broken, kaggle + '1,2\n');
  assert.throws(() => loadCsvFile(broken), (e: Error) => e.message.startsWith(`${broken}, line 4:`));
});
