/**
 * Winograd F(2×2, 3×3)'s numerical error per convolution of NET-B, next to the direct kernels':
 * both in float32 on the WebAssembly engine against the reference kernels in float64, on real
 * MNIST digits (the first layer) and ReLU of the first layer's float64 output (the second), with
 * He-initialised weights and unit-normal output gradients. Error = max |err| / max |exact| and
 * ‖err‖₂ / ‖exact‖₂ over the whole output. The forward of F(2×2) and of F(3×3) and F(4×4), not built,
 * is also run by a float32 model (bench/winograd-model.ts), to show what they would cost in
 * precision. `node dist/bench/winograd-error.js [images]`; bench/results/winograd-error.txt is its output.
 */
import { Rng } from '../src/core/rng.js';
import { createWasmEngine } from '../src/engine/node-loader.js';
import type { ConvAlgorithm } from '../src/engine/winograd.js';
import type { Conv2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { loadMnist } from '../src/node/mnist.js';
import { squareConv } from '../test/helpers.js';
import { winogradModelForward } from './winograd-model.js';

const N = Number(process.argv[2] ?? 16);
const rng = new Rng(5);
const engine = await createWasmEngine({ threads: 1 });
const k = engine.kernels;
const normal = (n: number, s: number) => Float64Array.from({ length: n }, () => s * rng.normal());

function errors(a: ArrayLike<number>, exact: Float64Array): string {
  let maxErr = 0, maxRef = 0, se = 0, sr = 0;
  for (let i = 0; i < exact.length; i++) {
    const e = Math.abs(a[i] - exact[i]);
    maxErr = Math.max(maxErr, e); maxRef = Math.max(maxRef, Math.abs(exact[i]));
    se += e * e; sr += exact[i] * exact[i];
  }
  return `${(maxErr / maxRef).toExponential(2)} / ${Math.sqrt(se / sr).toExponential(2)}`;
}

/** One layer: the three passes on both algorithms against float64. */
function layer(name: string, g: Conv2dGeometry, x: Float64Array, w: Float64Array): Float64Array {
  const out = g.N * g.OH * g.OW * g.O;
  const gy = normal(out, 1);
  const y64 = new Float64Array(out), gx64 = new Float64Array(x.length), gw64 = new Float64Array(w.length);
  ref.conv2dForward(x, w, null, y64, g);
  ref.conv2dBackwardData(gy, w, gx64, g);
  ref.conv2dBackwardFilter(x, gy, gw64, null, g);
  const mark = engine.arena.mark();
  const f = (a: Float64Array) => { const v = engine.arena.floats(a.length); v.set(a); return v; };
  const xe = f(x), we = f(w), gye = f(gy);
  const ye = engine.arena.floats(out), gxe = engine.arena.floats(x.length), gwe = engine.arena.floats(w.length);
  for (const alg of ['direct', 'winograd'] as ConvAlgorithm[]) {
    k.convAlgorithm = alg;
    k.conv2dForward(xe, we, null, ye, g);
    k.conv2dBackwardData(gye, we, gxe, g);
    gwe.fill(0);
    k.conv2dBackwardFilter(xe, gye, gwe, null, g);
    console.log(`| ${name} | ${alg} | ${errors(ye, y64)} | ${errors(gxe, gx64)} | ${errors(gwe, gw64)} |`);
  }
  for (const m of [2, 3, 4] as const) {
    console.log(`| ${name} | F(${m}×${m}, 3×3) float32 model | ${errors(winogradModelForward(m, xe, we, g), y64)} | – | – |`);
  }
  engine.arena.release(mark);
  return y64;
}

const mnist = loadMnist({ split: 'train' });
console.log(`NET-B, ${N} MNIST digits; error against float64: max |err| / max |exact|  and  ‖err‖₂ / ‖exact‖₂`);
console.log('| layer | float32 kernels | forward | backward-data | backward-filter |\n|---|---|---|---|---|');
const g1 = squareConv(N, 28, 28, 1, 32, 3), g2 = squareConv(N, 26, 26, 32, 64, 3);
const y1 = layer('conv1 1→32, 28×28', g1, Float64Array.from(mnist.x.subarray(0, N * 784)), normal(32 * 9, Math.sqrt(2 / 9)));
layer('conv2 32→64, 26×26', g2, y1.map((v) => Math.max(0, v)), normal(64 * 9 * 32, Math.sqrt(2 / (9 * 32))));
await engine.dispose();
