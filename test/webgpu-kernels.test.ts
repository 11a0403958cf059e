/**
 * The WebGPU engine's WGSL kernels against the reference kernels, on SwiftShader (the CPU Vulkan
 * driver of Debian's chromium) through the npm package `webgpu`: odd sizes, strides, paddings,
 * dilations, batch 1, channel counts not divisible by 4, ties, NaN and ±∞; the same bits on a
 * second run; and negative tests (a shader that does not compile, a kernel with a bug, a view too short).
 * Tensors are placed at odd offsets of one shared buffer, with sentinels between them.
 *
 * Without `webgpu` or an adapter the tests are skipped with the reason, except under CI (CI set),
 * where they run and fail.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Rng } from '../src/core/rng.js';
import { loadDawn, missingAdapterReason, openNodeGpu } from '../src/engine/node-webgpu.js';
import { WebGpuUnavailableError, type GpuDevice } from '../src/engine/webgpu/device.js';
import { LateReadback } from '../src/engine/webgpu/readback.js';
import { GpuKernels } from '../src/engine/webgpu/gpu-kernels.js';
import { checkKernel, ShaderError } from '../src/engine/webgpu/pipelines.js';
import { MATMUL } from '../src/engine/webgpu/shaders/gemm.js';
import { MAX_POOL_FORWARD } from '../src/engine/webgpu/shaders/pool.js';
import { MEAN_LOSS, QUADRATIC_LOSS } from '../src/engine/webgpu/shaders/softmax.js';
import { quadraticLoss } from '../src/losses/quadratic.js';
import { GpuStorage, type GpuTensor } from '../src/engine/webgpu/tensor.js';
import type { ActivationKind, Conv2dGeometry, Pool2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { windowOutput } from '../src/layers/options.js';
import { Adagrad } from '../src/train/optimizers/adagrad.js';
import { RMSprop } from '../src/train/optimizers/rmsprop.js';
import { convGeometry } from './helpers.js';

const opened = await openNodeGpu({ swiftshader: true }).catch((e: Error) => e);
const skip: string | false = opened instanceof Error && !process.env.CI
  ? `WebGPU is unavailable here: ${opened.message}; under CI this test runs and fails instead`
  : false;

const TOL = 2e-4;
const SENTINEL = 12345.5;

let gpu: GpuDevice;
let k: GpuKernels;
let store: GpuStorage;
let intStore: GpuStorage;
let rng: Rng;

before(async () => {
  if (skip) return;
  if (opened instanceof Error) throw opened;
  gpu = opened;
  k = await GpuKernels.create(gpu.device);
  store = new GpuStorage(gpu.device, 1 << 22, 'test storage');
  intStore = new GpuStorage(gpu.device, 1 << 16, 'test int storage'); // int tensors live apart (README.md)
  rng = new Rng(2026);
});

after(() => {
  if (!skip && !(opened instanceof Error)) gpu.device.destroy();
});

/** A tensor holding `data`, after a gap of 1–3 sentinel elements (odd offsets, neighbours to watch). */
function up(data: Float32Array | Int32Array): GpuTensor {
  const gap = 1 + rng.int(3), s = data instanceof Int32Array ? intStore : store;
  const before = s.alloc(gap);
  k.write(before, new Float32Array(gap).fill(SENTINEL));
  const t = s.alloc(data.length);
  if (data.length) k.write(t, data);
  return t;
}

function normal(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function ties(n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.int(3) - 1);
}

/** Runs body with the test storage handed back afterwards. */
async function scoped(body: () => Promise<void>): Promise<void> {
  const mark = store.mark(), intMark = intStore.mark();
  try {
    await body();
  } finally {
    store.release(mark);
    intStore.release(intMark);
  }
}

/** Same NaN positions, same infinities, finite values within tol·(1 + |ref|). */
function assertSame(got: ArrayLike<number>, want: ArrayLike<number>, what: string, tol = TOL): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const a = got[i], b = want[i];
    if (Number.isNaN(b) || !Number.isFinite(b)) {
      assert.ok(Object.is(a, b), `${what}[${i}]: ${a}, the reference has ${b}`);
    } else {
      assert.ok(Math.abs(a - b) <= tol * (1 + Math.abs(b)), `${what}[${i}]: ${a}, the reference has ${b}`);
    }
  }
}

async function check(t: GpuTensor, want: ArrayLike<number>, what: string, tol = TOL): Promise<void> {
  assertSame(await k.read(t), want, what, tol);
}

