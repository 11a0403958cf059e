/**
 * PyTorch export that carries its preprocessing: the state_dict as safetensors (keys
 * `layers.<k>.<name>`, PyTorch layouts, see ./pytorch.ts) with the preprocessing, class names and
 * Descent architecture in its metadata, and a generated `model.py` defining the matching
 * nn.Module — the normalisation (x·scale − mean) / std first, then `layers`, one module per
 * Descent layer: an nn.Sequential for a chain, an nn.ModuleList with a `forward` that follows the
 * graph for a graph network (./pytorch-graph-forward.ts) — which loads the weights beside it
 * (strict), so that `python3 model.py` evaluates the model as Descent does. model.py needs only
 * torch (safetensors if installed).
 */
import type { Sequential } from '../network/sequential.js';
import { checkFiniteNetwork } from './finite.js';
import type { Preprocessing } from './model-file.js';
import { inputTransform } from './preprocessing.js';
import { exportPytorchStateDict, flattenedImages } from './pytorch.js';
import { graphForward } from './pytorch-graph-forward.js';
import { list, moduleOf, py } from './pytorch-layer-modules.js';

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

/** A chain: nn.Sequential, then (c, h, w) features reordered to Descent's (h, w, c) if the output is a flattened image. */
function chainLayers(net: Sequential): { layers: string; forward: string } {
  const modules = net.layers.map((l, k) => `            ${moduleOf(l, `layer ${k} (${l.type})`)},  # ${k}: ${l.type}`);
  const image = flattenedImages(net)[net.layers.length];
  if (image) modules.push(`            ChannelsLast(${image[2]}, ${image[0]}, ${image[1]}),  # Descent orders flattened features (h, w, c)`);
  return { layers: `nn.Sequential(\n${modules.join('\n')}\n        )`, forward: '        return self.layers(self.preprocess(x))' };
}

/** A graph: nn.ModuleList, and forward written node by node. */
function graphLayers(net: Sequential): { layers: string; forward: string } {
  const { modules, forward } = graphForward(net);
  return { layers: `nn.ModuleList([\n${modules}\n        ])`, forward };
}

export function exportPytorchModel(net: Sequential, options: PytorchModelOptions = {}): PytorchModel {
  checkFiniteNetwork(net, 'cannot export to PyTorch');
  const channels = net.inputShape[net.inputShape.length - 1];
  const transform = options.includePreprocessing === false ? null
    : inputTransform(options.preprocessing, channels, 'cannot export the preprocessing');
  const metadata: Record<string, string> = { 'descent.architecture': JSON.stringify(net.config()) };
  if (options.preprocessing !== undefined) metadata.preprocessing = JSON.stringify(options.preprocessing);
  if (options.classNames !== undefined) metadata.classNames = JSON.stringify(options.classNames);
  // Module k is node k, in a chain's nn.Sequential and a graph's nn.ModuleList alike.
  const stateDict = exportPytorchStateDict(net, { prefix: 'layers', metadata, indexOf: (k) => k });
  const modelPy = template({
    description: net.isChain ? net.layers.map((l) => l.type).join(' → ') : `a graph of ${net.layers.length} nodes (see forward)`,
    preprocessing: transform ? py({ scale: transform.scale, mean: transform.mean, std: transform.std }) : 'None',
    classNames: options.classNames ? list(options.classNames) : 'None',
    inputShape: list(net.inputShape),
    ...(net.isChain ? chainLayers(net) : graphLayers(net)),
    weights: options.weightsFile ?? 'model.safetensors',
  });
  return { stateDict, modelPy };
}

function template(t: Record<'description' | 'preprocessing' | 'classNames' | 'inputShape' | 'layers' | 'forward' | 'weights', string>): string {
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


def channels_last(x, c, h, w):
    """Features flattened in (c, h, w) order, reordered to Descent's (h, w, c)."""
    return x.reshape(x.shape[0], c, h, w).permute(0, 2, 3, 1).flatten(1)


class ChannelsLast(nn.Module):
    def __init__(self, c, h, w):
        super().__init__()
        self.chw = (c, h, w)

    def forward(self, x):
        return channels_last(x, *self.chw)


class Add(nn.Module):
    """Descent's Add: the inputs summed in order; an [N, C] input is added per channel to an image."""

    def forward(self, *xs):
        y = xs[0]
        for x in xs[1:]:
            y = torch.add(y, x.reshape(x.shape[0], -1, *[1] * (y.dim() - 2)) if x.dim() < y.dim() else x)
        return y


class Concat(nn.Module):
    """Descent's Concat: the inputs joined along channels (dim 1), in order."""

    def forward(self, *xs):
        return torch.cat(xs, dim=1)


class DescentModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.preprocess = Preprocess(**PREPROCESSING, image=len(INPUT_SHAPE) == 3) if PREPROCESSING else nn.Identity()
        self.layers = ${t.layers}

    def forward(self, x):
${t.forward}


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
    model.load_state_dict(read_safetensors(path), strict=True)
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
