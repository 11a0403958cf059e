/**
 * The default initialisation is PyTorch's (kaiming_uniform(a = √5): U(±1/√fan_in) for weights and
 * biases), so a fresh LeNet-5 on standardised MNIST starts with p near the simplex's centre and an
 * L_T close to ln 10, as a PyTorch user expects. A larger init (the old He/Glorot 'auto', or w × 3)
 * must fail that check.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { applyStandardization, fitStandardization } from '../src/data/dataset.js';
import { preset } from '../src/models/presets.js';
import { Sequential } from '../src/network/sequential.js';
import { loadMnist } from '../src/node/mnist.js';
import { host } from './helpers.js';

const N = 128;
let x: Float32Array, labels: Int32Array;

before(() => {
  const train = loadMnist({ split: 'train' });
  x = Float32Array.from(train.x.subarray(0, N * 784));
  applyStandardization(x, fitStandardization(train)); // as `descent train` does
  labels = train.labels.subarray(0, N);
});

/** The initial L_T of the default LeNet-5 on the batch, for a seed, after `change`. */
function initialLoss(seed: number, change: (net: Sequential) => void = () => {}): number {
  const net = Sequential.fromConfig(preset('lenet5'), { seed });
  change(net);
  return net.loss(x, { labels }, N).risk;
}

/** |L_T - ln 10| for every seed is within 0.05 (PyTorch's init gives 2.30-2.31 here). */
function nearLn10(change?: (net: Sequential) => void): boolean {
  return [1, 2, 3].every((seed) => Math.abs(initialLoss(seed, change) - Math.log(10)) < 0.05);
}

describe('default initialisation', () => {
  it('a fresh LeNet-5 on a batch of standardised MNIST has L_T close to ln 10', () => {
    for (const seed of [1, 2, 3]) {
      const loss = initialLoss(seed);
      assert.ok(Math.abs(loss - Math.log(10)) < 0.05, `seed ${seed}: initial L_T ${loss.toFixed(4)}, ln 10 = 2.3026`);
    }
  });

  it('the check fails for a larger init: the old He/Glorot default, or w scaled by 3', () => {
    assert.equal(nearLn10((net) => net.initialize('auto')), false);
    assert.equal(nearLn10((net) => net.w.forEach((v, i) => (net.w[i] = 3 * v))), false);
  });

  it('draws weights and biases from U(±1/√fan_in), as torch.nn.Conv2d and torch.nn.Linear do', () => {
    const net = Sequential.fromConfig(preset('lenet5'), { seed: 4 });
    for (const [k, fanIn] of [[0, 25], [3, 150], [7, 400], [9, 120], [11, 84]]) {
      const bound = 1 / Math.sqrt(fanIn);
      const [weight, bias] = [host(net.layers[k].params.weight), host(net.layers[k].params.bias)];
      for (const t of [weight, bias]) {
        assert.ok(t.every((v) => Math.abs(v) <= bound), `layer ${k}: a value beyond ±${bound}`);
        assert.ok(t.some((v) => v !== 0), `layer ${k}: all zero`);
      }
      // uniform on ±b: standard deviation b/√3
      const std = Math.sqrt(Array.from(weight).reduce((s, v) => s + v * v, 0) / weight.length);
      assert.ok(Math.abs(std / (bound / Math.sqrt(3)) - 1) < (weight.length > 1000 ? 0.05 : 0.2), `layer ${k}: std ${std}`);
    }
  });

  it("'glorot' is Keras's default: U(±√(6/(fan_in + fan_out))) and zero biases", () => {
    const net = Sequential.fromConfig(preset('lenet5'), { seed: 4, init: 'glorot' });
    const [weight, bias] = [host(net.layers[7].params.weight), host(net.layers[7].params.bias)]; // Dense 400 → 120
    const limit = Math.sqrt(6 / 520);
    assert.ok(weight.every((v) => Math.abs(v) <= limit) && weight.some((v) => Math.abs(v) > 0.9 * limit));
    assert.ok(bias.every((v) => v === 0));
  });
});
