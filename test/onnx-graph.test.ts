/**
 * ONNX export and import of graph networks (fan-out, Add with broadcasting, Concat along channels,
 * Identity, residual blocks, grouped and depthwise convolutions with 'same' padding, batch norm,
 * dropout): ONNX Runtime runs the exported resnet20, mobilenet, graphs with every join and the
 * exporters' shared graph cases to Descent's outputs within 1e-5 on both engines, and the import
 * gives back bitwise the same weights, statistics and predictions. A small ResNet written by torch.onnx.export (test/fixtures/onnx,
 * made by its committed make_resnet_fixture.py) imports to PyTorch's outputs within 1e-5 and
 * fine-tunes. Broken mappings — Concat inputs swapped or along the wrong axis, an Add input
 * dropped — are caught by the same numeric checks.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { sizeOf } from '../src/core/shape.js';
import { applyStandardization } from '../src/data/dataset.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { exportOnnx } from '../src/io/onnx/export.js';
import { importOnnx } from '../src/io/onnx/import.js';
import { decodeModelProto, encodeModelProto, type ModelProto } from '../src/io/onnx/proto.js';
import { channelsFirstToLast } from '../src/io/layout.js';
import { Sequential, type ArchitectureConfig } from '../src/network/sequential.js';
import { fixture, host, randomFloats } from './helpers.js';
import { assertWithin, maxAbsDiff, runOnnx } from './interchange-helpers.js';
import { ONNX_GRAPH_CASES } from './interchange-graphs.js';
import { caseNet, COLOUR_PREPROCESSING, GRAPH_CASES as SHARED_CASES, GRAPH_INPUT } from './interchange-nets.js';

const N = 2;
let engine: WasmEngine;
before(async () => (engine = await createWasmEngine({ threads: 2 })));
after(() => engine.dispose());
const engines = () => [{ name: 'reference', options: {} }, { name: 'WebAssembly', options: { arena: engine.arena, kernels: engine.kernels } }];

const bits = (a: ArrayLike<number>) => new Uint32Array(Float32Array.from(a).buffer);
const outputOf = (net: Sequential, x: Float32Array, n = N) => Float32Array.from(host(net.forward(x, n)).subarray(0, n * sizeOf(net.outputShape)));

/** The case's network on each engine, with the same numbers (batch-norm statistics drawn away from 0 and 1). */
function casesNets(arch: ArchitectureConfig): Sequential[] {
  const ref = caseNet(arch.layers, 3, arch.inputShape);
  return engines().map(({ options }) => {
    const net = Sequential.fromConfig(arch, options);
    net.setWeights(ref.getWeights());
    net.setBuffers(ref.getBuffers());
    return net;
  });
}

/** This file's cases and the graph cases every exporter is checked on. */
const GRAPH_CASES: Record<string, ArchitectureConfig> = {
  ...ONNX_GRAPH_CASES,
  ...Object.fromEntries(Object.entries(SHARED_CASES).map(([name, layers]) => [name, { inputShape: GRAPH_INPUT, layers }])),
};

/** Cases that take raw input with a per-channel preprocessing in the graph (`branches`: the input fans out after it). */
const PREPROCESSING: Record<string, { scale: number; mean: number[]; std: number[] } | undefined> = {
  branches: { scale: 0.5, mean: [0.1, -0.2, 0.3, 0], std: [0.5, 2, 1.5, 1] },
  ...Object.fromEntries(Object.keys(SHARED_CASES).map((name) => [name, COLOUR_PREPROCESSING])),
};

/** Raw input for the case and what Descent's network sees after the preprocessing. */
function inputs(name: string, arch: ArchitectureConfig): { raw: Float32Array; x: Float32Array } {
  const raw = Float32Array.from(randomFloats(N * sizeOf(arch.inputShape), 5), (v) => 4 * v);
  const p = PREPROCESSING[name];
  if (!p) return { raw, x: raw };
  const x = Float32Array.from(raw, (v) => v * p.scale);
  applyStandardization(x, p);
  return { raw, x };
}

/** The numeric check: ONNX Runtime's outputs within 1e-5 of Descent's; a model it refuses to run misses too. */
async function onnxMisses(model: Uint8Array, raw: Float32Array, dims: number[], want: Float32Array): Promise<string | null> {
  try {
    const d = maxAbsDiff((await runOnnx(model, raw, dims)).data, want);
    return d <= 1e-5 ? null : `max |difference| ${d.toExponential(2)}`;
  } catch (e) {
    return `ONNX Runtime refused it: ${(e as Error).message.split('\n')[0]}`;
  }
}

