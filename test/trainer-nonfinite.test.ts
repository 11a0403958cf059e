/**
 * Non-finite numbers in training, on both engines: a NaN in the data, weights that overflow, a NaN
 * validation loss or optimizer state stop training with a clear message and put back the last finite
 * state; a diverging loss draws a warning; nothing non-finite is ever checkpointed or chosen as best.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Kernels } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { Sequential } from '../src/network/sequential.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import type { WarningEvent } from '../src/train/events.js';
import { Trainer, type FitOptions } from '../src/train/trainer.js';
import { patches, smallCnn } from './synthetic.js';
import type { Arena } from '../src/core/arena.js';
import { host } from './helpers.js';

let wasm: WasmEngine;

before(async () => {
  wasm = await createWasmEngine({ threads: 2 });
});

after(async () => {
  await wasm.dispose();
});

interface Engine { name: string; arena?: Arena; kernels?: Kernels }
const engines = (): Engine[] => [{ name: 'reference' }, { name: 'wasm', arena: wasm.arena, kernels: wasm.kernels }];

function net(engine: Engine, seed = 8, kernels = engine.kernels): Sequential {
  return Sequential.fromConfig({ inputShape: [8, 8, 1], layers: smallCnn }, { seed, arena: engine.arena, kernels });
}

const allFinite = (a: ArrayLike<number>) => Array.prototype.every.call(a, Number.isFinite);

/** One NaN pixel in image 25 (of 60, batches of 10: the step depends on the shuffle). */
function nanData() {
  const data = patches(60, 12);
  data.x[25 * 64 + 3] = Number.NaN;
  return data;
}

