/**
 * The engine's 4×8 register tile against two rewrites of its loop (probe.ts: unrolled by two k
 * steps; one counter instead of two pointer updates), interleaved in one process, several
 * rounds: median ratio variant / engine tile. Run on a quiet machine:
 * `npm run build && node dist/bench/tile-variants.js [rounds]`.
 */
import { readFileSync } from 'node:fs';

interface Exports {
  tilePeak(base: number, kc: number, reps: number): void;
  tilePeakVariant(variant: number, base: number, kc: number, reps: number): void;
}
const memory = new WebAssembly.Memory({ initial: 1 });
const { instance } = await WebAssembly.instantiate(readFileSync(new URL('../wasm/probe.wasm', import.meta.url)), { env: { memory } });
new Float32Array(memory.buffer).fill(0.5);
const p = instance.exports as unknown as Exports;
const KC = 256, REPS = 20_000, rounds = Number(process.argv[2] ?? 9);
const rate = (f: () => void) => { const t = performance.now(); f(); return (KC * REPS * 64) / ((performance.now() - t) * 1e6); };
const variants: Record<string, () => number> = {
  'engine tile': () => rate(() => p.tilePeak(0, KC, REPS)),
  'unrolled by two': () => rate(() => p.tilePeakVariant(1, 0, KC, REPS)),
  'one counter': () => rate(() => p.tilePeakVariant(2, 0, KC, REPS)),
};
for (const f of Object.values(variants)) for (let i = 0; i < 10; i++) f();
const got: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) for (const [k, f] of Object.entries(variants)) got[k].push(f());
const base = got['engine tile'];
for (const [k, a] of Object.entries(got)) {
  const ratios = a.map((v, i) => v / base[i]).sort((x, y) => x - y);
  console.log(`${k.padEnd(16)} best ${Math.max(...a).toFixed(1)} GFLOP/s, median ${[...a].sort((x, y) => x - y)[a.length >> 1].toFixed(1)}; ` +
    `ratio to the engine tile: median ${ratios[ratios.length >> 1].toFixed(3)} (${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)})`);
}