function int(lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

function convCases(): Conv2dGeometry[] {
  const cases = [
    convGeometry(1, 1, 1, 1, 1, 1, 1),
    convGeometry(2, 5, 5, 1, 8, 3, 3),
    convGeometry(1, 7, 9, 3, 5, 3, 3, 1, 1, 1, 1),
    convGeometry(3, 9, 7, 5, 7, 3, 3, 2, 2, 1, 1),
    convGeometry(1, 11, 10, 9, 9, 3, 3, 1, 1, 2, 2, 2, 2),
    convGeometry(1, 10, 12, 4, 3, 2, 3, 3, 2, 1, 0, 1, 2),
    convGeometry(2, 9, 9, 3, 17, 4, 2, 3, 3, 2, 1, 2, 3),
    convGeometry(1, 5, 5, 2, 3, 3, 3, 4, 4, 2, 2),  // stride larger than the kernel
    convGeometry(1, 3, 4, 6, 35, 5, 5, 1, 1, 3, 3), // windows mostly in the padding, O > one tile
  ];
  for (let i = 0; i < 5; i++) {
    const KH = int(1, 4), KW = int(1, 4), DH = int(1, 2), DW = int(1, 2), SH = int(1, 3), SW = int(1, 3);
    const H = int(DH * (KH - 1) + 1, 10), W = int(DW * (KW - 1) + 1, 10);
    cases.push(convGeometry(int(1, 3), H, W, int(1, 7), int(1, 11), KH, KW, SH, SW, int(0, KH - 1), int(0, KW - 1), DH, DW));
  }
  return cases.filter((g) => g.OH >= 1 && g.OW >= 1);
}

/** Grouped and depthwise (G = C, also with a channel multiplier O = 2C) convolutions, odd sizes, ties. */
function groupedCases(): Conv2dGeometry[] {
  const grouped = (G: number, g: Conv2dGeometry) => ({ ...g, G });
  return [
    grouped(1, convGeometry(1, 1, 1, 1, 1, 1, 1)),
    grouped(3, convGeometry(1, 1, 1, 3, 3, 1, 1)),
    grouped(2, convGeometry(2, 7, 5, 6, 4, 3, 3, 1, 1, 1, 1)),
    grouped(3, convGeometry(1, 9, 8, 9, 6, 3, 2, 2, 1, 1, 0, 2, 1)),
    grouped(5, convGeometry(3, 6, 7, 5, 5, 3, 3, 1, 1, 1, 1)),            // depthwise
    grouped(4, convGeometry(1, 8, 9, 4, 8, 3, 3, 2, 2, 1, 1)),            // depthwise, multiplier 2
    grouped(7, convGeometry(1, 11, 10, 7, 7, 3, 3, 2, 3, 2, 2, 2, 2)),   // depthwise, stride, dilation
    grouped(2, convGeometry(1, 5, 5, 4, 70, 2, 2, 3, 3, 1, 1)),          // O/G > one tile, stride > kernel
  ].filter((g) => g.OH >= 1 && g.OW >= 1);
}

const name = (g: Conv2dGeometry) =>
  `N${g.N} ${g.H}×${g.W}×${g.C}→${g.O} k${g.KH}×${g.KW} s${g.SH},${g.SW} p${g.PH},${g.PW} d${g.DH},${g.DW} G${g.G ?? 1}`;

function pool(N: number, H: number, W: number, C: number, K: number, S: number, P: number): Pool2dGeometry {
  return { N, H, W, C, OH: windowOutput(H, K, S, P, 1), OW: windowOutput(W, K, S, P, 1), KH: K, KW: K, SH: S, SW: S, PH: P, PW: P };
}

describe('webgpu: loading', () => {
  it('a missing package is one clear line naming it (runs everywhere)', async () => {
    await assert.rejects(loadDawn('webgpu-not-installed'), (e: Error) =>
      e instanceof WebGpuUnavailableError && /the optional package 'webgpu-not-installed' is not installed/.test(e.message));
  });
});

describe('webgpu: device', { skip }, () => {
  it('finds an adapter and says which, and that SwiftShader is a software adapter', () => {
    assert.match(gpu.adapter.name, /swiftshader/i);
    assert.equal(gpu.adapter.software, true);
  });

  it('names what is missing when there is no adapter', () => {
    assert.match(missingAdapterReason('/nowhere/icd.json'), /VK_ICD_FILENAMES names \/nowhere\/icd.json, which does not exist/);
  });
});

describe('webgpu: matrix products and dense layers', { skip }, () => {
  it('matmul matches the reference for every transposition, accumulation and odd sizes; neighbours untouched', async () => {
    for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [5, 9, 13], [37, 29, 45], [33, 65, 9]]) {
      for (const transA of [false, true]) {
        for (const transB of [false, true]) {
          for (const accumulate of [false, true]) {
            await scoped(async () => {
              const a = normal(M * K), b = normal(K * N), c = normal(M * N);
              const ga = up(a), gb = up(b), gc = up(c);
              const tail = up(new Float32Array(0)); // a sentinel gap right after c
              k.matmul(ga, gb, gc, M, N, K, transA, transB, accumulate);
              ref.matmul(a, b, c, M, N, K, transA, transB, accumulate);
              const what = `matmul ${M}×${N}×${K} tA=${transA} tB=${transB} acc=${accumulate}`;
              await check(gc, c, what);
              const after = await k.read({ device: true, buffer: tail.buffer, offset: gc.offset + gc.length, length: 1 });
              assert.equal(after[0], SENTINEL, `${what}: wrote past c`);
            });
          }
        }
      }
    }
  });

  it('denseForward (bias, fused ReLU) and denseBackward match the reference', async () => {
    for (const [N, I, O] of [[1, 1, 1], [3, 7, 5], [17, 50, 10], [1, 33, 35]]) {
      for (const withBias of [true, false]) {
        await scoped(async () => {
          const x = normal(N * I), w = normal(O * I), b = normal(O), y = new Float32Array(N * O), r = new Float32Array(N * O);
          const gx_ = up(x), gw_ = up(w), gb_ = up(b), gyT = up(y), grT = up(r);
          k.denseForward(gx_, gw_, withBias ? gb_ : null, gyT, N, I, O, grT);
          ref.denseForward(x, w, withBias ? b : null, y, N, I, O, r);
          await check(gyT, y, `denseForward y ${N},${I},${O}`);
          await check(grT, r, `denseForward relu ${N},${I},${O}`);
          const gy = normal(N * O), gx = new Float32Array(N * I), gw = normal(O * I), gb = normal(O);
          const tgy = up(gy), tgx = up(normal(N * I)), tgw = up(gw), tgb = up(gb);
          k.denseBackward(gx_, gw_, tgy, tgx, tgw, withBias ? tgb : null, N, I, O);
          ref.denseBackward(x, w, gy, gx, gw, withBias ? gb : null, N, I, O);
          await check(tgx, gx, `denseBackward gx ${N},${I},${O}`);
          await check(tgw, gw, `denseBackward gw ${N},${I},${O}`);
          await check(tgb, gb, `denseBackward gb ${N},${I},${O}`);
        });
      }
    }
  });
});

