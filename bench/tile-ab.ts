/**
 * The engine's 4×8 register tile (probe.ts `tilePeak`) of this build against the same probe of
 * another build, interleaved in one process over several rounds, so that a change to the tile's
 * code can be told apart from a busy machine: `npm run build && node dist/bench/tile-ab.js
 * <other probe.wasm> [rounds]` (build the other with `npx asc assembly/probe.ts -O3 --runtime stub
 * --enable simd --importMemory -o other.wasm` on the other commit).
 */
import { readFileSync } from 'node:fs';

interface Exports {
  tilePeak(base: number, kc: number, reps: number): void;
}

async function load(path: string | URL): Promise<Exports> {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const { instance } = await WebAssembly.instantiate(readFileSync(path), { env: { memory } });
  new Float32Array(memory.buffer).fill(0.5);
  return instance.exports as unknown as Exports;
}

const other = process.argv[2];
if (!other) {
  console.error('usage: node dist/bench/tile-ab.js <other probe.wasm> [rounds]');
  process.exit(2);
}
const rounds = Number(process.argv[3] ?? 9);
const builds: Record<string, Exports> = {
  'this build': await load(new URL('../wasm/probe.wasm', import.meta.url)),
  other: await load(other),
};
const KC = 256, REPS = 20_000;
const rate = (p: Exports) => { const t = performance.now(); p.tilePeak(0, KC, REPS); return (KC * REPS * 64) / ((performance.now() - t) * 1e6); };
for (const p of Object.values(builds)) for (let i = 0; i < 10; i++) rate(p);
const got: Record<string, number[]> = { 'this build': [], other: [] };
for (let r = 0; r < rounds; r++) for (const [k, p] of Object.entries(builds)) got[k].push(rate(p));
const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
for (const [k, a] of Object.entries(got)) {
  const s = sorted(a);
  console.log(`${k.padEnd(10)} GFLOP/s: median ${s[s.length >> 1].toFixed(1)}, best ${s[s.length - 1].toFixed(1)}, range ${s[0].toFixed(1)}–${s[s.length - 1].toFixed(1)}`);
}
const ratios = sorted(got['this build'].map((v, i) => v / got.other[i]));
console.log(`this build / other, per round: median ${ratios[ratios.length >> 1].toFixed(3)} (${ratios[0].toFixed(2)}–${ratios[ratios.length - 1].toFixed(2)})`);
