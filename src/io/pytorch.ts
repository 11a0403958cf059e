/**
 * PyTorch interchange: a model's `state_dict` saved as safetensors, in and out.
 *
 * Descent's layer list mirrors torch.nn.Sequential module for module (Conv2d ↔ nn.Conv2d,
 * Dense ↔ nn.Linear, BatchNorm2d/1d ↔ nn.BatchNorm2d/1d, ReLU ↔ nn.ReLU, MaxPool2d ↔ nn.MaxPool2d,
 * AvgPool2d ↔ nn.AvgPool2d, Flatten ↔ nn.Flatten, Dropout ↔ nn.Dropout, Softmax ↔ nn.Softmax(dim=1)),
 * so this model and `architecture` below describe the same network:
 *
 *   import json, torch, torch.nn as nn
 *   from safetensors.torch import save_file, load_file
 *   model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.BatchNorm2d(6), nn.ReLU(),
 *                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(6 * 14 * 14, 10))
 *   # PyTorch → Descent (then importPytorch('model.safetensors', architecture)):
 *   save_file({k: v.contiguous() for k, v in model.state_dict().items()}, 'model.safetensors')
 *   # Descent → PyTorch (after exportPytorch('exported.safetensors', net)):
 *   model.load_state_dict(load_file('exported.safetensors'))
 *
 *   architecture = { inputShape: [28, 28, 1], layers: [
 *     { type: 'Conv2d', outChannels: 6, kernelSize: 5, padding: 2 }, { type: 'BatchNorm2d' }, { type: 'ReLU' },
 *     { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 10 }] }
 *
 * The file only holds tensors, so the architecture (kernel sizes, strides, eps, ...) comes from the
 * caller. Import matches the architecture's layers with tensors to PyTorch's parameter groups (a
 * module path such as `3` or `features.0`, holding weight, bias, running_mean, running_var and the
 * ignored num_batches_tracked) in module order, checking every shape. Module indices count
 * parameterless modules too, and a file does not keep the state_dict's order, so groups are sorted
 * by path, numbers numerically. Named submodules (`features`, `classifier`) have no order in the
 * file: the order that fits the architecture is used, preferring alphabetical; where several orders
 * fit, pass `moduleOrder`.
 *
 * A graph network (nodes with names and inputs) maps node names to module paths: node
 * "block1.conv1" is PyTorch's `block1.conv1` (`self.block1 = BasicBlock(...)` with `self.conv1`), so
 * its state_dict is matched by name; export writes those names.
 *
 * Layouts: conv weights are [O, C/G, KH, KW] in PyTorch and [O, KH, KW, C/G] here (G = groups;
 * a DepthwiseConv2d is nn.Conv2d(C, C·m, k, groups=C)). Padding 'same' or [top, bottom, left,
 * right] that is not symmetric has no nn.Conv2d equivalent: put nn.ZeroPad2d((left, right, top,
 * bottom)) before a padding-0 nn.Conv2d (it has no tensors, so the state_dicts still match). Flatten of an image
 * orders features (c, h, w) in PyTorch and (h, w, c) here (activations are channels-last), so the
 * input columns of the Dense after a Flatten (and any BatchNorm1d between them) are permuted.
 */
import { DescentError } from '../core/errors.js';
import { checkFinite } from '../core/finite.js';
import type { Floats } from '../core/floats.js';
import { fmt, type Shape } from '../core/shape.js';
import { Sequential, type ArchitectureConfig, type SequentialOptions, type TensorSlot } from '../network/sequential.js';
import { channelsFirstToLast, channelsLastToFirst } from './layout.js';
import { decodeSafetensors, encodeSafetensors, type Tensor, type TensorInput } from './safetensors.js';

/** Options of a PyTorch import: the network's (seed, engine, ...) and where the bytes came from. */
export interface PytorchImportOptions extends Omit<SequentialOptions, 'inputShape'> {
  /** Names the file in errors (a path). */
  source?: string;
  /** Named submodules in the order the model runs them, e.g. ['features', 'classifier']. */
  moduleOrder?: string[];
}

/** Options of a PyTorch export. */
export interface PytorchExportOptions {
  /** Module path in front of every name, e.g. 'features' gives 'features.0.weight'. */
  prefix?: string;
  /** PyTorch module index (or name) of Descent layer k; by default k itself (a graph's: the node's name). */
  indexOf?: (layer: number) => number | string;
  /** Extra safetensors metadata (e.g. the preprocessing as JSON). */
  metadata?: Record<string, string>;
}