describe('webgpu: convolution', { skip }, () => {
  it('forward (bias, fused ReLU), backward-data and backward-filter match the reference', async () => {
    for (const g of [...convCases(), ...groupedCases()]) {
      await scoped(async () => {
        const { N, H, W, C, O, OH, OW, KH, KW } = g;
        const x = ((g.G ?? 1) % 2 ? normal : ties)(N * H * W * C), w = normal(O * KH * KW * (C / (g.G ?? 1))), b = normal(O);
        const y = new Float32Array(N * OH * OW * O), r = new Float32Array(y.length);
        const tx = up(x), tw = up(w), tb = up(b), ty = up(y), tr = up(r);
        k.conv2dForward(tx, tw, tb, ty, g, tr);
        ref.conv2dForward(x, w, b, y, g, r);
        await check(ty, y, `conv forward ${name(g)}`);
        await check(tr, r, `conv forward relu ${name(g)}`);
        k.conv2dForward(tx, tw, null, ty, g);
        ref.conv2dForward(x, w, null, y, g);
        await check(ty, y, `conv forward, no bias, ${name(g)}`);

        const gy = normal(y.length), gx = new Float32Array(x.length);
        const tgy = up(gy), tgx = up(normal(x.length)); // garbage in gx must not survive
        k.conv2dBackwardData(tgy, tw, tgx, g);
        ref.conv2dBackwardData(gy, w, gx, g);
        await check(tgx, gx, `conv backward-data ${name(g)}`);

        const gw = normal(w.length), gb = normal(O);
        const tgw = up(gw), tgb = up(gb);
        k.conv2dBackwardFilter(tx, tgy, tgw, tgb, g);
        ref.conv2dBackwardFilter(x, gy, gw, gb, g);
        await check(tgw, gw, `conv backward-filter gw ${name(g)}`);
        await check(tgb, gb, `conv backward-filter gb ${name(g)}`);
      });
    }
  });

  it('a NaN or ∞ in the input reaches exactly the outputs whose window reads it', async () => {
    const g = convGeometry(1, 6, 5, 3, 5, 3, 2, 1, 2);
    await scoped(async () => {
      const x = normal(g.N * g.H * g.W * g.C), w = normal(g.O * g.KH * g.KW * g.C), y = new Float32Array(g.N * g.OH * g.OW * g.O);
      x[7] = NaN;
      x[40] = Infinity;
      const ty = up(y);
      k.conv2dForward(up(x), up(w), null, ty, g);
      ref.conv2dForward(x, w, null, y, g);
      assert.ok(y.some(Number.isNaN));
      await check(ty, y, 'conv forward with NaN and ∞');
    });
  });
});

describe('webgpu: pooling', { skip }, () => {
  const cases = [pool(1, 1, 1, 1, 1, 1, 0), pool(2, 6, 6, 3, 2, 2, 0), pool(1, 7, 5, 5, 3, 2, 1), pool(3, 9, 8, 6, 3, 3, 1),
    pool(1, 5, 7, 2, 2, 1, 0), pool(2, 4, 4, 7, 3, 1, 1)];

  it('max-pool: ties go to the same input as on the CPU (bitwise), forward and backward', async () => {
    for (const g of cases) {
      for (const tieSeed of [-1, 0, 77, 123456789]) {
        await scoped(async () => {
          const x = ties(g.N * g.H * g.W * g.C), outs = g.N * g.OH * g.OW * g.C;
          const y = new Float32Array(outs), am = new Int32Array(outs), gy = normal(outs), gx = new Float32Array(x.length);
          const ty = up(y), tam = up(am), tgy = up(gy), tgx = up(normal(x.length));
          k.maxPool2dForward(up(x), ty, tam, g, tieSeed);
          ref.maxPool2dForward(x, y, am, g, tieSeed);
          const what = `max-pool ${JSON.stringify(g)} seed ${tieSeed}`;
          assert.deepEqual(await k.readInts(tam), am, `${what}: arg-max`);
          assert.deepEqual(await k.read(ty), y, `${what}: y`);
          k.maxPool2dBackward(tgy, tam, tgx, g);
          ref.maxPool2dBackward(gy, am, gx, g);
          assert.deepEqual(await k.read(tgx), gx, `${what}: gx`);
        });
      }
    }
  });

  it('max-pool: a NaN wins its window (the last one), ∞ and −∞ compare as numbers', async () => {
    const g = pool(1, 4, 4, 2, 2, 2, 0);
    await scoped(async () => {
      const x = ties(32);
      x[0] = NaN; x[2] = 0; x[8] = NaN; // both in window 0 of channel 0: the last NaN wins
      x[5] = Infinity; x[21] = -Infinity;
      const y = new Float32Array(8), am = new Int32Array(8), ty = up(y), tam = up(am);
      k.maxPool2dForward(up(x), ty, tam, g, 5);
      ref.maxPool2dForward(x, y, am, g, 5);
      assert.deepEqual(await k.readInts(tam), am);
      assertSame(await k.read(ty), y, 'max-pool with NaN');
    });
  });

  it('average pool forward and backward match the reference (padding counts as zeros)', async () => {
    for (const g of cases) {
      await scoped(async () => {
        const x = normal(g.N * g.H * g.W * g.C), outs = g.N * g.OH * g.OW * g.C;
        const y = new Float32Array(outs), gy = normal(outs), gx = new Float32Array(x.length);
        const ty = up(y), tgx = up(normal(x.length));
        k.avgPool2dForward(up(x), ty, g);
        ref.avgPool2dForward(x, y, g);
        await check(ty, y, `avg-pool ${JSON.stringify(g)}`);
        k.avgPool2dBackward(up(gy), tgx, g);
        ref.avgPool2dBackward(gy, gx, g);
        await check(tgx, gx, `avg-pool backward ${JSON.stringify(g)}`);
      });
    }
  });
});

