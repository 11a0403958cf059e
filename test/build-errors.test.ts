/** Bad construction fails when the network is built, with a message saying what and where. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ShapeError } from '../src/core/errors.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { Sequential } from '../src/network/sequential.js';

function build(layers: LayerConfig[], inputShape = [8, 8, 1]): () => Sequential {
  return () => Sequential.fromConfig({ inputShape, layers });
}

function throwsShape(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ShapeError, `expected a ShapeError, got ${e}`);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" should mention "${f}"`);
    return true;
  });
}

describe('bad construction is refused when the network is built', () => {
  it('a kernel size of 0', () => throwsShape(build([{ type: 'Conv2d', outChannels: 2, kernelSize: 0 }]), 'layer 0 (Conv2d)', 'kernelSize', '0'));
  it('a stride of 0', () => throwsShape(build([{ type: 'MaxPool2d', kernelSize: 2, stride: 0 }]), 'layer 0 (MaxPool2d)', 'stride'));
  it('a negative padding', () => throwsShape(build([{ type: 'ReLU' }, { type: 'Conv2d', outChannels: 2, kernelSize: 3, padding: -1 }]), 'layer 1 (Conv2d)', 'padding'));
  it('a pooling padding over half its window', () => throwsShape(build([{ type: 'MaxPool2d', kernelSize: 2, padding: 2 }]), 'layer 0 (MaxPool2d)', 'at most half'));
  it('a shape mismatch between layers (dense after an image)', () =>
    throwsShape(build([{ type: 'Conv2d', outChannels: 2, kernelSize: 3 }, { type: 'Dense', outFeatures: 10 }]), 'layer 1 (Dense)', '[6, 6, 2]', 'Flatten'));
  it('a convolution after a flatten', () =>
    throwsShape(build([{ type: 'Flatten' }, { type: 'Conv2d', outChannels: 2, kernelSize: 3 }]), 'layer 1 (Conv2d)', '[64]'));
  it('an input too small for a kernel', () =>
    throwsShape(build([{ type: 'Conv2d', outChannels: 4, kernelSize: 5 }, { type: 'Conv2d', outChannels: 4, kernelSize: 5 }]), 'layer 1 (Conv2d)', '[4, 4, 4]', '5×5'));
  it('an input too small for a dilated kernel', () =>
    throwsShape(build([{ type: 'Conv2d', outChannels: 1, kernelSize: 3, dilation: 4 }]), 'layer 0 (Conv2d)', '9×9'));
  it('a pooling window larger than the input', () => throwsShape(build([{ type: 'AvgPool2d', kernelSize: 9 }]), 'layer 0 (AvgPool2d)', '9×9'));
  it('an unknown layer type', () => throwsShape(build([{ type: 'Conv3d' }]), 'layer 0', 'unknown layer type "Conv3d"'));
  it('a dropout probability of 1', () => throwsShape(build([{ type: 'Dropout', p: 1 }]), 'Dropout p'));
  it('a bad input shape', () => throwsShape(build([{ type: 'ReLU' }], [0, 28, 1]), 'input shape'));
  it('a Softmax on an image', () => throwsShape(build([{ type: 'Softmax' }]), 'layer 0 (Softmax)', 'vector'));
});
