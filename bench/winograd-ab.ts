/**
 * The Winograd kernels of this build against another build's descent.wasm, in one process: NET-B's
 * conv2 (64 × 26×26×32 → 24×24×64) and a ResNet-20 3×3 layer per pass, calls of the two builds
 * alternating (order switching every pair), and the direct kernels of this build alongside.
 * Prints per pass the median of time(other) / time(this) and of time(direct) / time(this).
 *
 *   node dist/bench/winograd-ab.js <other descent.wasm> [threads] [pairs]
 *
 * (save dist/wasm/descent.wasm of the other commit first). Only ratios mean anything on a shared machine.
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { Rng } from '../src/core/rng.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import type { WorkerInit } from '../src/engine/protocol.js';
import type { WorkerHandle } from '../src/engine/runtime.js';
import { createEngine, type WasmEngine } from '../src/engine/wasm-engine.js';
import { squareConv } from '../test/helpers.js';

const other = process.argv[2];
if (!other) {
  console.error('usage: node dist/bench/winograd-ab.js <other descent.wasm> [threads] [pairs]');
  process.exit(2);
}
const threads = Number(process.argv[3] ?? 1), pairs = Number(process.argv[4] ?? 15);

function spawn(init: WorkerInit): Promise<WorkerHandle> {
  const worker = new Worker(new URL('../src/engine/node-worker.js', import.meta.url), { workerData: init });
  worker.unref();
  const exit = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return new Promise((resolve) => worker.once('message', () => resolve({
    exited: () => { worker.ref(); return exit; },
    terminate: async () => { await worker.terminate(); },
  })));
}
async function engineOf(path: string | URL): Promise<WasmEngine> {
  return createEngine(await WebAssembly.compile(readFileSync(path)), { threads, convAlgorithm: 'winograd' }, spawn);
}

const engines = { this: await engineOf(new URL('../wasm/descent.wasm', import.meta.url)), other: await engineOf(other) };
type Calls = Map<WasmEngine, { call: () => void; result: Float32Array }>;
/** Each pass's call on each engine and the array it writes (same inputs on both engines). */
function passes(g: Conv2dGeometry): Record<string, Calls> {
  const out: Record<string, Calls> = { forward: new Map(), 'backward-data': new Map(), 'backward-filter': new Map() };
  for (const e of Object.values(engines)) {
    const rng = new Rng(1);
    const fill = (n: number) => { const a = e.arena.floats(n); for (let i = 0; i < n; i++) a[i] = rng.normal(); return a; };
    const x = fill(g.N * g.H * g.W * g.C), w = fill(g.O * 9 * g.C), b = fill(g.O);
    const y = fill(g.N * g.OH * g.OW * g.O), gx = fill(x.length), gw = fill(w.length);
    const k = e.kernels;
    out.forward.set(e, { call: () => k.conv2dForward(x, w, b, y, g), result: y });
    out['backward-data'].set(e, { call: () => k.conv2dBackwardData(y, w, gx, g), result: gx });
    out['backward-filter'].set(e, { call: () => k.conv2dBackwardFilter(x, y, gw, null, g), result: gw });
  }
  return out;
}
const time = (f: () => void) => { const t = performance.now(); f(); return performance.now() - t; };
const sameBits = (a: Float32Array, b: Float32Array) =>
  Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const layers: [string, Conv2dGeometry][] = [
  ['NET-B conv2 26×26×32→64', squareConv(64, 26, 26, 32, 64, 3, 1, 0)],
  ['ResNet-20 32×32×16→16 pad 1', squareConv(64, 32, 32, 16, 16, 3, 1, 1)],
  ['ResNet-20 8×8×64→64 pad 1', squareConv(64, 8, 8, 64, 64, 3, 1, 1)],
];
console.log(`${threads} thread(s), ${pairs} pairs per pass; ratios > 1: this build faster; "bitwise": both builds wrote the same bits`);
for (const [label, g] of layers) {
  for (const [name, calls] of Object.entries(passes(g))) {
    const mine = calls.get(engines.this)!, theirs = calls.get(engines.other)!, me = mine.call, them = theirs.call;
    const direct = () => { engines.this.kernels.convAlgorithm = 'direct'; me(); engines.this.kernels.convAlgorithm = 'winograd'; };
    for (let i = 0; i < 2; i++) { me(); them(); direct(); }
    const vsOther: number[] = [], vsDirect: number[] = [];
    for (let r = 0; r < pairs; r++) {
      let a: number, b: number, d: number;
      if (r % 2) { a = time(me); b = time(them); d = time(direct); } else { d = time(direct); b = time(them); a = time(me); }
      vsOther.push(b / a); vsDirect.push(d / a);
    }
    console.log(`${label.padEnd(30)} ${name.padEnd(16)} other/this ${median(vsOther).toFixed(2)}× ` +
      `(${Math.min(...vsOther).toFixed(2)}–${Math.max(...vsOther).toFixed(2)}), direct/this ${median(vsDirect).toFixed(2)}×` +
      (mine.result.fill(0), theirs.result.fill(0), me(), them(), sameBits(mine.result, theirs.result) ? ', bitwise' : ', RESULTS DIFFER'));
  }
}
for (const e of Object.values(engines)) await e.dispose();
