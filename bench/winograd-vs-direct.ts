/**
 * Winograd vs direct kernels on NET-B's second convolution (64 × 26×26×32 → 24×24×64, 3×3), one
 * engine, the two algorithms interleaved call by call in one process (pairs of single calls, the
 * order alternating): per pass (forward, backward-data, backward-filter) the median over pairs of
 * time(direct) / time(winograd).
 * `node dist/bench/winograd-vs-direct.js [threads] [pairs]`. Only the ratio means anything on a
 * busy machine, and even it is noisy there.
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { ConvAlgorithm } from '../src/engine/winograd.js';
import { squareConv } from '../test/helpers.js';

const threads = Number(process.argv[2] ?? 1), rounds = Number(process.argv[3] ?? 21);
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
function time(alg: ConvAlgorithm, body: () => void): number {
  k.convAlgorithm = alg;
  const t0 = performance.now();
  body();
  return performance.now() - t0;
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
console.log(`NET-B conv2 ${g.N}×${g.H}×${g.W}×${g.C} → ${g.O}, ${threads} thread(s), ${rounds} interleaved pairs of calls`);
for (const [name, body] of Object.entries(passes)) {
  const ratios: number[] = [], direct: number[] = [], wino: number[] = [];
  for (const alg of ['direct', 'winograd'] as ConvAlgorithm[]) for (let i = 0; i < 2; i++) time(alg, body);
  for (let r = 0; r < rounds; r++) {
    const order: ConvAlgorithm[] = r % 2 ? ['winograd', 'direct'] : ['direct', 'winograd'];
    const t: Record<string, number> = {};
    for (const alg of order) t[alg] = time(alg, body);
    direct.push(t.direct); wino.push(t.winograd); ratios.push(t.direct / t.winograd);
  }
  console.log(`${name.padEnd(16)} direct ${median(direct).toFixed(1)} ms, winograd ${median(wino).toFixed(1)} ms, ` +
    `direct/winograd ${median(ratios).toFixed(2)}× (pairs ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`);
}
await engine.dispose();
