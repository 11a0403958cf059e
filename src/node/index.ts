/**
 * `descent-cnn/node`: the whole core library (`descent-cnn`) plus what needs Node: the fast engine
 * on worker threads, model files on disk, PyTorch files, MNIST and every data source of the CLI,
 * and the live dashboard.
 *
 *   import { createEngine, loadMnist, preset, Sequential, Trainer, saveModel } from 'descent-cnn/node';
 */
export * from '../index.js';
export { createEngine } from './engine.js';
export { createWasmEngine, loadWasmModule } from '../engine/node-loader.js';
export { exportPytorch, importPytorch, loadModel, saveModel } from './model-io.js';
export {
  EXPORT_FORMATS, type ExportFileOptions, type ExportFormat, exportModelFiles, importModelFile, type ImportFileOptions,
} from './model-interchange.js';
export { loadIdxPair, loadMnist, type MnistOptions, mnistDataDir } from './mnist.js';
export { loadCsvFile } from './csv-file.js';
export { type ColorMode, decodeImage, type DecodedImage, loadImageFile, loadImageFolder } from './image-folder.js';
export { readFileMaybeGzip, writeFileAtomic } from './files.js';
export { type Dashboard, type DashboardOptions, startDashboard } from '../ui/server.js';
export { RunRecorder, type RecorderOptions } from '../ui/run-recorder.js';
