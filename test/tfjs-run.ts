/** Runs a TensorFlow.js export with @tensorflow/tfjs (CPU backend), loading the files as they were written. */
import * as tf from '@tensorflow/tfjs';
import type { TfjsExport } from '../src/io/tfjs.js';

await tf.setBackend('cpu');

/** Loads the exported files as a browser would fetch them: model.json's text and the weights' bytes. */
export async function loadTfjs(files: TfjsExport): Promise<tf.LayersModel> {
  const json = JSON.parse(JSON.stringify(files.modelJson));
  const bytes = files.weights.slice();
  const handler: tf.io.IOHandler = {
    load: async () => ({
      modelTopology: json.modelTopology, format: json.format, generatedBy: json.generatedBy,
      weightSpecs: json.weightsManifest[0].weights, weightData: bytes.buffer, userDefinedMetadata: json.userDefinedMetadata,
    }),
  };
  return tf.loadLayersModel(handler, { strict: true });
}

/** The model's outputs for `input`, [N, ...shape], as one flat array. */
export async function predictTfjs(files: TfjsExport, input: Float32Array, shape: number[]): Promise<Float32Array> {
  const model = await loadTfjs(files);
  const N = input.length / shape.reduce((a, b) => a * b, 1);
  const x = tf.tensor(input, [N, ...shape]);
  const y = model.predict(x) as tf.Tensor;
  const data = (await y.data()) as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  return data;
}
