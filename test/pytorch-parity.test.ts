/**
 * PyTorch parity: every layer and loss against reference values computed by PyTorch in float64
 * (test/fixtures/layers.json, made by make_fixtures.py). PyTorch is channels-first (NCHW activations,
 * conv weights [O, C, KH, KW]); Descent is channels-last, so the test converts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { channelsFirstToLast } from '../src/io/layout.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { quadraticLoss } from '../src/losses/quadratic.js';
import { Sequential } from '../src/network/sequential.js';
import { assertClose, fixture, host } from './helpers.js';

interface T { shape: number[]; data: number[] }
interface LayerCase {
  name: string; x: T; y: T; g: T; dx: T; params: Record<string, T>; grads: Record<string, T>;
  running_mean_after?: T; running_var_after?: T;
}
interface Fixtures { layers: LayerCase[]; losses: Record<string, unknown>[] }

const TOL = 2e-5; // float32 against float64: |a - b| <= TOL (1 + |b|)

const configs: Record<string, LayerConfig> = {
  dense: { type: 'Dense', outFeatures: 5 },
  conv2d_basic: { type: 'Conv2d', outChannels: 3, kernelSize: 3 },
  conv2d_stride2_pad1: { type: 'Conv2d', outChannels: 4, kernelSize: 3, stride: 2, padding: 1 },
  conv2d_5x5_pad2: { type: 'Conv2d', outChannels: 6, kernelSize: 5, padding: 2 },
  conv2d_dilation2: { type: 'Conv2d', outChannels: 2, kernelSize: 3, dilation: 2, padding: 2 },
  conv2d_rect_stride: { type: 'Conv2d', outChannels: 3, kernelSize: [3, 2], stride: [2, 1], padding: [1, 0] },
  conv2d_no_bias: { type: 'Conv2d', outChannels: 2, kernelSize: 1, bias: false },
  maxpool2d_2x2: { type: 'MaxPool2d', kernelSize: 2 },
  maxpool2d_3x3_s2_p1: { type: 'MaxPool2d', kernelSize: 3, stride: 2, padding: 1 },
  maxpool2d_odd_floor: { type: 'MaxPool2d', kernelSize: 2 },
  avgpool2d_2x2: { type: 'AvgPool2d', kernelSize: 2 },
  global_avgpool: { type: 'GlobalAvgPool' },
  relu: { type: 'ReLU' },
  'leaky_relu_0.01': { type: 'LeakyReLU', negativeSlope: 0.01 },
  sigmoid: { type: 'Sigmoid' },
  tanh: { type: 'Tanh' },
  softplus: { type: 'Softplus' },
  softmax: { type: 'Softmax' },
  batchnorm2d_train: { type: 'BatchNorm2d' },
  batchnorm1d_train: { type: 'BatchNorm1d' },
  flatten: { type: 'Flatten' },
};

/** NCHW → NHWC for 4-d tensors; anything else keeps its order. */
function toLast(t: T): Float32Array {
  if (t.shape.length !== 4) return Float32Array.from(t.data);
  const [a, b, c, d] = t.shape;
  return channelsFirstToLast(t.data, a, b, c, d) as Float32Array;
}

/** Elementwise layers see a flat vector, so PyTorch's order can stay as it is. */
const elementwise = new Set(['relu', 'leaky_relu_0.01', 'sigmoid', 'tanh', 'softplus']);

function sampleShape(c: LayerCase): number[] {
  const s = c.x.shape.slice(1);
  if (elementwise.has(c.name)) return [s.reduce((a, b) => a * b, 1)];
  return s.length === 3 ? [s[1], s[2], s[0]] : s;
}

const fixtures = fixture<Fixtures>('layers.json');

describe('PyTorch parity of every layer (forward, input gradient, parameter gradients)', () => {
  for (const c of fixtures.layers) {
    it(c.name, () => {
      const config = configs[c.name];
      assert.ok(config, `no Descent layer mapped for fixture ${c.name}`);
      const net = Sequential.fromConfig({ inputShape: sampleShape(c), layers: [config] });
      const layer = net.layers[0];
      const convert = (t: T) => (elementwise.has(c.name) ? Float32Array.from(t.data) : toLast(t));
      for (const [name, t] of Object.entries(c.params)) host(layer.params[name]).set(convert(t));
      const N = c.x.shape[0];
      const y = host(net.forward(convert(c.x), N, true));
      let expectedY = convert(c.y);
      if (c.name === 'flatten') {
        // PyTorch flattens (c, h, w); Descent keeps channels-last (h, w, c).
        const [n, ch, h, w] = c.x.shape;
        expectedY = channelsFirstToLast(c.y.data, n, ch, h, w) as Float32Array;
      }
      if (c.name === 'global_avgpool') expectedY = Float32Array.from(c.y.data); // [N, C, 1, 1] = [N, C]
      assertClose(y.subarray(0, expectedY.length), expectedY, TOL, 'forward');
      let gy = convert(c.g);
      if (c.name === 'flatten') gy = channelsFirstToLast(c.g.data, ...(c.x.shape as [number, number, number, number])) as Float32Array;
      if (c.name === 'global_avgpool') gy = Float32Array.from(c.g.data);
      host(net.activationGradient(1)).set(gy);
      net.g.fill(0);
      net.backwardFrom(0, N, true, true);
      const dx = convert(c.dx);
      assertClose(host(net.activationGradient(0)).subarray(0, dx.length), dx, TOL, 'input gradient');
      for (const [name, t] of Object.entries(c.grads)) assertClose(host(layer.grads[name]), convert(t), TOL, `gradient of ${name}`);
      if (c.running_mean_after) assertClose(host(layer.buffers.running_mean), c.running_mean_after.data, TOL, 'running mean');
      if (c.running_var_after) assertClose(host(layer.buffers.running_var), c.running_var_after.data, TOL, 'running variance');
    });
  }
});

describe('PyTorch parity of the losses', () => {
  const byName = Object.fromEntries(fixtures.losses.map((l) => [l.name as string, l])) as Record<string, any>;

  it('soft-max cross-entropy with class labels: mean of -log p_y', () => {
    const l = byName.softmax_cross_entropy_labels;
    const [N, E] = l.logits.shape;
    const p = new Float32Array(N * E), gz = new Float32Array(N * E);
    const risk = referenceKernels.softmaxCrossEntropy(Float32Array.from(l.logits.data), { labels: Int32Array.from(l.labels) }, p, gz, N, E);
    assertClose([risk], [l.loss], TOL, 'loss');
    assertClose(gz, l.dlogits.data, TOL, 'gradient');
  });

  it('soft-max cross-entropy with soft targets: mean of -Σ q_c log p_c', () => {
    const l = byName.softmax_cross_entropy_soft_targets;
    const [N, E] = l.logits.shape;
    const p = new Float32Array(N * E), gz = new Float32Array(N * E);
    const risk = referenceKernels.softmaxCrossEntropy(Float32Array.from(l.logits.data), { probs: Float32Array.from(l.targets.data) }, p, gz, N, E);
    assertClose([risk], [l.loss], TOL, 'loss');
    assertClose(gz, l.dlogits.data, TOL, 'gradient');
  });

  it('quadratic loss: mean of ||y - y\'||² with no 1/2', () => {
    const l = byName.quadratic;
    const [N, E] = l.pred.shape;
    const g = new Float32Array(N * E);
    const risk = quadraticLoss(Float32Array.from(l.pred.data), Float32Array.from(l.target.data), g, N, E);
    assertClose([risk], [l.loss], TOL, 'loss');
    assertClose(g, l.dpred.data, TOL, 'gradient');
  });
});