function mutated(model: Uint8Array, change: (m: ModelProto) => void): Uint8Array {
  const m = decodeModelProto(model, 'test');
  change(m);
  return encodeModelProto(m);
}
const onnxNode = (m: ModelProto, name: string) => {
  const n = m.graph!.node.find((x) => x.name === name);
  assert.ok(n, `the model has a node ${name}`);
  return n;
};

describe('ONNX export of graph networks, run by ONNX Runtime, and back', () => {
  for (const [name, arch] of Object.entries(GRAPH_CASES)) {
    it(`${name}: ONNX Runtime gives Descent's outputs within 1e-5 (both engines); import gives bitwise the same weights and predictions`, async () => {
      const nets = casesNets(arch), { raw, x } = inputs(name, arch);
      const model = exportOnnx(nets[0], { preprocessing: PREPROCESSING[name] });
      const onnx = (await runOnnx(model, raw, [N, ...arch.inputShape])).data;
      nets.forEach((net, i) => {
        const want = outputOf(net, x);
        assertWithin(onnx, want, 1e-5, `${name} on the ${engines()[i].name} engine`);
        const back = importOnnx(model, engines()[i].options);
        assert.deepEqual(bits(back.net.w), bits(net.w), 'weights bitwise');
        assert.deepEqual(bits(back.net.buffers), bits(net.buffers), 'running statistics bitwise');
        assert.deepEqual(bits(outputOf(back.net, x)), bits(want), 'predictions bitwise');
        assert.deepEqual(back.preprocessing, PREPROCESSING[name]);
      });
    });
  }

  it('ONNX names come from Descent\'s node names, and the import gives the nodes back with their inputs', () => {
    const [net] = casesNets(GRAPH_CASES.resnet20);
    const model = exportOnnx(net);
    const g = decodeModelProto(model, 'resnet20').graph!;
    for (const n of ['stage2.block1.shortcut.conv.Conv', 'stage2.block1.add.Add', 'stage3.block3.relu2.Relu', 'fc.Gemm']) onnxNode({ graph: g } as ModelProto, n);
    assert.ok(g.initializer.some((t) => t.name === 'stage2.block1.shortcut.bn.running_var'));
    const back = importOnnx(model).net;
    assert.deepEqual(back.topology.names, net.topology.names);
    assert.deepEqual(back.topology.inputs, net.topology.inputs);
    assert.deepEqual(back.layers.map((l) => l.type), net.layers.map((l) => l.type));
  });

  it('a value read by several nodes is transposed once; names stay unique', () => {
    const [net] = casesNets(GRAPH_CASES.branches);
    const g = decodeModelProto(exportOnnx(net), 'branches').graph!;
    assert.equal(g.node.filter((n) => n.opType === 'Transpose').length, 1, 'the input, read by "stem" and "side"');
    const values = [...g.node.flatMap((n) => n.output), ...g.initializer.map((t) => t.name)];
    assert.equal(new Set(values).size, values.length);
    assert.equal(new Set(g.node.map((n) => n.name)).size, g.node.length);
  });
});

describe('the numeric check catches a broken graph mapping', () => {
  const arch = GRAPH_CASES.branches, dims = [N, ...arch.inputShape];
  const setup = () => {
    const [net] = casesNets(arch), { raw, x } = inputs('branches', arch);
    return { model: exportOnnx(net, { preprocessing: PREPROCESSING.branches }), raw, want: outputOf(net, x) };
  };

  it('the unbroken model passes it', async () => {
    const { model, raw, want } = setup();
    assert.equal(await onnxMisses(model, raw, dims, want), null);
  });

  it('Concat inputs in the wrong order, or along the wrong axis', async () => {
    const { model, raw, want } = setup();
    const swapped = mutated(model, (m) => onnxNode(m, 'cat.Concat').input.reverse());
    assert.match((await onnxMisses(swapped, raw, dims, want)) ?? 'passed', /max \|difference\|/);
    const vectors = mutated(model, (m) => onnxNode(m, 'vcat.Concat').input.reverse());
    assert.match((await onnxMisses(vectors, raw, dims, want)) ?? 'passed', /max \|difference\|/);
    for (const axis of [2n, 3n]) {
      const wrong = mutated(model, (m) => (onnxNode(m, 'cat.Concat').attribute[0].i = axis));
      assert.notEqual(await onnxMisses(wrong, raw, dims, want), null, `axis ${axis}`);
    }
  });

  it('an Add input dropped (the identity shortcut, or the per-channel vector)', async () => {
    const { model, raw, want } = setup();
    for (const add of ['sum3.Add', 'broadcast.partial1.Add']) {
      const dropped = mutated(model, (m) => {
        const n = onnxNode(m, add);
        n.opType = 'Identity';
        n.input = [n.input[0]];
      });
      assert.match((await onnxMisses(dropped, raw, dims, want)) ?? 'passed', /max \|difference\|/, add);
    }
  });
});

