/**
 * Every kernel of the Kernels interface fed NaN, +∞, −∞, zeros and ties, on an engine and on the
 * reference kernels, compared value by value: the engine must give NaN exactly where the reference
 * does, the same infinities, and close finite values. Used by engine-nonfinite.test.ts on the
 * WebAssembly engine, and on deliberately broken kernels that must fail it.
 */
import { AssertionError } from 'node:assert';
import type { Arena } from '../src/core/arena.js';
import { Rng } from '../src/core/rng.js';
import type { ActivationKind, Conv2dGeometry, Kernels, Pool2dGeometry } from '../src/kernels/kernels.js';
import { referenceKernels as ref } from '../src/kernels/reference/index.js';
import { windowOutput } from '../src/layers/options.js';
import { convGeometry, hostI } from './helpers.js';

/** An engine under test: its kernels and the arena its arrays must come from. */
export interface Side {
  kernels: Kernels;
  arena: Arena & { mark?(): number; release?(mark: number): void };
}

/** The methods of the interface (every one must be exercised). */
export const KERNEL_METHODS = Object.keys(ref).filter((k) => typeof (ref as unknown as Record<string, unknown>)[k] === 'function');

const SPECIALS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY];

/**
 * Equal under IEEE semantics: NaN exactly where expected has NaN, the same infinities, and every
 * finite value within tol · (1 + |expected|) (the engine tests' measure). `nanAllowed(i)` names
 * the elements where a NaN is also right (a non-finite weight meeting zero padding, see below).
 */
export function assertSameIeee(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string,
  nanAllowed?: (i: number) => boolean): void {
  if (actual.length < expected.length) throw new AssertionError({ message: `${what}: ${actual.length} values, expected ${expected.length}` });
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a)
      : !Number.isFinite(e) ? a === e
      : Number.isFinite(a) ? Math.abs(a - e) <= tol * (1 + Math.abs(e))
      : Number.isNaN(a) && nanAllowed !== undefined && nanAllowed(i);
    if (!ok) throw new AssertionError({ message: `${what}: element ${i} is ${a}, the reference gives ${e}`, actual: a, expected: e });
  }
}

/**
 * Runs every kernel on `side` and on the reference; throws at the first disagreement. Returns the
 * names of the kernel methods it called on `side`.
 */
export function checkNonFiniteAgreement(side: Side, seed = 7): Set<string> {
  const called = new Set<string>();
  const k = new Proxy(side.kernels, {
    get(target, key, receiver) {
      const v = Reflect.get(target, key, receiver);
      if (typeof v !== 'function') return v;
      called.add(String(key));
      return v.bind(target);
    },
  });
  new Checker(k, side, new Rng(seed)).all();
  return called;
}

type Pair = [Float32Array, Float32Array];

class Checker {
  constructor(private readonly k: Kernels, private readonly side: Side, private readonly rng: Rng) {}

  all(): void {
    this.matmul();
    this.dense();
    for (const g of CONVS) this.conv(g);
    for (const g of POOLS) this.pool(g);
    this.pointwise();
    this.softmax();
    this.batchNorm();
    this.optimizers();
    this.joins();
  }

  /** Halves in [-4, 4] (so many zeros and ties); with `hot`, NaN, +∞ and −∞ planted at a few places. */
  private values(n: number, hot: boolean, spacing = 0): number[] {
    const v = Array.from({ length: n }, () => Math.round(this.rng.normal() * 2) / 2);
    if (hot) {
      const every = spacing || Math.max(2, Math.floor(n / 3));
      for (let i = this.rng.int(every), s = 0; i < n; i += every, s++) v[i] = SPECIALS[s % 3];
    }
    return v;
  }

  /** The same values in the engine's memory and in a heap array for the reference. */
  private pair(n: number, hot = false, spacing = 0): Pair {
    const v = this.values(n, hot, spacing);
    const a = this.side.arena.floats(n) as Float32Array;
    a.set(v);
    return [a, Float32Array.from(v)];
  }

