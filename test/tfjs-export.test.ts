/**
 * TensorFlow.js export: `tf.loadLayersModel` loads the files (through an IOHandler reading them as
 * they were written) and, for every layer type and the three networks, the model run by
 * @tensorflow/tfjs on raw MNIST pixels gives Descent's outputs within 1e-5.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyStandardization } from '../src/data/dataset.js';
import { exportTfjs } from '../src/io/tfjs.js';
import type { Sequential } from '../src/network/sequential.js';
import { ALL_CASES, caseNet, MNIST_PREPROCESSING } from './interchange-nets.js';
import { assertWithin, maxAbsDiff, mnistPixels, unit } from './interchange-helpers.js';
import { host } from './helpers.js';
import { predictTfjs } from './tfjs-run.js';

const N = 8;
/** Max pooling with padding is exported for non-negative inputs (or where 'same' padding fits): after a ReLU, as usual. */
const TFJS_CASES = { ...ALL_CASES, MaxPool2d: [ALL_CASES.MaxPool2d[0], { type: 'ReLU' }, ALL_CASES.MaxPool2d[1]] };
const pixels = mnistPixels(N);

function descentOutput(net: Sequential): Float32Array {
  const x = unit(pixels);
  applyStandardization(x, MNIST_PREPROCESSING);
  return Float32Array.from(host(net.forward(x, N)).subarray(0, N * net.outputShape.reduce((a, b) => a * b, 1)));
}

describe('TensorFlow.js export, run by @tensorflow/tfjs', () => {
  for (const [name, layers] of Object.entries(TFJS_CASES)) {
    it(`${name}: tfjs on raw pixels gives Descent's outputs within 1e-5`, async () => {
      const net = caseNet(layers);
      const files = exportTfjs(net, { preprocessing: MNIST_PREPROCESSING });
      assertWithin(await predictTfjs(files, Float32Array.from(pixels), [28, 28, 1]), descentOutput(net), 1e-5, name);
    });
  }

  it('the comparison can fail: another network\'s weights miss Descent\'s outputs', async () => {
    const files = exportTfjs(caseNet(ALL_CASES['LeNet-5'], 2), { preprocessing: MNIST_PREPROCESSING });
    assert.ok(maxAbsDiff(await predictTfjs(files, Float32Array.from(pixels), [28, 28, 1]), descentOutput(caseNet(ALL_CASES['LeNet-5']))) > 1e-3);
  });

  it('without the preprocessing layer it takes preprocessed input; the README says which', async () => {
    const net = caseNet(ALL_CASES['batch norm and dropout']);
    const files = exportTfjs(net, { preprocessing: MNIST_PREPROCESSING, includePreprocessing: false });
    const x = unit(pixels);
    applyStandardization(x, MNIST_PREPROCESSING);
    assertWithin(await predictTfjs(files, x, [28, 28, 1]), descentOutput(net), 1e-5, 'preprocessed input');
    assert.match(files.readme, /already preprocessed: apply x ↦ \(x · 0\.00392156862745098 − 0\.1307\) \/ 0\.3081/);
    assert.match(exportTfjs(net, { preprocessing: MNIST_PREPROCESSING }).readme, /raw values, as `descent predict` takes them/);
    assert.equal(files.modelJson.userDefinedMetadata.descent && (files.modelJson.userDefinedMetadata.descent as { preprocessingInModel: boolean }).preprocessingInModel, false);
  });

  it('max pooling with padding: zero padding after ReLU, \'same\' padding where its windows are Descent\'s', async () => {
    for (const layers of [
      [{ type: 'Conv2d', outChannels: 3, kernelSize: 3 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2, padding: 1 }],
      [{ type: 'Conv2d', outChannels: 3, kernelSize: 4 }, { type: 'MaxPool2d', kernelSize: 3, stride: 2, padding: 1 }],
    ]) {
      const net = caseNet(layers);
      assertWithin(await predictTfjs(exportTfjs(net, { preprocessing: MNIST_PREPROCESSING }), Float32Array.from(pixels), [28, 28, 1]),
        descentOutput(net), 1e-5, JSON.stringify(layers[layers.length - 1]));
    }
  });

  it('refuses what TensorFlow.js cannot compute exactly, naming the layer', () => {
    const paddedMax = caseNet([{ type: 'Conv2d', outChannels: 2, kernelSize: 3 }, { type: 'MaxPool2d', kernelSize: [3, 2], stride: [2, 1], padding: [1, 0] }]);
    assert.throws(() => exportTfjs(paddedMax), /layer 1 \(MaxPool2d\) has no TensorFlow.js form: max pooling with this padding/);
  });
});
