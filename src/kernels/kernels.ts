/**
 * The kernel interface: every number-crunching loop a layer needs, and nothing else.
 * Layers call these and never loop over data themselves, so an engine (the plain TypeScript
 * reference here, the WebAssembly SIMD engine later) can be swapped without touching a layer.
 *
 * Dimension letters, used throughout:
 *   N batch size; H, W input height and width; C input channels;
 *   OH, OW output height and width; O output channels (or output features);
 *   KH, KW kernel height and width; SH, SW strides; DH, DW dilations; G channel groups;
 *   PH, PW the padding above and left of the input (the padding below and right is implied by OH, OW);
 *   I input features of a dense layer; E entries of a soft-max (classes); R rows.
 * Layouts: activations are channels-last, [N, H, W, C]; conv weights [O, KH, KW, C/G];
 * dense weights [O, I] (row i of W feeds neuron i, as in the notes' Appendix).
 *
 * Conventions (from llm.c): a forward writes its output. A backward *writes* the gradient with
 * respect to its input (gx) and *accumulates* into parameter gradients (gw, gb), which the
 * caller zeroes once per step.
 *
 * Non-finite numbers (every engine alike, test/engine-nonfinite.test.ts): IEEE arithmetic, with no
 * zero skipped (0·∞ and 0·NaN are NaN); a NaN is not negative, so ReLU and leaky ReLU pass it on,
 * forward and backward (PyTorch's choice); a NaN wins a max-pool window (the last one, as PyTorch);
 * a dropped unit is 0 even if it was NaN. One freedom: where a non-finite weight (or gradient)
 * meets zero padding, an engine may multiply the zeros (NaN) or skip them, as PyTorch's own CPU
 * paths differ there. Apart from a dropped unit, a NaN never turns into a number.
 */
import type { Floats } from '../core/floats.js';
import type { IntTensor, Tensor } from '../core/tensor.js';

/** A convolution's sizes, in the dimension letters of this module (N, H, W, C, O, OH, OW, KH, KW, SH, SW, PH, PW, DH, DW). */
export interface Conv2dGeometry {
  N: number; H: number; W: number; C: number;
  O: number; OH: number; OW: number;
  KH: number; KW: number;
  SH: number; SW: number;
  PH: number; PW: number;
  DH: number; DW: number;
  /**
   * Channel groups (default 1): output channel o sees input channels [g·C/G, (g+1)·C/G) of its
   * group g = ⌊o / (O/G)⌋, and the weights are [O, KH, KW, C/G]. G = C is depthwise.
   */
  G?: number;
}

/** A pooling window's sizes, in the dimension letters of this module. */
export interface Pool2dGeometry {
  N: number; H: number; W: number; C: number;
  OH: number; OW: number;
  KH: number; KW: number;
  SH: number; SW: number;
  PH: number; PW: number;
}

/** The point-wise activations the kernels compute. */
export type ActivationKind = 'relu' | 'leaky_relu' | 'sigmoid' | 'tanh' | 'softplus';

/** Class labels (one per sample) or target vectors on the simplex (E per sample). */
export type ClassTarget = { labels: Int32Array } | { probs: Floats };

/**
 * The tensors of an engine that keeps them off the JavaScript heap (WebGPU): every tensor its
 * arena hands out is an opaque `DeviceTensor` (src/core/tensor.ts), and this is the only way in and
 * out of one. CPU engines have no `device`: their tensors are Float32Array/Float64Array, which the
 * network and trainer narrow once (`hostFloats`) where they read numbers.
 */
export interface DeviceTensors {
  /** The adapter, as a person reads it (e.g. "nvidia ampere (...)"). */
  readonly adapter: string;
  /** Where softmaxCrossEntropy and quadraticLoss write the risk (one element); softmaxCrossEntropy returns NaN on such an engine. */
  readonly loss: Tensor;
  /** Elements [offset, offset + length) of t, as a handle. */
  view(t: Tensor, offset: number, length: number): Tensor;
  /** Every element of t = value (after the work recorded so far). */
  fill(t: Tensor, value: number): void;
  /** t[0 .. data.length) = data: the batch goes up (after the work recorded so far). */
  write(t: Tensor, data: Float32Array | Int32Array): void;
  /** Submits the recorded work and brings t back once it is done. */
  read(t: Tensor): Promise<Float32Array>;
  /** out[0] = Σ (a − b)² over n elements (Σ a² when b is null), in a fixed order. */
  squaredDistance(a: Tensor, b: Tensor | null, n: number, out: Tensor): void;
  /** out[0] = 1 when x[0 .. n) holds a NaN or ±∞, else 0. */
  nonFinite(x: Tensor, n: number, out: Tensor): void;
  /**
   * Why this engine cannot run a node (its type, input and output shapes of one sample) at `batch`
   * samples, or null: a network refuses such a node when it is built (batch 1) and when a batch
   * size is reserved, in one line, before a run starts.
   */
  unsupported(node: DeviceNode, batch: number): string | null;
  /** The quadratic loss (src/losses/quadratic.ts) of outputs y against host values: g = ∂risk/∂y, the risk to `loss`. */
  quadraticLoss(y: Tensor, values: Float32Array, g: Tensor, N: number, E: number): void;
}

