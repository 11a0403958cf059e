/**
 * A short single-thread measurement of the WebAssembly engine: 512³ matrix multiply, and the
 * 3×3 convolution 32→64 channels on 26×26 images, batch 64 (forward, backward-data,
 * backward-filter). Reports GFLOP/s by wall clock and by this process's CPU time (the latter
 * is steadier on a shared machine). Run: node dist/bench/engine-matmul.js [threads]
 */
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import { bestOf } from './measure.js';

const threads = Number(process.argv[2] ?? 1);
const engine = await createWasmEngine({ threads });
const { kernels, arena } = engine;

function random(n: number): Float32Array {
  const a = arena.floats(n);
  for (let i = 0; i < n; i++) a[i] = Math.random() - 0.5;
  return a;
}

function measure(name: string, flops: number, reps: number, body: () => void): void {
  const { wallMs, cpuMs } = bestOf(reps, body, threads);
  console.log(`${name.padEnd(36)} ${wallMs.toFixed(2).padStart(8)} ms  ${(flops / wallMs / 1e6).toFixed(1).padStart(6)} GFLOP/s` +
    `  (cpu-time ${(flops / cpuMs / 1e6).toFixed(1)} GFLOP/s)`);
}

const n = 512;
const a = random(n * n), b = random(n * n), c = arena.floats(n * n);
measure(`matmul ${n}³ (${threads} thread${threads > 1 ? 's' : ''})`, 2 * n ** 3, 10,
  () => kernels.matmul(a, b, c, n, n, n, false, false, false));
measure(`matmul ${n}³ Aᵀ·B`, 2 * n ** 3, 5, () => kernels.matmul(a, b, c, n, n, n, true, false, false));
measure(`matmul ${n}³ A·Bᵀ`, 2 * n ** 3, 5, () => kernels.matmul(a, b, c, n, n, n, false, true, false));

const g: Conv2dGeometry = { N: 64, H: 26, W: 26, C: 32, O: 64, OH: 24, OW: 24, KH: 3, KW: 3, SH: 1, SW: 1, PH: 0, PW: 0,
  DH: 1, DW: 1 };
const x = random(g.N * g.H * g.W * g.C), w = random(g.O * g.KH * g.KW * g.C), bias = random(g.O);
const y = random(g.N * g.OH * g.OW * g.O), gx = arena.floats(x.length), gw = arena.floats(w.length);
const convFlops = 2 * g.N * g.OH * g.OW * g.O * g.KH * g.KW * g.C;
measure('conv 3×3 32→64 26×26 N64 forward', convFlops, 3, () => kernels.conv2dForward(x, w, bias, y, g));
measure('conv backward-data', convFlops, 3, () => kernels.conv2dBackwardData(y, w, gx, g));
measure('conv backward-filter', convFlops, 3, () => kernels.conv2dBackwardFilter(x, y, gw, null, g));

await engine.dispose();
