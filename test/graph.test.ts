/**
 * Graph networks: nodes with names and inputs, shapes checked at build time (errors naming the node,
 * its inputs and their shapes), the JSON form, and back-propagation over fan-out and fan-in checked
 * three ways (explicit Jacobians, finite differences with broken backwards that must fail, Algorithm 1).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { algorithm1 } from '../src/check/algorithm1.js';
import { relativeError } from '../src/check/compare.js';
import { gradientCheck } from '../src/check/gradcheck.js';
import { networkJacobians } from '../src/check/network-jacobian.js';
import { HeapArena } from '../src/core/arena.js';
import type { Floats } from '../src/core/floats.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { Add } from '../src/layers/add.js';
import { Conv2d } from '../src/layers/conv2d.js';
import { Dense } from '../src/layers/dense.js';
import { Flatten } from '../src/layers/flatten.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { ReLU } from '../src/layers/activation.js';
import { Graph, residualBlock } from '../src/network/graph.js';
import { Sequential } from '../src/network/sequential.js';
import { assertClose, randomFloats, randomLabels, host } from './helpers.js';

/** Fan-out (x, a and b are each read twice), Add with a per-channel broadcast, Concat, Identity. */
const branchy: LayerConfig[] = [
  { name: 'a', type: 'Conv2d', outChannels: 3, kernelSize: 3, padding: 1 },
  { name: 'b', type: 'Tanh' },
  { name: 'skip', type: 'Identity', inputs: ['input'] },
  { name: 'c', type: 'Conv2d', outChannels: 3, kernelSize: 1, inputs: ['skip'] },
  { name: 'sum', type: 'Add', inputs: ['b', 'c', 'a'] },
  { name: 'pool', type: 'GlobalAvgPool', inputs: ['b'] },
  { name: 'gate', type: 'Add', inputs: ['sum', 'pool'] },
  { name: 'cat', type: 'Concat', inputs: ['gate', 'input', 'b'] },
  { type: 'Sigmoid' },
  { type: 'Flatten' }, { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
];

function float64Graph(layers: LayerConfig[], inputShape: number[], kernels: Kernels = referenceKernels, seed = 3): Sequential {
  return Sequential.fromConfig({ inputShape, layers }, { arena: new HeapArena('float64'), seed, kernels });
}

describe('graph networks: building and shapes', () => {
  it('infers shapes through Add, Concat and Identity, and a chain stays a chain', () => {
    const net = float64Graph(branchy, [4, 4, 2]);
    assert.deepEqual(net.layers[7].outputShape, [4, 4, 8]);
    assert.deepEqual(net.outputShape, [4]);
    assert.equal(net.isChain, false);
    assert.equal(float64Graph([{ type: 'Flatten' }, { type: 'Dense', outFeatures: 2 }], [3]).isChain, true);
  });

  it('the JSON form round-trips, writing names and inputs only where they are not the defaults', () => {
    const net = float64Graph(branchy, [4, 4, 2]);
    const config = net.config();
    assert.equal('inputs' in config.layers[1], false);
    assert.deepEqual(config.layers[4].inputs, ['b', 'c', 'a']);
    const again = Sequential.fromConfig(JSON.parse(JSON.stringify(config)), { arena: new HeapArena('float64'), seed: 3 });
    assert.deepEqual(again.config(), config);
    const x = randomFloats(2 * 32, 1);
    assert.deepEqual(Array.from(host(again.forward(x, 2))), Array.from(host(net.forward(x, 2))));
    // A chain's config has no names or inputs at all: model files of plain stacks are unchanged.
    const chain = float64Graph([{ type: 'Dense', outFeatures: 2 }, { type: 'ReLU' }], [3]).config();
    assert.deepEqual(chain.layers, [{ type: 'Dense', outFeatures: 2, bias: true }, { type: 'ReLU' }]);
  });

  it('a residual block is one call in the TypeScript API, and Sequential still takes a plain list', () => {
    const net = new Graph([
      { name: 'stem', layer: new Conv2d({ outChannels: 4, kernelSize: 3, padding: 1 }) }, new ReLU(),
      ...residualBlock('block1', { input: '1', outChannels: 4 }),
      ...residualBlock('block2', { input: 'block1.relu2', outChannels: 8, stride: 2 }),
      new Flatten(), new Dense({ outFeatures: 3 }),
    ], { inputShape: [6, 6, 2] });
    assert.deepEqual(net.outputShape, [3]);
    assert.ok(net.summary().includes('block2.add'));
    assert.ok(net.summary().includes('block2.bn2, block2.shortcut.bn'));
    const plain = new Sequential([new Flatten(), new Dense({ outFeatures: 2 })], { inputShape: [2, 2, 1] });
    assert.deepEqual(plain.outputShape, [2]);
  });

  it('Add broadcasts one value per channel over every position of its sample, and nothing else', () => {
    const net = float64Graph([
      { name: 'avg', type: 'GlobalAvgPool' }, { name: 'sum', type: 'Add', inputs: ['input', 'avg'] },
    ], [2, 2, 2]);
    const x = Float64Array.from([1, 10, 2, 20, 3, 30, 4, 40]);
    assert.deepEqual(Array.from(host(net.forward(x, 1))), [3.5, 35, 4.5, 45, 5.5, 55, 6.5, 65]);
  });

  const refused: [string, LayerConfig[], RegExp][] = [
    ['Add of different shapes', [{ name: 'c', type: 'Conv2d', outChannels: 3, kernelSize: 1 }, { name: 'j', type: 'Add', inputs: ['c', 'input'] }],
      /node "j" \(Add\) with inputs c \[4, 4, 3\], input \[4, 4, 2\]: cannot add \[4, 4, 3\] and \[4, 4, 2\]/],
    ['Add broadcast where ambiguous', [{ name: 'f', type: 'Flatten' }, { name: 'j', type: 'Add', inputs: ['input', 'f'] }],
      /node "j" \(Add\).*input 2 \[32\] must equal the first input's shape \[4, 4, 2\] or be one value per channel/],
    ['Concat of different sizes', [{ name: 'p', type: 'MaxPool2d', kernelSize: 2 }, { name: 'j', type: 'Concat', inputs: ['input', 'p'] }],
      /node "j" \(Concat\) with inputs input \[4, 4, 2\], p \[2, 2, 2\]: cannot concatenate/],
    ['an unknown input', [{ name: 'a', type: 'ReLU', inputs: ['nowhere'] }], /node "a" \(ReLU\): input "nowhere" is not the input or a node listed before it/],
    ['a forward reference', [{ name: 'a', type: 'ReLU', inputs: ['b'] }, { name: 'b', type: 'ReLU' }], /node "a" \(ReLU\): input "b" is not/],
    ['a name used twice', [{ name: 'a', type: 'ReLU' }, { name: 'a', type: 'ReLU' }], /node "a" \(ReLU\): the name "a" is used twice/],
    ['the reserved name', [{ name: 'input', type: 'ReLU' }], /reserved for the network input/],
    ['a dead branch', [{ name: 'a', type: 'ReLU' }, { name: 'b', type: 'Tanh', inputs: ['input'] }], /node "a" does not lead to the output "b"/],
    ['two inputs to a one-input layer', [{ name: 'a', type: 'ReLU', inputs: ['input', 'input'] }], /node "a" \(ReLU\) with inputs .*: ReLU reads one input, got 2/],
    ['a join of one input', [{ name: 'a', type: 'Add', inputs: ['input'] }], /Add joins two or more inputs, got 1/],
    ['inputs that are not names', [{ name: 'a', type: 'ReLU', inputs: 'input' }], /node "a" \(ReLU\): "inputs" must be a non-empty list of node names/],
  ];
  for (const [what, layers, message] of refused) {
    it(`refuses ${what}, naming the node, its inputs and their shapes`, () => {
      assert.throws(() => float64Graph(layers, [4, 4, 2]), message);
    });
  }

  it('the TypeScript API refuses a join of mismatched shapes the same way', () => {
    assert.throws(() => new Graph([
      { name: 'wide', layer: new Conv2d({ outChannels: 5, kernelSize: 1 }) },
      { name: 'sum', layer: new Add(), inputs: ['input', 'wide'] },
    ], { inputShape: [3, 3, 2] }), /node "sum" \(Add\) with inputs input \[3, 3, 2\], wide \[3, 3, 5\]/);
  });
});

describe('graph networks: back-propagation over fan-out and fan-in', () => {
  const N = 2, x = randomFloats(N * 32, 21);

  it('explicit Jacobians of the whole graph equal what back-propagation sends back, row by row', () => {
    const net = float64Graph(branchy, [4, 4, 2]);
    const j = networkJacobians(net, x, N);
    assertClose(j.bx.data, j.jx.data, 1e-6, '∂x^(K)/∂x^(0)', 1e-3);
    assertClose(j.bw.data, j.jw.data, 1e-6, '∂x^(K)/∂w', 1e-3);
  });

  it('finite differences agree on a graph with batch norm and dropout in training mode', () => {
    const layers: LayerConfig[] = [
      { name: 'conv', type: 'Conv2d', outChannels: 3, kernelSize: 3, padding: 1 }, { name: 'bn', type: 'BatchNorm2d' },
      { name: 'act', type: 'Tanh' }, { name: 'drop', type: 'Dropout', p: 0.3, inputs: ['conv'] },
      { name: 'sum', type: 'Add', inputs: ['act', 'drop'] }, { name: 'cat', type: 'Concat', inputs: ['sum', 'conv'] },
      { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
    ];
    const r = gradientCheck(float64Graph(layers, [4, 4, 2]), x, { labels: randomLabels(N, 3, 4) }, N);
    assert.ok(r.weightError < 1e-6 && r.inputError < 1e-6, JSON.stringify(r));
  });

  it('Algorithm 1 (explicit Jacobians per node and sample, no backward) gives the batched gradient of the graph', () => {
    const net = float64Graph(branchy, [4, 4, 2]);
    const labels = randomLabels(3, 4, 5), x3 = randomFloats(3 * 32, 6);
    const literal = algorithm1(net, x3, { labels }, 3, 'cross_entropy');
    net.gradient(x3, { labels }, 3, 'cross_entropy', { training: false });
    assertClose(net.g, literal, 1e-6, 'batched gradient vs Algorithm 1 on a graph', 1e-3);
  });

  const brokenCases: [string, Partial<Kernels>][] = [
    ['the fan-out sum keeps only the first reader\'s gradient', {
      addTensors(a: Floats, b: Floats, y: Floats, n: number) {
        referenceKernels.addTensors(a, b.map(() => 0) as Floats, y, n);
      },
    }],
    ['Concat\'s backward hands each input the wrong block of channels', {
      copyBlock(src: Floats, dst: Floats, R: number, C: number, ss: number, so: number, ds: number, dO: number) {
        const concatBackward = ss > C && ds === C;
        referenceKernels.copyBlock(src, dst, R, C, ss, concatBackward ? (so + 1) % (ss - C + 1) : so, ds, dO);
      },
    }],
    ['the broadcast gradient is not summed over positions', {
      sumBroadcast(gy: Floats, gb: Floats, N: number, R: number, C: number) {
        referenceKernels.sumBroadcast(gy, gb, N, 1, C);
      },
    }],
  ];
  for (const [what, broken] of brokenCases) {
    it(`a broken backward fails the checks: ${what}`, () => {
      const kernels = { ...referenceKernels, ...broken } as Kernels;
      const labels = randomLabels(N, 4, 4);
      const r = gradientCheck(float64Graph(branchy, [4, 4, 2], kernels), x, { labels }, N);
      assert.ok(r.weightError > 1e-3 || r.inputError > 1e-3, `the check should expose the bug: ${JSON.stringify(r)}`);
      const j = networkJacobians(float64Graph(branchy, [4, 4, 2], kernels), x, N);
      assert.ok(relativeError(j.bx.data, j.jx.data) > 1e-3, 'the explicit Jacobians should expose the bug');
      const net = float64Graph(branchy, [4, 4, 2], kernels), literal = algorithm1(net, x, { labels }, N, 'cross_entropy');
      net.gradient(x, { labels }, N, 'cross_entropy', { training: false });
      assert.ok(relativeError(net.g, literal) > 1e-3, 'Algorithm 1 should expose the bug');
    });
  }
});

describe('graph networks: activation memory', () => {
  it('a liveness plan of the gradient buffers: a chain needs at most its two largest neighbours, ResNet-20 far less than all', async () => {
    const { memoryPlan } = await import('../src/network/memory-plan.js');
    const { preset } = await import('../src/models/presets.js');
    const chain = memoryPlan(Sequential.fromConfig({ inputShape: [4], layers: [{ type: 'Dense', outFeatures: 6 }, { type: 'ReLU' }] }));
    assert.deepEqual(chain, { activations: 16, gradients: 16, gradientPeak: 12, gradientSlots: 12, activationSlots: 16 });
    const resnet = memoryPlan(Sequential.fromConfig(preset('resnet20')));
    assert.equal(resnet.activations, 678_996);
    assert.equal(resnet.gradients, 875_604); // one buffer per tensor, plus one per edge into a fan-out
    assert.equal(resnet.gradientPeak, 65_536); // 4 tensors of 32×32×16 at a stage-1 residual join
    assert.equal(resnet.gradientSlots, 65_536); // what the shared slots take: the peak
  });

  it('shared gradient buffers give bitwise the gradients of one buffer per tensor, and refuse to show a dead one', async () => {
    const make = (shareGradients: boolean) => Sequential.fromConfig({ inputShape: [4, 4, 2], layers: branchy },
      { seed: 3, shareGradients });
    const shared = make(true), own = make(false), x = Float32Array.from(randomFloats(3 * 32, 8)), labels = randomLabels(3, 4, 9);
    const r1 = shared.gradient(x, { labels }, 3, 'cross_entropy', { inputGradient: true });
    const r2 = own.gradient(x, { labels }, 3, 'cross_entropy', { inputGradient: true });
    assert.equal(r1, r2);
    assert.deepEqual(new Uint32Array(Float32Array.from(shared.g).buffer), new Uint32Array(Float32Array.from(own.g).buffer));
    assert.deepEqual(Array.from(host(shared.activationGradient(0)).subarray(0, 96)), Array.from(host(own.activationGradient(0)).subarray(0, 96)));
    const { memoryPlan } = await import('../src/network/memory-plan.js');
    const plan = memoryPlan(shared);
    assert.ok(plan.gradientSlots < plan.gradients, `buffers really shared: ${JSON.stringify(plan)}`);
    assert.throws(() => shared.activationGradient(3), /not kept: this network shares gradient buffers/);
    assert.notDeepEqual(Array.from(host(own.activationGradient(3)).subarray(0, 8)), new Array(8).fill(0));
  });
});

describe('graph networks: the Jacobians of joins, from their forward alone', () => {
  it('Add: the identity for each full input, a sum over positions for a per-channel one; Concat: a selection', async () => {
    const { joinJacobians } = await import('../src/check/join-jacobian.js');
    const { Concat } = await import('../src/layers/concat.js');
    const add = new Add(), cat = new Concat();
    add.buildJoin([[2, 1, 2], [1, 1, 2]]);
    const [ja, jb] = joinJacobians(add, [Float64Array.from([1, 2, 3, 4]), Float64Array.from([5, 6])]);
    assertClose(ja.data, [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 1e-9, 'Add, full input');
    assertClose(jb.data, [1, 0, 0, 1, 1, 0, 0, 1], 1e-9, 'Add, per-channel input');
    cat.buildJoin([[1, 2, 1], [1, 2, 2]]);
    const [j1, j2] = joinJacobians(cat, [Float64Array.from([1, 2]), Float64Array.from([3, 4, 5, 6])]);
    assertClose(j1.data, [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], 1e-9, 'Concat, first input');
    assert.deepEqual([j2.rows, j2.cols], [6, 4]);
    assertClose(j2.data, [0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1], 1e-9, 'Concat, second input');
  });
});

describe('presets for 32×32×3', () => {
  it('resnet20 (272,474 parameters, a graph) and mobilenet (depthwise-separable, 37,162 parameters) build and run', async () => {
    const { preset } = await import('../src/models/presets.js');
    const resnet = Sequential.fromConfig(preset('resnet20'));
    assert.equal(resnet.parameterCount, 272_474);
    assert.equal(resnet.isChain, false);
    const mobile = Sequential.fromConfig(preset('mobilenet'), { seed: 2 });
    assert.equal(mobile.parameterCount, 37_162);
    assert.equal(mobile.layers[3].config().groups, 16); // the first depthwise convolution
    const { classes } = mobile.predict(Float32Array.from(randomFloats(2 * 3072, 3)), 2);
    assert.equal(classes.length, 2);
  });
});
