/**
 * Malformed ONNX files, made by mutating real ones (PyTorch's LeNet-5 export and Descent's own):
 * truncated, wrong types, cycles, huge dimensions, unknown operators and attributes, non-finite
 * weights, random byte damage. Each is refused with one DescentError line naming the file and,
 * where there is one, the node; none crashes, hangs or imports silently changed numbers.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { create } from '@bufbuild/protobuf';
import { AttributeProtoSchema, NodeProtoSchema } from 'onnx-buf';
import { DescentError } from '../src/core/errors.js';
import { Rng } from '../src/core/rng.js';
import { exportOnnx } from '../src/io/onnx/export.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { AttrType, DataType, decodeModelProto, encodeModelProto, type ModelProto } from '../src/io/onnx/proto.js';
import { preset } from '../src/models/presets.js';
import { Sequential } from '../src/network/sequential.js';
import { host } from './helpers.js';

const SOURCE = 'bad.onnx';
const lenet = new Uint8Array(readFileSync(new URL('../../test/fixtures/onnx/lenet5.onnx', import.meta.url)));
const resnet = new Uint8Array(readFileSync(new URL('../../test/fixtures/onnx/resnet_small.onnx', import.meta.url)));
const own = exportOnnx(Sequential.fromConfig(preset('lenet5'), { seed: 2 }), { preprocessing: { scale: 1 / 255, mean: [0.1], std: [0.3] } });

/** The one-line DescentError that importing `bytes` gives, matched against every pattern. */
function refused(bytes: Uint8Array, ...patterns: RegExp[]): string {
  let error: unknown;
  try {
    importOnnx(bytes, { source: SOURCE });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof DescentError, `expected a DescentError, got ${error instanceof Error ? `${error.name}: ${error.message}` : 'no error'}`);
  const message = error.message;
  assert.ok(!message.includes('\n'), `one line: ${message}`);
  assert.ok(message.startsWith(SOURCE), `names the file: ${message}`);
  for (const p of patterns) assert.match(message, p);
  return message;
}

/** A copy of a file with `change` applied to its decoded model. */
function mutated(bytes: Uint8Array, change: (m: ModelProto) => void): Uint8Array {
  const model = decodeModelProto(bytes, 'fixture');
  change(model);
  return encodeModelProto(model);
}

const node = (m: ModelProto, op: string, nth = 0) => m.graph!.node.filter((n) => n.opType === op)[nth];