describe('webgpu: point-wise kernels', { skip }, () => {
  const awkward = [0, -0, 1e-30, -1e-30, 0.5, -0.5, 3, -3, 19.9, 20.5, -16, -30, 60, -60, 100, -100,
    NaN, Infinity, -Infinity];

  it('every activation, forward and backward, on awkward values (0 at a ReLU, NaN, ±∞, large |x|)', async () => {
    const x = Float32Array.from([...awkward, ...normal(23)]), n = x.length;
    for (const kind of ['relu', 'leaky_relu', 'sigmoid', 'tanh', 'softplus'] as ActivationKind[]) {
      await scoped(async () => {
        const y = new Float32Array(n), gy = normal(n), gx = new Float32Array(n);
        const tx = up(x), ty = up(y), tgx = up(gx);
        k.activationForward(kind, tx, ty, n, 0.01);
        ref.activationForward(kind, x, y, n, 0.01);
        await check(ty, y, `${kind} forward`, 1e-5);
        k.activationBackward(kind, tx, ty, up(gy), tgx, n, 0.01);
        ref.activationBackward(kind, x, y, gy, gx, n, 0.01);
        await check(tgx, gx, `${kind} backward`, 1e-5);
      });
    }
  });

  it('dropout drops exactly the CPU engines\' units (the same hash), a dropped NaN is 0', async () => {
    for (const [n, p, seed] of [[1, 0.5, 1], [1000, 0.5, 7], [333, 0.1, 0xffffffff], [64, 0, 3], [50, 1, 9], [77, 0.999, 2]]) {
      await scoped(async () => {
        const x = normal(n);
        if (n > 10) x[3] = x[4] = NaN;
        const y = new Float32Array(n), ty = up(y), tgx = up(y);
        k.dropoutForward(up(x), ty, n, p, seed);
        ref.dropoutForward(x, y, n, p, seed);
        const got = await k.read(ty);
        assert.deepEqual(got.map((v) => (v === 0 ? 1 : 0)), y.map((v) => (v === 0 ? 1 : 0)), `dropout mask n=${n} p=${p}`);
        assertSame(got, y, `dropout n=${n} p=${p}`, 1e-6);
        k.dropoutBackward(up(x), tgx, n, p, seed);
        ref.dropoutBackward(x, y, n, p, seed);
        assertSame(await k.read(tgx), y, `dropout backward n=${n} p=${p}`, 1e-6);
      });
    }
  });

  it('addBias and sumRows match the reference', async () => {
    for (const [R, C] of [[1, 1], [7, 3], [50, 13], [150, 5]]) {
      await scoped(async () => {
        const y = normal(R * C), b = normal(C), gb = normal(C);
        const ty = up(y), tgb = up(gb);
        k.addBias(ty, up(b), R, C);
        ref.addBias(y, b, R, C);
        await check(ty, y, `addBias ${R}×${C}`, 1e-6);
        k.sumRows(ty, tgb, R, C);
        ref.sumRows(y, gb, R, C);
        await check(tgb, gb, `sumRows ${R}×${C}`);
      });
    }
  });

  it('the non-finite flag sees a NaN or ∞ anywhere, and nothing in finite data', async () => {
    await scoped(async () => {
      const flag = up(new Float32Array(1));
      for (const [at, v, want] of [[-1, 0, 0], [0, NaN, 1], [299, Infinity, 1], [150, -Infinity, 1], [77, 3e38, 0]]) {
        const x = normal(300);
        if (at >= 0) x[at] = v;
        k.nonFinite(up(x), 300, flag);
        assert.equal((await k.read(flag))[0], want, `flag with x[${at}] = ${v}`);
      }
    });
  });
});

