/**
 * The Descent fast engine: every kernel family, exported for the JavaScript side
 * (src/engine/). Each kernel is `name(params, part, parts)`; see common.ts.
 */
export { heapBase } from './common';
export { gemm, gemmScratchBytes } from './gemm';
export {
  conv2dBackwardData, conv2dBackwardFilter, conv2dForward, convFilterScratchBytes, convPackBackwardData,
  convPackedBytes, convPackForward, convScratchBytes,
} from './conv';
export { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from './pool';
export { activationBackward, activationForward } from './activations';
export { softmaxBackward, softmaxCrossEntropy, softmaxForward } from './softmax';
export { addBias, dropoutBackward, dropoutForward, sumRows } from './elementwise';
export { batchNormBackward, batchNormForward } from './batchnorm';
