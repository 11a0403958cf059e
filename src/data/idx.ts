/**
 * The IDX format of the MNIST files: two zero bytes, a type byte, a dimension count, each
 * dimension as a big-endian uint32, then the elements big-endian, last dimension fastest.
 * Core code: works on Uint8Array only (gzip and files are handled in src/node).
 */
import { check, DescentError } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import { createDataset, scaleToUnit, type Dataset } from './dataset.js';

/** The element types of the IDX format. */
export type IdxType = 'ubyte' | 'sbyte' | 'int16' | 'int32' | 'float32' | 'float64';
/** An IDX file's elements, as the typed array of its type. */
export type IdxData = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** An IDX file's contents. */
export interface IdxArray {
  /** The element type. */
  type: IdxType;
  /** The dimensions, e.g. [60000, 28, 28]. */
  dims: number[];
  /** The elements, row-major. */
  data: IdxData;
}

interface TypeInfo {
  code: number;
  bytes: number;
  make: (n: number) => IdxData;
  get: (v: DataView, at: number) => number;
  set: (v: DataView, at: number, value: number) => void;
}

// IDX stores everything big-endian, hence `false` in every DataView call.
const TYPES: Record<IdxType, TypeInfo> = {
  ubyte: { code: 0x08, bytes: 1, make: (n) => new Uint8Array(n),
    get: (v, i) => v.getUint8(i), set: (v, i, x) => v.setUint8(i, x) },
  sbyte: { code: 0x09, bytes: 1, make: (n) => new Int8Array(n),
    get: (v, i) => v.getInt8(i), set: (v, i, x) => v.setInt8(i, x) },
  int16: { code: 0x0b, bytes: 2, make: (n) => new Int16Array(n),
    get: (v, i) => v.getInt16(i, false), set: (v, i, x) => v.setInt16(i, x, false) },
  int32: { code: 0x0c, bytes: 4, make: (n) => new Int32Array(n),
    get: (v, i) => v.getInt32(i, false), set: (v, i, x) => v.setInt32(i, x, false) },
  float32: { code: 0x0d, bytes: 4, make: (n) => new Float32Array(n),
    get: (v, i) => v.getFloat32(i, false), set: (v, i, x) => v.setFloat32(i, x, false) },
  float64: { code: 0x0e, bytes: 8, make: (n) => new Float64Array(n),
    get: (v, i) => v.getFloat64(i, false), set: (v, i, x) => v.setFloat64(i, x, false) },
};

const hex = (n: number, digits = 2) => '0x' + n.toString(16).padStart(digits, '0');

function typeOfCode(code: number): IdxType | undefined {
  return (Object.keys(TYPES) as IdxType[]).find((t) => TYPES[t].code === code);
}

/** Parse an IDX file's bytes. `source` (a path, a URL) is named in every error. */
export function parseIdx(bytes: Uint8Array, source = 'IDX data'): IdxArray {
  check(bytes.length >= 4, () => `${source} is truncated: ${bytes.length} bytes, an IDX header needs at least 4`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    // A gzip file is the commonest wrong input: say so rather than just "bad magic".
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (it looks gzip-compressed: decompress it first)' : '';
    const magic = hex((bytes[0] << 8) | bytes[1], 4);
    throw new DescentError(`bad magic number ${magic} in ${source}: expected 0x0000 followed by a type byte${gz}`);
  }
  const type = typeOfCode(bytes[2]);
  check(
    type,
    () =>
      `unknown IDX element type ${hex(bytes[2])} in ${source}: ` +
      'expected 0x08 ubyte, 0x09 sbyte, 0x0B int16, 0x0C int32, 0x0D float32 or 0x0E float64',
  );
  const info = TYPES[type];
  const ndims = bytes[3];
  check(ndims > 0, () => `${source} has 0 dimensions in its IDX header`);
  const headerBytes = 4 + 4 * ndims;
  check(
    bytes.length >= headerBytes,
    () => `${source} is truncated: its header declares ${ndims} dimensions (${headerBytes} bytes), file has ${bytes.length} bytes`,
  );

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const dataBytes = count * info.bytes;
  const have = bytes.length - headerBytes;
  const what = `${fmt(dims)} ${type}`;
  check(have >= dataBytes, () => `${source} is truncated: header says ${dataBytes} bytes of data (${what}), file has ${have}`);
  check(
    have === dataBytes,
    () => `${source} has ${have - dataBytes} trailing bytes: header says ${dataBytes} bytes of data (${what}), file has ${have}`,
  );

  let data: IdxData;
  if (info.bytes === 1) {
    // Single bytes have no byte order: copy them in one go (MNIST train is 47 MB of these).
    // new Uint8Array(view) copies even when given a Node Buffer, whose slice() would not.
    const raw = new Uint8Array(bytes.subarray(headerBytes));
    data = type === 'ubyte' ? raw : new Int8Array(raw.buffer);
  } else {
    data = info.make(count);
    for (let i = 0, at = headerBytes; i < count; i++, at += info.bytes) data[i] = info.get(view, at);
  }
  return { type, dims, data };
}