interface TorchExpected { inputShape: number[]; input: number[]; outputShape: number[]; output: number[] }

describe('ONNX import of a ResNet written by torch.onnx.export', () => {
  const expected = fixture<TorchExpected>('onnx/resnet_expected.json');
  const [M, C, H, W] = expected.inputShape;
  const x = channelsFirstToLast(expected.input, M, C, H, W) as Float32Array;
  const read = (name: string) => new Uint8Array(readFileSync(new URL(`../../test/fixtures/onnx/${name}.onnx`, import.meta.url)));

  for (const [file, types] of [
    ['resnet_small', /^Conv2d BatchNorm2d ReLU Conv2d BatchNorm2d ReLU Conv2d BatchNorm2d Add ReLU .*Concat GlobalAvgPool Dense$/],
    ['resnet_small_folded', /^Conv2d ReLU Conv2d ReLU Conv2d Add ReLU .*Concat GlobalAvgPool Dense$/],
  ] as const) {
    it(`${file}: PyTorch's outputs within 1e-5 on both engines; its blocks come back as Add and Concat nodes`, () => {
      for (const { name, options } of engines()) {
        const { net } = importOnnx(read(file), { source: `${file}.onnx`, ...options });
        assertWithin(outputOf(net, x, M), expected.output, 1e-5, `${file} on the ${name} engine`);
        assert.match(net.layers.map((l) => l.type).join(' '), types);
        assert.equal(net.layers.filter((l) => l.type === 'Add').length, 2);
        assert.equal(net.isChain, false);
      }
    });
  }

  it('one fine-tuning step lowers the loss; the imported ResNet exports back to ONNX that runs to the same outputs', async () => {
    const { net } = importOnnx(read('resnet_small'));
    const labels = Int32Array.from({ length: M }, (_, i) => (3 * i) % 10);
    const loss = net.gradient(x, { labels }, M, 'cross_entropy');
    for (let i = 0; i < net.w.length; i++) net.w[i] -= 0.05 * net.g[i];
    assert.ok(net.gradient(x, { labels }, M, 'cross_entropy') < loss);
    const nchw = Float32Array.from(expected.input);
    assertWithin((await runOnnx(exportOnnx(net, { inputLayout: 'nchw' }), nchw, expected.inputShape)).data, outputOf(net, x, M), 1e-5, 're-exported');
  });

  it('the comparison can fail: the file\'s Concat inputs swapped miss PyTorch\'s outputs', () => {
    const swapped = mutated(read('resnet_small'), (m) => m.graph!.node.find((n) => n.opType === 'Concat')!.input.reverse());
    const { net } = importOnnx(swapped);
    assert.ok(maxAbsDiff(outputOf(net, x, M), expected.output) > 1e-3);
  });

  it('joins it cannot map are refused naming the node: a Concat not along channels, an Add of a constant, an Add of two shapes', () => {
    const concat = (m: ModelProto) => m.graph!.node.find((n) => n.opType === 'Concat')!;
    assert.throws(() => importOnnx(mutated(read('resnet_small'), (m) => (concat(m).attribute[0].i = 2n)), { source: 'r.onnx' }),
      /^DescentError: r\.onnx: node ".*" \(Concat\): axis=2 is not the channel axis of NCHW values \(1\); Descent concatenates along channels$/);
    const add = (m: ModelProto) => m.graph!.node.find((n) => n.opType === 'Add')!;
    assert.throws(() => importOnnx(mutated(read('resnet_small'), (m) => (add(m).input[1] = m.graph!.initializer[0].name)), { source: 'r.onnx' }),
      /r\.onnx: node ".*" \(Add\): input 1 ".*" is a constant; Add is supported as the join of two computed values/);
    assert.throws(() => importOnnx(mutated(read('resnet_small'), (m) => {
      const n = concat(m);
      n.opType = 'Add';
      n.attribute = [];
    }), { source: 'r.onnx' }), /r\.onnx: node ".*" \(Add\): cannot add \[6, 6, 16\] and \[6, 6, 4\]/);
  });
});
