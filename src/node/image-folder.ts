/**
 * Image datasets from a folder of PNG and JPEG files with one sub-folder per class:
 *
 *   digits/0/a.png, digits/0/b.jpg, digits/1/c.png, ...
 *
 * Class names are the sub-folder names in code-point order (the same on every machine and
 * locale); label i is the i-th name. Only .png, .jpg and .jpeg files are read (other files, and
 * anything whose name starts with '.', are ignored); the format is recognised by content.
 *
 * Images are resized only when asked (`size`, the CLI's --image-size; see src/data/resize.ts:
 * area averaging when shrinking, bilinear when enlarging): resizing changes what the network sees
 * (MNIST digits, for one, are centred in a 20×20 box inside 28×28), so without a size every image
 * of a folder must have the same size, a single image the size the model expects, and a mismatch
 * is an error naming the file and both sizes.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { check, DescentError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import { createDataset, type Dataset, type ImageShape } from '../data/dataset.js';
import { resizeImage } from '../data/resize.js';
import { readFileMaybeGzip } from './files.js';

/** 'grayscale' gives one channel (ITU-R BT.601 luma), 'rgb' three. */
export type ColorMode = 'grayscale' | 'rgb';

/** A decoded PNG or JPEG: RGBA bytes, row by row. */
export interface DecodedImage {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  rgba: Uint8Array;
}

/** 16 megapixels (4096×4096): far above any image a CNN here trains on. */
const MAX_IMAGE_PIXELS = 2 ** 24;

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** Decode PNG or JPEG bytes, told apart by their signatures. `source` names the file in errors. */
export function decodeImage(bytes: Uint8Array, source: string): DecodedImage {
  const isPng = bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  check(isPng || isJpeg, () => `${source} is neither a PNG nor a JPEG image (by its first bytes)`);
  if (isPng && bytes.length >= 24) {
    // IHDR comes first: refuse a declared size that would not fit in memory before pngjs allocates it.
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const width = view.getUint32(16), height = view.getUint32(20);
    check(width * height <= MAX_IMAGE_PIXELS, () => `${source} declares ${width}×${height} pixels, more than the ${MAX_IMAGE_PIXELS} Descent decodes`);
  }
  try {
    if (isPng) {
      // pngjs always yields 8-bit RGBA, whatever the file's colour type and bit depth.
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      const rgba = new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength);
      return { width: png.width, height: png.height, rgba };
    }
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6, maxMemoryUsageInMB: 512 });
    return { width: img.width, height: img.height, rgba: img.data };
  } catch (e) {
    throw new DescentError(`cannot decode ${source} as ${isPng ? 'PNG' : 'JPEG'}: ${(e as Error).message}`);
  }
}

/**
 * Write an image's pixels into `out` at `offset` as values in [0, 1], channels-last, with 1
 * (grayscale) or 3 (RGB) channels. Transparent pixels are composited over black, MNIST's
 * background.
 */
function toChannels(img: DecodedImage, channels: number, out: Float32Array, offset: number): void {
  const { rgba } = img;
  for (let p = 0, i = 0; i < rgba.length; p++, i += 4) {
    const alpha = rgba[i + 3] / (255 * 255);
    if (channels === 1) {
      out[offset + p] = (0.299 * rgba[i] + 0.587 * rgba[i + 1] + 0.114 * rgba[i + 2]) * alpha;
    } else {
      for (let k = 0; k < 3; k++) out[offset + 3 * p + k] = rgba[i + k] * alpha;
    }
  }
}

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  } catch (e) {
    throw new DescentError(`cannot read folder ${dir}: ${(e as Error).message}`);
  }
}

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export interface ImageFolderOptions {
  color?: ColorMode;
  /** Resize every image to [height, width]; without it, all images must have one size. */
  size?: [number, number];
}

/** The image's pixels as [height, width, channels] values in [0, 1], resized to `size` if given. */
function pixels(img: DecodedImage, channels: number, size: [number, number] | undefined, out: Float32Array, offset: number): void {
  if (!size || (size[0] === img.height && size[1] === img.width)) {
    toChannels(img, channels, out, offset);
    return;
  }
  const full = new Float32Array(img.height * img.width * channels);
  toChannels(img, channels, full, 0);
  resizeImage(full, img.height, img.width, channels, size[0], size[1], out, offset);
}

/** Load `dir`/<class>/<image> files as a dataset, samples grouped by class, files in name order. */
export function loadImageFolder(dir: string, options: ImageFolderOptions = {}): Dataset {
  const channels = (options.color ?? 'grayscale') === 'rgb' ? 3 : 1;
  const size = options.size;
  check(
    size === undefined || (size.length === 2 && size.every((d) => Number.isInteger(d) && d > 0)),
    () => `image size must be two positive integers [height, width], got ${JSON.stringify(size)}`,
  );
  const classNames = listDir(dir).filter((e) => e.isDirectory()).map((e) => e.name).sort(byCodePoint);
  check(classNames.length > 0, () => `${dir} has no class sub-folders: expected ${dir}/<class name>/<images>`);

  const files: { file: string; label: number }[] = [];
  classNames.forEach((name, label) => {
    const classDir = path.join(dir, name);
    const images = listDir(classDir)
      .filter((e) => !e.isDirectory() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase()))
      .map((e) => e.name)
      .sort(byCodePoint);
    check(images.length > 0, () => `class folder ${classDir} has no .png, .jpg or .jpeg files`);
    for (const f of images) files.push({ file: path.join(classDir, f), label });
  });

  let first: { file: string; height: number; width: number } | undefined;
  let x = new Float32Array(0);
  const labels = new Int32Array(files.length);
  files.forEach(({ file, label }, n) => {
    const img = decodeImage(readFileMaybeGzip(file), file);
    if (!first) {
      first = { file, height: size?.[0] ?? img.height, width: size?.[1] ?? img.width };
      const { height, width } = first;
      const values = files.length * height * width * channels;
      check(values <= 2 ** 31, () => `${dir}: ${files.length} images of ${height}×${width} are ${values} values, more than the 2^31 Descent holds`);
      x = new Float32Array(values);
    }
    const f = first;
    check(
      size !== undefined || (img.height === f.height && img.width === f.width),
      () =>
        `${file} is ${img.height}×${img.width} (H×W) but ${f.file} is ${f.height}×${f.width}: ` +
        'all images must have one size (or give one to resize them to: --image-size)',
    );
    pixels(img, channels, size, x, n * f.height * f.width * channels);
    labels[n] = label;
  });
  return createDataset({ x, labels, shape: [first!.height, first!.width, channels], classNames }, dir);
}

/**
 * One image file as model input of `shape` [H, W, C] (C = 1 grayscale or 3 RGB), values in [0, 1];
 * with `resize` (a model trained on resized images) it is resized to H×W, else it must be H×W.
 */
export function loadImageFile(file: string, options: { shape: ImageShape; resize?: boolean }): Float32Array {
  const [h, w, c] = options.shape;
  check(c === 1 || c === 3, () => `an image input needs 1 (grayscale) or 3 (RGB) channels, not ${fmt(options.shape)}`);
  const img = decodeImage(readFileMaybeGzip(file), file);
  check(
    options.resize || (img.height === h && img.width === w),
    () =>
      `${file} is ${img.height}×${img.width} (H×W) but the model expects ${fmt(options.shape)}: ` +
      'resize the image first (this model was trained without --image-size)',
  );
  const out = new Float32Array(h * w * c);
  pixels(img, c, [h, w], out, 0);
  return out;
}
