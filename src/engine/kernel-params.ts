/**
 * The parameter words of the WebAssembly kernels, by name: the one declaration that the kernels in
 * assembly/ (which read a block with pi/pp/pf/pd(params, Layout.Word)) and src/engine/ (which
 * writes it, u32[Layout.Word] = …) both import. A word is 32 bits: a byte address, a count or a
 * flag (i32 or u32), or a float32; a float64 takes two words, named by the first (even) one and
 * written as f64[Layout.Word / 2].
 *
 * Only `const enum`s of integer literals, which AssemblyScript and tsc both inline as constants:
 * the kernels compile to the same code as with the numbers written out, and nothing of this file
 * is left in the JavaScript. scripts/build.mjs rebuilds the WebAssembly when it changes. Kernels
 * with one layout share an enum (Conv: every convolution and Winograd kernel).
 */

/** gemm: C[M, N] (+)= op(A)[M, K] · op(B)[K, N] (+ bias). */
export const enum Gemm {
  A = 0,
  B = 1,
  C = 2,
  M = 3,
  N = 4,
  K = 5,
  /** 1 transA, 2 transB, 4 accumulate into C. */
  Flags = 6,
  /** Added to column j after the sum, or 0. */
  Bias = 7,
  /** Per-thread scratch: base, and bytes per thread (thread t uses base + t·bytes). */
  Scratch = 8,
  ScratchPer = 9,
  /** Where ReLU(C) also goes (same layout), or 0. */
  Relu = 10,
}

/** Convolutions: conv2d*, convPack*, convFilter*, convScatter*, winograd*. */
export const enum Conv {
  /** x (forward, backward-filter) or gy (backward-data). */
  In = 0,
  /** Packed weights (forward, backward-data) or gy (backward-filter). */
  Packed = 1,
  /** Or 0. */
  Bias = 2,
  /** y, gx or gw. */
  Out = 3,
  N = 4,
  H = 5,
  W = 6,
  /** Input channels. */
  C = 7,
  /** Output channels. */
  O = 8,
  OH = 9,
  OW = 10,
  KH = 11,
  KW = 12,
  SH = 13,
  SW = 14,
  /** Paddings (negative where backward-data runs as a forward convolution). */
  PH = 15,
  PW = 16,
  DH = 17,
  DW = 18,
  /** Per-thread scratch: base, and bytes per thread. */
  Scratch = 19,
  ScratchPer = 20,
  /** The layer's weights w[O, KH, KW, C], read by the packing kernels. */
  Weights = 21,
  /** Backward-filter's partial sums (per image group, image or Winograd group). */
  Partials = 22,
  /** Where ReLU(y) also goes (forward), or 0. */
  Relu = 23,
  /** Winograd: the G table (4×3 floats, then 16 floats of packing work space). */
  WinogradG = 24,
  /** Winograd packing: 1 packs the flipped, transposed weights (backward-data). */
  WinogradFlip = 25,
}

/** Grouped convolutions (conv2dGrouped*): words 0-18 as Conv, then these. */
export const enum Grouped {
  G = 19,
  Relu = 20,
  /** Depthwise: weights packed [KH·KW][O] (forward, backward-data), or 0. */
  Packed = 21,
  /** Depthwise backward-filter: per-thread tap accumulators, base and bytes per thread. */
  Accumulators = 22,
  AccumulatorsPer = 23,
}

/** Pooling: maxPool2d*, avgPool2d*. */
export const enum Pool {
  /** x (forward) or gy (backward). */
  In = 0,
  /** y (forward) or gx (backward). */
  Out = 1,
  /** Max pooling: each output's arg-max (int32). */
  Argmax = 2,
  N = 3,
  H = 4,
  W = 5,
  C = 6,
  OH = 7,
  OW = 8,
  KH = 9,
  KW = 10,
  SH = 11,
  SW = 12,
  PH = 13,
  PW = 14,
  /** maxPool2dForward: the tie-breaking seed (-1: the first maximum). */
  TieSeed = 15,
  /** avgPool2d*: 1/(KH·KW), float32. */
  Scale = 15,
  /**
   * maxPool2dBackward: the input of a ReLU before the pool (a convolution's output), or 0; then gx
   * is the ReLU's input gradient, 0 where that input is negative (the ReLU backward, fused).
   */
  ReluX = 16,
}

/** activationForward: y = f(x), n values. */
export const enum ActivationForward {
  X = 0,
  Y = 1,
  Count = 2,
  /** 0 relu, 1 leaky_relu, 2 sigmoid, 3 tanh, 4 softplus. */
  Kind = 3,
  /** float32: leaky_relu's slope. */
  Alpha = 4,
}

/** activationBackward: gx = f'(x) · gy, n values. */
export const enum ActivationBackward {
  X = 0,
  Y = 1,
  Gy = 2,
  Gx = 3,
  Count = 4,
  Kind = 5,
  Alpha = 6,
}

