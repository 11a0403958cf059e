/**
 * PyTorch export that carries its preprocessing: the state_dict as safetensors (keys
 * `layers.<k>.<name>`, PyTorch layouts, see ./pytorch.ts) with the preprocessing, class names and
 * Descent architecture in its metadata, and a generated `model.py` defining the matching
 * nn.Module — the normalisation (x·scale − mean) / std first, then nn.Sequential `layers`, one
 * module per Descent layer — which loads the weights beside it, so that `python3 model.py`
 * evaluates the model as Descent does. model.py needs only torch (safetensors if installed).
 */
import { DescentError } from '../core/errors.js';
import type { Conv2d } from '../layers/conv2d.js';
import type { Layer } from '../layers/layer.js';
import type { AvgPool2d, MaxPool2d } from '../layers/pool2d.js';
import type { Sequential } from '../network/sequential.js';
import { checkFiniteNetwork } from './finite.js';
import type { Preprocessing } from './model-file.js';
import { inputTransform } from './preprocessing.js';
import { exportPytorchStateDict } from './pytorch.js';

export interface PytorchModelOptions {
  preprocessing?: Preprocessing;
  /** Put the preprocessing into model.py's module (default true); it stays in the metadata either way. */
  includePreprocessing?: boolean;
  classNames?: string[];
  /** The state_dict's file name, as model.py refers to it (default model.safetensors). */
  weightsFile?: string;
}

export interface PytorchModel {
  /** safetensors bytes: the state_dict, with `preprocessing`, `classNames` and `descent.architecture` metadata. */
  stateDict: Uint8Array;
  /** The source of model.py. */
  modelPy: string;
}

/** Layers a flattened image passes through keeping its (c, h, w) feature order (as ./pytorch.ts). */
const KEEPS_ORDER = new Set(['ReLU', 'LeakyReLU', 'Sigmoid', 'Tanh', 'Softplus', 'Softmax', 'Dropout', 'BatchNorm1d']);

