/**
 * Models in other frameworks' files, on disk: export a loaded model as ONNX (one file), TensorFlow.js
 * (a folder: model.json, weights.bin, README.md) or PyTorch (a folder: model.safetensors, model.py);
 * import an ONNX file or a PyTorch state_dict (safetensors) as a loaded model. Writes are atomic;
 * every error names the path.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DescentError } from '../core/errors.js';
import type { LoadedModel, Preprocessing } from '../io/model-file.js';
import { exportOnnx } from '../io/onnx/export.js';
import { importOnnx } from '../io/onnx/import.js';
import { exportPytorchModel } from '../io/pytorch-module.js';
import { importPytorchStateDict } from '../io/pytorch.js';
import { decodeSafetensors } from '../io/safetensors.js';
import { exportTfjs } from '../io/tfjs.js';
import type { ArchitectureConfig, SequentialOptions } from '../network/sequential.js';
import { readFileMaybeGzip, writeFileAtomic } from './files.js';

export const EXPORT_FORMATS = ['onnx', 'tfjs', 'pytorch'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportFileOptions {
  /** Put the preprocessing into the exported model (default true). */
  includePreprocessing?: boolean;
  /** ONNX only: the input's axis order (default 'nhwc', as Descent). */
  inputLayout?: 'nhwc' | 'nchw';
}

function ensureFolder(path: string): void {
  if (existsSync(path) && !statSync(path).isDirectory()) throw new DescentError(`${path} is a file; the export needs a folder there`);
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    throw new DescentError(`cannot create the folder ${path}: ${(e as Error).message}`);
  }
}

/** Writes the model in `format` at `out` (a file for ONNX, else a folder) and returns the files written. */
export function exportModelFiles(model: LoadedModel, format: ExportFormat, out: string, options: ExportFileOptions = {}): string[] {
  const { net, preprocessing, classNames } = model;
  const common = { preprocessing, classNames, includePreprocessing: options.includePreprocessing };
  switch (format) {
    case 'onnx': {
      const file = existsSync(out) && statSync(out).isDirectory() ? join(out, 'model.onnx') : out;
      const bytes = exportOnnx(net, { ...common, inputLayout: options.inputLayout });
      writeFileAtomic(file, bytes);
      return [file];
    }
    case 'tfjs': {
      const files = exportTfjs(net, common);
      ensureFolder(out);
      const written = [join(out, 'weights.bin'), join(out, 'model.json'), join(out, 'README.md')];
      writeFileAtomic(written[0], files.weights);
      writeFileAtomic(written[1], JSON.stringify(files.modelJson));
      writeFileAtomic(written[2], files.readme);
      return written;
    }
    case 'pytorch': {
      const files = exportPytorchModel(net, common);
      ensureFolder(out);
      const written = [join(out, 'model.safetensors'), join(out, 'model.py')];
      writeFileAtomic(written[0], files.stateDict);
      writeFileAtomic(written[1], files.modelPy);
      return written;
    }
    default:
      throw new DescentError(`unknown export format "${format as string}" (use ${EXPORT_FORMATS.join(', ')})`);
  }
}

/** A safetensors file starts with an 8-byte little-endian header length, then '{'. */
function isSafetensors(bytes: Uint8Array): boolean {
  return bytes.length >= 9 && bytes[8] === 0x7b && bytes[6] === 0 && bytes[7] === 0;
}

export interface ImportFileOptions extends Omit<SequentialOptions, 'inputShape'> {
  /** For a PyTorch state_dict without Descent's architecture in its metadata. */
  architecture?: ArchitectureConfig;
  /** Replaces the preprocessing the file records (if any). */
  preprocessing?: Preprocessing;
}

/** An ONNX file or a PyTorch state_dict (safetensors) as a loaded model, told apart by content. */
export function importModelFile(path: string, options: ImportFileOptions = {}): LoadedModel & { format: 'onnx' | 'pytorch' } {
  const { architecture, preprocessing, ...netOptions } = options;
  const bytes = readFileMaybeGzip(path);
  if (!isSafetensors(bytes)) {
    const model = importOnnx(bytes, { ...netOptions, source: path });
    return { net: model.net, format: 'onnx', classNames: model.classNames, preprocessing: preprocessing ?? model.preprocessing };
  }
  const { metadata } = decodeSafetensors(bytes, path);
  if (metadata.format === 'descent-model-1') throw new DescentError(`${path} is already a Descent model`);
  const json = (key: string): unknown => {
    try {
      return metadata[key] === undefined ? undefined : JSON.parse(metadata[key]);
    } catch (e) {
      throw new DescentError(`${path}: metadata "${key}" is not valid JSON: ${(e as Error).message}`);
    }
  };
  const arch = architecture ?? (json('descent.architecture') as ArchitectureConfig | undefined);
  if (!arch) throw new DescentError(`${path} is a PyTorch state_dict without an architecture: pass --architecture <preset or spec.json>`);
  const net = importPytorchStateDict(bytes, arch, { ...netOptions, source: path });
  const recorded = json('preprocessing');
  const names = json('classNames');
  const model: LoadedModel & { format: 'pytorch' } = { net, format: 'pytorch' };
  const pre = preprocessing ?? recorded;
  if (pre !== undefined) {
    if (typeof pre !== 'object' || pre === null || Array.isArray(pre)) throw new DescentError(`${path}: metadata "preprocessing" must be a JSON object`);
    model.preprocessing = pre as Preprocessing;
  }
  if (names !== undefined) {
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new DescentError(`${path}: metadata "classNames" must be strings`);
    model.classNames = names;
  }
  return model;
}
