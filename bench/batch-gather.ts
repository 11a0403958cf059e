/**
 * A training step's batch, two ways, interleaved in one process: A, as the trainer did it before
 * (copy each image, then augmentBatch: a flip, a translation through a scratch image), B, gatherBatch
 * (shifted and flipped during the copy). MNIST images, the recipes' shifts. Prints the median time of
 * each and the median ratio of the rounds.
 *
 *   node dist/bench/batch-gather.js [--batch 256] [--shift 1] [--rounds 30]
 */
import { Rng } from '../src/core/rng.js';
import { augmentBatch, type AugmentOptions } from '../src/data/augment.js';
import { gatherBatch } from '../src/data/gather.js';
import { loadMnist } from '../src/node/mnist.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const batch = Number(arg('batch', '256')), shift = Number(arg('shift', '1')), rounds = Number(arg('rounds', '30'));
const REPS = 50;
const train = loadMnist({ split: 'train' });
const d = 784, augment: AugmentOptions = { shift };
const order = Int32Array.from({ length: train.count }, (_, i) => i);
new Rng(3).shuffle(order);
const x = new Float32Array(batch * d), rng = new Rng(1);
let first = 0;
const next = () => (first = (first + batch) % (train.count - batch));
const copyThenAugment = () => {
  const f = next();
  for (let i = 0; i < batch; i++) x.set(train.x.subarray(order[f + i] * d, (order[f + i] + 1) * d), i * d);
  augmentBatch(x, batch, train.shape, augment, rng);
};
const gathered = () => gatherBatch(train.x, order, next(), batch, x, train.shape, augment, rng);
const time = (f: () => void) => {
  const t0 = performance.now();
  for (let i = 0; i < REPS; i++) f();
  return ((performance.now() - t0) / REPS) * 1000;
};
time(copyThenAugment); time(gathered);
const ta: number[] = [], tb: number[] = [];
for (let r = 0; r < rounds; r++) {
  if (r % 2) { tb.push(time(gathered)); ta.push(time(copyThenAugment)); } else { ta.push(time(copyThenAugment)); tb.push(time(gathered)); }
}
const median = (v: number[]) => [...v].sort((p, q) => p - q)[v.length >> 1];
console.log(`batch ${batch}, shift ${shift}: A copy + augmentBatch ${median(ta).toFixed(0)} µs, B gatherBatch ${median(tb).toFixed(0)} µs; ` +
  `A/B ${median(ta.map((t, i) => t / tb[i])).toFixed(2)} (median of ${rounds} rounds)`);
