/** `descent export <model> --format onnx|tfjs|pytorch --out <path>`: a saved model in another framework's files. */
import { DescentError } from '../core/errors.js';
import { describeTransform, inputTransform } from '../io/preprocessing.js';
import { loadModel } from '../node/model-io.js';
import { EXPORT_FORMATS, exportModelFiles, type ExportFormat } from '../node/model-interchange.js';

export interface ExportFlags {
  format: ExportFormat;
  out: string;
  preprocessing: boolean;
  layout?: 'nhwc' | 'nchw';
  json: boolean;
}

export function exportCommand(modelPath: string, flags: ExportFlags): void {
  if (flags.layout !== undefined && flags.format !== 'onnx') throw new DescentError('--layout applies to --format onnx only');
  const model = loadModel(modelPath);
  const files = exportModelFiles(model, flags.format, flags.out, { includePreprocessing: flags.preprocessing, inputLayout: flags.layout });
  const { net, preprocessing } = model;
  const transform = inputTransform(preprocessing, net.inputShape[net.inputShape.length - 1], modelPath);
  const inModel = flags.preprocessing && transform !== null;
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ model: modelPath, format: flags.format, files, inputShape: net.inputShape,
      preprocessing: preprocessing ?? null, preprocessingInModel: inModel })}\n`);
    return;
  }
  console.log(`wrote ${files.join(', ')} (${flags.format}${flags.format === 'onnx' ? `, input [N, ${flags.layout === 'nchw' ? [net.inputShape[2], net.inputShape[0], net.inputShape[1]].join(', ') : net.inputShape.join(', ')}]` : ''})`);
  console.log(inModel ? `the model takes raw input and applies its preprocessing: ${describeTransform(transform)}`
    : `the model takes preprocessed input: ${describeTransform(transform)}`);
}

export { EXPORT_FORMATS };
