/**
 * Image datasets as CSV text, in the layout of Kaggle's MNIST: one sample per line, the label in
 * the first column, then the pixels in row-major, channels-last order, each 0..255. An optional
 * header row is recognised by its first field not being a number. Fields are plain numbers:
 * quoted fields are not supported. Core code: it takes the text, not a path.
 */
import { check, DescentError } from '../core/errors.js';
import { fmt, sizeOf } from '../core/shape.js';
import { createDataset, type Dataset, type ImageShape } from './dataset.js';

/** How to read a CSV of images, one per row (Kaggle's MNIST layout by default). */
export interface CsvOptions {
  /** [H, W, C] of one image. Default: a square single-channel image, inferred from the column count. */
  shape?: ImageShape;
  /** Number of classes. Default: the largest label plus one. */
  classes?: number;
  /** Names the text's origin (a path) in error messages. */
  source?: string;
}

/**
 * A plain decimal number (255, 0.5, 1e2), or undefined. Number() alone would also take '' and
 * ' ' (as 0), '0x10' (16), '0b1' and 'Infinity', none of which is a pixel value or a label.
 */
function numeric(field: string): number | undefined {
  const t = field.trim();
  return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t) ? Number(t) : undefined;
}

/** The largest label an Int32Array holds exactly (larger ones would wrap: 4294967299 → 3). */
const MAX_LABEL = 2 ** 31 - 1;

/** A dataset from CSV text, one image per row (see CsvOptions). */
export function parseCsvDataset(text: string, options: CsvOptions = {}): Dataset {
  const source = options.source ?? 'CSV';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const top = lines.findIndex((l) => l.trim() !== '');
  check(top >= 0, () => `${source} is empty`);
  const columns = lines[top].split(',').length;
  check(columns >= 2, () => `${source}, line ${top + 1}: expected a label followed by pixel columns, found 1 column`);
  // A header row (Kaggle's label,pixel0,…) has no number in it; a data row with a typo is not one.
  const first = lines[top].split(',').every((f) => numeric(f) === undefined) ? top + 1 : top;
  const pixels = columns - 1;
  const shape = options.shape ?? inferShape(pixels, source);
  check(
    sizeOf(shape) === pixels,
    () => `${source}: shape ${fmt(shape)} needs ${sizeOf(shape)} pixel columns, the rows have ${pixels} (after the label)`,
  );

  const rows: number[] = [];
  for (let i = first; i < lines.length; i++) if (lines[i].trim() !== '') rows.push(i);
  check(rows.length > 0, () => `${source} has a header but no data rows`);
  const x = new Float32Array(rows.length * pixels);
  const labels = new Int32Array(rows.length);
  rows.forEach((lineIndex, n) => {
    const where = `${source}, line ${lineIndex + 1}`;
    const fields = lines[lineIndex].split(',');
    check(
      fields.length === columns,
      () => `${where}: expected ${columns} columns (a label and ${pixels} pixels), found ${fields.length}`,
    );
    const t = fields[0].trim(), label = /^\d+$/.test(t) ? Number(t) : undefined;
    check(
      label !== undefined && label <= MAX_LABEL,
      () => `${where}, column 1: the label must be a non-negative integer, found '${t}'${/^\d+$/.test(t) ? ` (at most ${MAX_LABEL})` : ''}`,
    );
    labels[n] = label;
    for (let j = 1; j < columns; j++) {
      const v = numeric(fields[j]);
      if (v === undefined || v < 0 || v > 255) {
        const what = v === undefined ? 'is not a number' : 'is outside 0..255';
        throw new DescentError(`${where}, column ${j + 1}: pixel value '${fields[j].trim()}' ${what}`);
      }
      x[n * pixels + j - 1] = v / 255;
    }
  });
  return createDataset({ x, labels, shape, classes: options.classes }, source);
}

function inferShape(pixels: number, source: string): ImageShape {
  const side = Math.round(Math.sqrt(pixels));
  check(
    side * side === pixels,
    () => `${source}: cannot infer the image shape from ${pixels} pixel columns (not a square number); pass the shape [H, W, C]`,
  );
  return [side, side, 1];
}