/** A network node as an engine sees it when it checks what it can run (DeviceTensors.unsupported). */
export interface DeviceNode {
  readonly type: string;
  readonly inputs: readonly (readonly number[])[];
  readonly output: readonly number[];
}

/** Every loop a layer needs: the reference TypeScript kernels and the WebAssembly engine implement it. */
export interface Kernels {
  /** The implementation's name ('reference', 'wasm', 'webgpu'). */
  readonly name: string;
  /** Present on an engine whose tensors are not JavaScript arrays (see DeviceTensors). */
  readonly device?: DeviceTensors;
  /**
   * Do denseForward and conv2dForward honour their `relu` output? Sequential fuses a following
   * ReLU only then, so a Kernels written before fusion existed still runs every layer.
   */
  readonly fusesRelu?: boolean;

  /** C[M,N] (+)= op(A)·op(B), op(A) = A[M,K] or A[K,M]ᵀ, op(B) = B[K,N] or B[N,K]ᵀ; row-major. */
  matmul(a: Tensor, b: Tensor, c: Tensor, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;

  /**
   * y[N,O] = x[N,I]·Wᵀ + b. With `relu`, also relu = ReLU(y): a Dense followed by a ReLU layer
   * in one pass (y, the Dense layer's output x^(k), is still written, since ReLU's backward reads it).
   */
  denseForward(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, N: number, I: number, O: number,
    relu?: Tensor | null): void;
  /**
   * gx[N,I] = gy·W (if gx); gw[O,I] += gyᵀ·x (= with `writeGw`: the same bits as adding to zeros);
   * gb[O] += Σ_n gy.
   */
  denseBackward(x: Tensor, w: Tensor, gy: Tensor, gx: Tensor | null, gw: Tensor, gb: Tensor | null,
    N: number, I: number, O: number, writeGw?: boolean): void;

  /** y = conv(x, w) + b; with `relu`, also relu = ReLU(y) in the same pass (as denseForward). */
  conv2dForward(x: Tensor, w: Tensor, b: Tensor | null, y: Tensor, g: Conv2dGeometry, relu?: Tensor | null): void;
  conv2dBackwardData(gy: Tensor, w: Tensor, gx: Tensor, g: Conv2dGeometry): void;
  conv2dBackwardFilter(x: Tensor, gy: Tensor, gw: Tensor, gb: Tensor | null, g: Conv2dGeometry): void;

  /**
   * Max-pool; argmax[i] records the input index that gave output i. Ties go to one of the tied
   * maxima chosen by hash32(tieSeed, ·) when tieSeed >= 0, to the first when tieSeed < 0.
   */
  maxPool2dForward(x: Tensor, y: Tensor, argmax: IntTensor, g: Pool2dGeometry, tieSeed: number): void;
  /** Routes gy to the recorded arg-max inputs; each arg-max lies in its own output's window (same sample). */
  maxPool2dBackward(gy: Tensor, argmax: IntTensor, gx: Tensor, g: Pool2dGeometry): void;
  /**
   * Optional fusion, an engine optimisation (the reference kernels leave it out, and the layers then
   * run one by one): maxPool2dBackward(gy, argmax, gx, g) followed by the ReLU's backward
   * activationBackward('relu', x, ·, gx, gx, ·) in place, bitwise: gx is ∂L/∂x for the ReLU's input x,
   * and the pool's own input gradient is never written. Sequential calls it for ReLU → MaxPool2d
   * (src/network/fusion-plan.ts).
   */
  maxPool2dReluBackward?(gy: Tensor, argmax: IntTensor, x: Tensor, gx: Tensor, g: Pool2dGeometry): void;
  /** Average pool; padded positions count in the divisor (PyTorch's count_include_pad=True). */
  avgPool2dForward(x: Tensor, y: Tensor, g: Pool2dGeometry): void;
  avgPool2dBackward(gy: Tensor, gx: Tensor, g: Pool2dGeometry): void;

  activationForward(kind: ActivationKind, x: Tensor, y: Tensor, n: number, alpha: number): void;
  /** gx = gy ⊙ f'(x); y = f(x) is given too, since some derivatives read it. */
  activationBackward(kind: ActivationKind, x: Tensor, y: Tensor, gy: Tensor, gx: Tensor, n: number, alpha: number): void;

  /** y = x ⊙ mask / (1 - p) with mask[i] = hash32(seed, i) >= p·2³². */
  dropoutForward(x: Tensor, y: Tensor, n: number, p: number, seed: number): void;
  dropoutBackward(gy: Tensor, gx: Tensor, n: number, p: number, seed: number): void;

  /** Soft-max over the last axis of x[N,E]. */
  softmaxForward(x: Tensor, p: Tensor, N: number, E: number): void;
  /** gx = gy·∂p/∂x, with ∂p_i/∂x_j = p_i(δ_ij - p_j). */
  softmaxBackward(p: Tensor, gy: Tensor, gx: Tensor, N: number, E: number): void;
  /**
   * Fused, stable soft-max + cross-entropy on logits z[N,E]: writes p, writes gz = (p - q)/N,
   * returns the risk (1/N) Σ_n -Σ_c q_c log p_c.
   */
  softmaxCrossEntropy(z: Tensor, target: ClassTarget, p: Tensor, gz: Tensor, N: number, E: number): number;

  /**
   * Batch normalisation over x[R, C] (R = N·H·W). Training: batch statistics, saves mean and
   * 1/σ per channel in saveMean/saveInvStd and updates the running statistics (unbiased variance,
   * as PyTorch). Evaluation: uses the running statistics.
   */
  batchNormForward(x: Tensor, gamma: Tensor, beta: Tensor, y: Tensor, R: number, C: number,
    training: boolean, eps: number, momentum: number,
    runningMean: Tensor, runningVar: Tensor, saveMean: Tensor, saveInvStd: Tensor): void;
  batchNormBackward(x: Tensor, gamma: Tensor, gy: Tensor, gx: Tensor, ggamma: Tensor, gbeta: Tensor,
    R: number, C: number, training: boolean, saveMean: Tensor, saveInvStd: Tensor): void;

  // Optimizer updates: an engine may leave these out, and the reference loops run instead.
  /**
   * One SGD step over the whole vector (torch.optim.SGD; eq. 6 when momentum = weight decay = 0):
   * d = g + λw; with momentum μ the buffer b = d on the first step, else μb + (1 − τ)d;
   * d = d + μb (Nesterov) or b; w ← w − α d.
   * With `stepSquares` (CPU engines), also stepSquares[0] = Σ (w_new − w_old)², summed in the order
   * of reference/step-squares.ts, so the same on every engine and thread count: the trainer's step
   * size, without a pass over w of its own.
   */
  sgdUpdate?(w: Tensor, g: Tensor, buf: Tensor | null, n: number, lr: number, momentum: number, dampening: number,
    weightDecay: number, nesterov: boolean, firstStep: boolean, stepSquares?: Float64Array | null): void;
  /**
   * One Adam step over the whole vector (torch.optim.Adam/AdamW), step t ≥ 1: g ← g + l2·w;
   * m ← β₁m + (1 − β₁)g; v ← β₂v + (1 − β₂)g² (amsgrad: v̂ = max(v̂, v) replaces v);
   * w ← w·shrink − (α/(1 − β₁ᵗ)) m / (√v/√(1 − β₂ᵗ) + ε). Adam: shrink = 1; AdamW: l2 = 0, shrink = 1 − αλ.
   * `stepSquares` as sgdUpdate's.
   */
  adamUpdate?(w: Tensor, g: Tensor, m: Tensor, v: Tensor, vMax: Tensor | null, n: number, lr: number,
    beta1: number, beta2: number, eps: number, l2: number, shrink: number, t: number, stepSquares?: Float64Array | null): void;

  /** torch.optim.RMSprop over the whole vector (src/train/optimizers/rmsprop.ts); engines with a device have it. */
  rmspropUpdate?(w: Tensor, g: Tensor, squareAvg: Tensor, buf: Tensor | null, gradAvg: Tensor | null, n: number, lr: number,
    alpha: number, eps: number, weightDecay: number, momentum: number): void;
  /** torch.optim.Adagrad over the whole vector (src/train/optimizers/adagrad.ts), step t ≥ 1; engines with a device have it. */
  adagradUpdate?(w: Tensor, g: Tensor, sum: Tensor, n: number, lr: number, lrDecay: number, eps: number,
    weightDecay: number, t: number): void;

  /** b[R,C] += bias broadcast over rows (the bias of dense and conv layers). */
  addBias(y: Tensor, bias: Tensor, R: number, C: number): void;
  /** gb[C] += Σ_r gy[r, c]. */
  sumRows(gy: Tensor, gb: Tensor, R: number, C: number): void;

  // Graph joins (Add, Concat, Identity) and the fan-out gradient sum; see reference/join.ts.
  /** y[i] = a[i] + b[i] for i < n (y may be a or b). */
  addTensors(a: Tensor, b: Tensor, y: Tensor, n: number): void;
  /** y[n, r, c] = x[n, r, c] + b[n, c] (y may be x). */
  addBroadcast(x: Tensor, b: Tensor, y: Tensor, N: number, R: number, C: number): void;
  /** gb[n, c] = Σ_r gy[n, r, c], summed over r in increasing order; written, not accumulated. */
  sumBroadcast(gy: Tensor, gb: Tensor, N: number, R: number, C: number): void;
  /** dst[r·dstStride + dstOffset + c] = src[r·srcStride + srcOffset + c], r < R, c < C. */
  copyBlock(src: Tensor, dst: Tensor, R: number, C: number,
    srcStride: number, srcOffset: number, dstStride: number, dstOffset: number): void;
}
