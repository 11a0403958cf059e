/**
 * The reference engine: plain TypeScript kernels, written to be obviously right. They run in
 * float32 for training and in float64 for the gradient proofs, and stay forever as the oracle
 * against which every faster engine is tested.
 */
import { hostFloats, hostInts } from '../../core/tensor.js';
import type { Kernels } from '../kernels.js';
import { activationBackward, activationForward } from './activations.js';
import { batchNormBackward, batchNormForward } from './batchnorm.js';
import { addBias, sumRows } from './bias.js';
import { conv2dBackwardData, conv2dBackwardFilter, conv2dForward } from './conv2d.js';
import { dropoutBackward, dropoutForward } from './dropout.js';
import { addBroadcast, addTensors, copyBlock, sumBroadcast } from './join.js';
import { denseBackward, denseForward, matmul } from './matmul.js';
import { adamUpdate, sgdUpdate } from './optimizers.js';
import { avgPool2dBackward, avgPool2dForward, maxPool2dBackward, maxPool2dForward } from './pool2d.js';
import { softmaxBackward, softmaxCrossEntropy, softmaxForward } from './softmax.js';

const f = hostFloats;
// Kernel names, for the error a device handle gets.
const DF = 'denseForward', DB = 'denseBackward', CF = 'conv2dForward', CD = 'conv2dBackwardData';
const CW = 'conv2dBackwardFilter', MF = 'maxPool2dForward', MB = 'maxPool2dBackward', AF = 'activationForward';
const AB = 'activationBackward', SB = 'softmaxBackward', SCE = 'softmaxCrossEntropy', BF = 'batchNormForward';
const BB = 'batchNormBackward', SGD = 'sgdUpdate', AD = 'adamUpdate', AB2 = 'addBroadcast';

/** The reference TypeScript kernels: plain loops, float32 or float64, the oracle every engine is tested against. */
export const referenceKernels: Kernels = {
  name: 'reference',
  fusesRelu: true,
  // Each kernel narrows its tensors once at entry (a device handle is refused with the kernel's name).
  matmul: (a, b, c, M, N, K, tA, tB, acc) => matmul(f(a, 'matmul'), f(b, 'matmul'), f(c, 'matmul'), M, N, K, tA, tB, acc),
  denseForward: (x, w, b, y, N, I, O, relu) => denseForward(f(x, DF), f(w, DF), f(b, DF), f(y, DF), N, I, O, f(relu, DF)),
  denseBackward: (x, w, gy, gx, gw, gb, N, I, O, writeGw) =>
    denseBackward(f(x, DB), f(w, DB), f(gy, DB), f(gx, DB), f(gw, DB), f(gb, DB), N, I, O, writeGw),
  conv2dForward: (x, w, b, y, g, relu) => conv2dForward(f(x, CF), f(w, CF), f(b, CF), f(y, CF), g, f(relu, CF)),
  conv2dBackwardData: (gy, w, gx, g) => conv2dBackwardData(f(gy, CD), f(w, CD), f(gx, CD), g),
  conv2dBackwardFilter: (x, gy, gw, gb, g) => conv2dBackwardFilter(f(x, CW), f(gy, CW), f(gw, CW), f(gb, CW), g),
  maxPool2dForward: (x, y, argmax, g, tieSeed) =>
    maxPool2dForward(f(x, MF), f(y, MF), hostInts(argmax, MF), g, tieSeed),
  maxPool2dBackward: (gy, argmax, gx, g) => maxPool2dBackward(f(gy, MB), hostInts(argmax, MB), f(gx, MB), g),
  avgPool2dForward: (x, y, g) => avgPool2dForward(f(x, 'avgPool2dForward'), f(y, 'avgPool2dForward'), g),
  avgPool2dBackward: (gy, gx, g) => avgPool2dBackward(f(gy, 'avgPool2dBackward'), f(gx, 'avgPool2dBackward'), g),
  activationForward: (kind, x, y, n, alpha) => activationForward(kind, f(x, AF), f(y, AF), n, alpha),
  activationBackward: (kind, x, y, gy, gx, n, alpha) =>
    activationBackward(kind, f(x, AB), f(y, AB), f(gy, AB), f(gx, AB), n, alpha),
  dropoutForward: (x, y, n, p, seed) => dropoutForward(f(x, 'dropoutForward'), f(y, 'dropoutForward'), n, p, seed),
  dropoutBackward: (gy, gx, n, p, seed) => dropoutBackward(f(gy, 'dropoutBackward'), f(gx, 'dropoutBackward'), n, p, seed),
  softmaxForward: (x, p, N, E) => softmaxForward(f(x, 'softmaxForward'), f(p, 'softmaxForward'), N, E),
  softmaxBackward: (p, gy, gx, N, E) => softmaxBackward(f(p, SB), f(gy, SB), f(gx, SB), N, E),
  softmaxCrossEntropy: (z, target, p, gz, N, E) => softmaxCrossEntropy(f(z, SCE), target, f(p, SCE), f(gz, SCE), N, E),
  batchNormForward: (x, gamma, beta, y, R, C, training, eps, momentum, rMean, rVar, sMean, sInvStd) =>
    batchNormForward(f(x, BF), f(gamma, BF), f(beta, BF), f(y, BF), R, C, training, eps, momentum,
      f(rMean, BF), f(rVar, BF), f(sMean, BF), f(sInvStd, BF)),
  batchNormBackward: (x, gamma, gy, gx, ggamma, gbeta, R, C, training, sMean, sInvStd) =>
    batchNormBackward(f(x, BB), f(gamma, BB), f(gy, BB), f(gx, BB), f(ggamma, BB), f(gbeta, BB), R, C, training,
      f(sMean, BB), f(sInvStd, BB)),
  addBias: (y, bias, R, C) => addBias(f(y, 'addBias'), f(bias, 'addBias'), R, C),
  sumRows: (gy, gb, R, C) => sumRows(f(gy, 'sumRows'), f(gb, 'sumRows'), R, C),
  sgdUpdate: (w, g, buf, n, lr, momentum, dampening, weightDecay, nesterov, firstStep, squares) =>
    sgdUpdate(f(w, SGD), f(g, SGD), f(buf, SGD), n, lr, momentum, dampening, weightDecay, nesterov, firstStep, squares),
  adamUpdate: (w, g, m, v, vMax, n, lr, beta1, beta2, eps, l2, shrink, t, squares) =>
    adamUpdate(f(w, AD), f(g, AD), f(m, AD), f(v, AD), f(vMax, AD), n, lr, beta1, beta2, eps, l2, shrink, t, squares),
  addTensors: (a, b, y, n) => addTensors(f(a, 'addTensors'), f(b, 'addTensors'), f(y, 'addTensors'), n),
  addBroadcast: (x, b, y, N, R, C) => addBroadcast(f(x, AB2), f(b, AB2), f(y, AB2), N, R, C),
  sumBroadcast: (gy, gb, N, R, C) => sumBroadcast(f(gy, 'sumBroadcast'), f(gb, 'sumBroadcast'), N, R, C),
  copyBlock: (src, dst, R, C, srcStride, srcOffset, dstStride, dstOffset) =>
    copyBlock(f(src, 'copyBlock'), f(dst, 'copyBlock'), R, C, srcStride, srcOffset, dstStride, dstOffset),
};
