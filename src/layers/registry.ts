/**
 * Layers by name: builds a layer from its JSON config (model files, spec files, the CLI). Custom
 * layers join with registerLayer, after which models containing them save and load like any other.
 */
import { DescentError } from '../core/errors.js';
import { LeakyReLU, ReLU, Sigmoid, Softplus, Tanh } from './activation.js';
import { BatchNorm1d, BatchNorm2d } from './batch-norm.js';
import { Conv2d, type Conv2dOptions } from './conv2d.js';
import { Dense, type DenseOptions } from './dense.js';
import { DepthwiseConv2d, type DepthwiseConv2dOptions } from './depthwise-conv2d.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import { GlobalAvgPool } from './global-avg-pool.js';
import type { Layer, LayerConfig } from './layer.js';
import { AvgPool2d, MaxPool2d, type Pool2dOptions } from './pool2d.js';
import { Softmax } from './softmax.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const constructors: Record<string, (o: any) => Layer> = {
  Dense: (o) => new Dense(o as DenseOptions),
  Conv2d: (o) => new Conv2d(o as Conv2dOptions),
  DepthwiseConv2d: (o) => new DepthwiseConv2d(o as DepthwiseConv2dOptions),
  MaxPool2d: (o) => new MaxPool2d(o as Pool2dOptions),
  AvgPool2d: (o) => new AvgPool2d(o as Pool2dOptions),
  GlobalAvgPool: () => new GlobalAvgPool(),
  Flatten: () => new Flatten(),
  Dropout: (o) => new Dropout(o),
  BatchNorm2d: (o) => new BatchNorm2d(o),
  BatchNorm1d: (o) => new BatchNorm1d(o),
  ReLU: () => new ReLU(),
  LeakyReLU: (o) => new LeakyReLU(o),
  Sigmoid: () => new Sigmoid(),
  Tanh: () => new Tanh(),
  Softplus: () => new Softplus(),
  Softmax: () => new Softmax(),
};

/** The registered layer types: the built-in ones, then those added with registerLayer. */
export const layerTypes = Object.keys(constructors);

/**
 * Registers a layer type, so that `layerFromConfig`, `Sequential.fromConfig`, model files and
 * checkpoints can rebuild it: `create` receives the layer's `config()` without its `type`.
 *
 *   class Scale extends Layer { readonly type = 'Scale'; ... config() { return { type: 'Scale', factor: this.factor }; } }
 *   registerLayer('Scale', (o) => new Scale(o as { factor: number }));
 *
 * Registering a built-in name, or a name twice with a different function, throws.
 */
export function registerLayer(type: string, create: (options: Record<string, unknown>) => Layer): void {
  if (typeof type !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(type)) {
    throw new DescentError(`a layer type must be an identifier, got ${JSON.stringify(type)}`);
  }
  if (typeof create !== 'function') throw new DescentError(`registerLayer("${type}"): the second argument must be a function that builds the layer`);
  const known: ((o: any) => Layer) | undefined = constructors[type];
  if (known === create) return;
  if (known !== undefined) throw new DescentError(`layer type "${type}" is already registered`);
  constructors[type] = create;
  layerTypes.push(type);
}

/** Throws a plain Error naming the problem; the caller adds where (file, layer index). */
export function layerFromConfig(config: LayerConfig): Layer {
  if (typeof config !== 'object' || config === null || typeof config.type !== 'string') {
    throw new DescentError(`a layer must be an object with a "type", got ${JSON.stringify(config)}`);
  }
  const make = constructors[config.type];
  if (!make) throw new DescentError(`unknown layer type "${config.type}" (known: ${layerTypes.join(', ')})`);
  const { type: _type, ...options } = config;
  return make(options);
}
