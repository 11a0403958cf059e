/**
 * Training on the WebGPU engine (SwiftShader, the CPU Vulkan driver of Debian's chromium, through the
 * npm package `webgpu`): a graph network with a residual Add, a Concat, batch norm, dropout and
 * max-pool ties trains on the GPU and follows the reference engine's loss curve; every optimizer's
 * step matches; two runs give the same bits; a checkpoint resumes exactly; the synchronous calls that
 * would read GPU memory refuse in one line. Negative tests show each comparison can fail.
 *
 * Without `webgpu` or SwiftShader the tests are skipped with the reason, except under CI (CI set),
 * where they run and fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { createDataset, type Dataset } from '../src/data/dataset.js';
import { type Engine, referenceEngine } from '../src/engine/engine.js';
import { type ArchitectureConfig, Sequential } from '../src/network/sequential.js';
import { preset } from '../src/models/presets.js';
import { createEngine } from '../src/node/engine.js';
import { evaluate, evaluateAsync } from '../src/train/evaluate.js';
import type { OptimizerConfig } from '../src/train/optimizers/index.js';
import { type FitOptions, Trainer } from '../src/train/trainer.js';
import { patches } from './synthetic.js';

const opened = await createEngine({ kind: 'webgpu', gpuAdapter: 'swiftshader' }).catch((e: Error) => e);
const skip: string | false = opened instanceof Error && !process.env.CI
  ? `WebGPU on SwiftShader is unavailable here: ${opened.message}; under CI this test runs and fails instead`
  : false;

/** Residual block with batch norm, a concatenation with the stem, max-pool (ReLU zeros make ties), dropout. */
const GRAPH: ArchitectureConfig = { inputShape: [8, 8, 1], layers: [
  { name: 'stem', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { name: 'stem.relu', type: 'ReLU' },
  { name: 'conv', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1, bias: false }, { name: 'bn', type: 'BatchNorm2d' },
  { name: 'add', type: 'Add', inputs: ['bn', 'stem.relu'] }, { name: 'relu', type: 'ReLU' },
  { name: 'cat', type: 'Concat', inputs: ['relu', 'stem.relu'] }, { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' },
  { type: 'Dropout', p: 0.25 }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
] };

/**
 * The tolerance of the loss curve: the GPU computes in float32 throughout, the reference accumulates
 * each sum in float64 and rounds once, so each step's numbers differ by a few float32 roundings
 * (~1e-7 relative); over the 8 steps here it stays far below 1e-4 (measured on SwiftShader: losses
 * 4e-7 with SGD, 3e-6 with Adam; weights 6e-7 and 1e-6). The negative test shows a learning rate 10%
 * off moves the curve by far more than this.
 */
const LOSS_TOL = 1e-4;
const WEIGHT_TOL = 1e-4;

const data: Dataset = patches(24, 3);
const SGD: OptimizerConfig = { kind: 'sgd', lr: 0.05, momentum: 0.9 };
const options = (optimizer: OptimizerConfig = SGD): FitOptions => ({ epochs: 2, batchSize: 6, optimizer });

let gpu: Engine;

before(() => {
  if (skip) return;
  if (opened instanceof Error) throw opened;
  gpu = opened;
});

after(async () => {
  if (!skip && !(opened instanceof Error)) await gpu.dispose();
});

function net(engine: Engine, seed = 7, config = GRAPH): Sequential {
  return Sequential.fromConfig(config, { seed, arena: engine.arena, kernels: engine.kernels });
}

async function train(engine: Engine, o: FitOptions = options(), seed = 7) {
  const n = net(engine, seed);
  const history = await new Trainer(n, o).fit(data);
  return { net: n, losses: history.stepLosses, w: n.getWeights(), buffers: n.getBuffers() };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(1, Math.abs(b[i])));
  return m;
}

describe('training on the WebGPU engine (SwiftShader)', { skip }, () => {
  let reference: Awaited<ReturnType<typeof train>>;
  let first: Awaited<ReturnType<typeof train>>;

  before(async () => {
    if (skip) return;
    reference = await train(referenceEngine());
    first = await train(gpu);
  });

  it('is the engine it says, on the adapter it names', () => {
    assert.equal(gpu.name, 'webgpu');
    assert.match(gpu.adapter ?? '', /swiftshader/i);
    assert.equal(first.net.device?.adapter, gpu.adapter);
  });

  it('follows the reference loss curve, weights and batch-norm running statistics', () => {
    assert.equal(first.losses.length, 8);
    assert.ok(maxDiff(first.losses, reference.losses) < LOSS_TOL, `losses ${first.losses} vs ${reference.losses}`);
    assert.ok(maxDiff(first.w, reference.w) < WEIGHT_TOL, `weights differ by ${maxDiff(first.w, reference.w)}`);
    assert.ok(maxDiff(first.buffers, reference.buffers) < WEIGHT_TOL, 'running statistics differ');
    assert.ok(first.losses.at(-1)! < first.losses[0], 'the loss went down');
  });

  it('negative: a learning rate 10% off leaves the reference curve by more than the tolerance', async () => {
    const off = await train(gpu, options({ ...SGD, lr: 0.055 }));
    assert.ok(maxDiff(off.losses, reference.losses) > LOSS_TOL * 10, `only ${maxDiff(off.losses, reference.losses)}`);
  });

  it('gives bitwise the same weights on a second run; another seed does not', async () => {
    const second = await train(gpu);
    assert.deepEqual(second.losses, first.losses);
    assert.deepEqual(second.w, first.w);
    assert.deepEqual(second.buffers, first.buffers);
    const other = await train(gpu, options(), 8);
    assert.notDeepEqual(other.w, first.w);
  });

  it('every optimizer steps as on the reference engine', async () => {
    const configs: OptimizerConfig[] = [{ kind: 'adam', lr: 0.01, weightDecay: 0.01, amsgrad: true }, { kind: 'adamw', lr: 0.01 },
      { kind: 'rmsprop', lr: 0.01, momentum: 0.5, centered: true }, { kind: 'adagrad', lr: 0.05, initialAccumulatorValue: 0.1 },
      { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 }];
    for (const optimizer of configs) {
      const o: FitOptions = { epochs: 1, batchSize: 12, optimizer, maxSteps: 2 };
      const [a, b] = [await train(referenceEngine(), o), await train(gpu, o)];
      assert.ok(maxDiff(b.w, a.w) < WEIGHT_TOL, `${optimizer.kind}: weights differ by ${maxDiff(b.w, a.w)}`);
      assert.ok(maxDiff(b.losses, a.losses) < LOSS_TOL, `${optimizer.kind}: losses differ`);
    }
  });

  it('micro-batches and gradient clipping run on the device as on the reference engine', async () => {
    const o: FitOptions = { epochs: 1, batchSize: 12, microBatch: 5, clipNorm: 0.05, optimizer: SGD };
    const [a, b] = [await train(referenceEngine(), o), await train(gpu, o)];
    assert.ok(maxDiff(b.w, a.w) < WEIGHT_TOL, `weights differ by ${maxDiff(b.w, a.w)}`);
    const unclipped = await train(gpu, { ...o, clipNorm: undefined });
    assert.ok(maxDiff(unclipped.w, a.w) > WEIGHT_TOL * 10, 'negative: without clipping the weights differ');
  });

  it('resumes exactly from a checkpoint; without the optimizer state it would not', async () => {
    const checkpoints: Uint8Array[] = [];
    const straight = await train(gpu, options());
    const n1 = net(gpu);
    await new Trainer(n1, { ...options(), epochs: 1, checkpointEvery: { epochs: 1 }, onCheckpoint: (b) => checkpoints.push(b) }).fit(data);
    assert.equal(checkpoints.length, 1);
    const n2 = net(gpu, 99);
    const resumed = new Trainer(n2, options());
    resumed.restore(checkpoints[0]);
    const history = await resumed.fit(data);
    assert.deepEqual(n2.getWeights(), straight.w);
    assert.deepEqual(history.stepLosses, straight.losses);

    const n3 = net(gpu, 99); // negative: the weights and generator, but fresh momentum
    const noState = new Trainer(n3, options());
    noState.restore(checkpoints[0]);
    noState.optimizer = new Trainer(n3, options()).optimizer;
    await noState.fit(data);
    assert.notDeepEqual(n3.getWeights(), straight.w);
  });

  it('a mobilenet (depthwise-separable preset) trains a few steps following the reference loss', async () => {
    const rng = new Rng(4), count = 8;
    const colour = createDataset({ x: Float32Array.from({ length: count * 8 * 8 * 3 }, () => rng.normal()),
      labels: Int32Array.from({ length: count }, () => rng.int(3)), shape: [8, 8, 3], classes: 3 }, 'colour noise');
    const o: FitOptions = { epochs: 1, batchSize: 3, optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 } };
    const run = async (engine: Engine) => {
      const n = net(engine, 3, preset('mobilenet', [8, 8, 3], 3));
      const history = await new Trainer(n, o).fit(colour);
      return { losses: history.stepLosses, w: n.getWeights() };
    };
    const [a, b] = [await run(referenceEngine()), await run(gpu)];
    assert.equal(b.losses.length, 3);
    assert.ok(maxDiff(b.losses, a.losses) < LOSS_TOL, `losses ${b.losses} vs ${a.losses}`);
    assert.ok(maxDiff(b.w, a.w) < WEIGHT_TOL, `weights differ by ${maxDiff(b.w, a.w)}`);
    assert.ok(maxDiff(b.w, net(referenceEngine(), 3, preset('mobilenet', [8, 8, 3], 3)).getWeights()) > WEIGHT_TOL * 10,
      'negative: the weights moved away from their initial values by far more than the tolerance');
  });

  it('the quadratic loss: risk and gradient as on the reference engine (batch 1 and 3); too few values refused in one line', async () => {
    const regression: ArchitectureConfig = { inputShape: [8, 8, 1], layers: [{ type: 'Conv2d', outChannels: 2, kernelSize: 3 },
      { type: 'ReLU' }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }] };
    for (const N of [1, 3]) {
      const onGpu = net(gpu, 5, regression), onCpu = net(referenceEngine(), 5, regression);
      const x = data.x.subarray(0, N * 64), values = Float32Array.from({ length: N * 3 }, (_, i) => (i % 5) - 2);
      const a = await onGpu.gradientAsync(x, { values }, N, 'quadratic'), b = onCpu.gradient(x, { values }, N, 'quadratic');
      assert.ok(Math.abs(a - b) < LOSS_TOL * (1 + b), `risk ${a} vs ${b}`);
      assert.ok(Math.abs((await onGpu.lossAsync(x, { values }, N, 'quadratic')) - b) < LOSS_TOL * (1 + b));
      const g = await gpu.kernels.device!.read(onGpu.gTensor);
      assert.ok(maxDiff(g, onCpu.g) < WEIGHT_TOL, `gradients differ by ${maxDiff(g, onCpu.g)}`);
      assert.ok(onCpu.g.some((v) => Math.abs(v) > WEIGHT_TOL * 10), 'negative: the gradient is not all near zero');
    }
    await assert.rejects(net(gpu, 5, regression).lossAsync(data.x.subarray(0, 128), { values: new Float32Array(5) }, 2, 'quadratic'),
      /the quadratic loss needs 6 target values \(2 samples × 3 outputs\), got 5/);
  });

  it('refuses what it cannot run when the network is built or a batch is reserved, naming the node; not what it can', () => {
    assert.throws(() => net(gpu, 1, { inputShape: [4], layers: [{ type: 'Dense', outFeatures: 70000 }] }),
      /^ShapeError: layer 0 \(Dense\): the webgpu engine cannot run it: 70000 output channels are more than the 65535/);
    net(gpu, 1, { inputShape: [300, 300, 1], layers: [{ type: 'Flatten' }, { type: 'Dense', outFeatures: 2 }] }); // 90,000 values in a row: fine
    net(referenceEngine(), 1, { inputShape: [4], layers: [{ type: 'Dense', outFeatures: 70000 }] }); // the CPU engines have no such limit
    const conv = net(gpu, 1, { inputShape: [64, 64, 1], layers: [{ name: 'c1', type: 'Conv2d', outChannels: 1, kernelSize: 3, padding: 1 }] });
    conv.reserve(500);
    assert.throws(() => conv.reserve(600), /node "c1" \(Conv2d\) with input input \[64, 64, 1\]: the webgpu engine cannot run it: its matrix product for a batch of 600 has 2457600 rows, more than the 2097120/);
  });

  it('evaluates and predicts through the async calls as the reference engine does', async () => {
    const onGpu = net(gpu), onCpu = net(referenceEngine());
    const [a, b] = [await evaluateAsync(onGpu, data), evaluate(onCpu, data)];
    assert.ok(Math.abs(a.loss - b.loss) < LOSS_TOL);
    assert.deepEqual(a.confusion, b.confusion);
    const x = data.x.subarray(0, 2 * 64);
    const [p, q] = [await onGpu.predictAsync(x, 2), onCpu.predict(x, 2)];
    assert.ok(maxDiff(p.p, q.p) < LOSS_TOL);
    assert.ok(Math.abs(await onGpu.gradientAsync(x, { labels: data.labels.subarray(0, 2) }, 2) -
      onCpu.gradient(x, { labels: data.labels.subarray(0, 2) }, 2)) < LOSS_TOL);
  });

  it('refuses in one line what would read GPU memory synchronously, and what it cannot compute', async () => {
    const n = net(gpu), x = data.x.subarray(0, 64), labels = data.labels.subarray(0, 1);
    assert.throws(() => n.gradient(x, { labels }, 1), /gradient\(\) cannot wait for the webgpu engine's device: use await net\.gradientAsync\(\)/);
    assert.throws(() => n.predict(x, 1), /use await net\.predictAsync\(\)/);
    assert.throws(() => n.g, /g lives on the webgpu engine's device/);
    await new Trainer(n, { ...options(), epochs: 1, maxSteps: 1 }).fit(data);
    const before = n.getWeights(); // fit brings the host copies up to date at its end
    await n.gradientAsync(x, { labels }, 1); // batch norm's running statistics change on the device
    assert.throws(() => n.buffers, /await net\.download\(\) first/);
    await n.download();
    assert.deepEqual(n.getWeights(), before);
  });
});
