/** `descent summary <model|preset|spec>`: the per-layer table of a saved model, a preset or a spec file. */
import { Sequential } from '../network/sequential.js';
import { loadModel } from '../node/model-io.js';
import { loadArchitecture } from './model-source.js';

export function summaryCommand(model: string): void {
  const net = model.endsWith('.safetensors') ? loadModel(model).net : Sequential.fromConfig(loadArchitecture(model));
  console.log(net.summary());
}