/** softmaxForward: p = softmax(x) over rows of E. */
export const enum SoftmaxForward {
  X = 0,
  P = 1,
  N = 2,
  E = 3,
}

/** softmaxBackward: gx from p and gy. */
export const enum SoftmaxBackward {
  P = 0,
  Gy = 1,
  Gx = 2,
  N = 3,
  E = 4,
}

/** softmaxCrossEntropy: p and gz of logits z against labels or target probabilities; per-row losses. */
export const enum SoftmaxCrossEntropy {
  Z = 0,
  /** int32 labels, or 0. */
  Labels = 1,
  /** Target probabilities [N, E], or 0. */
  Probs = 2,
  P = 3,
  Gz = 4,
  N = 5,
  E = 6,
  /** float64 per row. */
  Losses = 7,
}

/** addBias (Rows: y[R, C] += bias) and sumRows (bias: gb += Σ rows of gy). */
export const enum BiasRows {
  Rows = 0,
  Bias = 1,
  R = 2,
  C = 3,
}

/** dropoutForward, dropoutBackward: y = x · mask · scale. */
export const enum Dropout {
  In = 0,
  Out = 1,
  Count = 2,
  Seed = 3,
  /** float64: 1 / (1 - p). */
  Scale = 4,
  /** float64: p · 2³², the mask's threshold. */
  Threshold = 6,
}

/**
 * batchNormForward (X, Gamma, Beta, Y, running and saved statistics, Eps, Momentum) and
 * batchNormBackward (X, Gamma, Gy, Gx, GGamma, GBeta, saved statistics).
 */
export const enum BatchNorm {
  X = 0,
  Gamma = 1,
  Beta = 2,
  Gy = 2,
  Y = 3,
  Gx = 3,
  R = 4,
  C = 5,
  /** 1 training (batch statistics), 0 evaluation (running statistics). */
  Training = 6,
  RunningMean = 7,
  GGamma = 7,
  RunningVar = 8,
  GBeta = 8,
  SaveMean = 9,
  SaveInvStd = 10,
  /** 32·C bytes. */
  Scratch = 11,
  /** float64 (forward). */
  Eps = 12,
  Momentum = 14,
}

/** sgdUpdate; the float64 words are the reference loop's constants. */
export const enum Sgd {
  W = 0,
  G = 1,
  /** Momentum buffer, or 0. */
  Buf = 2,
  Count = 3,
  /** 1 nesterov, 2 first step. */
  Flags = 4,
  /** Where each StepBlock's Σ (w_new − w_old)² goes (float64, one per block), or 0. */
  Sums = 5,
  Lr = 6,
  Momentum = 8,
  /** 1 - dampening. */
  Keep = 10,
  WeightDecay = 12,
}

/** adamUpdate; the float64 words are the reference loop's constants. */
export const enum Adam {
  W = 0,
  G = 1,
  M = 2,
  V = 3,
  /** AMSGrad's running maximum, or 0. */
  VMax = 4,
  Count = 5,
  Beta1 = 6,
  OneMinusBeta1 = 8,
  Beta2 = 10,
  OneMinusBeta2 = 12,
  Eps = 14,
  L2 = 16,
  /** AdamW's decoupled decay: w · shrink. */
  Shrink = 18,
  /** lr / (1 - β1^t). */
  StepSize = 20,
  /** √(1 - β2^t). */
  SqrtBc2 = 22,
  /** As Sgd.Sums. */
  Sums = 24,
}

/**
 * The optimizer updates' step size Σ (w_new − w_old)², in one order on every engine and thread
 * count: blocks of Size elements, in each the even and the odd offsets summed apart (an odd last
 * element with the even ones), even + odd, then the blocks added in order.
 */
export const enum StepBlock {
  Size = 1024,
}

/** addTensors: y = a + b, n values. */
export const enum AddTensors {
  A = 0,
  B = 1,
  Y = 2,
  Count = 3,
}

/** addBroadcast: y[n, r, c] = x[n, r, c] + b[n, c]. */
export const enum AddBroadcast {
  X = 0,
  B = 1,
  Y = 2,
  N = 3,
  R = 4,
  C = 5,
}

/** sumBroadcast: gb[n, c] += Σ_r gy[n, r, c]. */
export const enum SumBroadcast {
  Gy = 0,
  Gb = 1,
  N = 2,
  R = 3,
  C = 4,
}

/** copyBlock: R rows of C floats from src (stride, offset in floats) to dst. */
export const enum CopyBlock {
  Src = 0,
  Dst = 1,
  R = 2,
  C = 3,
  SrcStride = 4,
  SrcOffset = 5,
  DstStride = 6,
  DstOffset = 7,
}
