/**
 * The CIFAR-10 binary format (the "binary version" of the data set: data_batch_1.bin …
 * data_batch_5.bin, test_batch.bin). A file is a sequence of 3,073-byte records: one label byte
 * (0–9), then 3,072 pixel bytes, channel-planar: the 1,024 red values of the 32×32 image row by
 * row, then the green, then the blue. Descent holds images channels-last ([N, 32, 32, 3], the
 * channels of a pixel adjacent), so the planes are interleaved here, with bytes scaled to [0, 1].
 * Core code: bytes in, a dataset out (files are read in src/node/cifar10.ts).
 */
import { check } from '../core/errors.js';
import { createDataset, type Dataset } from './dataset.js';

export const CIFAR10_SIDE = 32;
export const CIFAR10_PIXELS = CIFAR10_SIDE * CIFAR10_SIDE * 3;
export const CIFAR10_RECORD = 1 + CIFAR10_PIXELS;
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** Records in one file's bytes, after checking that the size is a whole, non-zero number of them. */
function recordCount(bytes: Uint8Array, source: string): number {
  check(bytes.length > 0, () => `${source} is empty: a CIFAR-10 file holds 3,073-byte records (1 label byte + 3,072 pixel bytes)`);
  const count = Math.floor(bytes.length / CIFAR10_RECORD), extra = bytes.length % CIFAR10_RECORD;
  check(
    extra === 0,
    () => `${source}: ${bytes.length.toLocaleString('en-US')} bytes are not a whole number of 3,073-byte CIFAR-10 records ` +
      `(1 label byte + 3,072 pixel bytes): ${count} records and ${extra} bytes over`,
  );
  return count;
}

/**
 * One or more CIFAR-10 files (their bytes, with names for the errors) as one dataset of
 * [32, 32, 3] images in [0, 1], in file order then record order, with the ten class names.
 */
export function cifar10ToDataset(files: { bytes: Uint8Array; source: string }[]): Dataset {
  check(files.length > 0, 'CIFAR-10: no files given');
  const counts = files.map((f) => recordCount(f.bytes, f.source));
  const total = counts.reduce((a, b) => a + b, 0);
  const x = new Float32Array(total * CIFAR10_PIXELS);
  const labels = new Int32Array(total);
  const plane = CIFAR10_SIDE * CIFAR10_SIDE;
  let n = 0;
  files.forEach(({ bytes, source }, f) => {
    for (let r = 0; r < counts[f]; r++, n++) {
      const at = r * CIFAR10_RECORD;
      const label = bytes[at];
      check(label <= 9, () => `${source}: record ${r} (byte ${at}) has label ${label}; CIFAR-10 labels are 0–9`);
      labels[n] = label;
      // Planar R, G, B → channels-last: pixel p's channel c comes from byte 1 + c·1024 + p.
      const out = n * CIFAR10_PIXELS, pix = at + 1;
      for (let p = 0; p < plane; p++) {
        x[out + 3 * p] = bytes[pix + p] / 255;
        x[out + 3 * p + 1] = bytes[pix + plane + p] / 255;
        x[out + 3 * p + 2] = bytes[pix + 2 * plane + p] / 255;
      }
    }
  });
  const source = files.length === 1 ? files[0].source : `${files[0].source} … ${files[files.length - 1].source}`;
  return createDataset({ x, labels, shape: [CIFAR10_SIDE, CIFAR10_SIDE, 3], classes: 10, classNames: CIFAR10_CLASSES }, source);
}

/**
 * The bytes of a CIFAR-10 file holding `images` ([N, 32, 32, 3] channels-last bytes) and their
 * labels: the inverse of cifar10ToDataset, for tests and for writing data in this format.
 */
export function encodeCifar10(images: Uint8Array, labels: ArrayLike<number>): Uint8Array {
  const N = labels.length, plane = CIFAR10_SIDE * CIFAR10_SIDE;
  check(images.length === N * CIFAR10_PIXELS, () => `CIFAR-10: ${N} labels need ${N * CIFAR10_PIXELS} pixel bytes, got ${images.length}`);
  const out = new Uint8Array(N * CIFAR10_RECORD);
  for (let n = 0; n < N; n++) {
    check(Number.isInteger(labels[n]) && labels[n] >= 0 && labels[n] <= 9, () => `CIFAR-10: label ${labels[n]} of image ${n} is not 0–9`);
    const at = n * CIFAR10_RECORD;
    out[at] = labels[n];
    for (let p = 0; p < plane; p++)
      for (let c = 0; c < 3; c++) out[at + 1 + c * plane + p] = images[n * CIFAR10_PIXELS + 3 * p + c];
  }
  return out;
}