describe('webgpu: graph joins and the step\'s reduction', { skip }, () => {
  /** Normal values with NaN, ±∞ and ±0 sprinkled in. */
  function awkward(n: number): Float32Array {
    const special = [NaN, Infinity, -Infinity, 0, -0];
    return normal(n).map((v, i) => (i % 23 === 5 ? special[(i / 23 | 0) % special.length] : v));
  }

  it('Add (plain, broadcast, its backward sum), Concat and Identity copies match the reference (NaN, ±∞ included)', async () => {
    for (const [N, R, C] of [[1, 1, 1], [2, 5, 3], [3, 37, 13]]) {
      await scoped(async () => {
        const n = N * R * C, a = awkward(n), b = awkward(n), bc = awkward(N * C);
        const [ta, tb] = [up(a), up(b)];
        const sum = new Float32Array(n), bsum = new Float32Array(n), gb = new Float32Array(N * C);
        const [tsum, tbsum, tgb] = [up(sum), up(bsum), up(gb)];
        k.addTensors(ta, tb, tsum, n);
        ref.addTensors(a, b, sum, n);
        k.addTensors(tsum, tb, tsum, n); // in place, as the fan-out sum does
        ref.addTensors(sum, b, sum, n);
        k.addBroadcast(ta, up(bc), tbsum, N, R, C);
        ref.addBroadcast(a, bc, bsum, N, R, C);
        k.sumBroadcast(tb, tgb, N, R, C);
        ref.sumBroadcast(b, gb, N, R, C);
        const what = `${N}×${R}×${C}`;
        await check(tsum, sum, `addTensors ${what}`, 1e-6);
        await check(tbsum, bsum, `addBroadcast ${what}`, 1e-6);
        await check(tgb, gb, `sumBroadcast ${what}`, 1e-5);

        const wide = normal(N * R * (C + 5)), part = new Float32Array(N * R * 5), twide = up(wide), tpart = up(part);
        k.copyBlock(ta, twide, N * R, C, C, 0, C + 5, 5); // Concat forward: channels 5..
        ref.copyBlock(a, wide, N * R, C, C, 0, C + 5, 5);
        k.copyBlock(twide, tpart, N * R, 5, C + 5, C, 5, 0); // Concat backward: the last 5 channels
        ref.copyBlock(wide, part, N * R, 5, C + 5, C, 5, 0);
        await check(twide, wide, `copyBlock (concat) ${what}`, 0);
        await check(tpart, part, `copyBlock (concat backward) ${what}`, 0);
      });
    }
  });

  it('squaredDistance: Σ (a − b)² and Σ a², in a fixed order (the same bits twice)', async () => {
    for (const n of [1, 63, 64, 1000, 4099]) {
      await scoped(async () => {
        const a = normal(n), b = normal(n), out = up(new Float32Array(1)), ta = up(a), tb = up(b);
        let d = 0, s = 0;
        for (let i = 0; i < n; i++) { d += (a[i] - b[i]) ** 2; s += a[i] ** 2; }
        k.squaredDistance(ta, tb, n, out);
        const first = await k.read(out);
        await check(out, [d], `squaredDistance ${n}`, 1e-5);
        k.squaredDistance(ta, tb, n, out);
        assert.deepEqual(await k.read(out), first);
        k.squaredDistance(ta, null, n, out);
        await check(out, [s], `squaredDistance ${n}, b null`, 1e-5);
      });
    }
  });
});

describe('webgpu: soft-max and cross-entropy', { skip }, () => {
  it('soft-max forward/backward and the fused cross-entropy (labels, soft targets) match the reference', async () => {
    for (const [N, E] of [[1, 1], [1, 10], [5, 3], [33, 10], [4, 17]]) {
      await scoped(async () => {
        const x = normal(N * E).map((v) => v * 5), p = new Float32Array(N * E), gy = normal(N * E), gx = new Float32Array(N * E);
        const tx = up(x), tp = up(p), tgx = up(gx);
        k.softmaxForward(tx, tp, N, E);
        ref.softmaxForward(x, p, N, E);
        await check(tp, p, `softmax ${N}×${E}`, 1e-5);
        k.softmaxBackward(tp, up(gy), tgx, N, E);
        ref.softmaxBackward(p, gy, gx, N, E);
        await check(tgx, gx, `softmax backward ${N}×${E}`, 1e-5);

        const labels = Int32Array.from({ length: N }, () => rng.int(E));
        const q = new Float32Array(N * E).map(() => rng.uniform());
        for (let n = 0; n < N; n++) {
          let s = 0;
          for (let e = 0; e < E; e++) s += q[n * E + e];
          for (let e = 0; e < E; e++) q[n * E + e] /= s;
        }
        q[0] = 0; // a zero target skips its log term
        for (const target of ['labels', 'probs'] as const) {
          const gz = new Float32Array(N * E), tgz = up(gz), loss = up(new Float32Array(1));
          const risk = ref.softmaxCrossEntropy(x, target === 'labels' ? { labels } : { probs: q }, p, gz, N, E);
          k.softmaxCrossEntropy(tx, target === 'labels' ? { labels: up(labels) } : { probs: up(q) }, tp, tgz, N, E, loss);
          await check(tp, p, `cross-entropy p ${N}×${E} ${target}`, 1e-5);
          await check(tgz, gz, `cross-entropy gz ${N}×${E} ${target}`, 1e-5);
          await check(loss, [risk], `cross-entropy risk ${N}×${E} ${target}`, 1e-5);
        }
      });
    }
  });

  it('a NaN logit makes its row and the risk NaN, as on the CPU', async () => {
    await scoped(async () => {
      const N = 3, E = 4, z = normal(N * E), labels = Int32Array.from([0, 1, 2]);
      z[5] = NaN;
      const p = new Float32Array(N * E), gz = new Float32Array(N * E), tp = up(p), tgz = up(gz), loss = up(new Float32Array(1));
      const risk = ref.softmaxCrossEntropy(z, { labels }, p, gz, N, E);
      k.softmaxCrossEntropy(up(z), { labels: up(labels) }, tp, tgz, N, E, loss);
      await check(tp, p, 'p with a NaN logit', 1e-5);
      await check(tgz, gz, 'gz with a NaN logit', 1e-5);
      assert.ok(Number.isNaN(risk) && Number.isNaN((await k.read(loss))[0]));
    });
  });
});

