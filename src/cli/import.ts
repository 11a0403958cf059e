/** `descent import <file> --out <model>`: an ONNX file or a PyTorch state_dict as a Descent model file. */
import { InvalidArgumentError } from 'commander';
import { DescentError } from '../core/errors.js';
import type { Preprocessing } from '../io/model-file.js';
import { inputTransform } from '../io/preprocessing.js';
import { saveModel } from '../node/model-io.js';
import { importModelFile } from '../node/model-interchange.js';
import { loadArchitecture } from './model-source.js';

export interface ImportFlags {
  out: string;
  architecture?: string;
  scale?: number;
  mean?: number[];
  std?: number[];
  json: boolean;
}

/** --mean / --std values: comma-separated finite numbers. */
export function numberList(value: string): number[] {
  const numbers = value.split(',').map((s) => Number(s.trim()));
  if (numbers.length === 0 || !numbers.every(Number.isFinite)) throw new InvalidArgumentError('expected numbers separated by commas, like 0.1307 or 0.5,0.5,0.5.');
  return numbers;
}

export function importCommand(file: string, flags: ImportFlags): void {
  if (!flags.out.endsWith('.safetensors')) throw new DescentError(`--out ${flags.out}: a Descent model file ends in .safetensors`);
  const architecture = flags.architecture !== undefined ? loadArchitecture(flags.architecture) : undefined;
  const given = flags.scale !== undefined || flags.mean !== undefined || flags.std !== undefined;
  const preprocessing: Preprocessing | undefined = given
    ? { ...(flags.scale !== undefined ? { scale: flags.scale } : {}), ...(flags.mean ? { mean: flags.mean } : {}), ...(flags.std ? { std: flags.std } : {}) }
    : undefined;
  const model = importModelFile(file, { architecture, preprocessing });
  if (architecture && model.format === 'onnx') throw new DescentError('--architecture is for PyTorch state_dicts; an ONNX file holds its own');
  const { net, classNames } = model;
  inputTransform(model.preprocessing, net.inputShape[net.inputShape.length - 1], `${file}: cannot keep the preprocessing`);
  saveModel(flags.out, net, { classNames, preprocessing: model.preprocessing });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ source: file, format: model.format, out: flags.out, inputShape: net.inputShape,
      layers: net.layers.map((l) => l.type), parameters: net.parameterCount, preprocessing: model.preprocessing ?? null })}\n`);
    return;
  }
  console.log(`imported ${file} (${model.format === 'onnx' ? 'ONNX' : 'PyTorch state_dict'}): ${net.layers.length} layers, ` +
    `${net.parameterCount.toLocaleString('en-US')} parameters, input [${net.inputShape.join(', ')}] → ${flags.out}`);
  console.log(model.preprocessing ? `preprocessing: ${JSON.stringify(model.preprocessing)}` :
    'no preprocessing recorded: pass --scale/--mean/--std if the network expects normalised input');
}
