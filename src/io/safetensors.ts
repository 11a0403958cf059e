/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length N,
 * N bytes of UTF-8 JSON mapping each tensor name to {dtype, shape, data_offsets} (plus an
 * optional "__metadata__" map of strings), then the tensors' little-endian bytes, C order.
 * data_offsets are [begin, end) relative to the start of that byte buffer, which they must
 * cover exactly, without holes or overlaps. Other tools (PyTorch, NumPy) read these files.
 * Core code: bytes in, bytes out.
 */
import { check, DescentError, oneLine } from '../core/errors.js';
import { fmt } from '../core/shape.js';
import { jsonDepth } from '../network/config-check.js';

/** The safetensors element types this reader knows. */
export type SafetensorsDtype =
  | 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** A tensor's elements, as the typed array of its dtype. */
export type TensorData =
  | Float64Array
  | Float32Array
  | BigInt64Array
  | Int32Array
  | Int16Array
  | Int8Array
  | BigUint64Array
  | Uint32Array
  | Uint16Array
  | Uint8Array;

/** A tensor read from a file. F16 and BF16 are widened to Float32Array (read-only dtypes). */
export interface Tensor {
  /** Its element type. */
  dtype: SafetensorsDtype;
  /** Its shape. */
  shape: number[];
  /** Its elements (a copy, aligned). */
  data: TensorData;
}

/** A tensor to write. `dtype` defaults from the array type (Uint8Array is U8; say 'BOOL' for booleans). */
export interface TensorInput {
  /** Element type (default: from the array: F32, F64, I32, ...). */
  dtype?: SafetensorsDtype;
  /** Its shape; the product must equal the number of elements. */
  shape: readonly number[];
  /** Its elements. */
  data: TensorData;
}

interface DtypeInfo {
  bytes: number;
  /** The typed array holding this dtype's elements, or undefined for the read-only half floats. */
  array?: new (buffer: ArrayBuffer) => TensorData;
}

const DTYPES: Record<SafetensorsDtype, DtypeInfo> = {
  F64: { bytes: 8, array: Float64Array },
  F32: { bytes: 4, array: Float32Array },
  F16: { bytes: 2 },
  BF16: { bytes: 2 },
  I64: { bytes: 8, array: BigInt64Array },
  I32: { bytes: 4, array: Int32Array },
  I16: { bytes: 2, array: Int16Array },
  I8: { bytes: 1, array: Int8Array },
  U64: { bytes: 8, array: BigUint64Array },
  U32: { bytes: 4, array: Uint32Array },
  U16: { bytes: 2, array: Uint16Array },
  U8: { bytes: 1, array: Uint8Array },
  BOOL: { bytes: 1, array: Uint8Array },
};

/** The reference implementation refuses larger headers; so do we, before allocating anything. */
const MAX_HEADER_BYTES = 100_000_000;

// Typed arrays use the platform's byte order and the format is little-endian. Every platform
// Node and browsers run on is little-endian; refuse rather than silently swap on others.
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function dtypeOfArray(data: TensorData): SafetensorsDtype | undefined {
  return (Object.keys(DTYPES) as SafetensorsDtype[]).find((d) => DTYPES[d].array && data instanceof DTYPES[d].array!);
}

function elements(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Encode tensors and optional metadata. Tensors are laid out by element size, largest first,
 * then by name, as the reference writer does: with the header padded by spaces to a multiple of
 * 8 bytes, every tensor then starts at a multiple of its element size, and the same tensors
 * always give the same bytes.
 */
export function encodeSafetensors(
  tensors: Map<string, TensorInput> | Record<string, TensorInput>,
  metadata?: Record<string, string>,
): Uint8Array {
  check(LITTLE_ENDIAN, 'safetensors: writing needs a little-endian platform');
  const entries = [...(tensors instanceof Map ? tensors.entries() : Object.entries(tensors))].map(([name, t]) => {
    check(name !== '__metadata__', `safetensors: '__metadata__' is reserved and cannot name a tensor`);
    const dtype = t.dtype ?? dtypeOfArray(t.data);
    const at = `safetensors: tensor '${name}'`;
    check(dtype && DTYPES[dtype], () => `${at} has an unsupported dtype or array type`);
    const Array_ = DTYPES[dtype].array;
    check(Array_ && t.data instanceof Array_, () => `${at} cannot be written as ${dtype} from a ${t.data.constructor.name}`);
    check(t.shape.every((d) => Number.isSafeInteger(d) && d >= 0), () => `${at} has an invalid shape ${fmt(t.shape)}`);
    check(
      elements(t.shape) === t.data.length,
      () => `${at} of shape ${fmt(t.shape)} needs ${elements(t.shape)} values, has ${t.data.length}`,
    );
    return { name, dtype, shape: [...t.shape], data: t.data, bytes: DTYPES[dtype].bytes };
  });
  entries.sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  // A null-prototype object, so that a tensor called "__proto__" is an ordinary key.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata && Object.keys(metadata).length > 0) {
    for (const [k, v] of Object.entries(metadata)) {
      check(typeof v === 'string', () => `safetensors: metadata '${k}' must be a string`);
    }
    header.__metadata__ = metadata;
  }
  let offset = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.data.byteLength] };
    offset += e.data.byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.fill(0x20, 8, 8 + padded);
  out.set(json, 8);
  let at = 8 + padded;
  for (const e of entries) {
    out.set(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength), at);
    at += e.data.byteLength;
  }
  return out;
}