  private zeros(n: number): Pair {
    return [this.side.arena.floats(n) as Float32Array, new Float32Array(n)];
  }

  private scoped(body: () => void): void {
    const arena = this.side.arena;
    const mark = arena.mark?.();
    try {
      body();
    } finally {
      if (mark !== undefined) arena.release?.(mark);
    }
  }

  /** Each input made non-finite in turn (and none). */
  private *hotInputs(names: string[]): Generator<string> {
    yield 'none';
    yield* names;
  }

  private matmul(): void {
    for (const [M, N, K] of [[1, 1, 1], [3, 5, 7], [9, 13, 17], [16, 24, 33]]) {
      for (const hot of this.hotInputs(['a', 'b', 'c'])) {
        for (const [transA, transB, acc] of [[false, false, false], [true, false, true], [false, true, true], [true, true, false]]) {
          this.scoped(() => {
            const [a, a0] = this.pair(M * K, hot === 'a'), [b, b0] = this.pair(K * N, hot === 'b');
            const [c, c0] = this.pair(M * N, hot === 'c');
            this.k.matmul(a, b, c, M, N, K, transA, transB, acc);
            ref.matmul(a0, b0, c0, M, N, K, transA, transB, acc);
            assertSameIeee(c, c0, 1e-5, `matmul ${M}×${N}×${K} tA=${transA} tB=${transB} acc=${acc}, non-finite ${hot}`);
          });
        }
      }
    }
  }

  private dense(): void {
    for (const [N, I, O] of [[1, 1, 1], [3, 7, 5], [8, 13, 9], [5, 40, 17]]) {
      for (const hot of this.hotInputs(['x', 'w', 'b', 'gy'])) {
        this.scoped(() => {
          const what = `dense ${N},${I},${O}, non-finite ${hot}`;
          const [x, x0] = this.pair(N * I, hot === 'x'), [w, w0] = this.pair(O * I, hot === 'w');
          const [b, b0] = this.pair(O, hot === 'b');
          const [y, y0] = this.zeros(N * O), [r, r0] = this.zeros(N * O);
          this.k.denseForward(x, w, b, y, N, I, O, r);
          ref.denseForward(x0, w0, b0, y0, N, I, O, r0);
          assertSameIeee(y, y0, 1e-5, `${what}: denseForward y`);
          assertSameIeee(r, r0, 1e-5, `${what}: denseForward fused ReLU`);
          const [gy, gy0] = this.pair(N * O, hot === 'gy'), [gx, gx0] = this.zeros(N * I);
          const [gw, gw0] = this.pair(O * I), [gb, gb0] = this.pair(O);
          this.k.denseBackward(x, w, gy, gx, gw, gb, N, I, O);
          ref.denseBackward(x0, w0, gy0, gx0, gw0, gb0, N, I, O);
          assertSameIeee(gx, gx0, 1e-5, `${what}: denseBackward gx`);
          assertSameIeee(gw, gw0, 1e-5, `${what}: denseBackward gw`);
          assertSameIeee(gb, gb0, 1e-5, `${what}: denseBackward gb`);
        });
      }
    }
  }

