/**
 * ONNX export: a Sequential as an ONNX model (opset 13) that ONNX Runtime and other tools run.
 *
 * The model takes the same raw input as `descent predict` — images [N, H, W, C] (channels-last,
 * e.g. pixel values 0–255), with the model's preprocessing (x·scale − mean) / std as the graph's
 * first nodes (Mul, Sub, Div) — and returns what the network returns (soft-max probabilities for
 * the presets). `includePreprocessing: false` leaves those nodes out (the input is then already
 * preprocessed); `inputLayout: 'nchw'` takes [N, C, H, W] as PyTorch-exported models do.
 * Metadata (`descent.*` in metadata_props) records the preprocessing, class names and layout, so
 * that an import gives back the model file that was exported.
 *
 * Layers are emitted by ./export-layers.ts. A graph network's nodes are emitted in their
 * (topological) list order, each reading the values of its inputs; ONNX names come from Descent's
 * node names (`b1.conv1` gives node `b1.conv1.Conv`, weight `b1.conv1.weight`, value
 * `b1.conv1.out`), a chain's from its layer numbers (`layers.3.Conv`).
 */
import { create } from '@bufbuild/protobuf';
import {
  GraphProtoSchema, ModelProtoSchema, OperatorSetIdProtoSchema, StringStringEntryProtoSchema, TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema, TypeProto_TensorSchema, TypeProtoSchema, ValueInfoProtoSchema, type ValueInfoProto,
} from 'onnx-buf';
import { DescentError } from '../../core/errors.js';
import type { Sequential } from '../../network/sequential.js';
import { checkFiniteNetwork } from '../finite.js';
import type { Preprocessing } from '../model-file.js';
import { inputTransform } from '../preprocessing.js';
import { emitters } from './export-layers.js';
import { GraphBuilder, type Layout, onnxDims, type Value } from './graph-builder.js';
import { DataType, encodeModelProto } from './proto.js';

export const ONNX_OPSET = 13;
const IR_VERSION = 7n; // the IR of opset 13

export interface OnnxExportOptions {
  /** The model's input preprocessing (from its model file). */
  preprocessing?: Preprocessing;
  /** Put the preprocessing into the graph (default true); false: the input is already preprocessed. */
  includePreprocessing?: boolean;
  /** Axis order of the input (and of an image output): 'nhwc' (default, as Descent) or 'nchw'. */
  inputLayout?: 'nhwc' | 'nchw';
  classNames?: string[];
}

/** Metadata keys written to (and read back from) metadata_props. */
export const META = {
  preprocessing: 'descent.preprocessing',
  preprocessingInGraph: 'descent.preprocessingInGraph',
  classNames: 'descent.classNames',
  inputLayout: 'descent.inputLayout',
} as const;

function valueInfo(name: string, dims: (number | string)[]): ValueInfoProto {
  const dim = dims.map((d) => create(TensorShapeProto_DimensionSchema,
    { value: typeof d === 'string' ? { case: 'dimParam', value: d } : { case: 'dimValue', value: BigInt(d) } }));
  const tensorType = create(TypeProto_TensorSchema, { elemType: DataType.FLOAT, shape: create(TensorShapeProtoSchema, { dim }) });
  return create(ValueInfoProtoSchema, { name, type: create(TypeProtoSchema, { value: { case: 'tensorType', value: tensorType } }) });
}

/** The preprocessing nodes: Mul by scale, Sub mean, Div by std, broadcast over the channel axis. */
function preprocess(b: GraphBuilder, x: Value, options: OnnxExportOptions): Value {
  if (options.includePreprocessing === false) return x;
  const channels = x.shape[x.shape.length - 1];
  const t = inputTransform(options.preprocessing, channels, 'cannot export the preprocessing');
  if (!t) return x;
  const perChannel = x.layout === 'nchw' ? [channels, 1, 1] : [channels];
  let name = x.name;
  if (t.scale !== 1) name = b.node('Mul', 'preprocessing.scale', [name, b.constant('preprocessing.scale_value', [], [t.scale])]);
  if (t.mean.some((m) => m !== 0)) name = b.node('Sub', 'preprocessing.mean', [name, b.constant('preprocessing.mean_value', perChannel, t.mean)]);
  if (t.std.some((s) => s !== 1)) name = b.node('Div', 'preprocessing.std', [name, b.constant('preprocessing.std_value', perChannel, t.std)]);
  return { ...x, name };
}

/** The network as ONNX bytes. Throws naming a layer that has no ONNX form. */
export function exportOnnx(net: Sequential, options: OnnxExportOptions = {}): Uint8Array {
  checkFiniteNetwork(net, 'cannot export to ONNX');
  const layout = options.inputLayout ?? 'nhwc';
  if (layout !== 'nhwc' && layout !== 'nchw') throw new DescentError(`inputLayout must be 'nhwc' or 'nchw', got ${JSON.stringify(layout)}`);
  const b = new GraphBuilder(['input']);
  const inputLayout: Layout = net.inputShape.length === 3 ? layout : 'flat';
  if (net.inputShape.length !== 3 && net.inputShape.length !== 1) {
    throw new DescentError(`cannot export an input of shape [${net.inputShape.join(', ')}]: ONNX export takes images [H, W, C] or vectors [F]`);
  }
  const input: Value = { name: 'input', shape: net.inputShape, layout: inputLayout };
  // values[t]: tensor x^(t) of the network (x^(0) the preprocessed input, x^(k+1) node k's output).
  const values = [preprocess(b, input, options)];
  const chain = net.isChain;
  net.layers.forEach((layer, k) => {
    const name = net.topology.names[k];
    const emit = emitters[layer.type];
    if (!emit) {
      const what = chain ? `layer ${k}` : `node "${name}"`;
      throw new DescentError(`${what} (${layer.type}) has no ONNX export (supported: ${Object.keys(emitters).join(', ')})`);
    }
    values.push(emit(b, layer, chain ? `layers.${k}` : name, net.topology.inputs[k].map((t) => values[t]), net.hostTensors(k)));
  });
  let x = values[values.length - 1];
  // An image output comes back in the input's layout.
  if (x.layout !== 'flat' && x.layout !== inputLayout) x = inputLayout === 'nchw' ? b.toNchw(x, 'output') : b.toNhwc(x, 'output');
  const output = b.node('Identity', 'output', [x.name], [], 'output');

  const metadata: Record<string, string> = { [META.inputLayout]: inputLayout,
    [META.preprocessingInGraph]: String(options.includePreprocessing !== false) };
  if (options.preprocessing !== undefined) metadata[META.preprocessing] = JSON.stringify(options.preprocessing);
  if (options.classNames !== undefined) metadata[META.classNames] = JSON.stringify(options.classNames);

  const graph = create(GraphProtoSchema, {
    name: 'descent',
    node: b.nodes,
    initializer: b.initializers,
    input: [valueInfo('input', ['N', ...onnxDims(net.inputShape, inputLayout)])],
    output: [valueInfo(output, ['N', ...onnxDims(net.outputShape, x.layout)])],
  });
  const model = create(ModelProtoSchema, {
    irVersion: IR_VERSION,
    opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: BigInt(ONNX_OPSET) })],
    producerName: 'descent',
    graph,
    metadataProps: Object.entries(metadata).map(([key, value]) => create(StringStringEntryProtoSchema, { key, value })),
  });
  return encodeModelProto(model);
}
