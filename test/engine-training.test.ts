/** Whole-network training on the fast engine follows the reference engine's loss curve. */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';
import { Sequential } from '../src/network/sequential.js';
import { fit } from '../src/train/trainer.js';
import { patches, smallCnn } from './synthetic.js';

let engine: WasmEngine;
before(async () => (engine = await createWasmEngine({ threads: 2 })));
after(() => engine.dispose());

it('a short run on the WebAssembly engine matches the reference engine\'s loss curve', async () => {
  const data = patches(200, 31);
  const options = { epochs: 3, batchSize: 16, optimizer: { kind: 'adam' as const, lr: 0.01 }, augment: { shift: 1 }, validation: patches(60, 32) };
  const reference = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: smallCnn }, { seed: 4 });
  const fast = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: smallCnn }, { seed: 4, arena: engine.arena, kernels: engine.kernels });
  assert.deepEqual(fast.getWeights(), reference.getWeights(), 'the same seed gives the same w on both engines');
  const a = await fit(reference, data, options);
  const b = await fit(fast, data, options);
  assert.equal(b.stepLosses.length, a.stepLosses.length);
  a.stepLosses.forEach((loss, i) => assert.ok(Math.abs(b.stepLosses[i] - loss) <= 1e-3 * (1 + loss), `step ${i + 1}: ${b.stepLosses[i]} vs ${loss}`));
  assert.ok(b.stepLosses.at(-1)! < b.stepLosses[0] / 2);
  assert.deepEqual(b.epochs.map((e) => e.valError), a.epochs.map((e) => e.valError));
});
