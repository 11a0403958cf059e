/**
 * Finite differences through whole networks: ∂L/∂w and ∂L/∂x from back-propagation agree with
 * central differences of the risk, and a deliberately broken backward is caught.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import type { Floats } from '../src/core/floats.js';
import { gradientCheck } from '../src/check/gradcheck.js';
import type { Conv2dGeometry, Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';
import { randomFloats, randomLabels } from './helpers.js';

const TOLERANCE = 1e-6;

function float64Net(layers: LayerConfig[], inputShape: number[], kernels: Kernels = referenceKernels): Sequential {
  return Sequential.fromConfig({ inputShape, layers }, { arena: new HeapArena('float64'), seed: 3, kernels });
}

const cnn: LayerConfig[] = [
  { type: 'Conv2d', outChannels: 3, kernelSize: 3, padding: 1 }, { type: 'ReLU' },
  { type: 'MaxPool2d', kernelSize: 2 },
  { type: 'Conv2d', outChannels: 4, kernelSize: 2, stride: 2, dilation: 1 }, { type: 'Tanh' },
  { type: 'Flatten' }, { type: 'Dense', outFeatures: 5 }, { type: 'Softmax' },
];

const everything: LayerConfig[] = [
  { type: 'Conv2d', outChannels: 3, kernelSize: 3, padding: 2, dilation: 2 }, { type: 'BatchNorm2d' }, { type: 'LeakyReLU' },
  { type: 'AvgPool2d', kernelSize: 2 }, { type: 'Conv2d', outChannels: 4, kernelSize: 3, stride: 2, padding: 1 },
  { type: 'Softplus' }, { type: 'MaxPool2d', kernelSize: 3, stride: 1, padding: 1 }, { type: 'GlobalAvgPool' },
  { type: 'Dense', outFeatures: 6 }, { type: 'BatchNorm1d' }, { type: 'Sigmoid' }, { type: 'Dropout', p: 0.3 },
  { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
];

describe('finite-difference gradient check through whole networks', () => {
  it('a CNN (conv, ReLU, max-pool, strided conv, tanh, dense, soft-max) with class labels', () => {
    const net = float64Net(cnn, [8, 8, 2]);
    const r = gradientCheck(net, randomFloats(3 * 128, 1), { labels: randomLabels(3, 5, 2) }, 3);
    assert.ok(r.weightError < TOLERANCE, `∂L/∂w error ${r.weightError}`);
    assert.ok(r.inputError < TOLERANCE, `∂L/∂x error ${r.inputError}`);
    assert.equal(r.weightsChecked, net.parameterCount);
  });

  it('every layer type at once, with soft targets (batch-norm, dropout, every activation, both pools)', () => {
    const net = float64Net(everything, [7, 7, 2]);
    const N = 4, probs = randomFloats(N * 3, 5, 'uniform');
    for (let n = 0; n < N; n++) {
      const s = probs[n * 3] + probs[n * 3 + 1] + probs[n * 3 + 2];
      for (let e = 0; e < 3; e++) probs[n * 3 + e] /= s;
    }
    const r = gradientCheck(net, randomFloats(N * 98, 4), { probs }, N);
    assert.ok(r.weightError < TOLERANCE, `∂L/∂w error ${r.weightError}`);
    assert.ok(r.inputError < TOLERANCE, `∂L/∂x error ${r.inputError}`);
  });

  it('a regression network with the quadratic loss ||y - y\'||²', () => {
    const net = float64Net([{ type: 'Dense', outFeatures: 8 }, { type: 'Tanh' }, { type: 'Dense', outFeatures: 3 }], [5]);
    const r = gradientCheck(net, randomFloats(20, 6), { values: randomFloats(12, 7) }, 4, { loss: 'quadratic' });
    assert.ok(r.weightError < TOLERANCE && r.inputError < TOLERANCE, JSON.stringify(r));
  });

  it('cross-entropy on a network without a final Softmax (logits) agrees too', () => {
    const net = float64Net([{ type: 'Dense', outFeatures: 4 }, { type: 'ReLU' }, { type: 'Dense', outFeatures: 3 }], [5]);
    const r = gradientCheck(net, randomFloats(10, 8), { labels: randomLabels(2, 3, 9) }, 2, { loss: 'cross_entropy' });
    assert.ok(r.weightError < TOLERANCE && r.inputError < TOLERANCE, JSON.stringify(r));
  });
});

describe('a broken backward fails the check', () => {
  it('an off-by-one in the convolution backward (data shifted by one pixel)', () => {
    const broken: Kernels = {
      ...referenceKernels,
      conv2dBackwardData(gy: Floats, w: Floats, gx: Floats, g: Conv2dGeometry) {
        referenceKernels.conv2dBackwardData(gy, w, gx, g);
        gx.copyWithin(g.C, 0, g.N * g.H * g.W * g.C - g.C); // every input gradient one pixel off
      },
    };
    const r = gradientCheck(float64Net(cnn, [8, 8, 2], broken), randomFloats(3 * 128, 1), { labels: randomLabels(3, 5, 2) }, 3);
    assert.ok(r.weightError > 1e-2, `weight error ${r.weightError} should expose the bug`);
    assert.ok(r.inputError > 1e-2);
  });

  it('an off-by-one in the convolution filter gradient', () => {
    const broken: Kernels = {
      ...referenceKernels,
      conv2dBackwardFilter(x: Floats, gy: Floats, gw: Floats, gb: Floats | null, g: Conv2dGeometry) {
        referenceKernels.conv2dBackwardFilter(x, gy, gw, gb, { ...g, PH: g.PH + 1 }); // window one row off
      },
    };
    const r = gradientCheck(float64Net(cnn, [8, 8, 2], broken), randomFloats(3 * 128, 1), { labels: randomLabels(3, 5, 2) }, 3);
    assert.ok(r.weightError > 1e-2, `weight error ${r.weightError} should expose the bug`);
  });

  it('a wrong pooling index (gradient routed to the window\'s first element, not its arg max)', () => {
    const broken: Kernels = {
      ...referenceKernels,
      maxPool2dForward(x: Floats, y: Floats, argmax: Int32Array, g: Pool2dGeometry, seed: number) {
        referenceKernels.maxPool2dForward(x, y, argmax, g, seed);
        for (let i = 0; i < g.N * g.OH * g.OW * g.C; i++) argmax[i] -= argmax[i] % (g.W * g.C) % (2 * g.C) >= g.C ? g.C : 0;
      },
    };
    const r = gradientCheck(float64Net(cnn, [8, 8, 2], broken), randomFloats(3 * 128, 1), { labels: randomLabels(3, 5, 2) }, 3);
    assert.ok(r.weightError > 1e-2, `weight error ${r.weightError} should expose the bug`);
  });
});