/**
 * Decode a safetensors file's bytes, checking every header field against the buffer before
 * using it. The returned arrays are copies, aligned, independent of `bytes`.
 */
export function decodeSafetensors(
  bytes: Uint8Array,
  source = 'safetensors data',
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const bad = (what: string) => new DescentError(`${source}: ${what}`);
  if (bytes.length < 8) {
    throw bad(`${bytes.length} bytes is too short for a safetensors file (the header length alone takes 8)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw bad(`header length ${headerLength} exceeds the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file?)`);
  }
  const n = Number(headerLength);
  if (8 + n > bytes.length) {
    throw bad(`header length ${n} runs past the end of the file (${bytes.length - 8} bytes follow the length)`);
  }

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw bad('header is not valid UTF-8');
  }
  if (!text.startsWith('{')) {
    throw bad(`header must be a JSON object starting with '{', starts with '${text.slice(0, 16)}'`);
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw bad(`header is not valid JSON: ${oneLine((e as Error).message)}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw bad('header must be a JSON object');
  // {name: {dtype, shape: [..], data_offsets: [..]}} nests 3 deep; deeper is not a header (and would overflow the stack in a message).
  if (jsonDepth(header, 5) > 4) throw bad('header nests deeper than a safetensors header does');

  const bufferStart = 8 + n;
  const bufferLength = bytes.length - bufferStart;
  let metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafetensorsDtype; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw bad('__metadata__ must be an object of strings');
      }
      for (const [k, v] of Object.entries(value as object)) {
        if (typeof v !== 'string') throw bad(`__metadata__ '${k}' must be a string, is ${JSON.stringify(v)}`);
      }
      metadata = { ...(value as Record<string, string>) };
      continue;
    }
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const at = `tensor '${name}'`;
    if (typeof t !== 'object' || t === null) throw bad(`${at} must be an object with dtype, shape and data_offsets`);
    if (typeof t.dtype !== 'string' || !(t.dtype in DTYPES)) {
      throw bad(`${at} has unsupported dtype ${JSON.stringify(t.dtype)} (supported: ${Object.keys(DTYPES).join(', ')})`);
    }
    const dtype = t.dtype as SafetensorsDtype;
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw bad(`${at} has an invalid shape ${JSON.stringify(shape)}`);
    }
    const offsets = t.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw bad(`${at} has invalid data_offsets ${JSON.stringify(offsets)} (expected [begin, end])`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) throw bad(`${at} has data_offsets [${begin}, ${end}] that end before they begin`);
    const range = `data_offsets [${begin}, ${end}]`;
    if (end > bufferLength) throw bad(`${at} has ${range} past the end of the ${bufferLength}-byte data buffer (file truncated?)`);
    const need = elements(shape as number[]) * DTYPES[dtype].bytes;
    if (end - begin !== need) {
      throw bad(`${at}: shape ${fmt(shape as number[])} of ${dtype} needs ${need} bytes, ${range} give ${end - begin}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }

  // The tensors must tile the buffer: sorted by offset, each begins where the previous ended.
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (let i = 0; i < sorted.length; i++) {
    const e = sorted[i];
    if (e.begin < covered) throw bad(`tensors '${sorted[i - 1].name}' and '${e.name}' overlap`);
    if (e.begin > covered) throw bad(`${e.begin - covered} bytes before tensor '${e.name}' belong to no tensor`);
    covered = e.end;
  }
  if (covered !== bufferLength) throw bad(`${bufferLength - covered} bytes after the last tensor belong to no tensor`);

  if (!LITTLE_ENDIAN) throw bad('reading needs a little-endian platform');
  const tensors = new Map<string, Tensor>();
  for (const e of entries) {
    // A copy, so aligned for the typed array (new Uint8Array copies even a Node Buffer's view).
    const raw = new Uint8Array(bytes.subarray(bufferStart + e.begin, bufferStart + e.end));
    const Array_ = DTYPES[e.dtype].array;
    const data = Array_ ? new Array_(raw.buffer) : widenHalf(new Uint16Array(raw.buffer), e.dtype === 'BF16');
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}

/** IEEE half (F16) or bfloat16 (BF16) bit patterns as float32 values. */
function widenHalf(bits: Uint16Array, bfloat: boolean): Float32Array {
  const out = new Float32Array(bits.length);
  if (bfloat) {
    // bfloat16 is the top half of a float32.
    new Uint32Array(out.buffer).set(Uint32Array.from(bits, (b) => b << 16));
    return out;
  }
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    const sign = b & 0x8000 ? -1 : 1;
    const exp = (b >> 10) & 0x1f;
    const frac = b & 0x3ff;
    if (exp === 0) out[i] = sign * frac * 2 ** -24; // zero and subnormals
    else if (exp === 0x1f) out[i] = frac ? NaN : sign * Infinity;
    else out[i] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}