describe('webgpu: quadratic loss', { skip }, () => {
  it('value and gradient match the reference (batch 1, one output, odd sizes; a NaN output makes its gradient and the risk NaN)', async () => {
    for (const [N, E, nan] of [[1, 1, false], [1, 7, false], [5, 3, false], [70, 10, false], [3, 4, true]] as const) {
      await scoped(async () => {
        const y = normal(N * E).map((v) => v * 4), t = normal(N * E);
        if (nan) y[5] = NaN;
        const g = new Float32Array(N * E), tg = up(normal(N * E)), loss = up(new Float32Array(1));
        const risk = quadraticLoss(y, t, g, N, E);
        k.quadraticLoss(up(y), up(t), tg, N, E, loss);
        await check(tg, g, `quadratic gradient ${N}×${E}`, 1e-5);
        await check(loss, [risk], `quadratic risk ${N}×${E}`, 1e-5);
        assert.equal(Number.isNaN(risk), nan);
      });
    }
  });

  it('negative: a gradient without the factor 2 is caught by the comparison', async () => {
    const broken = { ...QUADRATIC_LOSS, body: QUADRATIC_LOSS.body.replace('2.0 * d * inv', 'd * inv') };
    assert.notEqual(broken.body, QUADRATIC_LOSS.body);
    const bad = await GpuKernels.create(gpu.device, [broken, MEAN_LOSS]);
    await scoped(async () => {
      const N = 2, E = 3, y = normal(N * E), t = normal(N * E), g = new Float32Array(N * E), tg = up(g);
      quadraticLoss(y, t, g, N, E);
      bad.quadraticLoss(up(y), up(t), tg, N, E, up(new Float32Array(1)));
      const got = await bad.read(tg);
      assert.throws(() => assertSame(got, g, 'broken quadratic'), /broken quadratic/);
    });
  });
});

describe('webgpu: batch normalisation', { skip }, () => {
  it('training and evaluation, forward and backward, match the reference', async () => {
    for (const [R, C] of [[1, 1], [2, 3], [37, 5], [64, 6], [203, 3]]) {
      for (const training of [true, false]) {
        await scoped(async () => {
          const x = normal(R * C).map((v) => v * 3 + 1), gamma = normal(C), beta = normal(C);
          const rm = normal(C), rv = new Float32Array(C).map(() => 0.5 + rng.uniform());
          const y = new Float32Array(R * C), sm = new Float32Array(C), si = new Float32Array(C);
          const tx = up(x), tg = up(gamma), ty = up(y), trm = up(rm), trv = up(rv), tsm = up(sm), tsi = up(si);
          k.batchNormForward(tx, tg, up(beta), ty, R, C, training, 1e-5, 0.1, trm, trv, tsm, tsi);
          ref.batchNormForward(x, gamma, beta, y, R, C, training, 1e-5, 0.1, rm, rv, sm, si);
          const what = `batch norm ${R}×${C} training=${training}`;
          await check(ty, y, what, 1e-4);
          await check(trm, rm, `${what}: running mean`, 1e-5);
          await check(trv, rv, `${what}: running variance`, 1e-5);
          await check(tsi, si, `${what}: 1/σ`, 1e-4);
          const gy = normal(R * C), gx = new Float32Array(R * C), gg = normal(C), gb = normal(C);
          const tgx = up(gx), tgg = up(gg), tgb = up(gb);
          k.batchNormBackward(tx, tg, up(gy), tgx, tgg, tgb, R, C, training, tsm, tsi);
          ref.batchNormBackward(x, gamma, gy, gx, gg, gb, R, C, training, sm, si);
          await check(tgx, gx, `${what}: gx`, 5e-4);
          await check(tgg, gg, `${what}: gγ`, 1e-4);
          await check(tgb, gb, `${what}: gβ`, 1e-4);
        });
      }
    }
  });
});

describe('webgpu: optimizers', { skip }, () => {
  const n = 301;

  it('SGD (plain, momentum, dampening, Nesterov, weight decay) over three steps matches the reference', async () => {
    for (const [momentum, dampening, wd, nesterov] of [[0, 0, 0, false], [0.9, 0, 0, false], [0.9, 0.3, 1e-2, false],
      [0.8, 0, 5e-3, true]] as const) {
      await scoped(async () => {
        const w = normal(n), buf = new Float32Array(n), tw = up(w), tbuf = up(buf);
        for (let t = 1; t <= 3; t++) {
          const g = normal(n);
          k.sgdUpdate(tw, up(g), momentum ? tbuf : null, n, 0.05, momentum, dampening, wd, nesterov, t === 1);
          ref.sgdUpdate!(w, g, momentum ? buf : null, n, 0.05, momentum, dampening, wd, nesterov, t === 1);
        }
        await check(tw, w, `sgd μ=${momentum} τ=${dampening} λ=${wd} nesterov=${nesterov}`, 1e-5);
        await check(tbuf, buf, `sgd buffer μ=${momentum}`, 1e-5);
      });
    }
  });

  it('Adam, AdamW and AMSGrad over three steps match the reference', async () => {
    for (const [l2, shrink, ams] of [[0, 1, false], [1e-2, 1, false], [0, 1 - 1e-3 * 0.01, false], [0, 1, true]] as const) {
      await scoped(async () => {
        const w = normal(n), m = new Float32Array(n), v = new Float32Array(n), vMax = new Float32Array(n);
        const tw = up(w), tm = up(m), tv = up(v), tvm = up(vMax);
        for (let t = 1; t <= 3; t++) {
          const g = normal(n);
          g[0] = 0; // v = 0: the update divides by ε only
          k.adamUpdate(tw, up(g), tm, tv, ams ? tvm : null, n, 1e-3, 0.9, 0.999, 1e-8, l2, shrink, t);
          ref.adamUpdate!(w, g, m, v, ams ? vMax : null, n, 1e-3, 0.9, 0.999, 1e-8, l2, shrink, t);
        }
        await check(tw, w, `adam l2=${l2} shrink=${shrink} amsgrad=${ams}`, 1e-5);
        await check(tm, m, 'adam m', 1e-5);
        await check(tv, v, 'adam v', 1e-5);
      });
    }
  });

  it('RMSprop (centered, momentum, weight decay) and Adagrad (lr decay, initial accumulator) match the optimizers', async () => {
    for (const [momentum, centered, wd] of [[0, false, 0], [0.9, false, 1e-2], [0, true, 0], [0.5, true, 1e-3]] as const) {
      await scoped(async () => {
        const cpu = new RMSprop({ lr: 1e-2, alpha: 0.9, eps: 1e-8, weightDecay: wd, momentum, centered }, n);
        const w = normal(n), tw = up(w), sq = up(new Float32Array(n)), buf = up(new Float32Array(n)), avg = up(new Float32Array(n));
        for (let t = 1; t <= 3; t++) {
          const g = normal(n);
          k.rmspropUpdate(tw, up(g), sq, momentum ? buf : null, centered ? avg : null, n, 1e-2, 0.9, 1e-8, wd, momentum);
          cpu.step(w, g);
        }
        await check(tw, w, `rmsprop μ=${momentum} centered=${centered} λ=${wd}`, 1e-4);
      });
    }
    for (const [lrDecay, init, wd] of [[0, 0, 0], [0.1, 0.5, 1e-2]]) {
      await scoped(async () => {
        const cpu = new Adagrad({ lr: 1e-2, lrDecay, initialAccumulatorValue: init, eps: 1e-10, weightDecay: wd }, n);
        const w = normal(n), tw = up(w), sum = up(new Float32Array(n).fill(init));
        for (let t = 1; t <= 3; t++) {
          const g = normal(n);
          k.adagradUpdate(tw, up(g), sum, n, 1e-2, lrDecay, 1e-10, wd, t);
          cpu.step(w, g);
        }
        await check(tw, w, `adagrad η=${lrDecay} s0=${init} λ=${wd}`, 1e-4);
      });
    }
  });
});

