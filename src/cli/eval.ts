/** `descent eval <model>`: accuracy, loss and confusion matrix of a saved model on a dataset. */
import { sizeOf } from '../core/shape.js';
import { createEngine, type EngineKind } from '../node/engine.js';
import { loadModel } from '../node/model-io.js';
import { evaluateAsync } from '../train/evaluate.js';
import { loadSource } from './data-source.js';
import { confusionTable, percent } from './format.js';
import { checkDataFits, modelInput, resizeOf } from './model-data.js';

export async function evalCommand(modelPath: string, flags: { data: string; json: boolean; engine: EngineKind;
  gpuAdapter?: 'system' | 'swiftshader'; threads?: number }): Promise<void> {
  const engine = await createEngine({ kind: flags.engine, threads: flags.threads, gpuAdapter: flags.gpuAdapter });
  try {
    // Inference only: activations share memory where their lives do not overlap (same numbers).
    const { net, classNames, preprocessing } = loadModel(modelPath, { arena: engine.arena, kernels: engine.kernels, shareActivations: true });
    // A folder of images is read the way the model saw its training images: its channels, its resize.
    const data = loadSource(flags.data, 'test', sizeOf(net.outputShape),
      { color: net.inputShape[2] === 3 ? 'rgb' : 'grayscale', size: resizeOf(preprocessing) });
    checkDataFits(net, data, flags.data);
    modelInput(preprocessing, net, modelPath)(data.x);
    const ev = await evaluateAsync(net, data);
    if (flags.json) {
      process.stdout.write(`${JSON.stringify({ model: modelPath, data: flags.data, ...ev })}\n`);
      return;
    }
    console.log(`${modelPath} on ${flags.data}: accuracy ${percent(ev.accuracy)} ` +
      `(${Math.round(ev.accuracy * ev.count)}/${ev.count}), loss ${ev.loss.toFixed(4)}`);
    console.log(`confusion matrix (rows: true class, columns: predicted):\n${confusionTable(ev.confusion, classNames ?? data.classNames)}`);
  } finally {
    await engine.dispose();
  }
}
