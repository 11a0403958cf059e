/**
 * The optimizer's measured step (stepMeasured): Σ (w_new − w_old)² summed by the update itself, in
 * the one order of reference/step-squares.ts, bitwise the same on the reference engine and on the
 * WebAssembly engine on 1, 2 and 3 threads, for every optimizer; the update it does is the plain step's.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HeapArena } from '../src/core/arena.js';
import { Rng } from '../src/core/rng.js';
import { hostFloats } from '../src/core/tensor.js';
import { StepBlock } from '../src/engine/kernel-params.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import type { Kernels } from '../src/kernels/kernels.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import { STEP_BLOCK, StepSquares } from '../src/kernels/reference/step-squares.js';
import type { Arena } from '../src/core/arena.js';
import type { Dataset } from '../src/data/dataset.js';
import { Sequential } from '../src/network/sequential.js';
import { Trainer } from '../src/train/trainer.js';
import { createOptimizer, type OptimizerConfig } from '../src/train/optimizers/index.js';
import { threadEngines } from './thread-engines.js';

const CONFIGS: OptimizerConfig[] = [
  { kind: 'sgd', lr: 0.1 },
  { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 1e-3 },
  { kind: 'sgd', lr: 0.05, momentum: 0.8, dampening: 0.3 },
  { kind: 'adam', lr: 0.01, weightDecay: 1e-2 },
  { kind: 'adamw', lr: 0.01, amsgrad: true },
  { kind: 'rmsprop', lr: 0.01, momentum: 0.5, centered: true },
  { kind: 'adagrad', lr: 0.1, lrDecay: 0.01 },
];
/** Around the block size, odd and even, one element, several blocks. */
const SIZES = [1, 2, 1023, 1024, 1025, 2051, 5000];

/** Values of many magnitudes, so that the order of a sum changes its rounding. */
function spread(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.normal() * 10 ** (rng.int(9) - 4));
}

/** The documented order, written out on its own: per block of StepBlock.Size, even offsets + odd offsets; blocks in order. */
function specSquares(before: ArrayLike<number>, after: ArrayLike<number>): number {
  let total = 0;
  for (let start = 0; start < before.length; start += StepBlock.Size) {
    let even = 0, odd = 0;
    for (let i = start; i < Math.min(start + StepBlock.Size, before.length); i++) {
      const d = after[i] - before[i];
      if ((i - start) % 2 === 0) even += d * d;
      else odd += d * d;
    }
    total += even + odd;
  }
  return total;
}

/** One optimizer on `arena`/`kernels`, w and g from the seeds; runs `steps` measured steps, returns each sum and the final w. */
function run(config: OptimizerConfig, n: number, arena: Arena, kernels: Kernels, measured: boolean, steps = 3,
  poison = false): { sums: number[]; w: Float32Array; spec: number[] } {
  const w = hostFloats(arena.floats(n), 'test'), g = hostFloats(arena.floats(n), 'test');
  w.set(spread(n, 1));
  const opt = createOptimizer(config, n, arena, kernels);
  const sums: number[] = [], spec: number[] = [];
  for (let s = 0; s < steps; s++) {
    g.set(spread(n, 10 + s));
    if (poison) g[n - 1] = NaN;
    const before = Float32Array.from(w);
    if (measured) sums.push(opt.stepMeasured(w, g));
    else opt.step(w, g);
    spec.push(specSquares(before, w));
  }
  return { sums, w: Float32Array.from(w), spec };
}

const engines: WasmEngine[] = threadEngines();

describe('the measured optimizer step', () => {
  it('has one block size on both sides (the kernels and the reference)', () => {
    assert.equal(STEP_BLOCK, StepBlock.Size);
  });

  it('sums in the documented order, which a plain running sum does not match bit for bit', () => {
    const before = spread(5000, 3), after = spread(5000, 4);
    const squares = new StepSquares(5000);
    let naive = 0;
    for (let i = 0; i < 5000; i++) {
      squares.add(i, after[i] - before[i]);
      naive += (after[i] - before[i]) ** 2;
    }
    assert.equal(squares.total, specSquares(before, after));
    // The negative: the bitwise checks below can fail, since the order shows in the last bits.
    assert.notEqual(naive, squares.total);
  });

  for (const config of CONFIGS) {
    it(`${config.kind} ${JSON.stringify(config)}: the reference's sum is the documented one, and w is the plain step's`, () => {
      for (const n of SIZES) {
        const measured = run(config, n, new HeapArena('float32'), referenceKernels, true);
        const plain = run(config, n, new HeapArena('float32'), referenceKernels, false);
        assert.deepEqual(measured.sums, measured.spec, `${config.kind} n=${n}`);
        assert.deepEqual(measured.w, plain.w, `${config.kind} n=${n}: measuring changed the update`);
      }
    });

    it(`${config.kind}: the WebAssembly engine on 1, 2 and 3 threads gives bitwise the reference's sums and w`, () => {
      for (const n of SIZES) {
        const ref = run(config, n, new HeapArena('float32'), referenceKernels, true);
        for (const e of engines) {
          const got = run(config, n, e.arena, e.kernels, true);
          assert.deepEqual(got.sums, ref.sums, `${config.kind} n=${n}, ${e.threads} threads`);
          assert.deepEqual(got.w, ref.w, `${config.kind} n=${n}, ${e.threads} threads`);
        }
      }
    });
  }

  it('is NaN when a gradient is NaN (the trainer\'s finite check), on every engine', () => {
    for (const config of CONFIGS) {
      for (const [arena, kernels] of [[new HeapArena('float32'), referenceKernels], ...engines.map((e) => [e.arena, e.kernels])] as [Arena, Kernels][]) {
        const { sums } = run(config, 1500, arena, kernels, true, 1, true);
        assert.ok(Number.isNaN(sums[0]), `${config.kind} on ${kernels.name}: ${sums[0]}`);
      }
    }
  });

  it('gives the trainer\'s step size, ||Δw|| of the step, the same on every thread count', async () => {
    const layers: LayerConfig[] = [{ type: 'Flatten' }, { type: 'Dense', outFeatures: 5 }, { type: 'ReLU' }, { type: 'Dense', outFeatures: 3 },
      { type: 'Softmax' }];
    const rng = new Rng(5);
    const data: Dataset = { x: Float32Array.from({ length: 40 * 12 }, () => rng.normal()),
      labels: Int32Array.from({ length: 40 }, (_, i) => i % 3), count: 40, shape: [2, 2, 3], classes: 3 };
    const sizes: number[][] = [];
    for (const e of [null, ...engines]) {
      const net = Sequential.fromConfig({ inputShape: [2, 2, 3], layers },
        e ? { seed: 3, arena: e.arena, kernels: e.kernels } : { seed: 3 });
      const trainer = new Trainer(net, { epochs: 1, batchSize: 8, optimizer: { kind: 'adam', lr: 0.05 }, maxSteps: 4 });
      const steps: number[] = [];
      let before = net.getWeights(), last = 0;
      trainer.on('step', (ev) => {
        steps.push(ev.stepSize);
        last = Math.sqrt(specSquares(before, net.w));
        assert.equal(ev.stepSize, last);
        before = net.getWeights();
      });
      await trainer.fit(data);
      assert.equal(steps.length, 4);
      assert.ok(steps.every((s) => s > 0));
      sizes.push(steps);
    }
    // The engines' gradients differ in their last bits (sums in other orders); the threads of one engine do not.
    for (const s of sizes.slice(2)) assert.deepEqual(s, sizes[1]);
  });
});