describe('malformed ONNX files each get one clear error', () => {
  it('the unmutated files import (the checks below can pass)', () => {
    assert.equal(importOnnx(lenet).net.layers.length, 12);
    assert.equal(importOnnx(own).net.layers.length, 13);
  });

  it('truncated anywhere: refused, never half-imported', () => {
    for (const bytes of [lenet, own]) {
      const cuts = [0, 1, 2, 10, 100, ...Array.from({ length: 40 }, (_, i) => Math.floor(((i + 1) * bytes.length) / 41)), bytes.length - 1];
      for (const cut of cuts) refused(bytes.subarray(0, cut));
    }
    refused(lenet.subarray(0, 1000), /not a readable ONNX model|missing|defines|no graph/);
  });

  it('not ONNX at all (a safetensors file, text, zeros)', () => {
    refused(new TextEncoder().encode('{"hello": 1}'));
    refused(new Uint8Array(64));
    refused(new Uint8Array([8, 7, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]));
  });

  it('wrong types: input element type, initializer data type, attribute type, raw data length', () => {
    refused(mutated(lenet, (m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === 'tensorType') t.value.elemType = DataType.INT64;
    }), /input "input" has element type INT64, expected FLOAT/);
    refused(mutated(lenet, (m) => (m.graph!.initializer[0].dataType = DataType.INT64)), /node "\/0\/Conv" \(Conv\): weight .* element type INT64, expected FLOAT/);
    refused(mutated(lenet, (m) => (m.graph!.initializer[0].dataType = DataType.STRING)), /element type STRING, expected FLOAT/);
    refused(mutated(lenet, (m) => {
      const a = node(m, 'Conv').attribute.find((x) => x.name === 'kernel_shape')!;
      a.type = AttrType.FLOAT;
      a.f = 5;
    }), /node "\/0\/Conv" \(Conv\): attribute "kernel_shape" is FLOAT, expected INTS/);
    refused(mutated(lenet, (m) => (m.graph!.initializer[0].rawData = m.graph!.initializer[0].rawData.subarray(4))), /bytes of data for \[6, 1, 5, 5\] FLOAT, expected 600/);
    refused(mutated(lenet, (m) => (m.graph!.initializer[0].dims[0] = 7n)), /bytes of data for \[7, 1, 5, 5\]/);
  });

  it('a cycle, a value read but never defined, a value defined twice', () => {
    refused(mutated(lenet, (m) => (node(m, 'Conv').input[0] = m.graph!.node.at(-2)!.output[0])), /part of a cycle/);
    refused(mutated(lenet, (m) => (node(m, 'Relu').input[0] = 'nowhere')), /node "\/1\/Relu" \(Relu\) reads "nowhere", which no node, initializer or input defines/);
    refused(mutated(lenet, (m) => (node(m, 'Relu', 1).output[0] = node(m, 'Relu', 0).output[0])), /defined twice/);
    refused(mutated(lenet, (m) => (m.graph!.output[0].name = 'missing')), /graph output "missing" is never computed/);
  });

  it('huge dimensions: in the input, in an initializer, in a padding', () => {
    refused(mutated(lenet, (m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === 'tensorType') t.value.shape!.dim[2].value = { case: 'dimValue', value: 2n ** 40n };
    }), /dimension 2 is 1099511627776, outside/);
    refused(mutated(lenet, (m) => {
      const t = m.graph!.input[0].type!.value;
      if (t.case === 'tensorType') for (const d of t.value.shape!.dim.slice(1)) d.value = { case: 'dimValue', value: 4096n };
    }), /holds 68719476736 elements, more than/);
    refused(mutated(lenet, (m) => (m.graph!.initializer[0].dims = [2n ** 40n, 1n, 5n, 5n])), /dimension 1099511627776 is out of range/);
    refused(mutated(lenet, (m) => (m.graph!.initializer[0].dims = [2n ** 20n, 2n ** 20n])), /holds 1099511627776 elements/);
    refused(mutated(lenet, (m) => {
      node(m, 'Conv').attribute.find((x) => x.name === 'pads')!.ints = [3000n, 3000n, 3000n, 3000n];
    }), /node "\/0\/Conv" \(Conv\): its output \[6024, 6024, 6\] per sample is larger than/);
    refused(mutated(lenet, (m) => {
      node(m, 'Conv').attribute.find((x) => x.name === 'strides')!.ints = [2n ** 40n, 1n];
    }), /attribute "strides" holds 1099511627776, out of range/);
  });

  it('unknown operators, domains and attributes name the node, the operator and what is supported', () => {
    const message = refused(mutated(lenet, (m) => (node(m, 'Relu').opType = 'Gelu')),
      /node "\/1\/Relu" \(Gelu\): operator Gelu is not supported \(supported: Conv, MaxPool, AveragePool/);
    assert.match(message, /Gemm/);
    refused(mutated(lenet, (m) => (node(m, 'Relu').domain = 'com.microsoft')), /operator domain "com.microsoft" is not supported/);
    refused(mutated(lenet, (m) => node(m, 'Conv').attribute.push(create(AttributeProtoSchema, { name: 'foo', type: AttrType.INT, i: 1n }))),
      /node "\/0\/Conv" \(Conv\): attribute "foo" is not supported \(Conv supports kernel_shape, strides, pads, dilations, group, auto_pad\)/);
    // A line break in a name from the file is escaped: still one line.
    refused(mutated(lenet, (m) => node(m, 'Conv').attribute.push(create(AttributeProtoSchema, { name: 'p\nds', type: AttrType.INT, i: 1n }))),
      /\(Conv\): attribute "p\\nds" is not supported/);
    refused(mutated(lenet, (m) => (node(m, 'Conv').attribute.find((x) => x.name === 'group')!.i = 2n)), /group=2 expects 2 input channels/);
    refused(mutated(lenet, (m) => (node(m, 'Conv').attribute.find((x) => x.name === 'pads')!.ints = [1n, -2n, 2n, 2n])), /\(Conv\): padding \[1, -2, 2, 2\] is negative/);
    refused(mutated(lenet, (m) => (node(m, 'MaxPool').attribute.find((x) => x.name === 'pads')!.ints = [1n, 2n, 2n, 2n])),
      /\(MaxPool\): padding \[1, 2, 2, 2\] is not symmetric; Descent's pools pad both sides alike/);
    refused(mutated(lenet, (m) => (m.opsetImport[0].version = 5n)), /opset 5 is not supported/);
  });

  it('structures Descent cannot hold: a dead branch, a join other than Add and Concat, weights computed at run time, an unused output', () => {
    refused(mutated(lenet, (m) => {
      const relu = node(m, 'Relu');
      m.graph!.node.push(create(NodeProtoSchema, { opType: 'Sigmoid', name: 'side', input: [relu.output[0]], output: ['side_out'] }));
    }), /node "side" \(Sigmoid\): the node is not on the way from the input to the output/);
    refused(mutated(lenet, (m) => {
      const relu = node(m, 'Relu'), pool = node(m, 'MaxPool');
      m.graph!.node.splice(m.graph!.node.indexOf(pool), 0,
        create(NodeProtoSchema, { opType: 'Mul', name: 'gate', input: [relu.output[0], relu.output[0] + '_sq'], output: ['gated'] }),
        create(NodeProtoSchema, { opType: 'Sigmoid', name: 'sq', input: [relu.output[0]], output: [relu.output[0] + '_sq'] }));
      pool.input[0] = 'gated';
    }), /node "gate" \(Mul\): it reads 2 computed values .*only Add and Concat join branches/);
    refused(mutated(lenet, (m) => (node(m, 'Gemm').input[1] = node(m, 'Flatten').output[0])), /must be a constant \(an initializer\), not computed|reads the same value twice/);
    refused(mutated(lenet, (m) => (m.graph!.output[0].name = node(m, 'Relu').output[0])), /node "\/2\/MaxPool" \(MaxPool\): the node is not on the way from the input to the output/);
  });

  it('non-finite weights are refused (they never reach a model)', () => {
    refused(mutated(lenet, (m) => new DataView(m.graph!.initializer[0].rawData.buffer, m.graph!.initializer[0].rawData.byteOffset).setFloat32(8, NaN, true)),
      /value 2 is NaN; a model's numbers must be finite/);
    refused(mutated(own, (m) => {
      const t = m.graph!.initializer.find((x) => x.name === 'preprocessing.std_value')!;
      new DataView(t.rawData.buffer, t.rawData.byteOffset).setFloat32(0, Infinity, true);
    }), /Infinity/);
  });

  it('graphs rewired at random (inputs pointed at other values, Add and Concat swapped): each imports and runs, or gets one DescentError line', () => {
    const rng = new Rng(11);
    let imported = 0;
    for (let trial = 0; trial < 200; trial++) {
      const bytes = mutated(resnet, (m) => {
        const nodes = m.graph!.node, values = ['input', ...nodes.flatMap((n) => n.output)];
        for (let k = 1 + rng.int(3); k > 0; k--) {
          const n = nodes[rng.int(nodes.length)];
          if (rng.uniform() < 0.2 && (n.opType === 'Add' || n.opType === 'Concat')) n.opType = n.opType === 'Add' ? 'Concat' : 'Add';
          else if (n.input.length > 0) n.input[rng.int(n.input.length)] = values[rng.int(values.length)];
        }
      });
      try {
        const { net } = importOnnx(bytes, { source: SOURCE });
        assert.ok(host(net.forward(new Float32Array(2 * 12 * 12 * 3), 2)).every(Number.isFinite));
        imported++;
      } catch (e) {
        assert.ok(e instanceof DescentError, `trial ${trial}: ${(e as Error).name}: ${(e as Error).message}`);
        assert.ok(!e.message.includes('\n') && e.message.startsWith(SOURCE), e.message);
      }
    }
    assert.ok(imported > 0 && imported < 200, `${imported} of 200 imported`);
  });

  it('random byte damage: every file either imports or gets one DescentError line', () => {
    const rng = new Rng(7);
    let imported = 0;
    for (let trial = 0; trial < 150; trial++) {
      const base = [lenet, own, resnet][trial % 3];
      const bytes = Uint8Array.from(base);
      for (let k = 1 + rng.int(4); k > 0; k--) {
        // Damage the structure at the front more often than the float data at the back.
        const at = rng.uniform() < 0.5 ? rng.int(Math.min(2000, bytes.length)) : rng.int(bytes.length);
        bytes[at] = rng.int(256);
      }
      try {
        const { net } = importOnnx(bytes, { source: SOURCE });
        assert.ok(net.getWeights().every(Number.isFinite), 'an imported model holds finite numbers only');
        imported++;
      } catch (e) {
        assert.ok(e instanceof DescentError, `trial ${trial}: ${(e as Error).name}: ${(e as Error).message}`);
        assert.ok(!e.message.includes('\n') && e.message.startsWith(SOURCE), e.message);
      }
    }
    assert.ok(imported < 150, 'some damage was detected');
  });
});