  private conv(g: Conv2dGeometry): void {
    const { N, H, W, C, O, OH, OW, KH, KW } = g;
    const nx = N * H * W * C, nw = O * KH * KW * C, ny = N * OH * OW * O;
    const shape = `conv N${N} ${H}×${W}×${C}→${O} k${KH}×${KW} s${g.SH},${g.SW} p${g.PH},${g.PW} d${g.DH},${g.DW}`;
    for (const hot of this.hotInputs(['x', 'w', 'b', 'gy'])) {
      this.scoped(() => {
        const what = `${shape}, non-finite ${hot}`;
        // Sparse specials, so that finite outputs remain beside the poisoned windows.
        const [x, x0] = this.pair(nx, hot === 'x', Math.max(2, Math.floor(nx / 2))), [w, w0] = this.pair(nw, hot === 'w');
        const [b, b0] = this.pair(O, hot === 'b'), [y, y0] = this.pair(ny), [r, r0] = this.pair(ny);
        this.k.conv2dForward(x, w, b, y, g, r);
        ref.conv2dForward(x0, w0, b0, y0, g, r0);
        // A non-finite weight times the zero padding: NaN where the padding is multiplied (as the
        // tiles of the fast engine do), nothing where it is skipped (the reference). Either is right.
        const multiplied = paddingMultiplied(x0, g, (xp, gp) => {
          const [yp, rp] = [new Float32Array(ny), new Float32Array(ny)];
          ref.conv2dForward(xp, w0, b0, yp, gp, rp);
          return [yp, rp];
        });
        assertSameIeee(y, y0, 1e-5, `${what}: conv2dForward y`, (i) => Number.isNaN(multiplied[0][i]));
        assertSameIeee(r, r0, 1e-5, `${what}: conv2dForward fused ReLU`, (i) => Number.isNaN(multiplied[1][i]));
        const [gy, gy0] = this.pair(ny, hot === 'gy', Math.max(2, Math.floor(ny / 2))), [gx, gx0] = this.pair(nx);
        this.k.conv2dBackwardData(gy, w, gx, g);
        ref.conv2dBackwardData(gy0, w0, gx0, g);
        // Likewise the zeros between and around gy that a transposed convolution multiplies.
        const poisoned = poisonedChannels(w0, C);
        assertSameIeee(gx, gx0, 1e-5, `${what}: conv2dBackwardData`, (i) => poisoned.has(i % C));
        const [gw, gw0] = this.pair(nw), [gb, gb0] = this.pair(O);
        const gwStart = Float32Array.from(gw0);
        this.k.conv2dBackwardFilter(x, gy, gw, gb, g);
        ref.conv2dBackwardFilter(x0, gy0, gw0, gb0, g);
        const [gwMultiplied] = paddingMultiplied(x0, g, (xp, gp) => {
          const gwp = Float32Array.from(gwStart);
          ref.conv2dBackwardFilter(xp, gy0, gwp, null, gp);
          return [gwp];
        });
        assertSameIeee(gw, gw0, 1e-5, `${what}: conv2dBackwardFilter gw`, (i) => Number.isNaN(gwMultiplied[i]));
        assertSameIeee(gb, gb0, 1e-5, `${what}: conv2dBackwardFilter gb`);
      });
    }
  }

  private pool(g: Pool2dGeometry): void {
    const { N, H, W, C, OH, OW } = g;
    const nx = N * H * W * C, ny = N * OH * OW * C;
    for (const hot of this.hotInputs(['x', 'gy'])) {
      for (const tieSeed of [-1, 99]) {
        this.scoped(() => {
          const what = `pool ${JSON.stringify(g)} tieSeed ${tieSeed}, non-finite ${hot}`;
          const [x, x0] = this.pair(nx, hot === 'x', 5), [y, y0] = this.zeros(ny);
          const am = hostI(this.side.arena.ints(ny)), am0 = new Int32Array(ny);
          this.k.maxPool2dForward(x, y, am, g, tieSeed);
          ref.maxPool2dForward(x0, y0, am0, g, tieSeed);
          assertSameIeee(y, y0, 0, `${what}: maxPool2dForward y`);
          assertSameIeee(am, am0, 0, `${what}: maxPool2dForward arg-max`);
          const [gy, gy0] = this.pair(ny, hot === 'gy', 5), [gx, gx0] = this.pair(nx);
          this.k.maxPool2dBackward(gy, am0Copy(this.side, am0), gx, g);
          ref.maxPool2dBackward(gy0, am0, gx0, g);
          assertSameIeee(gx, gx0, 1e-6, `${what}: maxPool2dBackward`);
          const [ya, ya0] = this.zeros(ny);
          this.k.avgPool2dForward(x, ya, g);
          ref.avgPool2dForward(x0, ya0, g);
          assertSameIeee(ya, ya0, 1e-6, `${what}: avgPool2dForward`);
          this.k.avgPool2dBackward(gy, gx, g);
          ref.avgPool2dBackward(gy0, gx0, g);
          assertSameIeee(gx, gx0, 1e-6, `${what}: avgPool2dBackward`);
        });
      }
    }
  }