/** A Descent layer that has tensors, with what its conversion needs. */
interface Entry {
  layer: number;
  type: string;
  slots: { slot: TensorSlot; vector: Floats }[];
  /** [H, W, C] when this layer's input is a flattened image (features in (h, w, c) order). */
  image: Shape | null;
}

/** Layers that keep a flattened image's feature order (elementwise or per feature). */
const KEEPS_ORDER = new Set(['ReLU', 'LeakyReLU', 'Sigmoid', 'Tanh', 'Softplus', 'Softmax', 'Dropout', 'BatchNorm1d', 'Identity']);
const FLOAT_DTYPES = new Set(['F32', 'F64', 'F16', 'BF16']);

/**
 * imageOf[t]: the image [H, W, C] whose flattened features tensor t holds (PyTorch has them in
 * (c, h, w) order), followed along the graph's first inputs; null where t is not such a vector.
 */
export function flattenedImages(net: Sequential): (Shape | null)[] {
  const imageOf: (Shape | null)[] = [null];
  net.layers.forEach((layer, k) => {
    const image = imageOf[net.topology.inputs[k][0]];
    if (layer.type === 'Flatten') imageOf.push(layer.inputShape.length === 3 ? layer.inputShape : image);
    else imageOf.push(KEEPS_ORDER.has(layer.type) ? image : null);
  });
  return imageOf;
}

function entriesOf(net: Sequential): Entry[] {
  const entries: Entry[] = [], imageOf = flattenedImages(net);
  net.layers.forEach((layer, k) => {
    const slots = [
      ...net.paramSlots.filter((s) => s.layer === k).map((slot) => ({ slot, vector: net.w })),
      ...net.bufferSlots.filter((s) => s.layer === k).map((slot) => ({ slot, vector: net.buffers })),
    ];
    if (slots.length > 0) entries.push({ layer: k, type: layer.type, slots, image: imageOf[net.topology.inputs[k][0]] });
  });
  return entries;
}

/** Conv weights: [O, C/G, KH, KW] in PyTorch, [O, KH, KW, C/G] here (G groups; depthwise is nn.Conv2d with groups = C). */
const isConvWeight = (e: Entry, s: TensorSlot) => (e.type === 'Conv2d' || e.type === 'DepthwiseConv2d') && s.name === 'weight';
/** Tensors whose last axis runs over the input features: permuted after a Flatten of an image. */
const isPerFeature = (e: Entry, s: TensorSlot) => (e.type === 'Dense' ? s.name === 'weight' : e.type === 'BatchNorm1d');

function pytorchShape(e: Entry, s: TensorSlot): number[] {
  if (!isConvWeight(e, s)) return s.shape;
  const [O, KH, KW, C] = s.shape;
  return [O, C, KH, KW];
}

/** perm[j] = PyTorch's (c, h, w) index of the feature Descent holds at (h, w, c) index j. */
function hwcToChw([H, W, C]: Shape): Int32Array {
  const perm = new Int32Array(H * W * C);
  for (let h = 0; h < H; h++)
    for (let w = 0; w < W; w++)
      for (let c = 0; c < C; c++) perm[(h * W + w) * C + c] = (c * H + h) * W + w;
  return perm;
}

/** One tensor from PyTorch's layout to Descent's, or back. */
function convert(data: ArrayLike<number>, e: Entry, s: TensorSlot, toPytorch: boolean): Float32Array {
  const out = new Float32Array(s.length);
  if (isConvWeight(e, s)) {
    const [O, KH, KW, C] = s.shape;
    return (toPytorch ? channelsLastToFirst(data, O, C, KH, KW, out) : channelsFirstToLast(data, O, C, KH, KW, out)) as Float32Array;
  }
  if (e.image && isPerFeature(e, s)) {
    const perm = hwcToChw(e.image), F = perm.length;
    for (let r = 0; r < s.length; r += F)
      for (let j = 0; j < F; j++) {
        if (toPytorch) out[r + perm[j]] = data[r + j];
        else out[r + j] = data[r + perm[j]];
      }
    return out;
  }
  out.set(data);
  return out;
}

