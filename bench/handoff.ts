/**
 * What handing a call to a worker thread costs: a near-empty kernel (addTensors on 2 blocks of
 * 1024 floats, one per thread) on one thread and split over two, back to back (the worker still
 * spinning from the call before) and 2 ms apart (the worker asleep). The difference per call is
 * the hand-off, which a split must repay (WasmKernelOptions.minPartNs). Run on a quiet machine:
 * `npm run build && node dist/bench/handoff.js [rounds]`.
 */
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { WasmEngine } from '../src/engine/wasm-engine.js';

const N = 2048, CALLS = 2000, rounds = Number(process.argv[2] ?? 7);

function callMicros(e: WasmEngine, a: Float32Array, b: Float32Array, y: Float32Array, gapMs: number): number {
  const calls = gapMs > 0 ? 100 : CALLS;
  let busy = 0;
  for (let i = 0; i < calls; i++) {
    if (gapMs > 0) {
      const until = performance.now() + gapMs;
      while (performance.now() < until) { /* wait with the worker idle */ }
    }
    const t = performance.now();
    e.kernels.addTensors(a, b, y, N);
    busy += performance.now() - t;
  }
  return (busy / calls) * 1000;
}

const engines = await Promise.all([1, 2].map((threads) => createWasmEngine({ threads, minPartNs: 0 })));
const arrays = engines.map((e) => [e.arena.floats(N).fill(1), e.arena.floats(N).fill(2), e.arena.floats(N)]);
const got: Record<string, number[]> = {};
for (let r = 0; r < rounds; r++) {
  for (const gapMs of [0, 2]) {
    engines.forEach((e, i) => {
      const [a, b, y] = arrays[i];
      const key = `${i + 1} thread${i ? 's' : ''}, ${gapMs ? 'worker asleep (2 ms apart)' : 'back to back'}`;
      (got[key] ??= []).push(callMicros(e, a, b, y, gapMs));
    });
  }
}
for (const [key, v] of Object.entries(got)) {
  const s = [...v].sort((x, y) => x - y);
  console.log(`${key.padEnd(40)} µs per call: median ${s[s.length >> 1].toFixed(1)} (${s[0].toFixed(1)}–${s[s.length - 1].toFixed(1)})`);
}
await Promise.all(engines.map((e) => e.dispose()));