  private pointwise(): void {
    const kinds: ActivationKind[] = ['relu', 'leaky_relu', 'sigmoid', 'tanh', 'softplus'];
    for (const n of [1, 3, 4, 5, 13, 64, 1001]) {
      for (const hot of this.hotInputs(['x', 'gy'])) {
        this.scoped(() => {
          const what = `n=${n}, non-finite ${hot}`;
          const [x, x0] = this.pair(n, hot === 'x', 3), [gy, gy0] = this.pair(n, hot === 'gy', 3);
          for (const kind of kinds) {
            const [y, y0] = this.zeros(n), [gx, gx0] = this.zeros(n);
            this.k.activationForward(kind, x, y, n, 0.1);
            ref.activationForward(kind, x0, y0, n, 0.1);
            assertSameIeee(y, y0, 1e-5, `${what}: activationForward ${kind}`);
            this.k.activationBackward(kind, x, y, gy, gx, n, 0.1);
            ref.activationBackward(kind, x0, y0, gy0, gx0, n, 0.1);
            assertSameIeee(gx, gx0, 1e-5, `${what}: activationBackward ${kind}`);
          }
          for (const p of [0, 0.5]) {
            const [y, y0] = this.zeros(n), [gx, gx0] = this.zeros(n);
            this.k.dropoutForward(x, y, n, p, 1234);
            ref.dropoutForward(x0, y0, n, p, 1234);
            assertSameIeee(y, y0, 0, `${what}: dropoutForward p=${p}`);
            this.k.dropoutBackward(gy, gx, n, p, 1234);
            ref.dropoutBackward(gy0, gx0, n, p, 1234);
            assertSameIeee(gx, gx0, 0, `${what}: dropoutBackward p=${p}`);
          }
          // Bias rows: the bias is non-finite in the 'gy' round, the summed rows in the 'x' round.
          const R = n > 4 ? 4 : 1, C = Math.floor(n / R);
          const [yb, yb0] = this.pair(R * C), [bias, bias0] = this.pair(C, hot === 'gy');
          this.k.addBias(yb, bias, R, C);
          ref.addBias(yb0, bias0, R, C);
          assertSameIeee(yb, yb0, 1e-6, `${what}: addBias`);
          const [gb, gb0] = this.pair(C);
          this.k.sumRows(hot === 'x' ? x : yb, gb, R, C);
          ref.sumRows(hot === 'x' ? x0 : yb0, gb0, R, C);
          assertSameIeee(gb, gb0, 1e-5, `${what}: sumRows`);
        });
      }
    }
  }

  /** The graph joins (Add, Concat, Identity) and the fan-out sum. */
  private joins(): void {
    for (const [N, R, C] of [[1, 1, 1], [2, 3, 5], [3, 7, 4]]) {
      for (const hot of this.hotInputs(['a', 'b'])) {
        this.scoped(() => {
          const what = `N=${N} R=${R} C=${C}, non-finite ${hot}`, n = N * R * C;
          const [a, a0] = this.pair(n, hot === 'a', 3), [b, b0] = this.pair(n, hot === 'b', 3);
          const [bc, bc0] = this.pair(N * C, hot === 'b');
          const [y, y0] = this.zeros(n);
          this.k.addTensors(a, b, y, n);
          ref.addTensors(a0, b0, y0, n);
          assertSameIeee(y, y0, 0, `${what}: addTensors`);
          this.k.addBroadcast(a, bc, y, N, R, C);
          ref.addBroadcast(a0, bc0, y0, N, R, C);
          assertSameIeee(y, y0, 0, `${what}: addBroadcast`);
          const [gb, gb0] = this.zeros(N * C);
          this.k.sumBroadcast(hot === 'a' ? a : b, gb, N, R, C);
          ref.sumBroadcast(hot === 'a' ? a0 : b0, gb0, N, R, C);
          assertSameIeee(gb, gb0, 0, `${what}: sumBroadcast`);
          const [wide, wide0] = this.zeros(N * R * (C + 2));
          this.k.copyBlock(a, wide, N * R, C, C, 0, C + 2, 1);
          ref.copyBlock(a0, wide0, N * R, C, C, 0, C + 2, 1);
          assertSameIeee(wide, wide0, 0, `${what}: copyBlock`);
        });
      }
    }
  }

