/**
 * The trainer's optimizer step with its step size, two ways, interleaved in one process on one engine:
 * A, as the trainer did it before: copy w, step, then Σ (w − w_prev)² in a JavaScript loop;
 * B, `stepMeasured`: the update kernel sums the squares as it writes w (no copy, no extra pass).
 * LeNet-5's 61,706 parameters by default. Prints the median time of each and the median ratio of
 * the rounds.
 *
 *   node dist/bench/measured-step.js [--threads 2] [--optimizer adam|sgd] [--params 61706] [--rounds 30]
 */
import { createWasmEngine } from '../src/engine/node-loader.js';
import { hostFloats } from '../src/core/tensor.js';
import { Rng } from '../src/core/rng.js';
import { createOptimizer } from '../src/train/optimizers/index.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const threads = Number(arg('threads', '2')), n = Number(arg('params', '61706')), rounds = Number(arg('rounds', '30'));
const kind = arg('optimizer', 'adam') === 'sgd' ? 'sgd' : 'adam';
const STEPS = 200;

const engine = await createWasmEngine({ threads });
const config = kind === 'sgd' ? { kind, lr: 0.01, momentum: 0.9 } as const : { kind, lr: 1e-3 } as const;
const rng = new Rng(1);
const side = () => {
  const w = hostFloats(engine.arena.floats(n), 'bench'), g = hostFloats(engine.arena.floats(n), 'bench');
  for (let i = 0; i < n; i++) { w[i] = rng.normal() * 0.1; g[i] = rng.normal() * 1e-3; }
  return { w, g, prev: new Float32Array(n), opt: createOptimizer(config, n, engine.arena, engine.kernels) };
};
const a = side(), b = side();
let sink = 0;
const stepA = () => {
  a.prev.set(a.w);
  a.opt.step(a.w, a.g);
  let s = 0;
  for (let j = 0; j < n; j++) s += (a.w[j] - a.prev[j]) ** 2;
  sink += s;
};
const stepB = () => { sink += b.opt.stepMeasured(b.w, b.g); };
const time = (f: () => void) => {
  const t0 = performance.now();
  for (let i = 0; i < STEPS; i++) f();
  return ((performance.now() - t0) / STEPS) * 1000;
};
time(stepA); time(stepB);
const ta: number[] = [], tb: number[] = [];
for (let r = 0; r < rounds; r++) {
  if (r % 2) { tb.push(time(stepB)); ta.push(time(stepA)); } else { ta.push(time(stepA)); tb.push(time(stepB)); }
}
const median = (v: number[]) => [...v].sort((x, y) => x - y)[v.length >> 1];
console.log(`${kind}, ${n} parameters, ${threads} thread(s): A copy + step + JS sum ${median(ta).toFixed(1)} µs, ` +
  `B stepMeasured ${median(tb).toFixed(1)} µs; A/B ${median(ta.map((t, i) => t / tb[i])).toFixed(2)} (median of ${rounds} rounds)` +
  (Number.isFinite(sink) ? '' : ' (non-finite sink)'));
await engine.dispose();