describe('webgpu: the guarded step', { skip }, () => {
  it('a gradient flagged non-finite on the device leaves w and the state untouched, for every optimizer', async () => {
    await scoped(async () => {
      const n = 40, g = normal(n), flag = up(new Float32Array(1)), w0 = normal(n);
      g[9] = NaN;
      const tg = up(g), w = up(w0), s1 = up(new Float32Array(n)), s2 = up(new Float32Array(n)), s3 = up(new Float32Array(n));
      k.nonFinite(tg, n, flag);
      k.sgdUpdate(w, tg, s1, n, 0.1, 0.9, 0, 0, false, true, flag);
      k.adamUpdate(w, tg, s1, s2, s3, n, 0.1, 0.9, 0.999, 1e-8, 0, 1, 1, flag);
      k.rmspropUpdate(w, tg, s1, s2, s3, n, 0.1, 0.9, 1e-8, 0, 0.9, flag);
      k.adagradUpdate(w, tg, s1, n, 0.1, 0, 1e-10, 0, 1, flag);
      assert.deepEqual(await k.read(w), w0);
      for (const s of [s1, s2, s3]) assert.deepEqual(await k.read(s), new Float32Array(n));
      g[9] = 0; // the same calls with a finite gradient do update w: the guard is what held it
      k.write(tg, g);
      k.nonFinite(tg, n, flag);
      k.sgdUpdate(w, tg, null, n, 0.1, 0, 0, 0, false, true, flag);
      assert.notDeepEqual(await k.read(w), w0);
    });
  });
});

describe('webgpu: reading a step late', { skip }, () => {
  it('each step\'s loss and non-finite flag come back one step later, in order, without a read in the step', async () => {
    await scoped(async () => {
      const late = new LateReadback(k, 2);
      const loss = up(new Float32Array(1)), flag = up(new Float32Array(1)), got: [number, number, number][] = [];
      for (let step = 0; step < 4; step++) {
        const x = normal(50);
        if (step === 2) x[17] = NaN;
        k.write(loss, Float32Array.of(step * 1.5));
        k.nonFinite(up(x), 50, flag);
        late.capture(step, [loss, flag]);
        if (step > 0) {
          const prev = (await late.take())!;
          got.push([prev.step, prev.values[0], prev.values[1]]);
        }
      }
      for (const s of await late.drain()) got.push([s.step, s.values[0], s.values[1]]);
      assert.deepEqual(got, [[0, 0, 0], [1, 1.5, 0], [2, 3, 1], [3, 4.5, 0]]);
      assert.equal(await late.take(), null);
      late.destroy();
    });
  });

  it('capturing over a step that was never taken is refused', async () => {
    await scoped(async () => {
      const late = new LateReadback(k, 1, 1), loss = up(new Float32Array(1));
      late.capture(0, [loss]);
      assert.throws(() => late.capture(1, [loss]), /step 0 was never taken/);
      await late.drain();
      late.destroy();
    });
  });
});

