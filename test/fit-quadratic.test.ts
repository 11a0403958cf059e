/**
 * The quadratic loss ||y − y'||² (notes, section 2) from class data: `fit(…, { loss: 'quadratic' })`
 * trains with y' the one-hot vector of each label (Keras' mean squared error on categorical labels),
 * and its validation loss is that loss too. On every engine the gradient from labels is the
 * gradient from the explicit one-hot values; a wrong y' is seen to change it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Engine, referenceEngine } from '../src/engine/engine.js';
import { quadraticTargets } from '../src/losses/quadratic.js';
import { Sequential } from '../src/network/sequential.js';
import { createEngine } from '../src/node/engine.js';
import { evaluate, evaluateAsync } from '../src/train/evaluate.js';
import { fit } from '../src/train/trainer.js';
import { randomFloats } from './helpers.js';
import { patches, smallCnn } from './synthetic.js';

const gpu = await createEngine({ kind: 'webgpu', gpuAdapter: 'swiftshader' }).catch((e: Error) => e);
const gpuSkip: string | false = gpu instanceof Error && !process.env.CI
  ? `WebGPU on SwiftShader is unavailable here: ${gpu.message}; under CI this test runs and fails instead` : false;

const layers = smallCnn.filter((l) => l.type !== 'Dropout');
const build = (engine: Engine, seed = 5) =>
  Sequential.fromConfig({ inputShape: [8, 8, 1], layers }, { seed, arena: engine.arena, kernels: engine.kernels });

const N = 5, E = 3;
const x = Float32Array.from(randomFloats(N * 64, 11));
x[3] = 0; // a zero input pixel, for good measure
const labels = Int32Array.from([0, 2, 1, 1, 0]);

/** The gradient (and risk) of the quadratic loss for a target, on any engine. */
async function quadraticGradient(net: Sequential, target: Parameters<Sequential['gradient']>[1]) {
  if (!net.device) return { risk: net.gradient(x, target, N, 'quadratic'), g: Float64Array.from(net.g) };
  const risk = await net.gradientAsync(x, target, N, 'quadratic');
  return { risk, g: Float64Array.from(await net.device.read(net.gTensor)) };
}

describe('quadratic targets from classes', () => {
  it('are the one-hot vectors of the labels, or the given probabilities', () => {
    assert.deepEqual([...quadraticTargets({ labels: Int32Array.from([2, 0]) }, 2, 3)], [0, 0, 1, 1, 0, 0]);
    const probs = Float32Array.from([0.25, 0.75, 0.5, 0.5, 9]);
    assert.deepEqual([...quadraticTargets({ probs }, 2, 2)], [0.25, 0.75, 0.5, 0.5]);
  });
});

const engines: [string, () => Promise<Engine> | Engine, string | false][] = [
  ['reference', () => referenceEngine(), false],
  ['wasm', () => createEngine({ kind: 'wasm', threads: 2 }), false],
  ['webgpu', () => gpu as Engine, gpuSkip],
];

for (const [name, open, skip] of engines) {
  describe(`the quadratic loss from class labels on the ${name} engine`, { skip }, () => {
    let engine: Engine;
    before(async () => (engine = await open()));
    after(async () => { if (name === 'wasm') await engine.dispose(); });

    it('gives the gradient of the explicit one-hot targets, bitwise; a wrong y\' changes it', async () => {
      const values = quadraticTargets({ labels }, N, E);
      const fromLabels = await quadraticGradient(build(engine), { labels });
      const fromValues = await quadraticGradient(build(engine), { values });
      assert.deepEqual(fromLabels.g, fromValues.g);
      assert.ok(Number.isFinite(fromLabels.risk) && fromLabels.risk > 0 && fromLabels.risk === fromValues.risk);
      const shifted = quadraticTargets({ labels: labels.map((c) => (c + 1) % E) }, N, E);
      const wrong = await quadraticGradient(build(engine), { values: shifted });
      assert.notDeepEqual(wrong.g, fromLabels.g, 'the check must see a wrong target');
    });

    it('batch 1, and a label outside the outputs is refused in one line', async () => {
      const net = build(engine);
      const one = net.device ? await net.gradientAsync(x.subarray(0, 64), { labels: labels.subarray(0, 1) }, 1, 'quadratic')
        : net.gradient(x.subarray(0, 64), { labels: labels.subarray(0, 1) }, 1, 'quadratic');
      assert.ok(Number.isFinite(one) && one > 0 && one <= 2, `risk ${one}: ||p − e_y||² lies in [0, 2]`);
      const bad = Int32Array.from([0, 3, 1, 1, 0]);
      await assert.rejects(async () => (net.device ? net.gradientAsync(x, { labels: bad }, N, 'quadratic')
        : net.gradient(x, { labels: bad }, N, 'quadratic')), /label 3|3.*classes|outside/);
    });

    it('fit trains on it, and the validation loss is the quadratic loss, not the cross-entropy', async () => {
      const net = build(engine, 7);
      const validation = patches(60, 22);
      const history = await fit(net, patches(240, 21), { epochs: 4, batchSize: 16, loss: 'quadratic',
        optimizer: { kind: 'sgd', lr: 0.5, momentum: 0.9 }, validation });
      const first = history.epochs[0], last = history.epochs.at(-1)!;
      assert.ok(last.loss < first.loss, `risk ${first.loss} → ${last.loss}`);
      assert.ok(last.valError! <= 0.2, `validation error ${last.valError} (chance is 0.67)`);
      const quadratic = net.device ? await evaluateAsync(net, validation, 256, 'quadratic') : evaluate(net, validation, 256, 'quadratic');
      const crossEntropy = net.device ? await evaluateAsync(net, validation) : evaluate(net, validation);
      assert.ok(Math.abs(last.valLoss! - quadratic.loss) <= 1e-6 * quadratic.loss, `${last.valLoss} vs ${quadratic.loss}`);
      // Near a one-hot p, −log p_y ≈ 1 − p_y while ||p − e_y||² ≈ 2(1 − p_y)²: far apart relatively.
      assert.ok(Math.abs(crossEntropy.loss - quadratic.loss) > 0.5 * crossEntropy.loss,
        `the two losses must differ for the check to mean something: ${crossEntropy.loss} vs ${quadratic.loss}`);
    });
  });
}