/** A module path's segments ('' is the top-level module). */
const segments = (path: string) => (path ? path.split('.') : []);
const isIndex = (segment: string) => /^\d+$/.test(segment);
const natural = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** Module paths in module order: indices numerically, names by `rank`. */
function comparePaths(a: string[], b: string[], rank: Map<string, number>): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] === b[i]) continue;
    const ia = isIndex(a[i]), ib = isIndex(b[i]);
    if (ia && ib) return Number(a[i]) - Number(b[i]);
    if (ia !== ib) return ia ? -1 : 1;
    return rank.get(a[i])! - rank.get(b[i])!;
  }
  return a.length - b.length;
}

interface Group {
  path: string;
  /** Parameter name → state_dict key. */
  keys: Map<string, string>;
}

/** Pair each entry with its group, checking names and shapes; throws naming the misfit. */
function match(entries: Entry[], groups: Group[], tensors: Map<string, Tensor>, source: string): Group[] {
  entries.forEach((e, i) => {
    const g = groups[i], what = `layer ${e.layer} (${e.type})`;
    if (!g) {
      const { slot } = e.slots[0];
      throw new DescentError(`${source}: missing tensor for ${what} ${slot.name} ${fmt(pytorchShape(e, slot))}: ` +
        `the file's ${groups.length} parameter groups all went to earlier layers`);
    }
    const prefix = g.path ? `${g.path}.` : '';
    for (const { slot } of e.slots) {
      const key = prefix + slot.name, t = tensors.get(key), want = pytorchShape(e, slot);
      if (!t) {
        throw new DescentError(`${source}: missing tensor "${key}" ${fmt(want)} for ${what} ` +
          `(module ${JSON.stringify(g.path)} has ${[...g.keys.keys()].join(', ')})`);
      }
      if (t.shape.join() !== want.join()) {
        throw new DescentError(`${source}: tensor "${key}" has shape ${fmt(t.shape)}, but ${what} needs ${fmt(want)}` +
          (isConvWeight(e, slot) ? ' ([O, C, KH, KW])' : ''));
      }
      if (!FLOAT_DTYPES.has(t.dtype)) throw new DescentError(`${source}: tensor "${key}" is ${t.dtype}, expected a float dtype`);
    }
    for (const [name, key] of g.keys) {
      if (name !== 'num_batches_tracked' && !e.slots.some(({ slot }) => slot.name === name)) {
        throw new DescentError(`${source}: unexpected tensor "${key}" for ${what}, which has ${e.slots.map((s) => s.slot.name).join(', ')}`);
      }
    }
  });
  if (groups.length > entries.length) {
    const key = [...groups[entries.length].keys.values()][0];
    throw new DescentError(`${source}: extra parameterised tensor "${key}" ${fmt(tensors.get(key)!.shape)}: the ` +
      `architecture's ${entries.length} layers with parameters are all matched by earlier tensors`);
  }
  return groups;
}

function* permutations<T>(items: T[]): Generator<T[]> {
  if (items.length <= 1) {
    yield items;
    return;
  }
  for (let i = 0; i < items.length; i++) {
    for (const rest of permutations([...items.slice(0, i), ...items.slice(i + 1)])) yield [items[i], ...rest];
  }
}

/** Beyond this many distinct module names, only alphabetical order (or moduleOrder) is tried. */
const MAX_PERMUTED_NAMES = 7;

/**
 * A Sequential with `architecture` and the weights of a PyTorch state_dict saved as safetensors.
 * Throws naming the tensor that does not fit (missing, unexpected, wrong shape or dtype).
 */
