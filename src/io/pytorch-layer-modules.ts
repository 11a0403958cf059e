/**
 * Each Descent layer as the PyTorch module that computes it, as Python source for model.py
 * (./pytorch-module.ts), and Python literals.
 */
import { DescentError } from '../core/errors.js';
import type { Conv2d } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';

/** A value as a Python literal (lists as tuples). */
export const py = (v: unknown): string => {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new DescentError(`cannot write ${v} into model.py`);
    return String(v);
  }
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `(${v.map(py).join(', ')}${v.length === 1 ? ',' : ''})`;
  return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `${JSON.stringify(k)}: ${py(x)}`).join(', ')}}`;
};
export const list = (v: readonly unknown[]) => `[${v.map(py).join(', ')}]`;

/** Layers whose module pads: their built [top, bottom, left, right]. */
export function padsOf(layer: Layer): readonly number[] | null {
  return ['Conv2d', 'DepthwiseConv2d', 'MaxPool2d', 'AvgPool2d'].includes(layer.type) ? (layer as Conv2d).pads : null;
}

/** Whether [top, bottom, left, right] pads both sides of each axis alike (what nn.Conv2d and the pools can). */
export const symmetric = ([t, b, l, r]: readonly number[]) => t === b && l === r;

/**
 * The module of `layer` (`label` names it in errors). nn.Conv2d and the pools pad both sides alike:
 * `padded` false builds the module without padding, for a caller that pads before it.
 */
export function moduleOf(layer: Layer, label: string, padded = true): string {
  const c = layer.config(), pads = padsOf(layer);
  let padding = '(0, 0)';
  if (pads && padded) {
    const [t, b, l, r] = pads;
    if (!symmetric(pads)) {
      throw new DescentError(`${label} pads [top ${t}, bottom ${b}, left ${l}, right ${r}]: nn.Conv2d and the pools ` +
        'pad both sides alike (an nn.ZeroPad2d before them would change the state_dict keys)');
    }
    padding = py([t, l]);
  }
  switch (layer.type) {
    case 'Conv2d': case 'DepthwiseConv2d': {
      const conv = layer as Conv2d;
      const groups = conv.groups !== 1 ? `, groups=${py(conv.groups)}` : '';
      return `nn.Conv2d(${layer.inputShape[2]}, ${py(conv.outChannels)}, ${py(c.kernelSize)}, stride=${py(c.stride)}, padding=${padding}, dilation=${py(c.dilation)}${groups}, bias=${py(c.bias)})`;
    }
    case 'MaxPool2d': return `nn.MaxPool2d(${py(c.kernelSize)}, stride=${py(c.stride)}, padding=${padding})`;
    case 'AvgPool2d': return `nn.AvgPool2d(${py(c.kernelSize)}, stride=${py(c.stride)}, padding=${padding})`;
    case 'GlobalAvgPool': return 'nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())';
    case 'Flatten': return 'nn.Flatten()';
    case 'Dense': return `nn.Linear(${layer.inputShape[0]}, ${py(c.outFeatures)}, bias=${py(c.bias)})`;
    case 'BatchNorm2d': case 'BatchNorm1d':
      return `nn.${layer.type}(${layer.params.weight.length}, eps=${py(c.eps)}, momentum=${py(c.momentum)})`;
    case 'Dropout': return `nn.Dropout(${py(c.p)})`;
    case 'ReLU': return 'nn.ReLU()';
    case 'LeakyReLU': return `nn.LeakyReLU(${py(c.negativeSlope)})`;
    case 'Sigmoid': return 'nn.Sigmoid()';
    case 'Tanh': return 'nn.Tanh()';
    case 'Softplus': return 'nn.Softplus()';
    case 'Softmax': return 'nn.Softmax(dim=1)';
    case 'Identity': return 'nn.Identity()';
    case 'Add': return 'Add()';
    case 'Concat': return 'Concat()';
    default: throw new DescentError(`${label} has no PyTorch module`);
  }
}