describe('webgpu: determinism and negative tests', { skip }, () => {
  /** A forward, a backward and a loss, from fixed data: every output's bytes. */
  async function run(): Promise<Float32Array[]> {
    const r = new Rng(5);
    const data = (n: number) => Float32Array.from({ length: n }, () => r.normal());
    const g = convGeometry(2, 9, 8, 5, 12, 3, 3, 2, 1, 1, 1, 1, 2);
    const outs = g.N * g.OH * g.OW * g.O;
    const mark = store.mark();
    try {
      const x = up(data(g.N * g.H * g.W * g.C)), w = up(data(g.O * g.KH * g.KW * g.C)), y = up(new Float32Array(outs));
      const gw = up(new Float32Array(g.O * g.KH * g.KW * g.C)), gb = up(new Float32Array(g.O)), gx = up(new Float32Array(x.length));
      const p = up(new Float32Array(outs)), gz = up(new Float32Array(outs)), loss = up(new Float32Array(1));
      const rows = g.N * g.OH * g.OW;
      k.conv2dForward(x, w, null, y, g);
      k.softmaxCrossEntropy(y, { labels: up(Int32Array.from({ length: rows }, (_, i) => i % g.O)) }, p, gz, rows, g.O, loss);
      k.conv2dBackwardFilter(x, gz, gw, gb, g);
      k.conv2dBackwardData(gz, w, gx, g);
      const dw = { ...g, O: g.C, G: g.C }, dwOuts = g.N * g.OH * g.OW * g.C; // depthwise: one dispatch per group
      const dy = up(new Float32Array(dwOuts)), dgw = up(new Float32Array(g.C * g.KH * g.KW)), dgx = up(new Float32Array(x.length));
      k.conv2dForward(x, w, null, dy, dw);
      k.conv2dBackwardFilter(x, dy, dgw, null, dw);
      k.conv2dBackwardData(dy, w, dgx, dw);
      return Promise.all([y, gw, gb, gx, loss, dy, dgw, dgx].map((t) => k.read(t)));
    } finally {
      store.release(mark);
    }
  }

  it('two runs give bitwise the same numbers', async () => {
    const first = await run(), second = await run();
    first.forEach((a, i) => assert.deepEqual(new Uint32Array(second[i].buffer), new Uint32Array(a.buffer), `output ${i}`));
  });

  it('a shader that does not compile is reported with its kernel name', async () => {
    await assert.rejects(checkKernel(gpu.device, MATMUL, 'fn main( {'), (e: Error) =>
      e instanceof ShaderError && /WebGPU kernel matmul does not compile: line \d+/.test(e.message));
  });

  it('a kernel with a bug (the last k of each tile skipped) is caught by the comparison', async () => {
    const broken = { ...MATMUL, body: MATMUL.body.replace('kk < BK;', 'kk < BK - 1u;') };
    assert.notEqual(broken.body, MATMUL.body);
    const bad = await GpuKernels.create(gpu.device, [broken]);
    await scoped(async () => {
      const M = 5, N = 6, K = 9, a = normal(M * K), b = normal(K * N), c = new Float32Array(M * N), tc = up(c);
      bad.matmul(up(a), up(b), tc, M, N, K, false, false, false);
      ref.matmul(a, b, c, M, N, K, false, false, false);
      const got = await bad.read(tc);
      assert.throws(() => assertSame(got, c, 'broken matmul'), /broken matmul/);
    });
  });

  it('a max-pool with a different tie draw (hash index + 1) is caught by the bitwise arg-max check', async () => {
    const broken = { ...MAX_POOL_FORWARD, body: MAX_POOL_FORWARD.body.replace('out * 64u + ties)', 'out * 64u + ties + 1u)') };
    assert.notEqual(broken.body, MAX_POOL_FORWARD.body);
    const bad = await GpuKernels.create(gpu.device, [broken]);
    await scoped(async () => {
      const g = pool(2, 6, 6, 3, 3, 1, 1), outs = g.N * g.OH * g.OW * g.C;
      const x = ties(g.N * g.H * g.W * g.C), y = new Float32Array(outs), am = new Int32Array(outs), tam = up(am);
      bad.maxPool2dForward(up(x), up(y), tam, g, 42);
      ref.maxPool2dForward(x, y, am, g, 42);
      assert.notDeepEqual(await bad.readInts(tam), am);
    });
  });

  it('a dispatch that WebGPU rejects (a destroyed buffer) fails the next read with its reason', async () => {
    const gone = new GpuStorage(gpu.device, 16, 'destroyed storage');
    const y = gone.alloc(8), bias = gone.alloc(4);
    gone.destroy();
    k.addBias(y, bias, 2, 4);
    await assert.rejects(k.finish(), /WebGPU rejected a dispatch: .*destroyed storage/);
    await k.finish(); // the error was reported once, and the kernels go on working
  });

  it('a broken group offset (every group after the first reads its input one channel early) is caught', async () => {
    const bad = await GpuKernels.create(gpu.device);
    const inner = bad as unknown as { gemm(spec: unknown, tensors: (GpuTensor | null)[], scalars: object): void };
    const gemm = inner.gemm.bind(bad);
    let calls = 0;
    inner.gemm = (spec, tensors, scalars) => {
      const [x, ...rest] = tensors;
      gemm(spec, [calls++ > 0 && x ? { ...x, offset: x.offset - 1 } : x, ...rest], scalars);
    };
    const g = { ...convGeometry(2, 5, 4, 6, 4, 3, 3, 1, 1, 1, 1), G: 2 };
    await scoped(async () => {
      const x = normal(g.N * g.H * g.W * g.C), w = normal(g.O * g.KH * g.KW * 3), y = new Float32Array(g.N * g.OH * g.OW * g.O);
      const ty = up(y);
      bad.conv2dForward(up(x), up(w), null, ty, g);
      ref.conv2dForward(x, w, null, y, g);
      assert.equal(calls, 2);
      const got = await bad.read(ty);
      assert.throws(() => assertSame(got, y, 'broken group offset'), /broken group offset/);
    });
  });

  it('groups that do not divide the channels are refused in one line', () => {
    const g = { ...convGeometry(1, 4, 4, 4, 6, 3, 3), G: 4 };
    assert.throws(() => k.conv2dForward(up(normal(64)), up(normal(54)), null, up(normal(24)), g),
      /conv2dForward: 4 groups do not divide 4 input and 6 output channels/);
  });

  it('a view too short for the call is refused before anything runs', async () => {
    await scoped(async () => {
      assert.throws(() => k.matmul(up(normal(5)), up(normal(6)), up(normal(3)), 2, 3, 3, false, false, false),
        /matmul: a holds 5 elements, the call needs 6/);
    });
  });
});
