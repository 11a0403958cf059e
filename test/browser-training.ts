/**
 * One short, seeded training run that imports no Node module, so that a browser page and a Node
 * test can run the very same code and compare the weights bit for bit.
 */
import type { Arena } from '../src/core/arena.js';
import type { Kernels } from '../src/kernels/kernels.js';
import { Sequential } from '../src/network/sequential.js';
import { fit } from '../src/train/trainer.js';
import { patches } from './synthetic.js';

export interface ShortRun {
  stepLosses: number[];
  /** The final w as the bit patterns of its float32 values. */
  weightBits: number[];
}

export async function shortRun(arena: Arena, kernels: Kernels): Promise<ShortRun> {
  const net = Sequential.fromConfig({
    inputShape: [16, 16, 1],
    layers: [
      { type: 'Conv2d', outChannels: 8, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
      { type: 'Conv2d', outChannels: 16, kernelSize: 3 }, { type: 'ReLU' }, { type: 'Flatten' }, { type: 'Dropout', p: 0.1 },
      { type: 'Dense', outFeatures: 4 }, { type: 'Softmax' },
    ],
  }, { seed: 8, arena, kernels });
  const history = await fit(net, patches(96, 5, 4, 16), {
    epochs: 2, batchSize: 32, optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9 },
  });
  await net.download(); // on a device (WebGPU) w is read back; nothing to do on the CPU engines
  return { stepLosses: history.stepLosses, weightBits: Array.from(new Uint32Array(Float32Array.from(net.getWeights()).buffer)) };
}
