/**
 * A float32 model of Winograd F(m×m, 3×3) forward (m = 2, 3 or 4), for bench/winograd-error.ts:
 * every operation rounded to float32 as a kernel would, the products summed over channels in order.
 * The engine builds only F(2×2); this model measures what F(3×3) (points 0, ±1, −2, ∞) and F(4×4)
 * (Lavin & Gray's matrices, points 0, ±1, ±2, ∞) would cost in precision, and its F(2×2) row shows
 * the model and the engine's kernels agree. Channels-last x [N][H][W][C], weights [O][3][3][C], no
 * padding, stride 1.
 */
import type { Conv2dGeometry } from '../src/kernels/kernels.js';

const f = Math.fround;

/** Bᵀ (a×a), G (a×3), Aᵀ (m×a) of F(m×m, 3×3), a = m + 2: y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A. */
export interface WinogradMatrices { BT: number[][]; G: number[][]; AT: number[][] }

const F2: WinogradMatrices = {
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
};

const F3: WinogradMatrices = {
  BT: [[-2, -1, 2, 1, 0], [0, 2, 3, 1, 0], [0, -2, 1, 1, 0], [0, -1, 0, 1, 0], [0, -2, -1, 2, 1]],
  G: [[-1 / 2, 0, 0], [1 / 6, 1 / 6, 1 / 6], [1 / 2, -1 / 2, 1 / 2], [-1 / 6, 1 / 3, -2 / 3], [0, 0, 1]],
  AT: [[1, 1, 1, 1, 0], [0, 1, -1, -2, 0], [0, 1, 1, 4, 1]],
};

const F4: WinogradMatrices = {
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1]],
  G: [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1]],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
};

/** L · X · Rᵀ in float32 (X rows × cols, row-major), skipping zero coefficients as a kernel would. */
function sandwich(L: number[][], X: Float32Array, cols: number, R: number[][]): Float32Array {
  const rows = X.length / cols, t = new Float32Array(L.length * cols), out = new Float32Array(L.length * R.length);
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < cols; j++) {
      let s = 0;
      for (let k = 0; k < rows; k++) if (L[i][k] !== 0) s = f(s + f(f(L[i][k]) * X[k * cols + j]));
      t[i * cols + j] = s;
    }
  }
  for (let i = 0; i < L.length; i++) {
    for (let j = 0; j < R.length; j++) {
      let s = 0;
      for (let k = 0; k < cols; k++) if (R[j][k] !== 0) s = f(s + f(f(R[j][k]) * t[i * cols + k]));
      out[i * R.length + j] = s;
    }
  }
  return out;
}

export const WINOGRAD_MATRICES: Record<2 | 3 | 4, WinogradMatrices> = { 2: F2, 3: F3, 4: F4 };

/** y = conv(x, w) by F(m×m, 3×3) in float32 (g: 3×3, stride 1, padding 0); `matrices` for tests. */
export function winogradModelForward(m: 2 | 3 | 4, x: ArrayLike<number>, w: ArrayLike<number>, g: Conv2dGeometry,
  matrices = WINOGRAD_MATRICES[m]): Float32Array {
  const { BT, G, AT } = matrices, a = m + 2, A2 = a * a;
  const { N, H, W, C, O, OH, OW } = g;
  const U = new Float32Array(A2 * C * O); // U[xi][c][o]
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      const k = Float32Array.from({ length: 9 }, (_, t) => w[(o * 9 + t) * C + c]);
      const u = sandwich(G, k, 3, G);
      for (let xi = 0; xi < A2; xi++) U[(xi * C + c) * O + o] = u[xi];
    }
  }
  const y = new Float32Array(N * OH * OW * O), V = new Float32Array(A2 * C), M = new Float32Array(A2);
  const d = new Float32Array(A2);
  for (let n = 0; n < N; n++) {
    for (let h0 = 0; h0 < OH; h0 += m) {
      for (let w0 = 0; w0 < OW; w0 += m) {
        for (let c = 0; c < C; c++) {
          for (let i = 0; i < a; i++) {
            for (let j = 0; j < a; j++) {
              const h = h0 + i, ww = w0 + j;
              d[i * a + j] = h < H && ww < W ? x[((n * H + h) * W + ww) * C + c] : 0;
            }
          }
          const v = sandwich(BT, d, a, BT);
          for (let xi = 0; xi < A2; xi++) V[xi * C + c] = v[xi];
        }
        for (let o = 0; o < O; o++) {
          for (let xi = 0; xi < A2; xi++) {
            let s = 0;
            for (let c = 0; c < C; c++) s = f(s + f(V[xi * C + c] * U[(xi * C + c) * O + o]));
            M[xi] = s;
          }
          const out = sandwich(AT, M, a, AT);
          for (let i = 0; i < m && h0 + i < OH; i++) {
            for (let j = 0; j < m && w0 + j < OW; j++) y[((n * OH + h0 + i) * OW + w0 + j) * O + o] = out[i * m + j];
          }
        }
      }
    }
  }
  return y;
}
