import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';

/** A file built by hand: header JSON (padded to `pad` bytes if given) followed by `data`. */
function handMade(header: unknown, data: number[] = [], raw?: string): Uint8Array {
  const json = new TextEncoder().encode(raw ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

test('tensors of every writable dtype and metadata round-trip', () => {
  const bytes = encodeSafetensors(
    {
      'conv.w': { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-3, -1e30]) },
      f64: { shape: [2], data: Float64Array.from([Math.PI, -0]) },
      i32: { shape: [1], data: Int32Array.from([-7]) },
      i64: { shape: [2], data: BigInt64Array.from([-(2n ** 62n), 5n]) },
      u8: { shape: [3], data: Uint8Array.from([0, 128, 255]) },
      flags: { dtype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      scalar: { shape: [], data: Float32Array.from([42]) },
      empty: { shape: [0, 4], data: new Float32Array(0) },
    },
    { format: 'descent', epoch: '3' },
  );
  const { tensors, metadata } = decodeSafetensors(bytes);
  assert.deepEqual(metadata, { format: 'descent', epoch: '3' });
  assert.deepEqual(tensors.get('conv.w'), { dtype: 'F32', shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 0, 1e-3, -1e30]) });
  assert.deepEqual(tensors.get('f64')?.data, Float64Array.from([Math.PI, -0]));
  assert.deepEqual(tensors.get('i32')?.dtype, 'I32');
  assert.deepEqual(tensors.get('i64')?.data, BigInt64Array.from([-(2n ** 62n), 5n]));
  assert.deepEqual(tensors.get('u8'), { dtype: 'U8', shape: [3], data: Uint8Array.from([0, 128, 255]) });
  assert.equal(tensors.get('flags')?.dtype, 'BOOL');
  assert.deepEqual(tensors.get('scalar'), { dtype: 'F32', shape: [], data: Float32Array.from([42]) });
  assert.deepEqual(tensors.get('empty')?.shape, [0, 4]);
  assert.equal(tensors.size, 8);
});

test('encoding is deterministic, aligned and laid out by element size then name', () => {
  const t = { b: { shape: [1], data: Float32Array.from([1]) }, a: { shape: [1], data: Float32Array.from([2]) }, z: { shape: [1], data: Float64Array.from([3]) }, c: { shape: [1], data: Uint8Array.from([4]) } };
  const one = encodeSafetensors(t);
  const reordered = encodeSafetensors({ c: t.c, a: t.a, z: t.z, b: t.b });
  assert.deepEqual(one, reordered);
  const n = Number(new DataView(one.buffer).getBigUint64(0, true));
  assert.equal((8 + n) % 8, 0);
  const header = JSON.parse(new TextDecoder().decode(one.subarray(8, 8 + n)));
  assert.deepEqual(Object.keys(header), ['z', 'a', 'b', 'c']);
  assert.deepEqual(header.z.data_offsets, [0, 8]);
  assert.deepEqual(header.a.data_offsets, [8, 12]);
  assert.deepEqual(header.c.data_offsets, [16, 17]);
});

test('the decoder reads files it did not write: unpadded, F16 and BF16, an unaligned view', () => {
  // F16 bits: 1.0 = 0x3c00, -2.0 = 0xc000, 65504 = 0x7bff, smallest subnormal = 0x0001.
  // BF16 bits: 1.0 = 0x3f80, -0.5 = 0xbf00. Little-endian byte pairs.
  const file = handMade(
    { h: { dtype: 'F16', shape: [4], data_offsets: [0, 8] }, bf: { dtype: 'BF16', shape: [2], data_offsets: [8, 12] } },
    [0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x80, 0x3f, 0x00, 0xbf],
  );
  const shifted = new Uint8Array(file.length + 1);
  shifted.set(file, 1);
  const { tensors } = decodeSafetensors(shifted.subarray(1));
  assert.deepEqual([...tensors.get('h')!.data], [1, -2, 65504, 2 ** -24]);
  assert.deepEqual([...tensors.get('bf')!.data], [1, -0.5]);
  assert.equal(tensors.get('h')!.dtype, 'F16');
});

test('malformed files are rejected with a clear message', () => {
  const w = (offsets: number[], dtype = 'F32', shape = [1]) => ({ dtype, shape, data_offsets: offsets });
  const cases: [Uint8Array, RegExp][] = [
    [new Uint8Array(5), /m\.st: 5 bytes is too short for a safetensors file/],
    [Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]), /header length \d+ exceeds the 100000000-byte limit/],
    [handMade({}).subarray(0, 9), /header length 2 runs past the end of the file \(1 bytes follow the length\)/],
    [handMade(null, [], '[1, 2]'), /header must be a JSON object starting with '\{', starts with '\[1, 2\]'/],
    [handMade(null, [], '{"a": '), /header is not valid JSON/],
    [handMade({ a: w([0, 4], 'F8') }, [0, 0, 0, 0]), /tensor 'a' has unsupported dtype "F8"/],
    [handMade({ a: w([0, 4], 'F32', [-1]) }, [0, 0, 0, 0]), /tensor 'a' has an invalid shape \[-1\]/],
    [handMade({ a: { dtype: 'F32', shape: [1] } }, [0, 0, 0, 0]), /tensor 'a' has invalid data_offsets undefined/],
    [handMade({ a: w([4, 0]) }, [0, 0, 0, 0]), /data_offsets \[4, 0\] that end before they begin/],
    [handMade({ a: w([0, 8], 'F32', [2]) }, [0, 0, 0, 0]), /tensor 'a' has data_offsets \[0, 8\] past the end of the 4-byte data buffer/],
    [handMade({ a: w([0, 4], 'F32', [2]) }, [0, 0, 0, 0]), /tensor 'a': shape \[2\] of F32 needs 8 bytes, data_offsets \[0, 4\] give 4/],
    [handMade({ a: w([0, 4]), b: w([2, 6]) }, [0, 0, 0, 0, 0, 0]), /tensors 'a' and 'b' overlap/],
    [handMade({ a: w([0, 4]), b: w([6, 10]) }, new Array(10).fill(0)), /2 bytes before tensor 'b' belong to no tensor/],
    [handMade({ a: w([0, 4]) }, [0, 0, 0, 0, 0]), /1 bytes after the last tensor belong to no tensor/],
    [handMade({ __metadata__: { n: 1 } }), /__metadata__ 'n' must be a string, is 1/],
  ];
  for (const [bytes, message] of cases) assert.throws(() => decodeSafetensors(bytes, 'm.st'), message);
});

test('the encoder refuses inconsistent tensors', () => {
  assert.throws(() => encodeSafetensors({ a: { shape: [3], data: new Float32Array(2) } }), /tensor 'a' of shape \[3\] needs 3 values, has 2/);
  assert.throws(() => encodeSafetensors({ a: { dtype: 'F64', shape: [1], data: new Float32Array(1) } }), /cannot be written as F64 from a Float32Array/);
  assert.throws(() => encodeSafetensors({ a: { dtype: 'F16', shape: [1], data: new Uint16Array(1) } }), /cannot be written as F16/);
});
