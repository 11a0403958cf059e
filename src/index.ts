/**
 * `descent-cnn`: the core library, for Node and browsers alike (no Node-only module is imported
 * from here). `descent-cnn/node` adds the engines, files and data sets of Node;
 * `descent-cnn/browser` the engines of a browser. Both re-export everything here.
 */
export { type Arena, HeapArena } from './core/arena.js';
export { DescentError, ShapeError } from './core/errors.js';
export { type DType, type Floats } from './core/floats.js';
export { type DeviceTensor, hostFloats, hostInts, type IntTensor, isDeviceTensor, type Tensor as EngineTensor } from './core/tensor.js';
export { hash32, Rng, type RngState } from './core/rng.js';
export { fmt, type Shape, sizeOf } from './core/shape.js';
export type { ActivationKind, ClassTarget, Conv2dGeometry, Kernels, Pool2dGeometry } from './kernels/kernels.js';
export { referenceKernels } from './kernels/reference/index.js';
export { LeakyReLU, ReLU, Sigmoid, Softplus, Tanh } from './layers/activation.js';
export { BatchNorm1d, BatchNorm2d } from './layers/batch-norm.js';
export type { BatchNormOptions } from './layers/batch-norm.js';
export { Conv2d, type Conv2dOptions } from './layers/conv2d.js';
export { DepthwiseConv2d, type DepthwiseConv2dOptions } from './layers/depthwise-conv2d.js';
export { samePadding, type PaddingSpec } from './layers/padding.js';
export { Dense, type DenseOptions } from './layers/dense.js';
export { Dropout } from './layers/dropout.js';
export { Flatten } from './layers/flatten.js';
export { GlobalAvgPool } from './layers/global-avg-pool.js';
export { Add } from './layers/add.js';
export { Concat } from './layers/concat.js';
export { Identity } from './layers/identity.js';
export { JoinLayer } from './layers/join.js';
export { Layer, type LayerConfig, type ParamSpec, type RunContext } from './layers/layer.js';
export { AvgPool2d, MaxPool2d, type Pool2dOptions } from './layers/pool2d.js';
export { layerFromConfig, layerTypes, registerLayer } from './layers/registry.js';
export { Softmax } from './layers/softmax.js';
export { crossEntropyOnProbabilities } from './losses/cross-entropy.js';
export { type LossKind, type Target } from './losses/loss.js';
export { quadraticLoss } from './losses/quadratic.js';
export { type InitScheme } from './network/init.js';
export { argmaxRows, type ArchitectureConfig, Sequential, type SequentialOptions, type TensorSlot } from './network/sequential.js';
export { Graph, type GraphNode, INPUT, residualBlock, residualBlockConfig, type ResidualBlockOptions } from './network/graph.js';
export { memoryPlan, type MemoryPlan } from './network/memory-plan.js';
export { algorithm1 } from './check/algorithm1.js';
export { gradientCheck, type GradientCheckOptions, type GradientCheckResult } from './check/gradcheck.js';
export { explicitJacobians, rowTimes } from './check/jacobian.js';
export { networkJacobians } from './check/network-jacobian.js';
export { augmentBatch, type AugmentOptions } from './data/augment.js';
export { type CsvOptions, parseCsvDataset } from './data/csv.js';
export * from './data/dataset.js';
export { encodeIdx, type IdxArray, type IdxData, type IdxType, idxToDataset, parseIdx } from './data/idx.js';
export { CIFAR10_CLASSES, cifar10ToDataset, encodeCifar10 } from './data/cifar10.js';
export { resizeImage } from './data/resize.js';
export { channelsFirstToLast, channelsLastToFirst } from './io/layout.js';
export {
  decodeModel, encodeModel, type LoadedModel, MODEL_FORMAT, type ModelExtras, type Preprocessing,
} from './io/model-file.js';
export {
  exportPytorchStateDict, importPytorchStateDict, type PytorchExportOptions, type PytorchImportOptions,
} from './io/pytorch.js';
export {
  decodeSafetensors, encodeSafetensors, type SafetensorsDtype, type Tensor, type TensorData, type TensorInput,
} from './io/safetensors.js';
export { type Engine, type EngineKind, type EngineOptions, referenceEngine } from './engine/engine.js';
export type { WasmArena, WasmEngine, WasmEngineOptions } from './engine/wasm-engine.js';
export { exportOnnx, type OnnxExportOptions } from './io/onnx/export.js';
export { importOnnx, type OnnxImport, type OnnxImportOptions } from './io/onnx/import.js';
export { exportTfjs, type TfjsExport, type TfjsExportOptions } from './io/tfjs.js';
export { exportPytorchModel, type PytorchModel, type PytorchModelOptions } from './io/pytorch-module.js';
export { isPreset, preset, presetNames } from './models/presets.js';
export { CHECKPOINT_FORMAT, decodeCheckpoint, encodeCheckpoint, type TrainerSnapshot } from './train/checkpoint.js';
export { EarlyStopping, type EarlyStoppingOptions, type EarlyStoppingState, type Monitor } from './train/early-stopping.js';
export { evaluate, type Evaluation } from './train/evaluate.js';
export * from './train/events.js';
export { LearningRate, type LearningRateState } from './train/learning-rate.js';
export * from './train/optimizers/index.js';
export * from './train/schedules/index.js';
export {
  DEFAULT_RECIPE, type Recipe, recipe, recipeFitOptions, recipeNames, type RecipeSchedule, recipeScheduleConfig, recipeStepsPerEpoch,
} from './train/recipes.js';
export { fit, type FitOptions, type History, Trainer } from './train/trainer.js';
