/** The network as the notes describe it: one vector w, a summary, p on the simplex, seeded init. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Conv2d } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { ReLU } from '../src/layers/activation.js';
import { MaxPool2d } from '../src/layers/pool2d.js';
import { Softmax } from '../src/layers/softmax.js';
import { BatchNorm2d } from '../src/layers/batch-norm.js';
import { Sequential } from '../src/network/sequential.js';
import { hash32 } from '../src/core/rng.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { randomFloats, randomLabels, host } from './helpers.js';

function lenet(seed = 1): Sequential {
  return new Sequential([
    new Conv2d({ outChannels: 6, kernelSize: 5, padding: 2 }), new ReLU(), new MaxPool2d({ kernelSize: 2 }),
    new Conv2d({ outChannels: 16, kernelSize: 5 }), new BatchNorm2d(), new ReLU(), new MaxPool2d({ kernelSize: 2 }),
    new Flatten(), new Dense({ outFeatures: 120 }), new ReLU(), new Dense({ outFeatures: 10 }), new Softmax(),
  ], { inputShape: [28, 28, 1], seed });
}

describe('Sequential', () => {
  it('carves every parameter as a view of one vector w, with its gradient in a twin vector', () => {
    const net = lenet();
    assert.equal(net.parameterCount, 156 + 2416 + 32 + 48120 + 1210);
    assert.equal(net.g.length, net.w.length);
    for (const layer of net.layers) {
      for (const [name, view] of Object.entries(layer.params)) {
        assert.equal(host(view).buffer, net.w.buffer, `${layer.type}.${name} is a view of w`);
        assert.equal(host(layer.grads[name]).buffer, net.g.buffer);
      }
    }
    host(net.layers[0].params.weight)[0] = 42;
    assert.equal(net.w[0], 42);
    assert.equal(net.buffers.length, 32); // batch-norm running mean and variance
  });

  it('allocates activations once per batch capacity, not per step', () => {
    const net = lenet();
    const x = Float32Array.from(randomFloats(8 * 784, 1)), labels = randomLabels(8, 10, 2);
    net.gradient(x, { labels }, 8);
    const before = [0, 3, 12].map((k) => net.activation(k));
    net.gradient(x, { labels }, 5);
    net.gradient(x, { labels }, 8);
    [0, 3, 12].forEach((k, i) => assert.equal(net.activation(k), before[i]));
  });

  it('predict returns p on the simplex and the arg max', () => {
    const net = lenet();
    const { p, classes } = net.predict(Float32Array.from(randomFloats(3 * 784, 3)), 3);
    for (let n = 0; n < 3; n++) {
      const row = Array.from(p.subarray(n * 10, n * 10 + 10));
      assert.ok(row.every((v) => v >= 0));
      assert.ok(Math.abs(row.reduce((a, b) => a + b) - 1) < 1e-5);
      assert.equal(classes[n], row.indexOf(Math.max(...row)));
    }
  });

  it('the same seed gives the same w, another seed another w; He scale before ReLU under init \'auto\'', () => {
    assert.deepEqual(lenet(5).getWeights(), lenet(5).getWeights());
    assert.notDeepEqual(lenet(5).getWeights(), lenet(6).getWeights());
    const net = lenet(5);
    net.initialize('auto');
    const w = host(net.layers[8].params.weight); // Dense(400 → 120) feeding a ReLU: std sqrt(2/400)
    const std = Math.sqrt(Array.from(w).reduce((s, v) => s + v * v, 0) / w.length);
    assert.ok(Math.abs(std - Math.sqrt(2 / 400)) < 0.005, `std ${std}`);
  });

  it('prints a summary table with output shapes and parameter counts', () => {
    const text = lenet().summary();
    assert.match(text, /Conv2d\s+\[28, 28, 6\]\s+156/);
    assert.match(text, /Dense\s+\[120\]\s+48,120/);
    assert.match(text, /total parameters: 51,934/);
  });

  it('config() round-trips through fromConfig with identical predictions', () => {
    const a = lenet(9);
    const b = Sequential.fromConfig(a.config(), { seed: 1 });
    b.setWeights(a.getWeights());
    b.setBuffers(a.getBuffers());
    const x = Float32Array.from(randomFloats(2 * 784, 4));
    assert.deepEqual(b.predict(x, 2).p, a.predict(x, 2).p);
  });

  it('a max-pool tie goes to one of the tied maxima, chosen by the seeded generator', () => {
    const g = { N: 1, H: 2, W: 2, C: 1, OH: 1, OW: 1, KH: 2, KW: 2, SH: 2, SW: 2, PH: 0, PW: 0 };
    const x = Float32Array.from([1, 1, 1, 1]), y = new Float32Array(1), argmax = new Int32Array(1);
    const chosen = new Set<number>();
    for (let seed = 0; seed < 64; seed++) {
      referenceKernels.maxPool2dForward(x, y, argmax, g, seed);
      chosen.add(argmax[0]);
    }
    assert.deepEqual([...chosen].sort(), [0, 1, 2, 3]);
    referenceKernels.maxPool2dForward(x, y, argmax, g, -1);
    assert.equal(argmax[0], 0, "tieSeed < 0 is the 'first' rule");
    assert.notEqual(hash32(1, 2), hash32(2, 1));
  });

  it('rejects labels outside the classes and inputs of the wrong size', () => {
    const net = lenet();
    assert.throws(() => net.gradient(new Float32Array(784), { labels: Int32Array.from([10]) }, 1), /label 10 of sample 0 is outside 0..9/);
    assert.throws(() => net.forward(new Float32Array(100), 1), /input holds 100 numbers, but 1 samples of shape \[28, 28, 1\] need 784/);
  });
});
