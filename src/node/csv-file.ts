/** Load a CSV dataset file (plain or gzipped) with the core parser of src/data/csv.ts. */
import { parseCsvDataset, type CsvOptions } from '../data/csv.js';
import type { Dataset } from '../data/dataset.js';
import { readTextMaybeGzip } from './files.js';

/** A CSV file (plain or gzip) of images, one per row: by default label first, then the pixels (Kaggle's MNIST layout). */
export function loadCsvFile(file: string, options: Omit<CsvOptions, 'source'> = {}): Dataset {
  return parseCsvDataset(readTextMaybeGzip(file), { ...options, source: file });
}
