/**
 * CIFAR-10 binary files from a folder, as the data set's archive unpacks them
 * (cifar-10-batches-bin/data_batch_1.bin … data_batch_5.bin, test_batch.bin; a file may also be
 * gzipped, recognised by its content). `dir` may be that folder or the one that holds it. A single .bin file is read alone.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DescentError } from '../core/errors.js';
import { cifar10ToDataset } from '../data/cifar10.js';
import type { Dataset } from '../data/dataset.js';
import { readFileMaybeGzip } from './files.js';

export const CIFAR10_TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const CIFAR10_TEST_FILE = 'test_batch.bin';

const isFile = (p: string) => fs.existsSync(p) && fs.statSync(p).isFile();

/** The folder that holds the batch files: `dir` itself or its cifar-10-batches-bin. */
function batchFolder(dir: string): string {
  const nested = path.join(dir, 'cifar-10-batches-bin');
  const has = (d: string) => [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].some((f) => isFile(path.join(d, f)));
  return !has(dir) && has(nested) ? nested : dir;
}

/** The training split (all five data_batch files), the test split (test_batch.bin), or one file. */
export function loadCifar10(where: string, split: 'train' | 'test'): Dataset {
  if (isFile(where)) return cifar10ToDataset([{ bytes: readFileMaybeGzip(where), source: where }]);
  if (!fs.existsSync(where) || !fs.statSync(where).isDirectory()) {
    throw new DescentError(`cifar10: ${where} is neither a folder of CIFAR-10 .bin files nor such a file`);
  }
  const dir = batchFolder(where);
  const names = split === 'train' ? CIFAR10_TRAIN_FILES : [CIFAR10_TEST_FILE];
  const missing = names.filter((f) => !isFile(path.join(dir, f)));
  if (missing.length > 0) {
    throw new DescentError(`cifar10: ${dir} lacks ${missing.join(', ')} (the ${split} split needs ${names.join(', ')})`);
  }
  return cifar10ToDataset(names.map((f) => ({ bytes: readFileMaybeGzip(path.join(dir, f)), source: path.join(dir, f) })));
}

/** Whether `where` holds a CIFAR-10 test split (so the CLI can use it by default). */
export function hasCifar10Test(where: string): boolean {
  return fs.existsSync(where) && fs.statSync(where).isDirectory() && isFile(path.join(batchFolder(where), CIFAR10_TEST_FILE));
}
