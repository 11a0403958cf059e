/**
 * PyTorch parity of grouped and depthwise convolutions and of asymmetric ('same') padding:
 * forward, input gradient and weight/bias gradients against float64 values from PyTorch
 * (test/fixtures/conv-groups.json, made by test/fixtures/make_conv_fixtures.py, which emulates
 * asymmetric padding with F.pad), on the reference kernels and on the WebAssembly engine.
 * Also: a grouped network exported as a PyTorch state_dict has PyTorch's weight shapes
 * [O, C/groups, KH, KW], and imports back to the same weights.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { channelsFirstToLast } from '../src/io/layout.js';
import { exportPytorchStateDict, importPytorchStateDict } from '../src/io/pytorch.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';
import { assertClose, fixture, host } from './helpers.js';

interface T { shape: number[]; data: number[] }
interface Case {
  name: string; descent: LayerConfig; x: T; weight: T; y: T; g: T; dx: T; dweight: T; bias?: T; dbias?: T;
}

const TOL = 2e-5; // float32 against float64: |a - b| <= TOL (1 + |b|)
const { cases } = fixture<{ cases: Case[] }>('conv-groups.json');

/** NCHW → NHWC, and [O, C/G, KH, KW] → [O, KH, KW, C/G]. */
const toLast = (t: T) => channelsFirstToLast(t.data, t.shape[0], t.shape[1], t.shape[2], t.shape[3]) as Float32Array;

let engine: WasmEngine;
before(async () => {
  engine = await createWasmEngine({ threads: 2, minPartNs: 0 });
});
after(async () => {
  await engine.dispose();
});

for (const kind of ['reference', 'wasm'] as const) {
  describe(`PyTorch parity of grouped, depthwise and 'same' convolutions (${kind} engine)`, () => {
    for (const c of cases) {
      it(c.name, () => {
        const [N, C, H, W] = c.x.shape;
        const net = Sequential.fromConfig({ inputShape: [H, W, C], layers: [c.descent] },
          kind === 'wasm' ? { arena: engine.arena, kernels: engine.kernels } : {});
        const layer = net.layers[0];
        host(layer.params.weight).set(toLast(c.weight));
        if (c.bias) host(layer.params.bias).set(c.bias.data);
        assert.deepEqual(net.outputShape, [c.y.shape[2], c.y.shape[3], c.y.shape[1]], 'output shape');
        const y = host(net.forward(toLast(c.x), N, true));
        assertClose(y.subarray(0, N * net.outputShape.reduce((a, b) => a * b)), toLast(c.y), TOL, 'forward');
        host(net.activationGradient(1)).set(toLast(c.g));
        net.g.fill(0);
        net.backwardFrom(0, N, true, true);
        assertClose(host(net.activationGradient(0)).subarray(0, c.x.data.length), toLast(c.dx), TOL, 'input gradient');
        assertClose(host(layer.grads.weight), toLast(c.dweight), TOL, 'weight gradient');
        if (c.dbias) assertClose(host(layer.grads.bias), c.dbias.data, TOL, 'bias gradient');
      });
    }
  });
}

describe('PyTorch state_dict of grouped and depthwise convolutions', () => {
  it('exports weights as [O, C/groups, KH, KW] and imports them back unchanged', () => {
    const architecture = { inputShape: [6, 6, 4], layers: [
      { type: 'Conv2d', outChannels: 6, kernelSize: 3, groups: 2, padding: 'same' },
      { type: 'DepthwiseConv2d', kernelSize: [3, 2], depthMultiplier: 2 },
    ] as LayerConfig[] };
    const net = Sequential.fromConfig(architecture, { seed: 7 });
    const bytes = exportPytorchStateDict(net);
    const tensors = decodeSafetensors(bytes).tensors;
    assert.deepEqual(tensors.get('0.weight')!.shape, [6, 2, 3, 3]);
    assert.deepEqual(tensors.get('1.weight')!.shape, [12, 1, 3, 2]);
    // The depthwise weight [12, 1, 3, 2] holds the same numbers in both layouts (one channel per group).
    const back = importPytorchStateDict(bytes, architecture);
    assert.deepEqual(Array.from(back.w), Array.from(net.w));
    const fixtureCase = cases.find((c) => c.name === 'grouped_3_groups')!;
    assert.deepEqual(fixtureCase.weight.shape, [9, 2, 3, 3], "the fixture's grouped weights are PyTorch's [O, C/groups, KH, KW]");
  });
});
