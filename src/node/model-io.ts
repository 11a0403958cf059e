/**
 * Model files on disk: Descent's own format (src/io/model-file.ts) and PyTorch state_dicts
 * (src/io/pytorch.ts). Writes are atomic; every error names the path.
 */
import { decodeModel, encodeModel, type LoadedModel, type ModelExtras } from '../io/model-file.js';
import {
  exportPytorchStateDict, importPytorchStateDict, type PytorchExportOptions, type PytorchImportOptions,
} from '../io/pytorch.js';
import type { ArchitectureConfig, Sequential, SequentialOptions } from '../network/sequential.js';
import { readFileMaybeGzip, writeFileAtomic } from './files.js';

/** Writes a model file (atomically): the architecture, weights, running statistics and the extras. */
export function saveModel(path: string, net: Sequential, extra: ModelExtras = {}): void {
  writeFileAtomic(path, encodeModel(net, extra));
}

/** `options` (arena, kernels, seed) go to the network being built. */
export function loadModel(path: string, options: Omit<SequentialOptions, 'inputShape'> = {}): LoadedModel {
  return decodeModel(readFileMaybeGzip(path), path, options);
}

/** A PyTorch state_dict saved with safetensors.torch.save_file, into a network of `architecture`. */
export function importPytorch(path: string, architecture: ArchitectureConfig,
  options: Omit<PytorchImportOptions, 'source'> = {}): Sequential {
  return importPytorchStateDict(readFileMaybeGzip(path), architecture, { ...options, source: path });
}

/** The network as a PyTorch state_dict, for safetensors.torch.load_file + model.load_state_dict. */
export function exportPytorch(path: string, net: Sequential, options: PytorchExportOptions = {}): void {
  writeFileAtomic(path, exportPytorchStateDict(net, options));
}
