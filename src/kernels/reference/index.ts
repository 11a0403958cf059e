/**
 * The reference engine: plain TypeScript kernels, written to be obviously right. They run in
 * float32 for training and in float64 for the gradient proofs, and stay forever as the oracle
 * against which every faster engine is tested.
 */
import type { Kernels } from '../kernels.js';
import { activationBackward, activationForward } from './activations.js';
import { batchNormBackward, batchNormForward } from './batchnorm.js';
import { addBias, sumRows } from './bias.js';
import { conv2dBackwardData, conv2dBackwardFilter, conv2dForward } from './conv2d.js';
import { dropoutBackward, dropoutForward } from './dropout.js';
import { denseBackward, denseForward, matmul } from './matmul.js';
import { adamUpdate, sgdUpdate } from './optimizers.js';
import { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from './pool2d.js';
import { softmaxBackward, softmaxCrossEntropy, softmaxForward } from './softmax.js';

/** The reference TypeScript kernels: plain loops, float32 or float64, the oracle every engine is tested against. */
export const referenceKernels: Kernels = {
  name: 'reference',
  fusesRelu: true,
  matmul, denseForward, denseBackward,
  conv2dForward, conv2dBackwardData, conv2dBackwardFilter,
  maxPool2dForward, maxPool2dBackward, avgPool2dForward, avgPool2dBackward,
  activationForward, activationBackward, dropoutForward, dropoutBackward,
  softmaxForward, softmaxBackward, softmaxCrossEntropy,
  batchNormForward, batchNormBackward, addBias, sumRows, sgdUpdate, adamUpdate,
};
