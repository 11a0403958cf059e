/**
 * Flatten and Identity share their input's memory (Layer.reshapesOnly, Sequential.aliasReshapes) on the
 * host engines: outputs, parameter and input gradients keep the bits of the copying layers, on the
 * reference and on WebAssembly with 1, 2 and 3 threads; a layer that skips its copy without the shared
 * memory is caught.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Tensor } from '../src/core/tensor.js';
import { ReLU } from '../src/layers/activation.js';
import { Conv2d } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import { Identity } from '../src/layers/identity.js';
import type { Layer } from '../src/layers/layer.js';
import { Softmax } from '../src/layers/softmax.js';
import { Sequential } from '../src/network/sequential.js';
import { host, randomFloats, randomLabels } from './helpers.js';
import { THREADS, threadEngines } from './thread-engines.js';

const engines = threadEngines();

/** The copying layers, as before the aliasing. */
class CopyingFlatten extends Flatten {
  override readonly reshapesOnly = false;
}
class CopyingIdentity extends Identity {
  override readonly reshapesOnly = false;
}
/** The negative: a Flatten that copies nothing although its output has memory of its own. */
class SkippingFlatten extends CopyingFlatten {
  override forward(): void {}
  override backward(_x: Tensor, _y: Tensor, _gy: Tensor, _gx: Tensor | null): void {}
}

type Kinds = { F: new () => Layer; I: new () => Layer };
const ALIASED: Kinds = { F: Flatten, I: Identity }, COPYING: Kinds = { F: CopyingFlatten, I: CopyingIdentity };

/** Odd sizes; a reshape first (reading the input), two in a row, and one before the softmax. */
const NETS: { shape: number[]; layers: (k: Kinds) => Layer[] }[] = [
  { shape: [5, 3, 2], layers: ({ F, I }) => [new Conv2d({ outChannels: 3, kernelSize: 3 }), new ReLU(), new I(), new F(),
    new Dense({ outFeatures: 7 }), new ReLU(), new Dense({ outFeatures: 4 }), new I(), new Softmax()] },
  { shape: [3, 3, 1], layers: ({ F }) => [new F(), new Dense({ outFeatures: 5 }), new Softmax()] },
];

const bits = (t: Tensor) => Array.from(new Uint32Array(Float32Array.from(host(t)).buffer));

/** g, the output and ∂L/∂input after one gradient on each batch size. */
function run(kinds: Kinds, net: number, engine?: (typeof engines)[number]): number[][] {
  const { shape, layers } = NETS[net];
  const model = new Sequential(layers(kinds), { inputShape: shape, seed: 3, engine });
  const d = shape.reduce((a, b) => a * b, 1), out: number[][] = [];
  for (const N of [1, 6]) {
    model.gradient(randomFloats(N * d, N), { labels: randomLabels(N, model.outputShape[0], N + 1) }, N, undefined,
      { inputGradient: true });
    out.push(bits(model.gTensor), bits(model.activation(model.layers.length)).slice(0, N * 4), bits(model.activationGradient(0)).slice(0, N * d));
  }
  return out;
}

describe('Flatten and Identity alias their input', () => {
  it('keep the bits of copying layers on every engine and thread count', () => {
    for (let net = 0; net < NETS.length; net++) {
      assert.deepEqual(run(ALIASED, net), run(COPYING, net), `net ${net}, reference`);
      engines.forEach((e, i) => assert.deepEqual(run(ALIASED, net, e), run(COPYING, net, e), `net ${net}, wasm ${THREADS[i]}T`));
    }
  });

  it('share the memory on the host engines', () => {
    const model = new Sequential(NETS[0].layers(ALIASED), { inputShape: NETS[0].shape, engine: engines[0] });
    model.gradient(randomFloats(5 * 3 * 2, 1), { labels: randomLabels(1, 4, 2) }, 1);
    assert.equal(model.activation(3), model.activation(2), 'Identity output');
    assert.equal(model.activation(4), model.activation(2), 'Flatten output');
    assert.equal(model.activationGradient(2), model.activationGradient(4), 'gradients');
  });

  it('catches a reshape that skips its copy without the shared memory (the negative)', () => {
    assert.notDeepEqual(run({ F: SkippingFlatten, I: CopyingIdentity }, 0), run(COPYING, 0));
  });
});
