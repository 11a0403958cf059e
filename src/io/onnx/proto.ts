/**
 * ONNX protobuf messages through a maintained library: the generated ONNX definitions of `onnx-buf`
 * on the `@bufbuild/protobuf` runtime. This file turns its messages into checked numbers and back:
 * float tensors, integer tensors and typed attributes, each refused with a sentence naming where.
 */
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  AttributeProto_AttributeType as AttrType, AttributeProtoSchema, type AttributeProto, type ModelProto,
  ModelProtoSchema, type NodeProto, TensorProto_DataLocation, TensorProto_DataType as DataType, TensorProtoSchema,
  type TensorProto,
} from 'onnx-buf';
import { DescentError } from '../../core/errors.js';

export { AttrType, DataType };
export type { AttributeProto, ModelProto, NodeProto, TensorProto };

/** The largest tensor read or written, in elements (1 GiB of float32): beyond it a file is refused. */
export const MAX_ELEMENTS = 2 ** 28;

/** A ModelProto from a file's bytes; a truncated or corrupted file gets one sentence. */
export function decodeModelProto(bytes: Uint8Array, source: string): ModelProto {
  try {
    return fromBinary(ModelProtoSchema, bytes, { readUnknownFields: false, recursionLimit: 64 });
  } catch (e) {
    throw new DescentError(`${source} is not a readable ONNX model (truncated or corrupted?): ${(e as Error).message}`);
  }
}

export function encodeModelProto(model: ModelProto): Uint8Array {
  return toBinary(ModelProtoSchema, model);
}

export const DATA_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(DataType).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v as number, k]));
const typeName = (t: number) => DATA_TYPE_NAMES[t] ?? `type ${t}`;

/** A float32 tensor with little-endian raw data (the form ONNX Runtime and PyTorch write). */
export function floatTensor(name: string, dims: readonly number[], data: ArrayLike<number>): TensorProto {
  const f = Float32Array.from(data);
  const raw = new Uint8Array(f.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < f.length; i++) view.setFloat32(i * 4, f[i], true);
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: DataType.FLOAT, rawData: raw });
}

export function int64Tensor(name: string, dims: readonly number[], data: readonly number[]): TensorProto {
  return create(TensorProtoSchema, { name, dims: dims.map(BigInt), dataType: DataType.INT64, int64Data: data.map(BigInt) });
}

/** A tensor's dims as numbers, each checked (0 ≤ d, product ≤ MAX_ELEMENTS). */
export function tensorDims(t: TensorProto, where: string): number[] {
  const dims = t.dims.map((d) => {
    if (d < 0n || d > BigInt(MAX_ELEMENTS)) throw new DescentError(`${where}: dimension ${d} is out of range`);
    return Number(d);
  });
  const count = dims.reduce((a, b) => a * b, 1);
  if (count > MAX_ELEMENTS) {
    throw new DescentError(`${where}: [${dims.join(', ')}] holds ${count} elements, more than the ${MAX_ELEMENTS} supported`);
  }
  return dims;
}

function checkStored(t: TensorProto, where: string): void {
  if (t.dataLocation === TensorProto_DataLocation.EXTERNAL || t.externalData.length > 0) {
    throw new DescentError(`${where}: its data is stored in an external file, which is not supported (save the model as one file)`);
  }
  if (t.segment) throw new DescentError(`${where}: segmented tensors are not supported`);
}

/** A float tensor's values (FLOAT or DOUBLE, raw or typed fields), checked against its dims. */
export function readFloats(t: TensorProto, where: string): { dims: number[]; data: Float32Array } {
  checkStored(t, where);
  const dims = tensorDims(t, where), count = dims.reduce((a, b) => a * b, 1);
  const width = t.dataType === DataType.FLOAT ? 4 : t.dataType === DataType.DOUBLE ? 8 : 0;
  if (width === 0) throw new DescentError(`${where}: element type ${typeName(t.dataType)}, expected FLOAT`);
  const data = new Float32Array(count);
  if (t.rawData.length > 0) {
    if (t.rawData.length !== count * width) {
      throw new DescentError(`${where}: ${t.rawData.length} bytes of data for [${dims.join(', ')}] ${typeName(t.dataType)}, ` +
        `expected ${count * width}`);
    }
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    for (let i = 0; i < count; i++) data[i] = width === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  } else {
    const values = width === 4 ? t.floatData : t.doubleData;
    if (values.length !== count) {
      throw new DescentError(`${where}: ${values.length} values for [${dims.join(', ')}], expected ${count}`);
    }
    data.set(values);
  }
  const bad = data.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new DescentError(`${where}: value ${bad} is ${data[bad]}; a model's numbers must be finite`);
  return { dims, data };
}