  private softmax(): void {
    for (const [N, E] of [[1, 1], [1, 3], [6, 10], [17, 7]]) {
      for (const hot of this.hotInputs(['z', 'gy', 'q'])) {
        this.scoped(() => {
          const what = `soft-max ${N}×${E}, non-finite ${hot}`;
          const n = N * E;
          const [z, z0] = this.pair(n, hot === 'z', Math.max(2, E + 1));
          const [p, p0] = this.zeros(n);
          this.k.softmaxForward(z, p, N, E);
          ref.softmaxForward(z0, p0, N, E);
          assertSameIeee(p, p0, 1e-6, `${what}: softmaxForward`);
          const [gy, gy0] = this.pair(n, hot === 'gy', Math.max(2, E + 1)), [gx, gx0] = this.zeros(n);
          this.k.softmaxBackward(p, gy, gx, N, E);
          ref.softmaxBackward(p0, gy0, gx0, N, E);
          assertSameIeee(gx, gx0, 1e-5, `${what}: softmaxBackward`);
          const labels = Int32Array.from({ length: N }, () => this.rng.int(E));
          const inArena = hostI(this.side.arena.ints(N));
          inArena.set(labels);
          const [gz, gz0] = this.zeros(n);
          const risk = this.k.softmaxCrossEntropy(z, { labels: inArena }, p, gz, N, E);
          const risk0 = ref.softmaxCrossEntropy(z0, { labels }, p0, gz0, N, E);
          assertSameIeee([risk], [risk0], 1e-6, `${what}: softmaxCrossEntropy (labels) risk`);
          assertSameIeee(p, p0, 1e-6, `${what}: softmaxCrossEntropy (labels) p`);
          assertSameIeee(gz, gz0, 1e-6, `${what}: softmaxCrossEntropy (labels) gz`);
          const [q, q0] = this.pair(n, hot === 'q', Math.max(2, E + 1));
          for (let i = 0; i < n; i++) if (Number.isFinite(q0[i])) q[i] = q0[i] = Math.abs(q0[i]) / 4;
          const riskQ = this.k.softmaxCrossEntropy(z, { probs: q }, p, gz, N, E);
          const riskQ0 = ref.softmaxCrossEntropy(z0, { probs: q0 }, p0, gz0, N, E);
          assertSameIeee([riskQ], [riskQ0], 1e-6, `${what}: softmaxCrossEntropy (probabilities) risk`);
          assertSameIeee(gz, gz0, 1e-6, `${what}: softmaxCrossEntropy (probabilities) gz`);
        });
      }
    }
  }