/** ReLU that turns NaN into 0, as the WebAssembly engine's did: the NaN vanishes from the loss. */
function nanHidingKernels(base: Kernels): Kernels {
  const hide = (y: Float32Array | Float64Array, n: number) => {
    for (let i = 0; i < n; i++) if (Number.isNaN(y[i])) y[i] = 0;
  };
  const overrides: Partial<Kernels> = {
    activationForward(kind, x, y, n, alpha) {
      base.activationForward(kind, x, y, n, alpha);
      if (kind === 'relu') hide(host(y), n);
    },
    conv2dForward(x, w, b, y, g, relu) {
      base.conv2dForward(x, w, b, y, g, relu);
      if (relu) hide(host(relu), g.N * g.OH * g.OW * g.O);
    },
    denseForward(x, w, b, y, N, I, O, relu) {
      base.denseForward(x, w, b, y, N, I, O, relu);
      if (relu) hide(host(relu), N * O);
    },
  };
  // A Proxy, since the engine's kernels are a class whose methods a spread would not copy.
  return new Proxy(base, {
    get(target, key) {
      if (key in overrides) return overrides[key as keyof Kernels];
      const v = Reflect.get(target, key);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

for (const engine of [{ name: 'reference' }, { name: 'wasm' }]) {
  describe(`non-finite numbers in training (${engine.name} engine)`, () => {
    const e = () => engines().find((x) => x.name === engine.name)!;

    it('a NaN pixel stops training at its step with a clear message; the epoch\'s starting weights come back', async () => {
      const model = net(e());
      const initial = model.getWeights();
      const h = await new Trainer(model, { epochs: 5, batchSize: 10 }).fit(nanData());
      assert.equal(h.stopReason, 'non_finite');
      assert.match(h.stopMessage!, /^the loss became NaN at step \d+ \(epoch 1\); training stopped and the weights of step 0 \(the start of epoch 1\) were restored \(a NaN or infinity in the data, or too large a learning rate\?\)$/);
      assert.deepEqual(model.getWeights(), initial);
      assert.ok(allFinite(model.buffers));
      assert.equal(h.events.at(-1)?.type, 'end');
    });

    it('a NaN that a ReLU hides from the loss is still caught, in the weights after the update', async () => {
      const kernels = nanHidingKernels(e().kernels ?? ref);
      // The loss alone would not see it: finite risk, NaN gradient.
      const probe = net(e(), 8, kernels), data = nanData();
      const x = probe.inputBuffer(1);
      x.set(data.x.subarray(25 * 64, 26 * 64));
      const risk = probe.gradient(x, { labels: data.labels.subarray(25, 26) }, 1);
      assert.ok(Number.isFinite(risk) && !allFinite(probe.g), `risk ${risk}`);
      const model = net(e(), 8, kernels);
      const initial = model.getWeights();
      const h = await new Trainer(model, { epochs: 5, batchSize: 10 }).fit(data);
      assert.equal(h.stopReason, 'non_finite');
      assert.match(h.stopMessage!, /^the weights became NaN \(w\[\d+\]\) at step \d+ \(epoch 1\); training stopped and the weights of step 0/);
      assert.deepEqual(model.getWeights(), initial);
    });

    it('weights that overflow stop training; the last checkpoint is what comes back, and no checkpoint holds ∞', async () => {
      const model = net(e());
      const saved: Uint8Array[] = [];
      const trainer = new Trainer(model, {
        epochs: 3, batchSize: 10, optimizer: { kind: 'sgd', lr: 0.05 },
        checkpointEvery: { steps: 4 }, onCheckpoint: (bytes) => saved.push(bytes),
      });
      trainer.on('step', (s) => {
        if (s.step === 9) trainer.setLearningRate(1e300); // the next update overflows float32
      });
      const h = await trainer.fit(patches(60, 12));
      assert.equal(h.stopReason, 'non_finite');
      // Step 8's checkpoint is later than the start of epoch 2 (step 6), so it is what comes back.
      assert.match(h.stopMessage!, /^the weights became -?Infinity \(w\[\d+\]\) at step 10 \(epoch 2\); training stopped and the weights of step 8 \(the last checkpoint\) were restored/);
      assert.equal(saved.length, 2);
      const last = decodeCheckpoint(saved[1]);
      assert.equal(last.position?.step, 8);
      assert.deepEqual(model.getWeights(), Float32Array.from(last.w));
      assert.equal(h.stepLosses.length, 9, 'the failed step is not counted');
    });

    it('optimizer state gone infinite is never checkpointed: the run stops instead', async () => {
      const model = net(e());
      const saved: Uint8Array[] = [];
      const trainer = new Trainer(model, { epochs: 2, batchSize: 10, checkpointEvery: { epochs: 1 }, onCheckpoint: (b) => saved.push(b) });
      trainer.on('step', (s) => {
        if (s.step === 4) { // Adam's v overflows (g² beyond float32); w stays finite, since m/√v = 0
          const state = trainer.optimizer.state();
          state.buffers.exp_avg_sq[5] = Number.POSITIVE_INFINITY;
          trainer.optimizer.loadState(state);
        }
      });
      const h = await trainer.fit(patches(60, 12));
      assert.equal(h.stopReason, 'non_finite');
      assert.match(h.stopMessage!, /^cannot write the checkpoint: tensor "optimizer\.exp_avg_sq" holds Infinity at index 5 .*; training stopped and the weights of step 0 \(the start of epoch 1\) were restored/);
      assert.equal(saved.length, 0);
      assert.ok(allFinite(model.w));
    });

    it('an epoch whose validation loss is NaN is never the best: the run stops and the best epoch\'s weights come back', async () => {
      const model = net(e());
      let atEpoch2: Float32Array | null = null;
      const trainer = new Trainer(model, {
        epochs: 6, batchSize: 10, earlyStopping: { monitor: 'val_error', patience: 5 },
        // Epoch 3 "scores" a perfect error with a NaN loss, as a diverged network's argmax can.
        validate: (_m, epoch) => (epoch === 3 ? { loss: Number.NaN, error: 0 } : { loss: 1 / epoch, error: 0.5 / epoch }),
      });
      trainer.on('epoch', (ep) => {
        if (ep.epoch === 2) atEpoch2 = model.getWeights();
      });
      const h = await trainer.fit(patches(60, 12));
      assert.equal(h.stopReason, 'non_finite');
      assert.match(h.stopMessage!, /^the validation loss became NaN at epoch 3; training stopped and the best weights \(epoch 2\) were restored/);
      assert.equal(trainer.earlyStopping!.bestEpoch, 2);
      assert.equal(trainer.earlyStopping!.best, 0.25);
      assert.deepEqual(model.getWeights(), atEpoch2);
      assert.equal(h.epochs.length, 3);
    });

    it('a diverging loss draws one warning and training goes on; a healthy run draws none', async () => {
      const trainer = new Trainer(net(e()), { epochs: 3, batchSize: 10, optimizer: { kind: 'adam', lr: 1e3 } });
      const h = await trainer.fit(patches(60, 12));
      const warnings = h.events.filter((ev): ev is WarningEvent => ev.type === 'warning');
      assert.equal(h.stopReason, 'epochs', h.stopMessage);
      assert.equal(warnings.length, 1, JSON.stringify(h.epochs.map((ep) => ep.loss)));
      assert.match(warnings[0].message, /^training is diverging: the loss of epoch \d, \S+, is more than 10× the first step's \S+ \(try a smaller learning rate\)$/);
      const healthy = await new Trainer(net(e()), { epochs: 3, batchSize: 10, optimizer: { kind: 'adam', lr: 1e-2 } }).fit(patches(60, 12));
      assert.deepEqual(healthy.events.filter((ev) => ev.type === 'warning'), []);
    });

    it('a network whose weights already hold a NaN is refused before the first step', async () => {
      const model = net(e());
      model.w[3] = Number.NaN;
      await assert.rejects(new Trainer(model, { epochs: 1 } as FitOptions).fit(patches(20, 1)),
        /cannot train: the network's weights hold NaN at index 3 of w/);
    });
  });
}
