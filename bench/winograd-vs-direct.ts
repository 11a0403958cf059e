/**
 * Winograd vs direct kernels on NET-B's second convolution (64 × 26×26×32 → 24×24×64, 3×3), one
 * engine, the two algorithms interleaved round by round in one process: per pass (forward,
 * backward-data, backward-filter) the median over rounds of time(direct) / time(winograd).
 * `node dist/bench/winograd-vs-direct.js [threads] [rounds]`. Only the ratio means anything on a
 * busy machine, and even it is noisy there.
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { ConvAlgorithm } from '../src/engine/winograd.js';
import { squareConv } from '../test/helpers.js';

const threads = Number(process.argv[2] ?? 1), rounds = Number(process.argv[3] ?? 7);
const engine = await createWasmEngine({ threads });
const g = squareConv(64, 26, 26, 32, 64, 3, 1, 0);
const rng = new Rng(1);
const fill = (n: number) => { const a = engine.arena.floats(n); for (let i = 0; i < n; i++) a[i] = rng.normal(); return a; };
const x = fill(g.N * g.H * g.W * g.C), w = fill(g.O * 9 * g.C), b = fill(g.O);
const y = fill(g.N * g.OH * g.OW * g.O), gx = fill(x.length), gw = fill(w.length);
const k = engine.kernels;
const passes: Record<string, () => void> = {
  forward: () => k.conv2dForward(x, w, b, y, g),
  'backward-data': () => k.conv2dBackwardData(y, w, gx, g),
  'backward-filter': () => k.conv2dBackwardFilter(x, y, gw, null, g),
};
function time(alg: ConvAlgorithm, body: () => void, reps: number): number {
  k.convAlgorithm = alg;
  body();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) body();
  return (performance.now() - t0) / reps;
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`NET-B conv2 ${g.N}×${g.H}×${g.W}×${g.C} → ${g.O}, ${threads} thread(s), ${rounds} interleaved rounds`);
for (const [name, body] of Object.entries(passes)) {
  const ratios: number[] = [], direct: number[] = [], wino: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const order: ConvAlgorithm[] = r % 2 ? ['winograd', 'direct'] : ['direct', 'winograd'];
    const t: Record<string, number> = {};
    for (const alg of order) t[alg] = time(alg, body, 3);
    direct.push(t.direct); wino.push(t.winograd); ratios.push(t.direct / t.winograd);
  }
  console.log(`${name.padEnd(16)} direct ${median(direct).toFixed(1)} ms, winograd ${median(wino).toFixed(1)} ms, ` +
    `direct/winograd ${median(ratios).toFixed(2)}× (rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
}
await engine.dispose();