/** An integer tensor's values (INT64 or INT32), as numbers. */
export function readInts(t: TensorProto, where: string): { dims: number[]; data: number[] } {
  checkStored(t, where);
  const dims = tensorDims(t, where), count = dims.reduce((a, b) => a * b, 1);
  const width = t.dataType === DataType.INT64 ? 8 : t.dataType === DataType.INT32 ? 4 : 0;
  if (width === 0) throw new DescentError(`${where}: element type ${typeName(t.dataType)}, expected INT64`);
  let values: number[];
  if (t.rawData.length > 0) {
    if (t.rawData.length !== count * width) {
      throw new DescentError(`${where}: ${t.rawData.length} bytes of data for [${dims.join(', ')}], expected ${count * width}`);
    }
    const view = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    values = Array.from({ length: count }, (_, i) => (width === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
  } else {
    values = width === 8 ? t.int64Data.map(Number) : [...t.int32Data];
    if (values.length !== count) throw new DescentError(`${where}: ${values.length} values for [${dims.join(', ')}], expected ${count}`);
  }
  return { dims, data: values };
}

// Attributes --------------------------------------------------------------------------------------

export const attrInt = (name: string, i: number): AttributeProto =>
  create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(i) });
export const attrInts = (name: string, ints: readonly number[]): AttributeProto =>
  create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: ints.map(BigInt) });
export const attrFloat = (name: string, f: number): AttributeProto =>
  create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f });

/** A node as errors name it: its name (or its position) and its operator. */
export function nodeLabel(node: NodeProto, index: number): string {
  return `node ${node.name ? JSON.stringify(node.name) : `#${index}`} (${node.opType || '?'})`;
}

/**
 * A node's attributes, read by name with their expected type. `allowed` lists the attributes the
 * importer understands: any other is refused, naming it and the supported ones.
 */
export class Attributes {
  private readonly byName = new Map<string, AttributeProto>();

  constructor(node: NodeProto, private readonly where: string, allowed: readonly string[]) {
    for (const a of node.attribute) {
      if (!allowed.includes(a.name)) {
        throw new DescentError(`${where}: attribute "${a.name}" is not supported (${node.opType} supports ` +
          `${allowed.length ? allowed.join(', ') : 'no attributes'})`);
      }
      if (this.byName.has(a.name)) throw new DescentError(`${where}: attribute "${a.name}" is given twice`);
      this.byName.set(a.name, a);
    }
  }

  private get(name: string, type: AttrType, typeWord: string): AttributeProto | undefined {
    const a = this.byName.get(name);
    if (a && a.type !== type) {
      throw new DescentError(`${this.where}: attribute "${name}" is ${AttrType[a.type] ?? a.type}, expected ${typeWord}`);
    }
    return a;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.get(name, AttrType.INT, 'INT');
    if (!a) return fallback;
    if (a.i > 2n ** 31n || a.i < -(2n ** 31n)) throw new DescentError(`${this.where}: attribute "${name}" = ${a.i} is out of range`);
    return Number(a.i);
  }

  ints(name: string, fallback: number[] | undefined): number[] | undefined {
    const a = this.get(name, AttrType.INTS, 'INTS');
    if (!a) return fallback;
    return a.ints.map((v) => {
      if (v > 2n ** 31n || v < -(2n ** 31n)) throw new DescentError(`${this.where}: attribute "${name}" holds ${v}, out of range`);
      return Number(v);
    });
  }

  float(name: string, fallback: number): number {
    const a = this.get(name, AttrType.FLOAT, 'FLOAT');
    if (!a) return fallback;
    if (!Number.isFinite(a.f)) throw new DescentError(`${this.where}: attribute "${name}" is ${a.f}, expected a finite number`);
    return a.f;
  }

  string(name: string, fallback: string): string {
    const a = this.get(name, AttrType.STRING, 'STRING');
    return a ? new TextDecoder().decode(a.s) : fallback;
  }

  tensor(name: string): TensorProto | undefined {
    return this.get(name, AttrType.TENSOR, 'TENSOR')?.t;
  }
}

/**
 * The shortest decimal d (at most 9 significant digits) with toFloat32(d) === f: a float32
 * attribute read back as the number that was written (0.1 rather than 0.10000000149011612).
 */
export function shortestDecimal(f: number, toFloat32: (d: number) => number = Math.fround, guess = f): number {
  for (let p = 1; p <= 9; p++) {
    const d = Number(guess.toPrecision(p));
    if (toFloat32(d) === f) return d;
  }
  return guess;
}