  private batchNorm(): void {
    for (const [R, C] of [[1, 1], [5, 3], [24, 7]]) {
      for (const training of [true, false]) {
        for (const hot of this.hotInputs(['x', 'gamma', 'beta', 'running', 'gy'])) {
          this.scoped(() => {
            const what = `batch-norm ${R}×${C} training=${training}, non-finite ${hot}`;
            const [x, x0] = this.pair(R * C, hot === 'x', Math.max(2, 2 * C + 1));
            const [gamma, gamma0] = this.pair(C, hot === 'gamma'), [beta, beta0] = this.pair(C, hot === 'beta');
            const [rm, rm0] = this.pair(C, hot === 'running'), [rv, rv0] = this.pair(C, hot === 'running');
            for (let c = 0; c < C; c++) if (Number.isFinite(rv0[c])) rv[c] = rv0[c] = Math.abs(rv0[c]);
            const [sm, sm0] = this.zeros(C), [si, si0] = this.zeros(C), [y, y0] = this.zeros(R * C);
            this.k.batchNormForward(x, gamma, beta, y, R, C, training, 1e-5, 0.1, rm, rv, sm, si);
            ref.batchNormForward(x0, gamma0, beta0, y0, R, C, training, 1e-5, 0.1, rm0, rv0, sm0, si0);
            assertSameIeee(y, y0, 1e-5, `${what}: batchNormForward y`);
            assertSameIeee(rm, rm0, 1e-5, `${what}: batchNormForward running mean`);
            assertSameIeee(rv, rv0, 1e-5, `${what}: batchNormForward running variance`);
            assertSameIeee(si, si0, 1e-5, `${what}: batchNormForward 1/σ`);
            const [gy, gy0] = this.pair(R * C, hot === 'gy', Math.max(2, 2 * C + 1)), [gx, gx0] = this.zeros(R * C);
            const [gg, gg0] = this.pair(C), [gbt, gbt0] = this.pair(C);
            this.k.batchNormBackward(x, gamma, gy, gx, gg, gbt, R, C, training, sm, si);
            ref.batchNormBackward(x0, gamma0, gy0, gx0, gg0, gbt0, R, C, training, sm0, si0);
            assertSameIeee(gx, gx0, 1e-5, `${what}: batchNormBackward gx`);
            assertSameIeee(gg, gg0, 1e-5, `${what}: batchNormBackward γ gradient`);
            assertSameIeee(gbt, gbt0, 1e-5, `${what}: batchNormBackward β gradient`);
          });
        }
      }
    }
  }

  private optimizers(): void {
    const { sgdUpdate, adamUpdate } = this.k;
    if (!sgdUpdate || !adamUpdate) return; // an engine may leave them out (the reference loops run instead)
    for (const n of [1, 5, 67]) {
      for (const hot of this.hotInputs(['w', 'g', 'state'])) {
        for (const variant of [0, 1, 2]) {
          this.scoped(() => {
            const what = `optimizers n=${n} variant ${variant}, non-finite ${hot}`;
            const [w, w0] = this.pair(n, hot === 'w'), [g, g0] = this.pair(n, hot === 'g');
            const [buf, buf0] = this.pair(n, hot === 'state');
            sgdUpdate.call(this.k, w, g, variant === 0 ? null : buf, n, 0.5, 0.9, variant === 2 ? 0.1 : 0, 0.01, variant === 2, variant === 1);
            ref.sgdUpdate!(w0, g0, variant === 0 ? null : buf0, n, 0.5, 0.9, variant === 2 ? 0.1 : 0, 0.01, variant === 2, variant === 1);
            assertSameIeee(w, w0, 1e-5, `${what}: sgdUpdate w`);
            assertSameIeee(buf, buf0, 1e-5, `${what}: sgdUpdate buffer`);
            const [m, m0] = this.pair(n, hot === 'state'), [v, v0] = this.pair(n, hot === 'state');
            const [vMax, vMax0] = this.pair(n);
            for (let i = 0; i < n; i++) {
              if (Number.isFinite(v0[i])) v[i] = v0[i] = Math.abs(v0[i]);
              vMax[i] = vMax0[i] = Math.abs(vMax0[i]);
            }
            adamUpdate.call(this.k, w, g, m, v, variant === 1 ? vMax : null, n, 0.01, 0.9, 0.999, 1e-8,
              variant === 2 ? 0 : 0.01, variant === 2 ? 0.999 : 1, 3);
            ref.adamUpdate!(w0, g0, m0, v0, variant === 1 ? vMax0 : null, n, 0.01, 0.9, 0.999, 1e-8,
              variant === 2 ? 0 : 0.01, variant === 2 ? 0.999 : 1, 3);
            assertSameIeee(w, w0, 1e-5, `${what}: adamUpdate w`);
            assertSameIeee(m, m0, 1e-5, `${what}: adamUpdate m`);
            assertSameIeee(v, v0, 1e-5, `${what}: adamUpdate v`);
            assertSameIeee(vMax, vMax0, 1e-5, `${what}: adamUpdate v̂`);
          });
        }
      }
    }
  }
}

