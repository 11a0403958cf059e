/** Layers by name: builds a layer from its JSON config (model files, spec files, the CLI). */
import { LeakyReLU, ReLU, Sigmoid, Softplus, Tanh } from './activation.js';
import { Add } from './add.js';
import { BatchNorm1d, BatchNorm2d } from './batch-norm.js';
import { Concat } from './concat.js';
import { Conv2d, type Conv2dOptions } from './conv2d.js';
import { Dense, type DenseOptions } from './dense.js';
import { Dropout } from './dropout.js';
import { Flatten } from './flatten.js';
import { GlobalAvgPool } from './global-avg-pool.js';
import { Identity } from './identity.js';
import type { Layer, LayerConfig } from './layer.js';
import { AvgPool2d, MaxPool2d, type Pool2dOptions } from './pool2d.js';
import { Softmax } from './softmax.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
const constructors: Record<string, (o: any) => Layer> = {
  Dense: (o) => new Dense(o as DenseOptions),
  Conv2d: (o) => new Conv2d(o as Conv2dOptions),
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
  Add: () => new Add(),
  Concat: () => new Concat(),
  Identity: () => new Identity(),
};

export const layerTypes = Object.keys(constructors);

/** Throws a plain Error naming the problem; the caller adds where (file, layer index). */
export function layerFromConfig(config: LayerConfig): Layer {
  if (typeof config !== 'object' || config === null || typeof config.type !== 'string') {
    throw new Error(`a layer must be an object with a "type", got ${JSON.stringify(config)}`);
  }
  const make = constructors[config.type];
  if (!make) throw new Error(`unknown layer type "${config.type}" (known: ${layerTypes.join(', ')})`);
  const { type: _type, ...options } = config;
  return make(options);
}
