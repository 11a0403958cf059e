/**
 * The Descent fast engine: every kernel family, exported for the JavaScript side
 * (src/engine/). Each kernel is `name(params, part, parts)`; see common.ts.
 */
export { heapBase, setThread } from './common';
export { gemm, gemmScratchBytes } from './gemm';
export {
  conv2dBackwardData, conv2dBackwardDataScatter, conv2dBackwardFilter, conv2dFilterDirect, conv2dForward, conv2dForwardDirect,
  convDirectPackedBytes, convDirectScratchBytes, convFilterDirectScratchBytes, convFilterPartialBytes,
  convFilterReduce, convFilterScratchBytes, convFilterSum, convFilterSumBytes, convFilterUnits, convForwardScratchBytes, convPackBackwardData, convPackDirect,
  convPackedBytes, convPackFlipped, convPackForward, convPackScatter, convScatterPackedBytes, convScatterScratchBytes, convScatterUnits,
  convScratchBytes,
} from './conv';
export { conv2dGroupedBackwardData, conv2dGroupedBackwardFilter, conv2dGroupedForward } from './conv-grouped';
export { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from './pool';
export { activationBackward, activationForward } from './activations';
export { softmaxBackward, softmaxCrossEntropy, softmaxForward } from './softmax';
export { addBias, dropoutBackward, dropoutForward, sumRows } from './elementwise';
export { batchNormBackward, batchNormForward } from './batchnorm';
export { adamUpdate, sgdUpdate } from './optimizers';
export { addBroadcast, addTensors, copyBlock, sumBroadcast } from './join';
export {
  winogradFilter, winogradFilterGroups, winogradFilterPartialBytes, winogradFilterReduce, winogradFilterScratchBytes,
  winogradForward, winogradForwardScratchBytes, winogradSkip, winogradPack, winogradPackedBytes,
} from './winograd';
