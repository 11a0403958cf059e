/** Algorithm 1 of the notes, run literally sample by sample, gives the batched gradient. */
import { describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import { algorithm1 } from '../src/check/algorithm1.js';
import { Sequential } from '../src/network/sequential.js';
import { assertClose, randomFloats, randomLabels } from './helpers.js';

describe('Algorithm 1', () => {
  it('the per-sample loop with the running average equals the batched, fused backward (cross-entropy)', () => {
    const net = Sequential.fromConfig({
      inputShape: [6, 6, 1],
      layers: [
        { type: 'Conv2d', outChannels: 3, kernelSize: 3 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
        { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 }, { type: 'Sigmoid' }, { type: 'Dense', outFeatures: 3 },
        { type: 'Softmax' },
      ],
    }, { arena: new HeapArena('float64'), seed: 11 });
    const N = 5, x = randomFloats(N * 36, 12), labels = randomLabels(N, 3, 13);
    const literal = algorithm1(net, x, { labels }, N, 'cross_entropy');
    net.gradient(x, { labels }, N, 'cross_entropy', { training: false });
    assertClose(literal, net.g, 1e-10, 'Algorithm 1 vs batched gradient', 1e-6);
  });

  it('and with the quadratic loss', () => {
    const net = Sequential.fromConfig({
      inputShape: [4], layers: [{ type: 'Dense', outFeatures: 5 }, { type: 'Tanh' }, { type: 'Dense', outFeatures: 2 }],
    }, { arena: new HeapArena('float64'), seed: 1 });
    const N = 6, x = randomFloats(N * 4, 2), values = randomFloats(N * 2, 3);
    const literal = algorithm1(net, x, { values }, N, 'quadratic');
    net.gradient(x, { values }, N, 'quadratic', { training: false });
    assertClose(literal, net.g, 1e-10, 'Algorithm 1 vs batched gradient', 1e-6);
  });
});