export function importPytorchStateDict(bytes: Uint8Array, architecture: ArchitectureConfig,
  options: PytorchImportOptions = {}): Sequential {
  const { source = 'PyTorch state_dict', moduleOrder, ...netOptions } = options;
  const { tensors } = decodeSafetensors(bytes, source);
  let net: Sequential;
  try {
    net = Sequential.fromConfig(architecture, netOptions);
  } catch (e) {
    throw new DescentError(`${source}: the architecture does not build: ${(e as Error).message}`);
  }
  const entries = entriesOf(net);

  const byPath = new Map<string, Group>();
  for (const key of tensors.keys()) {
    const path = key.split('.').slice(0, -1).join('.');
    if (!byPath.has(path)) byPath.set(path, { path, keys: new Map() });
    byPath.get(path)!.keys.set(key.split('.').pop()!, key);
  }
  const names = [...new Set([...byPath.keys()].flatMap(segments).filter((s) => !isIndex(s)))].sort(natural);
  const ordered = (order: string[]) => {
    const rank = new Map(names.map((n) => [n, order.includes(n) ? order.indexOf(n) : order.length + names.indexOf(n)]));
    return [...byPath.values()].sort((a, b) => comparePaths(segments(a.path), segments(b.path), rank));
  };
  const tryOrder = (order: string[]) => match(entries, ordered(order), tensors, source);

  // A graph whose nodes with tensors are all module paths of the file: matched by name.
  let groups: Group[] | undefined;
  if (!net.isChain) {
    const named = entries.map((e) => byPath.get(net.topology.names[e.layer]));
    if (named.every((g) => g !== undefined)) {
      groups = match(entries, [...named as Group[], ...[...byPath.values()].filter((g) => !named.includes(g))], tensors, source);
    }
  }
  // Otherwise the given or alphabetical order first; failing that, the order of named modules that fits with
  // the fewest pairs out of alphabetical order, if only one does.
  if (!groups) try {
    groups = tryOrder(moduleOrder ?? names);
  } catch (e) {
    if (moduleOrder || names.length < 2 || names.length > MAX_PERMUTED_NAMES) throw e;
    let best: { inversions: number; groups: Group[]; order: string[] }[] = [];
    for (const order of permutations(names)) {
      let fit: Group[];
      try {
        fit = tryOrder(order);
      } catch {
        continue;
      }
      let inversions = 0;
      for (let i = 0; i < order.length; i++)
        for (let j = i + 1; j < order.length; j++) if (natural(order[i], order[j]) > 0) inversions++;
      const same = (g: Group[]) => g.every((x, i) => x.path === fit[i].path);
      if (best.length === 0 || inversions < best[0].inversions) best = [{ inversions, groups: fit, order }];
      else if (inversions === best[0].inversions && !best.some((b) => same(b.groups))) best.push({ inversions, groups: fit, order });
    }
    if (best.length === 0) {
      throw new DescentError(`${(e as Error).message} (no order of the modules ${names.join(', ')} fits the architecture)`);
    }
    if (best.length > 1) {
      throw new DescentError(`${source}: the modules fit the architecture in more than one order ` +
        `(${best.map((b) => b.order.join(' < ')).join('; ')}): pass moduleOrder`);
    }
    groups = best[0].groups;
  }

  entries.forEach((e, i) => {
    const prefix = groups[i].path ? `${groups[i].path}.` : '';
    for (const { slot, vector } of e.slots) {
      const data = convert(tensors.get(prefix + slot.name)!.data as ArrayLike<number>, e, slot, false);
      checkFinite(data, prefix + slot.name, source); // after the conversion: a float64 beyond float32 is ∞
      vector.set(data, slot.offset);
    }
  });
  net.upload();
  return net;
}

/**
 * The network's tensors as a PyTorch state_dict in safetensors bytes: PyTorch names and layouts,
 * F32, plus num_batches_tracked (I64, 0) for batch norms, loadable by `model.load_state_dict`.
 */
export function exportPytorchStateDict(net: Sequential, options: PytorchExportOptions = {}): Uint8Array {
  const prefix = options.prefix?.replace(/\.$/, '');
  // A graph's modules are its node names (e.g. "block1.conv1"), a chain's their indices.
  const indexOf = options.indexOf ?? ((k: number) => (net.isChain ? k : net.topology.names[k]));
  const tensors = new Map<string, TensorInput>();
  for (const e of entriesOf(net)) {
    const path = [prefix, String(indexOf(e.layer))].filter((s) => s).join('.');
    for (const { slot, vector } of e.slots) {
      const data = convert(vector.subarray(slot.offset, slot.offset + slot.length), e, slot, true);
      checkFinite(data, `${path}.${slot.name}`, 'cannot export the model');
      tensors.set(`${path}.${slot.name}`, { shape: pytorchShape(e, slot), data });
    }
    if (e.type.startsWith('BatchNorm')) tensors.set(`${path}.num_batches_tracked`, { shape: [], data: new BigInt64Array(1) });
  }
  return encodeSafetensors(tensors, { ...options.metadata, format: 'pt' });
}
