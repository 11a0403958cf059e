/**
 * The benchmark's ceiling (bench/ceiling.ts): the products a training step runs, counted from its
 * kernel calls. Checked against hand counts of NET-A and NET-B, and against the WebAssembly engine's
 * own choice of Winograd, pass by pass; a count that ignored that choice is caught.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { callProductFlops, stepProductFlops, takesWinograd, watchedKernels } from '../bench/ceiling.js';
import { BENCH_NETWORKS } from '../bench/networks.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmKernels } from '../src/engine/wasm-kernels.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import type { ArchitectureConfig } from '../src/network/sequential.js';
import { Sequential } from '../src/network/sequential.js';
import { squareConv } from './helpers.js';

const conv = (C: number, O: number, K: number, H: number) => 2 * (H - K + 1) ** 2 * O * K * K * C;
const dense = (I: number, O: number) => 2 * I * O;

/** Three 3×3 layers: 1→8 (too few input channels), 8→16 (Winograd both ways), 16→4 (too few output channels). */
const MIXED: ArchitectureConfig = {
  inputShape: [12, 12, 1],
  layers: [
    { type: 'Conv2d', outChannels: 8, kernelSize: 3 }, { type: 'ReLU' },
    { type: 'Conv2d', outChannels: 16, kernelSize: 3 }, { type: 'ReLU' },
    { type: 'Conv2d', outChannels: 4, kernelSize: 3 }, { type: 'Flatten' },
    { type: 'Dense', outFeatures: 10 }, { type: 'Softmax' },
  ],
};

describe('bench ceiling: the products of a training step', () => {
  it('NET-A: every layer three times, less the first layer\'s input gradient; 5×5 layers direct', () => {
    const forward = conv(1, 6, 5, 32) + conv(6, 16, 5, 14) + dense(400, 120) + dense(120, 84) + dense(84, 10);
    assert.equal(stepProductFlops(BENCH_NETWORKS['NET-A']), 3 * forward - conv(1, 6, 5, 32));
  });

  it('NET-B: its 32→64 layer as F(2×2, 3×3) products in all three passes (backward-data over 13×13 tiles)', () => {
    const winograd = (12 * 12 + 13 * 13 + 12 * 12) * 16 * 32 * 64 * 2;
    const expected = 2 * conv(1, 32, 3, 28) + winograd + 3 * (dense(9216, 128) + dense(128, 10));
    assert.equal(stepProductFlops(BENCH_NETWORKS['NET-B']), expected);
    assert.ok(Math.abs(expected / 1e6 - 37.81) < 0.01);
  });

  it('counts each pass as the WebAssembly engine runs it', async () => {
    const engine = await createWasmEngine({ threads: 1 });
    try {
      const kernels = engine.kernels as WasmKernels;
      const taken: string[] = [];
      const forward = kernels.winograd.forward.bind(kernels.winograd);
      const backwardFilter = kernels.winograd.backwardFilter.bind(kernels.winograd);
      kernels.winograd.forward = (...a: Parameters<typeof forward>) => { taken.push(a[14] ? 'data' : 'forward'); forward(...a); };
      kernels.winograd.backwardFilter = (...a: Parameters<typeof backwardFilter>) => { taken.push('filter'); backwardFilter(...a); };
      const predicted: string[] = [];
      const passes: Record<string, string> = { conv2dForward: 'forward', conv2dBackwardData: 'data', conv2dBackwardFilter: 'filter' };
      const counting = watchedKernels(kernels, (name, args) => {
        const g = args[name === 'conv2dBackwardData' ? 3 : 4] as Conv2dGeometry;
        if (passes[name] && takesWinograd(name as 'conv2dForward', g)) predicted.push(passes[name]);
      });
      const net = Sequential.fromConfig(MIXED, { seed: 3, arena: engine.arena, kernels: counting });
      net.gradient(net.inputBuffer(2), { labels: new Int32Array([1, 2]) }, 2);
      assert.deepEqual(taken, ['forward', 'filter', 'data']); // the 8→16 layer only
      assert.deepEqual(predicted, taken);
    } finally {
      await engine.dispose();
    }
  });

  it('a 3×3 layer the engine runs direct is counted direct, and the same layer wide enough as Winograd', () => {
    const narrow = squareConv(1, 12, 12, 4, 16, 3), wide = squareConv(1, 12, 12, 8, 16, 3);
    const args = (g: Conv2dGeometry) => [null, null, null, null, g];
    assert.equal(callProductFlops('conv2dForward', args(narrow)), conv(4, 16, 3, 12));
    assert.equal(callProductFlops('conv2dForward', args(wide)), 5 * 5 * 16 * 8 * 16 * 2);
    // A count blind to the engine's choice (direct everywhere) misses NET-B by its Winograd layer.
    const direct = 3 * (conv(1, 32, 3, 28) + conv(32, 64, 3, 26) + dense(9216, 128) + dense(128, 10)) - conv(1, 32, 3, 28);
    assert.notEqual(stepProductFlops(BENCH_NETWORKS['NET-B']), direct);
  });
});
