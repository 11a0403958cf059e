/**
 * Eq. (5), made explicit: for every layer type, the backward's products g·∂x/∂w and g·∂x/∂x
 * equal g times the dense Jacobians, materialised independently from the layer's forward.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explicitJacobians, rowTimes } from '../src/check/jacobian.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { assertClose, randomFloats } from './helpers.js';

interface Case { config: LayerConfig; shape: number[]; N?: number; training?: boolean }

const cases: Case[] = [
  { config: { type: 'Dense', outFeatures: 3 }, shape: [4] },
  { config: { type: 'Dense', outFeatures: 2, bias: false }, shape: [5], N: 2 },
  { config: { type: 'Conv2d', outChannels: 2, kernelSize: 3 }, shape: [5, 4, 2] },
  { config: { type: 'Conv2d', outChannels: 3, kernelSize: 3, stride: 2, padding: 1 }, shape: [6, 5, 2] },
  { config: { type: 'Conv2d', outChannels: 2, kernelSize: 3, dilation: 2, padding: 2 }, shape: [6, 6, 1] },
  { config: { type: 'Conv2d', outChannels: 2, kernelSize: [3, 2], stride: [2, 1], padding: [1, 0] }, shape: [5, 4, 2] },
  { config: { type: 'MaxPool2d', kernelSize: 2 }, shape: [4, 4, 2] },
  { config: { type: 'MaxPool2d', kernelSize: 3, stride: 2, padding: 1 }, shape: [5, 5, 2] },
  { config: { type: 'AvgPool2d', kernelSize: 2, stride: 1, padding: 1 }, shape: [3, 4, 2] },
  { config: { type: 'GlobalAvgPool' }, shape: [3, 3, 2] },
  { config: { type: 'Flatten' }, shape: [2, 3, 2] },
  { config: { type: 'Dropout', p: 0.4 }, shape: [12] },
  { config: { type: 'BatchNorm2d' }, shape: [3, 2, 2], N: 2 },
  { config: { type: 'BatchNorm1d' }, shape: [3], N: 4 },
  { config: { type: 'BatchNorm1d' }, shape: [3], N: 2, training: false },
  { config: { type: 'ReLU' }, shape: [10] },
  { config: { type: 'LeakyReLU', negativeSlope: 0.1 }, shape: [10] },
  { config: { type: 'Sigmoid' }, shape: [10] },
  { config: { type: 'Tanh' }, shape: [10] },
  { config: { type: 'Softplus' }, shape: [10] },
  { config: { type: 'Softmax' }, shape: [5], N: 2 },
];

describe('explicit Jacobians (eq. 5)', () => {
  cases.forEach((c, i) => {
    it(`the backward of ${JSON.stringify(c.config)} on ${JSON.stringify(c.shape)} equals g·J`, () => {
      const N = c.N ?? 1;
      const d0 = N * c.shape.reduce((a, b) => a * b, 1);
      const x = randomFloats(d0, 100 + i);
      const { net, jx, jw } = explicitJacobians(c.config, c.shape, x, N, { training: c.training ?? true });
      const g = randomFloats(jx.rows, 200 + i);
      net.activationGradient(1).set(g);
      net.g.fill(0);
      net.backwardFrom(0, N, c.training ?? true, true);
      assertClose(net.activationGradient(0).subarray(0, d0), rowTimes(g, jx), 1e-6, 'g·∂x/∂x^(k-1)', 1e-3);
      assertClose(net.g, rowTimes(g, jw), 1e-6, 'g·∂x/∂w', 1e-3);
      if (c.config.type === 'Dense' || c.config.type === 'Conv2d') assert.ok(jw.cols > 0);
    });
  });
});

describe('the Appendix formulas, entry by entry', () => {
  it('Dense: ∂x_i/∂W_qj = δ_iq x̃_j and ∂x_i/∂x_j = W_ij', () => {
    const x = randomFloats(4, 1);
    const { net, jx, jw } = explicitJacobians({ type: 'Dense', outFeatures: 3 }, [4], x, 1);
    const W = net.layers[0].params.weight;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        assert.ok(Math.abs(jx.data[i * 4 + j] - W[i * 4 + j]) < 1e-8);
        for (let q = 0; q < 3; q++) {
          const expected = i === q ? x[j] : 0;
          assert.ok(Math.abs(jw.data[i * jw.cols + q * 4 + j] - expected) < 1e-8);
        }
      }
      // the bias is the weight of x̃'s constant 1
      for (let q = 0; q < 3; q++) assert.ok(Math.abs(jw.data[i * jw.cols + 12 + q] - (i === q ? 1 : 0)) < 1e-8);
    }
  });

  it('ReLU: the Jacobian is diagonal with df/da = 1 for a >= 0, 0 otherwise', () => {
    const x = Float64Array.from([-2, -0.5, 0.25, 3, -1e-3, 1e-3]);
    const { jx } = explicitJacobians({ type: 'ReLU' }, [6], x, 1, { h: 1e-5 });
    for (let i = 0; i < 6; i++)
      for (let j = 0; j < 6; j++) assert.ok(Math.abs(jx.data[i * 6 + j] - (i === j && x[i] >= 0 ? 1 : 0)) < 1e-9);
  });

  it('MaxPool2d: row i of ∂x/∂x^(k-1) selects the arg max q̂ of window P(i)', () => {
    const x = randomFloats(16, 3);
    const { jx } = explicitJacobians({ type: 'MaxPool2d', kernelSize: 2 }, [4, 4, 1], x, 1);
    for (let oh = 0; oh < 2; oh++) {
      for (let ow = 0; ow < 2; ow++) {
        const window = [0, 1, 4, 5].map((o) => oh * 8 + ow * 2 + o);
        const best = window.reduce((a, b) => (x[b] > x[a] ? b : a));
        const i = oh * 2 + ow;
        for (let j = 0; j < 16; j++) assert.ok(Math.abs(jx.data[i * 16 + j] - (j === best ? 1 : 0)) < 1e-9);
      }
    }
  });
});