/** Encode an array as IDX bytes: the inverse of parseIdx. `data` holds dims' product values. */
export function encodeIdx(array: { type: IdxType; dims: readonly number[]; data: ArrayLike<number> }): Uint8Array {
  const info = TYPES[array.type];
  check(info, () => `unknown IDX element type '${array.type}'`);
  const { dims, data } = array;
  check(dims.length > 0 && dims.length < 256, () => `an IDX array needs 1 to 255 dimensions, got ${dims.length}`);
  check(
    dims.every((d) => Number.isInteger(d) && d >= 0 && d <= 0xffffffff),
    () => `IDX dimensions must be uint32 values, got ${fmt(dims)}`,
  );
  const count = dims.reduce((a, b) => a * b, 1);
  check(data.length === count, () => `IDX dims ${fmt(dims)} need ${count} values, data has ${data.length}`);
  const headerBytes = 4 + 4 * dims.length;
  const out = new Uint8Array(headerBytes + count * info.bytes);
  const view = new DataView(out.buffer);
  out[2] = info.code;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  for (let i = 0, at = headerBytes; i < count; i++, at += info.bytes) info.set(view, at, data[i]);
  return out;
}

/**
 * Pair an images IDX ([N, H, W] or [N, H, W, C]) with a labels IDX ([N], integer type) into a
 * dataset. Either may be given as bytes (parsed here) or already parsed. ubyte images are
 * scaled to [0, 1]; other element types are kept as they are.
 */
export function idxToDataset(
  images: Uint8Array | IdxArray,
  labels: Uint8Array | IdxArray,
  sources: { images: string; labels: string } = { images: 'images IDX', labels: 'labels IDX' },
  options: { classes?: number; classNames?: string[] } = {},
): Dataset {
  const img = images instanceof Uint8Array ? parseIdx(images, sources.images) : images;
  const lab = labels instanceof Uint8Array ? parseIdx(labels, sources.labels) : labels;
  check(
    img.dims.length === 3 || img.dims.length === 4,
    () => `${sources.images}: images must have dims [N, H, W] or [N, H, W, C], got ${fmt(img.dims)}`,
  );
  check(lab.dims.length === 1, () => `${sources.labels}: labels must have dims [N], got ${fmt(lab.dims)}`);
  check(
    lab.type !== 'float32' && lab.type !== 'float64',
    () => `${sources.labels}: labels must be integers, got ${lab.type}`,
  );
  const [n, h, w, c = 1] = img.dims;
  check(
    n === lab.dims[0],
    () => `image and label counts differ: ${sources.images} has ${n} images, ${sources.labels} has ${lab.dims[0]} labels`,
  );
  const x = img.type === 'ubyte' ? scaleToUnit(img.data as Uint8Array) : Float32Array.from(img.data);
  const parts = { x, labels: Int32Array.from(lab.data), shape: [h, w, c] as [number, number, number], ...options };
  return createDataset(parts, sources.labels);
}
