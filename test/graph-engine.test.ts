/**
 * Graph networks on the WebAssembly engine: the join kernels (Add, Concat, Identity, the fan-out
 * sum) give bitwise the reference's numbers on 1, 2 and 3 threads, awkward values included, and a
 * graph network with batch norm and dropout trains to bitwise the same weights on every thread count.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';
import { fit } from '../src/train/trainer.js';
import { assertClose } from './helpers.js';
import { patches } from './synthetic.js';
import { THREADS, threadEngines } from './thread-engines.js';

const engines = threadEngines();

/** Seeded values with NaN, ±Inf, zeros and ties sprinkled in. */
function values(alloc: (n: number) => Float32Array, n: number, seed: number): Float32Array {
  const rng = new Rng(seed), a = alloc(n), awkward = [NaN, Infinity, -Infinity, 0, -0, 1, 1];
  for (let i = 0; i < n; i++) a[i] = i % 97 === 5 ? awkward[(i / 97) % awkward.length | 0] : rng.normal();
  return a;
}

/** Runs the join kernels on one backend; returns every output. */
function joins(k: Kernels, alloc: (n: number) => Float32Array): Float32Array[] {
  const N = 3, R = 37, C = 13, n = N * R * C;
  const a = values(alloc, n, 1), b = values(alloc, n, 2), bc = values(alloc, N * C, 3);
  const sum = alloc(n), bsum = alloc(n), gb = alloc(N * C), wide = alloc(N * R * (C + 5)), part = alloc(N * R * 5), copy = alloc(n);
  k.addTensors(a, b, sum, n);
  k.addBroadcast(a, bc, bsum, N, R, C);
  k.sumBroadcast(b, gb, N, R, C);
  k.copyBlock(a, wide, N * R, C, C, 0, C + 5, 5);             // Concat forward: channels 5..17
  k.copyBlock(values(alloc, N * R * 5, 4), wide, N * R, 5, 5, 0, C + 5, 0);
  k.copyBlock(wide, part, N * R, 5, C + 5, 3, 5, 0);          // Concat backward: channels 3..7
  k.copyBlock(b, copy, 1, n, n, 0, n, 0);                     // Identity
  k.addTensors(sum, b, sum, n);                               // in place, as the fan-out sum does
  return [sum, bsum, gb, wide, part, copy];
}

const bits = (a: Float32Array) => new Uint32Array(Float32Array.from(a).buffer);

describe('join kernels on the WebAssembly engine', () => {
  it('give bitwise the reference\'s numbers on 1, 2 and 3 threads (NaN, ±Inf, ±0 included)', () => {
    const expected = joins(referenceKernels, (n) => new Float32Array(n)).map(bits);
    for (const engine of engines) {
      const mark = engine.arena.mark();
      const split = engine.kernels.splitCalls;
      const got = joins(engine.kernels, (n) => engine.arena.floats(n)).map(bits);
      if (engine.threads > 1) assert.ok(engine.kernels.splitCalls - split >= 5, `${engine.threads} threads did not split`);
      got.forEach((g, i) => assert.deepEqual(g, expected[i], `output ${i} on ${engine.threads} threads`));
      engine.arena.release(mark);
    }
  });
});

/** A small residual network with a concatenation, batch norm and dropout. */
const graph: LayerConfig[] = [
  { name: 'stem', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { name: 'stem.relu', type: 'ReLU' },
  { name: 'b.conv1', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1, bias: false }, { name: 'b.bn1', type: 'BatchNorm2d' },
  { name: 'b.relu1', type: 'ReLU' }, { name: 'b.drop', type: 'Dropout', p: 0.2 },
  { name: 'b.conv2', type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1, bias: false }, { name: 'b.bn2', type: 'BatchNorm2d' },
  { name: 'b.add', type: 'Add', inputs: ['b.bn2', 'stem.relu'] }, { name: 'b.relu2', type: 'ReLU' },
  { name: 'cat', type: 'Concat', inputs: ['b.relu2', 'stem.relu'] }, { type: 'MaxPool2d', kernelSize: 2 },
  { type: 'Flatten' }, { type: 'Dropout', p: 0.3 }, { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
];

describe('a graph network on the WebAssembly engine', () => {
  it('computes the reference engine\'s risk and gradient', () => {
    const data = patches(8, 5, 4, 8), engine = engines[1];
    const ref = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: graph }, { seed: 4 });
    const fast = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: graph }, { seed: 4, arena: engine.arena, kernels: engine.kernels });
    const target = { labels: data.labels.subarray(0, 8) };
    const r1 = ref.gradient(data.x.subarray(0, 8 * 64), target, 8);
    const r2 = fast.gradient(data.x.subarray(0, 8 * 64), target, 8);
    assertClose([r2], [r1], 1e-5, 'risk');
    assertClose(fast.g, ref.g, 2e-4, 'gradient', 1e-2);
  });

  it('with batch norm and dropout, trains to bitwise the same weights on 1, 2 and 3 threads', async () => {
    const data = patches(64, 21, 4, 8);
    const runs = [];
    for (const engine of engines) {
      const net = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: graph }, { seed: 12, arena: engine.arena, kernels: engine.kernels });
      const split = engine.kernels.splitCalls;
      const history = await fit(net, data, { epochs: 2, batchSize: 16, optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 } });
      if (engine.threads > 1) assert.ok(engine.kernels.splitCalls - split > 50, `${engine.threads} threads split too few calls`);
      runs.push({ w: bits(net.getWeights()), buffers: bits(net.getBuffers()), losses: history.stepLosses });
    }
    for (let t = 1; t < runs.length; t++) {
      assert.deepEqual(runs[t].losses, runs[0].losses, `loss curve on ${THREADS[t]} threads`);
      assert.deepEqual(runs[t].w, runs[0].w, `w on ${THREADS[t]} threads`);
      assert.deepEqual(runs[t].buffers, runs[0].buffers, `running statistics on ${THREADS[t]} threads`);
    }
  });
});
