/**
 * Where NET-B conv2's Winograd time goes (64 × 26×26×32 → 24×24×64, one thread): each pass is
 * timed whole and with one phase skipped (a build with the winogradSkip mask exported), calls
 * interleaved round by round; a phase's cost is median(whole) − median(skipped). The weight pack
 * and backward-filter's reduce are timed as calls of their own. Prints the tile probe beside it.
 * Approximate: a skipped phase leaves stale scratch behind and changes what the caches hold (small
 * batches can even show negative costs); use it to see where the time goes, A/B runs to decide.
 *   node dist/bench/winograd-phases.js [rounds] [batch]
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { Runtime } from '../src/engine/runtime.js';
import { squareConv } from '../test/helpers.js';
import { probe } from './probe.js';

const rounds = Number(process.argv[2] ?? 15), N = Number(process.argv[3] ?? 64);
const engine = await createWasmEngine({ threads: 1, convAlgorithm: 'winograd' });
const rt = (engine.kernels as unknown as { rt: Runtime }).rt;
const ex = rt.exports as unknown as Record<string, (...a: number[]) => void> & { winogradSkip?: WebAssembly.Global };
if (!ex.winogradSkip) throw new Error('this build has no winogradSkip export');
const skip = ex.winogradSkip;
const g = squareConv(N, 26, 26, 32, 64, 3, 1, 0);
const rng = new Rng(1);
const fill = (n: number) => { const a = engine.arena.floats(n); for (let i = 0; i < n; i++) a[i] = rng.normal(); return a; };
const x = fill(g.N * g.H * g.W * g.C), w = fill(g.O * 9 * g.C), b = fill(g.O);
const y = fill(g.N * g.OH * g.OW * g.O), gx = fill(x.length), gw = fill(w.length);
const k = engine.kernels;
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const time = (f: () => void) => { const t = performance.now(); f(); return performance.now() - t; };

interface Pass { name: string; call: () => void; phases: [string, number][]; extra: [string, () => void][]; mflop: number }
const fwdPhases: [string, number][] = [['input transform', 1], ['interleave', 2], ['products', 4], ['output transform', 8]];
const passes: Pass[] = [
  { name: 'forward', call: () => k.conv2dForward(x, w, b, y, g), phases: fwdPhases,
    extra: [['pack', () => ex.winogradPack(rt.params)]], mflop: N * 144 * 16 * 32 * 64 * 2 / 1e6 },
  { name: 'backward-data', call: () => k.conv2dBackwardData(y, w, gx, g), phases: fwdPhases,
    extra: [['pack (flip)', () => ex.winogradPack(rt.params)]], mflop: N * 169 * 16 * 64 * 32 * 2 / 1e6 },
  { name: 'backward-filter', call: () => k.conv2dBackwardFilter(x, y, gw, null, g),
    phases: [['input transform', 1], ['gy transform', 2], ['products', 4]],
    extra: [['reduce', () => ex.winogradFilterReduce(rt.params, 0, 1)]], mflop: N * 144 * 16 * 32 * 64 * 2 / 1e6 },
];
const p = await probe(1);
console.log(`batch ${N}; probe: clock ${p.clockGHz.toFixed(2)} GHz, 4×8 tile ${p.tileGflops.toFixed(1)} GFLOP/s; ${rounds} rounds`);
for (const pass of passes) {
  const masks = [0, ...pass.phases.map(([, m]) => m), pass.phases.reduce((s, [, m]) => s | m, 0)];
  const t = new Map<number, number[]>(masks.map((m) => [m, []]));
  const extra = new Map<string, number[]>(pass.extra.map(([n]) => [n, []]));
  for (let r = -2; r < rounds; r++) {
    for (const m of r % 2 ? masks : [...masks].reverse()) {
      skip.value = m;
      const ms = time(pass.call);
      if (r >= 0) t.get(m)!.push(ms);
    }
    skip.value = 0;
    pass.call();
    for (const [n, f] of pass.extra) { const ms = time(f); if (r >= 0) extra.get(n)!.push(ms); }
  }
  const whole = median(t.get(0)!);
  console.log(`${pass.name}: whole ${whole.toFixed(2)} ms, all phases skipped ${median(t.get(masks.at(-1)!)!).toFixed(2)} ms`);
  for (const [n, m] of pass.phases) {
    const ms = whole - median(t.get(m)!);
    console.log(`  ${n.padEnd(18)} ${ms.toFixed(2)} ms` + (m === 4 ? ` (${(pass.mflop / ms).toFixed(1)} GFLOP/s)` : ''));
  }
  for (const [n, a] of extra) console.log(`  ${n.padEnd(18)} ${median(a).toFixed(2)} ms (own call)`);
}
skip.value = 0;
await engine.dispose();