const py = (v: unknown): string => {
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
const list = (v: readonly unknown[]) => `[${v.map(py).join(', ')}]`;

/** PyTorch's padding (h, w) for the built layer's [top, bottom, left, right]; nn.Conv2d and the pools pad both sides alike. */
function symmetricPads([t, b, l, r]: readonly number[], k: number, type: string): [number, number] {
  if (t !== b || l !== r) {
    throw new DescentError(`layer ${k} (${type}) pads [top ${t}, bottom ${b}, left ${l}, right ${r}]: nn.Conv2d and the pools ` +
      'pad both sides alike (an nn.ZeroPad2d before them would change the state_dict keys)');
  }
  return [t, l];
}

function moduleOf(layer: Layer, k: number): string {
  const c = layer.config();
  switch (layer.type) {
    case 'Conv2d': case 'DepthwiseConv2d': {
      const conv = layer as Conv2d, padding = symmetricPads(conv.pads, k, layer.type);
      if (conv.groups !== 1) return `nn.Conv2d(${layer.inputShape[2]}, ${py(conv.outChannels)}, ${py(c.kernelSize)}, stride=${py(c.stride)}, padding=${py(padding)}, dilation=${py(c.dilation)}, groups=${py(conv.groups)}, bias=${py(c.bias)})`;
      return `nn.Conv2d(${layer.inputShape[2]}, ${py(conv.outChannels)}, ${py(c.kernelSize)}, stride=${py(c.stride)}, padding=${py(padding)}, dilation=${py(c.dilation)}, bias=${py(c.bias)})`;
    }
    case 'MaxPool2d': return `nn.MaxPool2d(${py(c.kernelSize)}, stride=${py(c.stride)}, padding=${py(symmetricPads((layer as MaxPool2d).pads, k, layer.type))})`;
    case 'AvgPool2d': return `nn.AvgPool2d(${py(c.kernelSize)}, stride=${py(c.stride)}, padding=${py(symmetricPads((layer as AvgPool2d).pads, k, layer.type))})`;
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
    default: throw new DescentError(`layer ${k} (${layer.type}) has no PyTorch module`);
  }
}

/**
 * [C, H, W] when the network's output is a flattened image still in PyTorch's (c, h, w) order
 * (no Linear after the Flatten reorders it): model.py then reorders it to Descent's (h, w, c).
 */
function pendingImage(net: Sequential): number[] | null {
  let image: number[] | null = null;
  for (const layer of net.layers) {
    if (layer.type === 'Flatten') image = layer.inputShape.length === 3 ? [layer.inputShape[2], layer.inputShape[0], layer.inputShape[1]] : null;
    else if (!KEEPS_ORDER.has(layer.type)) image = null;
  }
  return image;
}

export function exportPytorchModel(net: Sequential, options: PytorchModelOptions = {}): PytorchModel {
  checkFiniteNetwork(net, 'cannot export to PyTorch');
  const channels = net.inputShape[net.inputShape.length - 1];
  const transform = options.includePreprocessing === false ? null
    : inputTransform(options.preprocessing, channels, 'cannot export the preprocessing');
  const metadata: Record<string, string> = { 'descent.architecture': JSON.stringify(net.config()) };
  if (options.preprocessing !== undefined) metadata.preprocessing = JSON.stringify(options.preprocessing);
  if (options.classNames !== undefined) metadata.classNames = JSON.stringify(options.classNames);
  const stateDict = exportPytorchStateDict(net, { prefix: 'layers', metadata });
  const modules = net.layers.map((l, k) => `            ${moduleOf(l, k)},  # ${k}: ${l.type}`);
  const image = pendingImage(net);
  if (image) modules.push(`            ChannelsLast(${image.join(', ')}),  # Descent orders flattened features (h, w, c)`);
  const modelPy = template({
    description: `${net.layers.map((l) => l.type).join(' → ')}`,
    preprocessing: transform ? py({ scale: transform.scale, mean: transform.mean, std: transform.std }) : 'None',
    classNames: options.classNames ? list(options.classNames) : 'None',
    inputShape: list(net.inputShape),
    modules: modules.join('\n'),
    weights: options.weightsFile ?? 'model.safetensors',
  });
  return { stateDict, modelPy };
}

function template(t: Record<'description' | 'preprocessing' | 'classNames' | 'inputShape' | 'modules' | 'weights', string>): string {
  return `#!/usr/bin/env python3
"""A network exported by Descent: ${t.description}.

DescentModel takes raw input as \`descent predict\` does (images: pixel values 0-255), as float32
[N, C, H, W] (PyTorch's layout), applies PREPROCESSING, x -> (x * scale - mean) / std per channel,
then the layers. Its weights are in ${t.weights} beside this file (a state_dict, loaded with
load_state_dict).

    python3 model.py                                   # load, check and print the model
    python3 model.py --input in.json --output out.json

in.json is {"shape": [N, H, W, C], "data": [...]} (channels-last, raw values, as Descent takes them);
out.json gets the outputs the same way (channels-last for image outputs).
"""
import argparse
import json
import os
import struct
import sys

import torch
from torch import nn

PREPROCESSING = ${t.preprocessing}
CLASS_NAMES = ${t.classNames}
INPUT_SHAPE = ${t.inputShape}  # [H, W, C] or [F], as Descent writes it
WEIGHTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), ${JSON.stringify(t.weights)})


class Preprocess(nn.Module):
    """x -> (x * scale - mean) / std, mean and std per channel (axis 1)."""

    def __init__(self, scale, mean, std, image):
        super().__init__()
        shape = (1, -1, 1, 1) if image else (1, -1)
        self.scale = scale
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(shape), persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(shape), persistent=False)

    def forward(self, x):
        return (x * self.scale - self.mean) / self.std


class ChannelsLast(nn.Module):
    """Features flattened in (c, h, w) order, reordered to Descent's (h, w, c)."""

    def __init__(self, c, h, w):
        super().__init__()
        self.chw = (c, h, w)

    def forward(self, x):
        return x.reshape(x.shape[0], *self.chw).permute(0, 2, 3, 1).flatten(1)


class DescentModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.preprocess = Preprocess(**PREPROCESSING, image=len(INPUT_SHAPE) == 3) if PREPROCESSING else nn.Identity()
        self.layers = nn.Sequential(
${t.modules}
        )

    def forward(self, x):
        return self.layers(self.preprocess(x))


def read_safetensors(path):
    """The tensors of a safetensors file (with the safetensors package if installed)."""
    try:
        from safetensors.torch import load_file
        return load_file(path)
    except ImportError:
        pass
    dtypes = {'F32': torch.float32, 'F64': torch.float64, 'I64': torch.int64}
    with open(path, 'rb') as f:
        (n,) = struct.unpack('<Q', f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    tensors = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        start, end = info['data_offsets']
        dtype = dtypes[info['dtype']]
        flat = torch.frombuffer(bytearray(data[start:end]), dtype=dtype) if end > start else torch.zeros(0, dtype=dtype)
        tensors[name] = flat.reshape(info['shape'])
    return tensors


def load(path=WEIGHTS):
    model = DescentModel()
    model.load_state_dict(read_safetensors(path))
    return model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\\n')[0])
    parser.add_argument('--weights', default=WEIGHTS, help='the state_dict (safetensors)')
    parser.add_argument('--input', help='JSON {"shape": [N, H, W, C], "data": [...]}, raw values, channels-last')
    parser.add_argument('--output', help='where to write the outputs as JSON (default: standard output)')
    args = parser.parse_args(argv)
    model = load(args.weights)
    if not args.input:
        print(model)
        print('preprocessing:', PREPROCESSING)
        with torch.no_grad():
            y = model(torch.zeros(1, *([INPUT_SHAPE[2], INPUT_SHAPE[0], INPUT_SHAPE[1]] if len(INPUT_SHAPE) == 3 else INPUT_SHAPE)))
        print('output shape for one input:', list(y.shape))
        return
    with open(args.input) as f:
        spec = json.load(f)
    x = torch.tensor(spec['data'], dtype=torch.float32).reshape(spec['shape'])
    if x.dim() == 4:
        x = x.permute(0, 3, 1, 2)
    with torch.no_grad():
        y = model(x)
    if y.dim() == 4:
        y = y.permute(0, 2, 3, 1)
    out = json.dumps({'shape': list(y.shape), 'data': y.flatten().tolist()})
    if args.output:
        with open(args.output, 'w') as f:
            f.write(out)
    else:
        print(out)


if __name__ == '__main__':
    main(sys.argv[1:])
`;
}
