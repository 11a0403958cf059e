/**
 * Shared activations in inference (SequentialOptions.shareActivations, planActivationSlots): on the
 * reference engine and the WebAssembly engine on 1, 2 and 3 threads, a network whose inference
 * activations share memory gives bitwise the predictions, risks and evaluations of one that keeps
 * every x^(k), before and after training (which keeps every x^(k) as before); ResNet-20 needs 49,152
 * numbers per sample instead of 678,996. Negative tests: a plan that puts live tensors in one slot,
 * or one that forgets a tensor read by several nodes lives until its last reader, changes the
 * numbers, so the equality checks can fail.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import type { Dataset } from '../src/data/dataset.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { preset } from '../src/models/presets.js';
import { fusedRelus, memoryPlan, planActivationSlots } from '../src/network/memory-plan.js';
import { Sequential, type ArchitectureConfig } from '../src/network/sequential.js';
import { evaluate } from '../src/train/evaluate.js';
import { createOptimizer } from '../src/train/optimizers/index.js';
import { randomFloats, randomLabels } from './helpers.js';
import { threadEngines } from './thread-engines.js';

const wasm = threadEngines();
const engines = () => [{ name: 'reference', arena: new HeapArena('float32'), kernels: referenceKernels },
  ...wasm.map((e) => ({ name: `wasm ${e.threads}T`, arena: e.arena, kernels: e.kernels }))];

/** Fan-out, joins, a fused conv + ReLU, pooling, batch norm and dropout; ends without a Softmax (p computed in predict). */
const branchy: LayerConfig[] = [
  { name: 'a', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { name: 'a.relu', type: 'ReLU' },
  { name: 'bn', type: 'BatchNorm2d' },
  { name: 'side', type: 'Conv2d', outChannels: 4, kernelSize: 1, inputs: ['input'] },
  { name: 'sum', type: 'Add', inputs: ['bn', 'side', 'a'] },
  { name: 'cat', type: 'Concat', inputs: ['sum', 'a.relu', 'input'] },
  { name: 'pool', type: 'MaxPool2d', kernelSize: 2 }, { name: 'drop', type: 'Dropout', p: 0.3 },
  { name: 'flat', type: 'Flatten' }, { name: 'fc', type: 'Dense', outFeatures: 5 },
];
const NETS: Record<string, ArchitectureConfig> = {
  branchy: { inputShape: [6, 6, 2], layers: branchy },
  lenet5: preset('lenet5'),
  resnet20: preset('resnet20'),
};

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

function dataset(config: ArchitectureConfig, count: number, seed: number, classes: number): Dataset {
  const d = config.inputShape.reduce((a, b) => a * b, 1);
  return { x: Float32Array.from(randomFloats(count * d, seed)), labels: randomLabels(count, classes, seed + 1),
    shape: config.inputShape as [number, number, number], count, classes, classNames: [] } as unknown as Dataset;
}

/** Everything inference says of a batch and a data set, as bit patterns. */
function inference(net: Sequential, x: Float32Array, N: number, data: Dataset): number[][] {
  const { p } = net.predict(x, N);
  const ev = evaluate(net, data, 3);
  const labels = data.labels.subarray(0, N);
  return [bits(p), bits([net.risk(x, { labels }, N, 'cross_entropy')]), bits([ev.loss]), ev.confusion.flat()];
}

describe('shared activations in inference', () => {
  for (const [name, config] of Object.entries(NETS)) {
    it(`${name}: bitwise the numbers of one buffer per tensor, on every engine, before and after training`, () => {
      const N = name === 'resnet20' ? 2 : 5, E = 10, classes = name === 'branchy' ? 5 : E;
      for (const engine of engines()) {
        const make = (shareActivations: boolean) => Sequential.fromConfig(config, { seed: 4, arena: engine.arena, kernels: engine.kernels, shareActivations });
        const own = make(false), shared = make(true);
        const data = dataset(config, name === 'resnet20' ? 3 : 7, 11, classes), x = data.x.subarray(0, N * data.x.length / data.count);
        assert.deepEqual(inference(shared, x, N, data), inference(own, x, N, data), `${engine.name}: fresh`);
        // Training keeps every x^(k) on both; inference in between changes nothing of it.
        for (const net of [own, shared]) {
          const opt = createOptimizer({ kind: 'sgd', lr: 0.05, momentum: 0.9 }, net.parameterCount, engine.arena, engine.kernels);
          for (let step = 0; step < 2; step++) {
            net.gradient(x, { labels: data.labels.subarray(0, N) }, N, 'cross_entropy');
            opt.step(net.w, net.g);
            net.predict(x, 1);
          }
        }
        assert.deepEqual(bits(shared.w), bits(own.w), `${engine.name}: training`);
        assert.deepEqual(bits(shared.buffers), bits(own.buffers), `${engine.name}: running statistics`);
        assert.deepEqual(inference(shared, x, N, data), inference(own, x, N, data), `${engine.name}: trained`);
      }
    });
  }

  it('ResNet-20 needs a fourteenth of the activation memory; after a shared pass only the output can be read', () => {
    const net = Sequential.fromConfig(NETS.resnet20, { shareActivations: true });
    const plan = memoryPlan(net);
    assert.equal(plan.activations, 678_996);
    assert.equal(plan.activationSlots, 49_152); // three tensors of 32×32×16 in a stage-1 block
    const x = Float32Array.from(randomFloats(3072, 2));
    const out = net.forward(x, 1);
    assert.equal(net.activation(net.layers.length), out);
    assert.throws(() => net.activation(3), /x\^\(3\) is not kept: the last pass was an inference pass on shared activations/);
    net.gradient(x, { labels: Int32Array.of(1) }, 1);
    assert.equal(net.activation(3).length, 32 * 32 * 16, 'a training pass keeps every x^(k)');
  });

  it('negative: a plan that shares live tensors, or forgets all but the first reader of a tensor, changes the numbers', () => {
    const config = NETS.branchy, data = dataset(config, 4, 21, 5), x = data.x.subarray(0, 2 * 72);
    const own = Sequential.fromConfig(config, { seed: 4 });
    const expected = bits(own.predict(x, 2).p);
    const withPlan = (plan: { slotOf: number[]; slotSizes: number[] }) => {
      const net = Sequential.fromConfig(config, { seed: 4, shareActivations: true });
      (net as unknown as { activationSlots: unknown }).activationSlots = plan;
      return bits(net.predict(x, 2).p);
    };
    const sizes = [72, ...own.layers.map((l) => l.outputShape.reduce((a, b) => a * b, 1))];
    const { inputs, consumers } = own.topology, fused = fusedRelus(own);
    assert.notDeepEqual(withPlan({ slotOf: sizes.map(() => 0), slotSizes: [Math.max(...sizes)] }), expected);
    const firstReaders = consumers.map((c) => c.slice(0, 1));
    assert.notDeepEqual(withPlan(planActivationSlots(inputs, firstReaders, sizes, fused)), expected, 'a shortcut was overwritten');
    assert.deepEqual(withPlan(planActivationSlots(inputs, consumers, sizes, fused)), expected, 'the right plan, injected the same way');
  });
});
