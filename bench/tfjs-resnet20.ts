/**
 * ResNet-20 (the `resnet20` preset of src/models/presets.ts) as a TF.js functional model, for the
 * WebGPU benchmark's peer: the same layers and parameter count (272,474), logits out.
 * A stride-2 3×3 convolution uses 'same' padding (TF.js pads 0 before, 1 after; Descent 1 and 1):
 * the same arithmetic, shifted by a pixel.
 */
import * as tf from '@tensorflow/tfjs';

type Node = tf.SymbolicTensor;

const conv = (x: Node, filters: number, kernelSize: number, strides: number): Node =>
  tf.layers.conv2d({ filters, kernelSize, strides, padding: 'same', useBias: false }).apply(x) as Node;
// Descent's BatchNorm2d: eps 1e-5, running statistics updated with momentum 0.1 (Keras' 0.9).
const bn = (x: Node): Node => tf.layers.batchNormalization({ epsilon: 1e-5, momentum: 0.9 }).apply(x) as Node;
const relu = (x: Node): Node => tf.layers.reLU().apply(x) as Node;

/** A basic block: conv-BN-ReLU-conv-BN, plus the input (or its 1×1 projection where the shape changes), then ReLU. */
function block(x: Node, channels: number, stride: number): Node {
  const main = bn(conv(relu(bn(conv(x, channels, 3, stride))), channels, 3, 1));
  const short = stride > 1 ? bn(conv(x, channels, 1, stride)) : x;
  return relu(tf.layers.add().apply([main, short]) as Node);
}

export function resnet20(classes = 10): tf.LayersModel {
  const input = tf.input({ shape: [32, 32, 3] });
  let x = relu(bn(conv(input, 16, 3, 1)));
  [16, 32, 64].forEach((channels, stage) => {
    for (let b = 0; b < 3; b++) x = block(x, channels, stage > 0 && b === 0 ? 2 : 1);
  });
  x = tf.layers.globalAveragePooling2d({}).apply(x) as Node;
  const logits = tf.layers.dense({ units: classes }).apply(x) as Node;
  return tf.model({ inputs: input, outputs: logits });
}