/**
 * What a convolution gives when its zero padding is multiplied like any input: `run` on x padded
 * explicitly with zeros, in a geometry without padding.
 */
function paddingMultiplied(x: Float32Array, g: Conv2dGeometry,
  run: (xp: Float32Array, gp: Conv2dGeometry) => Float32Array[]): Float32Array[] {
  const { N, H, W, C, PH, PW } = g;
  const HP = H + 2 * PH, WP = W + 2 * PW;
  const xp = new Float32Array(N * HP * WP * C);
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < H; h++) {
      const from = ((n * H + h) * W) * C, to = ((n * HP + h + PH) * WP + PW) * C;
      xp.set(x.subarray(from, from + W * C), to);
    }
  }
  return run(xp, { ...g, H: HP, W: WP, PH: 0, PW: 0 });
}

/** Input channels with a non-finite weight. */
function poisonedChannels(w: Float32Array, C: number): Set<number> {
  const set = new Set<number>();
  for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) set.add(i % C);
  return set;
}

/** The reference's arg-max, copied into the engine's memory (both backward passes route alike). */
function am0Copy(side: Side, am0: Int32Array): Int32Array {
  const a = hostI(side.arena.ints(am0.length));
  a.set(am0);
  return a;
}

function poolGeometry(N: number, H: number, W: number, C: number, K: number, S: number, P: number): Pool2dGeometry {
  return { N, H, W, C, OH: windowOutput(H, K, S, P), OW: windowOutput(W, K, S, P), KH: K, KW: K, SH: S, SW: S, PH: P, PW: P };
}

/** Every convolution path of the fast engine: few channels (direct), tiles, strides, padding, dilation. */
const CONVS: Conv2dGeometry[] = [
  convGeometry(1, 1, 1, 1, 1, 1, 1),
  convGeometry(2, 8, 8, 1, 6, 5, 5, 1, 1, 2, 2),       // LeNet-5's first layer: one channel, padding
  convGeometry(2, 7, 9, 1, 8, 3, 3, 1, 1, 1, 1),       // one channel, O a multiple of 8: the channel-vector forward
  convGeometry(1, 7, 9, 3, 5, 3, 3, 1, 1, 1, 1),
  convGeometry(2, 9, 7, 6, 9, 5, 5),                    // LeNet-5's second layer: many channels, no padding
  convGeometry(1, 9, 9, 5, 7, 3, 3, 2, 2, 1, 1),        // stride 2
  convGeometry(1, 11, 10, 8, 9, 3, 3, 1, 1, 2, 2, 2, 2), // dilation
  convGeometry(1, 6, 7, 2, 3, 2, 3, 1, 2, 1, 0),        // few channels, stride 2 across
  convGeometry(3, 5, 6, 3, 5, 3, 3, 1, 1, 1, 1),        // OW = 6: backward-data pairs two images' last 2 pixels
];

const POOLS: Pool2dGeometry[] = [
  poolGeometry(1, 1, 1, 1, 1, 1, 0),
  poolGeometry(2, 6, 6, 4, 2, 2, 0),
  poolGeometry(1, 7, 5, 3, 3, 2, 1),
  poolGeometry(2, 5, 5, 9, 5, 1, 0), // global
];
