/**
 * The fuzz suites: for each file type a valid seed file, its mutations, the loader the command line
 * uses, and an oracle for what an accepted mutation may mean.
 *
 * The oracles ("no silent change of meaning"):
 *  - formats with a checksum (gzip, PNG, model files, checkpoints): an accepted byte mutation must
 *    decode to exactly the original meaning (a changed byte outside what is checked, like gzip's
 *    mtime, is fine; a changed weight, label or shape is not). Crafted files, whose checksum is
 *    recomputed, say whether they must be refused or accepted.
 *  - formats without one (IDX, CSV, JSON specs, PyTorch state_dicts): an accepted mutation must mean
 *    what an independent, strict reading of the format's definition (written here, from the format)
 *    says it means; where that reading refuses, so must Descent. A header that is accepted but read
 *    differently (a wrapped label, a hex pixel, an ignored key, a count that disagrees with the data)
 *    is a failure. A PyTorch file's header cannot change a weight, and no weight may be non-finite.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { loadSource } from '../src/cli/data-source.js';
import { loadArchitecture } from '../src/cli/model-source.js';
import { standardizationOf } from '../src/cli/model-data.js';
import { savedFlags } from '../src/cli/train-checks.js';
import { crc32 } from '../src/core/checksum.js';
import { MAX_CLASSES } from '../src/core/limits.js';
import { Rng } from '../src/core/rng.js';
import { createDataset, type Dataset } from '../src/data/dataset.js';
import { encodeIdx } from '../src/data/idx.js';
import { encodeModel } from '../src/io/model-file.js';
import { exportPytorchStateDict } from '../src/io/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import type { LayerConfig } from '../src/layers/layer.js';
import { type ArchitectureConfig, Sequential } from '../src/network/sequential.js';
import { importPytorch, loadModel } from '../src/node/model-io.js';
import { decodeCheckpoint } from '../src/train/checkpoint.js';
import { type FitOptions, Trainer } from '../src/train/trainer.js';
import { mutateBytes, mutateToken, type FuzzCase } from './fuzz-harness.js';

export interface Suite {
  /** Writes the seed files under `dir`; returns what the cases need. */
  setup(dir: string): Promise<unknown> | unknown;
  make(i: number, rng: Rng, dir: string, seed: unknown): FuzzCase<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

// ---- Shared pieces ----

const ARCH: ArchitectureConfig = {
  inputShape: [4, 4, 1],
  layers: [
    { type: 'Conv2d', outChannels: 2, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
  ],
};

const pick = <T>(rng: Rng, list: readonly T[]): T => list[rng.int(list.length)];

function sameFloats(a: ArrayLike<number>, b: ArrayLike<number>, what: string): string | null {
  if (a.length !== b.length) return `${what} has ${a.length} values instead of ${b.length}`;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return `${what}[${i}] is ${a[i]} instead of ${b[i]}`;
  return null;
}

/** Same shape, count, classes, class names, labels and pixels (bitwise). */
export function sameDataset(got: Dataset, want: Dataset): string | null {
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] instead of [${want.shape}]`;
  if (got.count !== want.count) return `${got.count} samples instead of ${want.count}`;
  if (got.classes !== want.classes) return `${got.classes} classes instead of ${want.classes}`;
  if (JSON.stringify(got.classNames) !== JSON.stringify(want.classNames)) return 'different class names';
  return sameFloats(got.labels, want.labels, 'labels') ?? sameFloats(got.x, want.x, 'x');
}

/** The class rule of the command line, stated independently: classes = max label + 1, each one present. */
function strictDataset(x: Float32Array, labels: number[], shape: [number, number, number]): Dataset | string {
  if (labels.length === 0) return 'no samples';
  const classes = Math.max(...labels) + 1;
  if (classes > MAX_CLASSES) return 'too many classes';
  for (let c = 0; c < classes; c++) if (!labels.includes(c)) return `class ${c} has no sample`;
  return { x, labels: Int32Array.from(labels), shape, count: labels.length, classes };
}

// ---- IDX, from its definition ----

const IDX_TYPES: Record<number, { bytes: number; read: (v: DataView, at: number) => number; float: boolean }> = {
  0x08: { bytes: 1, read: (v, i) => v.getUint8(i), float: false },
  0x09: { bytes: 1, read: (v, i) => v.getInt8(i), float: false },
  0x0b: { bytes: 2, read: (v, i) => v.getInt16(i), float: false },
  0x0c: { bytes: 4, read: (v, i) => v.getInt32(i), float: false },
  0x0d: { bytes: 4, read: (v, i) => v.getFloat32(i), float: true },
  0x0e: { bytes: 8, read: (v, i) => v.getFloat64(i), float: true },
};

function strictIdx(b: Uint8Array): { type: number; dims: number[]; values: number[] } | string {
  if (b.length < 4 || b[0] !== 0 || b[1] !== 0) return 'bad magic';
  const t = IDX_TYPES[b[2]];
  if (!t || b[3] === 0) return 'bad type or no dimensions';
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength), head = 4 + 4 * b[3];
  if (b.length < head) return 'short header';
  const dims = Array.from({ length: b[3] }, (_, i) => v.getUint32(4 + 4 * i));
  const count = dims.reduce((p, d) => p * d, 1);
  if (b.length !== head + count * t.bytes) return 'data length differs from the header';
  return { type: b[2], dims, values: Array.from({ length: count }, (_, i) => t.read(v, head + i * t.bytes)) };
}

function strictIdxPair(images: Uint8Array, labels: Uint8Array): Dataset | string {
  const img = strictIdx(images), lab = strictIdx(labels);
  if (typeof img === 'string') return `images: ${img}`;
  if (typeof lab === 'string') return `labels: ${lab}`;
  if ((img.dims.length !== 3 && img.dims.length !== 4) || lab.dims.length !== 1 || IDX_TYPES[lab.type].float) return 'bad ranks';
  const [n, h, w, c = 1] = img.dims;
  if (n !== lab.dims[0] || lab.values.some((l) => l < 0)) return 'counts differ or a label is negative';
  const x = Float32Array.from(img.values, (p) => (img.type === 0x08 ? p / 255 : p));
  return strictDataset(x, lab.values, [h, w, c]);
}

function idxSuite(gzip: boolean): Suite {
  return {
    setup(dir) {
      const rng = new Rng(7);
      const images = encodeIdx({ type: 'ubyte', dims: [6, 5, 4], data: Array.from({ length: 120 }, () => rng.int(256)) });
      const labels = encodeIdx({ type: 'ubyte', dims: [6], data: [0, 1, 2, 2, 1, 0] });
      const original = loadSource(`idx:${write(dir, 'i', images)},${write(dir, 'l', labels)}`);
      return { images, labels, original };
    },
    make(i, rng, dir, seed) {
      const s = seed as { images: Uint8Array; labels: Uint8Array; original: Dataset };
      const which = rng.uniform() < 0.6 ? 'images' : 'labels';
      const files = { images: s.images, labels: s.labels };
      const pack = (b: Uint8Array) => (gzip ? new Uint8Array(gzipSync(b)) : b);
      const packed = { images: pack(files.images), labels: pack(files.labels) };
      const m = mutateBytes(packed[which], rng, gzip ? 16 : 12);
      packed[which] = m.bytes;
      const spec = `idx:${write(dir, 'images', packed.images)},${write(dir, 'labels', packed.labels)}`;
      return {
        name: `${gzip ? 'gzip-' : ''}idx #${i} ${which} ${m.what}`,
        run: () => loadSource(spec),
        oracle: (got: Dataset) => {
          if (gzip) return sameDataset(got, s.original);
          const want = strictIdxPair(packed.images, packed.labels);
          return typeof want === 'string' ? `the IDX definition refuses it (${want})` : sameDataset(got, want);
        },
      };
    },
  };
}

function write(dir: string, name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

// ---- CSV, from its definition (README: label first, then pixels 0..255, an optional header) ----

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function strictCsv(bytes: Uint8Array): Dataset | string {
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) return 'gzip';
  const lines = new TextDecoder().decode(bytes).replace(/^\uFEFF/, '').split(/\r?\n/);
  const top = lines.findIndex((l) => l.trim() !== '');
  if (top < 0) return 'empty';
  const columns = lines[top].split(',').length, pixels = columns - 1, side = Math.round(Math.sqrt(pixels));
  if (columns < 2 || side * side !== pixels) return 'bad column count';
  const header = lines[top].split(',').every((f) => !DECIMAL.test(f.trim()));
  const rows = lines.slice(header ? top + 1 : top).filter((l) => l.trim() !== '');
  const x = new Float32Array(rows.length * pixels), labels: number[] = [];
  for (const [n, row] of rows.entries()) {
    const f = row.split(',').map((s) => s.trim());
    if (f.length !== columns || !/^\d+$/.test(f[0]) || Number(f[0]) > 2 ** 31 - 1) return `row ${n}: bad label or columns`;
    labels.push(Number(f[0]));
    for (let j = 1; j < columns; j++) {
      const v = DECIMAL.test(f[j]) ? Number(f[j]) : NaN;
      if (!(v >= 0 && v <= 255)) return `row ${n}: bad pixel ${f[j]}`;
      x[n * pixels + j - 1] = v / 255;
    }
  }
  return strictDataset(x, labels, [side, side, 1]);
}

const csvSuite: Suite = {
  setup() {
    const rng = new Rng(8);
    const rows = [0, 1, 2, 1, 0, 2].map((l) => [l, ...Array.from({ length: 16 }, () => rng.int(256))].join(','));
    return `label,${Array.from({ length: 16 }, (_, i) => `pixel${i}`).join(',')}\n${rows.join('\n')}\n`;
  },
  make(i, rng, dir, seed) {
    const text = seed as string;
    let bytes: Uint8Array, what: string;
    if (rng.uniform() < 0.5) ({ bytes, what } = mutateBytes(new TextEncoder().encode(text), rng, 0));
    else {
      const m = mutateToken(text, rng);
      bytes = new TextEncoder().encode(m.text);
      what = m.what;
    }
    const file = write(dir, 'data.csv', bytes);
    return {
      name: `csv #${i} ${what}`,
      run: () => loadSource(`csv:${file}`),
      oracle: (got: Dataset) => {
        const want = strictCsv(bytes);
        return typeof want === 'string' ? `the CSV definition refuses it (${want})` : sameDataset(got, want);
      },
    };
  },
};

// ---- Image folders: PNG has a CRC per chunk, so a mutated PNG must decode as before or be refused ----

function png(width: number, height: number, rng: Rng): Uint8Array {
  const p = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    const v = rng.int(256);
    p.data.set([v, v, v, 255], 4 * i);
  }
  return new Uint8Array(PNG.sync.write(p));
}

function checkInvariants(d: Dataset): string | null {
  if (d.x.length !== d.count * d.shape[0] * d.shape[1] * d.shape[2]) return 'x does not hold count images';
  if (d.labels.some((l) => l < 0 || l >= d.classes)) return 'a label is outside the classes';
  if (d.x.some((v) => !(v >= 0 && v <= 1))) return 'a pixel is outside [0, 1]';
  return null;
}

const FOLDER_EDITS: { name: string; apply: (root: string, rng: Rng) => void }[] = [
  { name: 'empty class folder', apply: (r) => mkdirSync(join(r, 'c')) },
  { name: 'a text file', apply: (r) => writeFileSync(join(r, 'a', 'notes.txt'), 'x') },
  { name: 'junk named .png', apply: (r, rng) => writeFileSync(join(r, 'b', 'junk.png'), Uint8Array.from({ length: 40 }, () => rng.int(256))) },
  { name: 'PNG signature then junk', apply: (r) => writeFileSync(join(r, 'b', 'half.png'), Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 13, 10, 26, 10, 0, 0])) },
  { name: 'an image of another size', apply: (r, rng) => writeFileSync(join(r, 'a', 'z.png'), png(3, 3, rng)) },
  { name: 'a folder named like an image', apply: (r) => mkdirSync(join(r, 'a', 'dir.png')) },
  { name: 'an empty .png', apply: (r) => writeFileSync(join(r, 'a', 'empty.png'), '') },
  { name: 'a JPEG of the same size', apply: (r, rng) => writeFileSync(join(r, 'a', 'j.jpg'), jpeg.encode({ width: 5, height: 4, data: Buffer.from(Array.from({ length: 80 }, () => rng.int(256))) }, 90).data) },
  { name: 'a huge declared PNG', apply: (r) => {
    const b = png(5, 4, new Rng(1));
    new DataView(b.buffer).setUint32(16, 100000);
    new DataView(b.buffer).setUint32(20, 100000);
    writeFileSync(join(r, 'a', 'huge.png'), b);
  } },
  { name: 'only hidden files in a class', apply: (r) => {
    rmSync(join(r, 'b'), { recursive: true });
    mkdirSync(join(r, 'b'));
    writeFileSync(join(r, 'b', '.DS_Store'), 'x');
  } },
  { name: 'a gzipped PNG', apply: (r, rng) => writeFileSync(join(r, 'a', 'g.png'), gzipSync(png(5, 4, rng))) },
];

const folderSuite: Suite = {
  setup(dir) {
    const rng = new Rng(9);
    const files: Record<string, Uint8Array> = { 'a/1.png': png(5, 4, rng), 'a/2.png': png(5, 4, rng), 'b/1.png': png(5, 4, rng), 'b/2.png': png(5, 4, rng) };
    const root = join(dir, 'images');
    writeTree(root, files);
    return { files, original: loadSource(`folder:${root}`) };
  },
  make(i, rng, dir, seed) {
    const s = seed as { files: Record<string, Uint8Array>; original: Dataset };
    const root = join(dir, 'images');
    const files = { ...s.files };
    let what: string, oracle: (d: Dataset) => string | null;
    if (rng.uniform() < 0.7) {
      const name = pick(rng, Object.keys(files));
      const m = mutateBytes(files[name], rng, 40);
      files[name] = m.bytes;
      what = `${name} ${m.what}`;
      oracle = (d) => sameDataset(d, s.original);
      writeTree(root, files);
    } else {
      const edit = pick(rng, FOLDER_EDITS);
      writeTree(root, files);
      edit.apply(root, rng);
      what = edit.name;
      oracle = checkInvariants;
    }
    return { name: `folder #${i} ${what}`, run: () => loadSource(`folder:${root}`), oracle };
  },
};

function writeTree(root: string, files: Record<string, Uint8Array>): void {
  rmSync(root, { recursive: true, force: true });
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(join(root, name.split('/')[0]), { recursive: true });
    writeFileSync(join(root, name), bytes);
  }
}

// ---- Model files: checksummed; crafted ones recompute the checksum ----

function modelChecksum(metadata: Record<string, string>, tensors: Map<string, TensorInput>): string {
  let c = 0;
  for (const key of ['architecture', 'classNames', 'preprocessing']) if (metadata[key] !== undefined) c = crc32(new TextEncoder().encode(metadata[key]), c);
  for (const name of [...tensors.keys()].sort()) {
    const d = tensors.get(name)!.data;
    c = crc32(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), c);
  }
  return c.toString(16).padStart(8, '0');
}

/** Re-sign a safetensors file after `edit` changed its metadata or tensors. */
function resign(bytes: Uint8Array, edit: (meta: Record<string, string>, tensors: Map<string, TensorInput>) => void,
  sign: (meta: Record<string, string>, tensors: Map<string, TensorInput>) => string): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const t = new Map([...tensors].map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, data: v.data } as TensorInput]));
  const meta = { ...metadata };
  edit(meta, t);
  meta.checksum = sign(meta, t);
  return encodeSafetensors(t, meta);
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const withLayer0 = (key: string, value: string) => (m: Record<string, string>) => {
  m.architecture = m.architecture.replace('"type":"Conv2d"', `"type":"Conv2d","${key}":${value}`);
};
const replaceIn = (from: string, to: string) => (m: Record<string, string>) => {
  if (!m.architecture.includes(from)) throw new Error(`the seed architecture has no ${from}`);
  m.architecture = m.architecture.replace(from, to);
};
const withArch = (json: string) => (m: Record<string, string>) => {
  m.architecture = json;
};
const archWith = (layers: string, inputShape = '[4,4,1]') => `{"inputShape":${inputShape},"layers":${layers}}`;

const MODEL_CRAFTS: { name: string; edit: (m: Record<string, string>, t: Map<string, TensorInput>) => void; expect: 'refused' | 'accepted' }[] = [
  { name: 'unknown option strides', edit: withLayer0('strides', '2'), expect: 'refused' },
  { name: 'stride null', edit: replaceIn('"stride":[1,1]', '"stride":null'), expect: 'refused' },
  { name: 'bias "false"', edit: replaceIn('"bias":true', '"bias":"false"'), expect: 'refused' },
  { name: 'a deeply nested option', edit: replaceIn('"padding":[1,1]', `"padding":${deep(100000)}`), expect: 'refused' },
  { name: '1001 layers', edit: withArch(archWith(JSON.stringify(Array(1001).fill({ type: 'ReLU' })))), expect: 'refused' },
  { name: 'a billion outputs', edit: withArch(archWith('[{"type":"Flatten"},{"type":"Dense","outFeatures":1000000000}]')), expect: 'refused' },
  { name: 'negative input shape', edit: withArch(archWith('[{"type":"Flatten"}]', '[4,4,-1]')), expect: 'refused' },
  { name: 'input shape a string', edit: withArch(archWith('[{"type":"Flatten"}]', '"x"')), expect: 'refused' },
  { name: 'layers an object', edit: withArch('{"inputShape":[4,4,1],"layers":{"0":{"type":"ReLU"}}}'), expect: 'refused' },
  { name: 'a null layer', edit: withArch(archWith('[null]')), expect: 'refused' },
  { name: 'a numeric type', edit: withArch(archWith('[{"type":5}]')), expect: 'refused' },
  { name: 'architecture an array', edit: withArch(deep(3)), expect: 'refused' },
  { name: 'std [0]', edit: (m) => { m.preprocessing = '{"scale":0.00392,"mean":[0.5],"std":[0]}'; }, expect: 'refused' },
  { name: 'std [-1]', edit: (m) => { m.preprocessing = '{"mean":[0.5],"std":[-1]}'; }, expect: 'refused' },
  { name: 'mean ["a"]', edit: (m) => { m.preprocessing = '{"mean":["a"],"std":[1]}'; }, expect: 'refused' },
  { name: 'two stds for one channel', edit: (m) => { m.preprocessing = '{"mean":[0.5,0.5],"std":[1,1]}'; }, expect: 'refused' },
  { name: 'std without mean', edit: (m) => { m.preprocessing = '{"std":[1]}'; }, expect: 'refused' },
  { name: 'preprocessing a list', edit: (m) => { m.preprocessing = '[]'; }, expect: 'refused' },
  { name: 'numeric class names', edit: (m) => { m.classNames = '[1,2,3]'; }, expect: 'refused' },
  { name: 'four class names', edit: (m) => { m.classNames = '["a","b","c","d"]'; }, expect: 'refused' },
  { name: 'format changed', edit: (m) => { m.format = 'descent-model-2'; }, expect: 'refused' },
  { name: 'a tensor dropped', edit: (_m, t) => { t.delete('layers.4.bias'); }, expect: 'refused' },
  { name: 'a tensor as I32', edit: (_m, t) => { t.set('layers.4.bias', { shape: [3], data: new Int32Array(3) }); }, expect: 'refused' },
  { name: 'no preprocessing', edit: (m) => { delete m.preprocessing; }, expect: 'accepted' },
];

let modelCrafted = 0, checkpointCrafted = 0;

interface ModelSeed { bytes: Uint8Array; meaning: string }

const modelMeaning = (m: { net: Sequential; classNames?: string[]; preprocessing?: unknown }) =>
  JSON.stringify([m.net.config(), Array.from(m.net.w), Array.from(m.net.buffers), m.classNames, m.preprocessing]);

const modelSuite: Suite = {
  setup() {
    const net = Sequential.fromConfig(ARCH, { seed: 3 });
    const bytes = encodeModel(net, { classNames: ['a', 'b', 'c'], preprocessing: { scale: 1 / 255, mean: [0.5], std: [0.25] } });
    return { bytes, meaning: modelMeaning({ net, classNames: ['a', 'b', 'c'], preprocessing: { scale: 1 / 255, mean: [0.5], std: [0.25] } }) };
  },
  make(i, rng, dir, seed) {
    const s = seed as ModelSeed;
    const load = (file: string) => () => {
      const m = loadModel(file);
      standardizationOf(m.preprocessing, m.net, file);
      return m;
    };
    if (rng.uniform() < 0.75) {
      const m = mutateBytes(s.bytes, rng, 400);
      const file = write(dir, 'model.safetensors', m.bytes);
      return { name: `model #${i} ${m.what}`, run: load(file), oracle: (got) => (modelMeaning(got) === s.meaning ? null : 'the model differs from the original') };
    }
    const craft = MODEL_CRAFTS[modelCrafted++ % MODEL_CRAFTS.length]; // in turn, so that each one runs
    const file = write(dir, 'model.safetensors', resign(s.bytes, craft.edit, modelChecksum));
    return { name: `model #${i} crafted: ${craft.name}`, run: load(file), expect: craft.expect };
  },
};

// ---- Checkpoints: checksummed; crafted ones recompute the checksum ----

function checkpointChecksum(meta: Record<string, string>, tensors: Map<string, TensorInput>): string {
  let c = crc32(new TextEncoder().encode(meta.state ?? ''));
  for (const name of [...tensors.keys()].sort()) {
    const d = tensors.get(name)!.data;
    c = crc32(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), c);
  }
  return c.toString(16).padStart(8, '0');
}

const onState = (f: (st: Record<string, any>) => void) => (m: Record<string, string>) => { // eslint-disable-line @typescript-eslint/no-explicit-any
  const st = JSON.parse(m.state);
  f(st);
  m.state = JSON.stringify(st);
};
const special = (v: string) => ({ $number: v });
const onTensor = (name: string, f: (t: Map<string, TensorInput>) => void) => (_m: Record<string, string>, t: Map<string, TensorInput>) => {
  if (!t.has(name) && !name.startsWith('-')) throw new Error(`the seed checkpoint has no ${name}`);
  f(t);
};

const CHECKPOINT_CRAFTS: { name: string; edit: (m: Record<string, string>, t: Map<string, TensorInput>) => void; expect: 'refused' | 'accepted' }[] = [
  { name: 'order index out of range', edit: onTensor('order', (t) => { (t.get('order')!.data as Int32Array)[0] = 99; }), expect: 'refused' },
  { name: 'order index negative', edit: onTensor('order', (t) => { (t.get('order')!.data as Int32Array)[1] = -5; }), expect: 'refused' },
  { name: 'order repeats a sample', edit: onTensor('order', (t) => { const o = t.get('order')!.data as Int32Array; o[0] = o[1]; }), expect: 'refused' },
  { name: 'order dropped', edit: onTensor('order', (t) => { t.delete('order'); }), expect: 'refused' },
  { name: 'order as F32', edit: onTensor('order', (t) => { t.set('order', { shape: [6], data: Float32Array.from([0, 1, 2, 3, 4, 5]) }); }), expect: 'refused' },
  { name: 'NaN generator state', edit: onState((st) => { st.rng[0] = special('NaN'); }), expect: 'refused' },
  { name: 'zero generator state', edit: onState((st) => { st.rng = [0, 0, 0, 0]; }), expect: 'refused' },
  { name: 'three generator words', edit: onState((st) => { st.rng = st.rng.slice(0, 3); }), expect: 'refused' },
  { name: 'generator word 2^32', edit: onState((st) => { st.rng[2] = 2 ** 32; }), expect: 'refused' },
  { name: 'infinite step', edit: onState((st) => { st.position.step = special('Infinity'); }), expect: 'refused' },
  { name: 'fractional step in epoch', edit: onState((st) => { st.position.stepInEpoch = 0.5; }), expect: 'refused' },
  { name: 'NaN loss sum', edit: onState((st) => { st.position.lossSum = special('NaN'); }), expect: 'refused' },
  { name: 'seen beyond the epoch', edit: onState((st) => { st.position.seen = 1e6; }), expect: 'refused' },
  { name: 'position a string', edit: onState((st) => { st.position = 'x'; }), expect: 'refused' },
  { name: 'infinite optimizer step count', edit: onState((st) => { st.optimizer.stepCount = special('Infinity'); }), expect: 'refused' },
  { name: 'negative optimizer step count', edit: onState((st) => { st.optimizer.stepCount = -1; }), expect: 'refused' },
  { name: 'optimizer buffers a string', edit: onState((st) => { st.optimizer.buffers = 'm'; }), expect: 'refused' },
  { name: 'optimizer buffers an object', edit: onState((st) => { st.optimizer.buffers = {}; }), expect: 'refused' },
  { name: 'an unknown optimizer buffer', edit: onState((st) => { st.optimizer.buffers = ['zz']; }), expect: 'refused' },
  { name: 'optimizer lr NaN', edit: onState((st) => { st.optimizer.config.lr = special('NaN'); }), expect: 'refused' },
  { name: 'schedule kind bogus', edit: onState((st) => { st.schedule = { config: { kind: 'bogus' }, state: null }; }), expect: 'refused' },
  { name: 'history null', edit: onState((st) => { st.history = null; }), expect: 'refused' },
  { name: 'history epochs a string', edit: onState((st) => { st.history.epochs = 'x'; }), expect: 'refused' },
  { name: 'previous loss a string', edit: onState((st) => { st.previousEpochLoss = 'x'; }), expect: 'refused' },
  { name: 'saved data flag a number', edit: onState((st) => { st.meta.flags.data = 5; }), expect: 'refused' },
  { name: 'saved lr hex', edit: onState((st) => { st.meta.flags.lr = '0x10'; }), expect: 'refused' },
  { name: 'saved epochs infinite', edit: onState((st) => { st.meta.flags.epochs = special('Infinity'); }), expect: 'refused' },
  { name: 'saved optimizer bogus', edit: onState((st) => { st.meta.flags.optimizer = 'bogus'; }), expect: 'refused' },
  { name: 'meta nested deep', edit: (m) => { m.state = m.state.replace('"meta":{', `"meta":{"deep":${deep(100000)},`); }, expect: 'refused' },
  { name: 'architecture with strides', edit: onState((st) => { st.architecture.layers[0].strides = 2; }), expect: 'refused' },
  { name: 'NaN weight', edit: onTensor('w', (t) => { (t.get('w')!.data as Float32Array)[3] = NaN; }), expect: 'refused' },
  { name: 'short epoch-start weights', edit: onTensor('epoch_start_weights', (t) => { t.set('epoch_start_weights', { shape: [2], data: new Float32Array(2) }); }), expect: 'refused' },
  { name: 'state not JSON', edit: (m) => { m.state = '{"a":'; }, expect: 'refused' },
  { name: 'state a list', edit: (m) => { m.state = '[]'; }, expect: 'refused' },
  { name: 'an extra saved flag', edit: onState((st) => { st.meta.flags.note = 'x'; }), expect: 'accepted' },
];

const FIT: FitOptions = {
  epochs: 3, batchSize: 2, optimizer: { kind: 'adam', lr: 0.01 }, validationSplit: 0.25, splitSeed: 1,
  earlyStopping: { monitor: 'val_error', patience: 2 }, checkpointEvery: { steps: 1 },
};

function tinyData(): Dataset {
  const rng = new Rng(5);
  return createDataset({ x: Float32Array.from({ length: 8 * 16 }, () => rng.uniform()), labels: Int32Array.from([0, 1, 2, 0, 1, 2, 0, 1]), shape: [4, 4, 1] });
}

/** What the command line does with a checkpoint: decode it, check its flags, restore a trainer from it. */
function resume(bytes: Uint8Array, file: string): Uint8Array {
  const snap = decodeCheckpoint(bytes, file);
  savedFlags(snap.meta.flags, file);
  const trainer = new Trainer(Sequential.fromConfig(snap.architecture, { seed: 1 }), FIT);
  trainer.restore(bytes, file);
  return trainer.checkpoint();
}

const checkpointSuite: Suite = {
  async setup() {
    let bytes: Uint8Array | null = null;
    const trainer = new Trainer(Sequential.fromConfig(ARCH, { seed: 1 }), {
      ...FIT, maxSteps: 4, onCheckpoint: (b) => (bytes = b),
      meta: { flags: { data: 'mnist', epochs: 3, batchSize: 2, optimizer: 'adam', lr: 0.01, validationSplit: 0.25, earlyStopping: true } },
    });
    await trainer.fit(tinyData());
    const original = bytes as unknown as Uint8Array;
    return { bytes: original, restored: resume(original, 'seed') };
  },
  make(i, rng, dir, seed) {
    const s = seed as { bytes: Uint8Array; restored: Uint8Array };
    if (rng.uniform() < 0.7) {
      const m = mutateBytes(s.bytes, rng, 600);
      const file = write(dir, 'checkpoint.safetensors', m.bytes);
      return {
        name: `checkpoint #${i} ${m.what}`,
        run: () => resume(m.bytes, file),
        oracle: (got: Uint8Array) => sameFloats(got, s.restored, 'the restored checkpoint\'s bytes'),
      };
    }
    const craft = CHECKPOINT_CRAFTS[checkpointCrafted++ % CHECKPOINT_CRAFTS.length];
    const bytes = resign(s.bytes, craft.edit, checkpointChecksum);
    const file = write(dir, 'checkpoint.safetensors', bytes);
    return { name: `checkpoint #${i} crafted: ${craft.name}`, run: () => resume(bytes, file), expect: craft.expect };
  },
};

// ---- PyTorch state_dicts: no checksum; the header cannot change a weight, no weight is non-finite ----

const pytorchSuite: Suite = {
  setup() {
    const net = Sequential.fromConfig(ARCH, { seed: 4 });
    const bytes = exportPytorchStateDict(net);
    const dataStart = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
    return { bytes, dataStart, w: Float32Array.from(net.w) };
  },
  make(i, rng, dir, seed) {
    const s = seed as { bytes: Uint8Array; dataStart: number; w: Float32Array };
    const m = mutateBytes(s.bytes, rng, s.dataStart);
    const file = write(dir, 'state_dict.safetensors', m.bytes);
    const headerOnly = m.touched.every((p) => p < s.dataStart) && m.bytes.length === s.bytes.length;
    return {
      name: `pytorch #${i} ${m.what}`,
      run: () => importPytorch(file, ARCH),
      oracle: (net: Sequential) => {
        const bad = net.w.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) return `weight ${bad} is ${net.w[bad]}`;
        return headerOnly ? sameFloats(net.w, s.w, 'w after a header-only change') : null;
      },
    };
  },
};

// ---- JSON specs: every key understood, every value kept as given ----

function sameOption(given: unknown, kept: unknown): boolean {
  if (typeof given === 'number' && Array.isArray(kept)) return kept.length === 2 && kept[0] === given && kept[1] === given;
  return JSON.stringify(given) === JSON.stringify(kept);
}

function specOracle(text: string, net: Sequential): string | null {
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch {
    return 'the file is not JSON';
  }
  const layers = (Array.isArray(spec) ? spec : (spec as { layers: LayerConfig[] }).layers) as LayerConfig[];
  if (!Array.isArray(spec) && JSON.stringify((spec as { inputShape?: number[] }).inputShape ?? [6, 6, 1]) !== JSON.stringify(net.inputShape)) {
    return 'the input shape differs';
  }
  if (layers.length !== net.layers.length) return 'the layer count differs';
  for (const [k, c] of layers.entries()) {
    const kept = net.layers[k].config();
    for (const [key, value] of Object.entries(c)) {
      if (!(key in kept)) return `layer ${k}: key "${key}" was ignored`;
      if (!sameOption(value, kept[key])) return `layer ${k}: ${key} ${JSON.stringify(value)} was taken as ${JSON.stringify(kept[key])}`;
    }
  }
  return null;
}

const SPEC_EDITS: ((text: string, rng: Rng) => string)[] = [
  (t) => t.replace('"stride": 1', '"strides": 2'),
  (t) => t.replace('"kernelSize": 2', '"kernelSize": 2, "kernel_size": 3'),
  (t) => t.replace('"type": "ReLU"', '"type": "ReLU", "inplace": true'),
  (t) => t.replace('"layers"', '"layer"'),
  (t) => t.replace('{\n "inputShape"', '{\n "name": "x",\n "inputShape"'),
  (t) => t.replace('"padding": 1', `"padding": ${deep(50000)}`),
  (t) => t.replace('"layers": [', `"layers": [${'{"type": "ReLU"},'.repeat(10000)}`),
  (t) => t.replace('"outFeatures": 3', '"outFeatures": 3000000000'),
  (t) => t.replace('"bias": true', '"bias": "false"'),
  (t) => t.replace('"bias": true', '"bias": 0'),
  (t) => t.replace('"padding": 1', '"padding": null'),
  (t) => t.replace('"inputShape": [\n  6,\n  6,\n  1\n ]', '"inputShape": [6, 6, 1, 1, 1]'),
  (t) => t.replace('"inputShape": [\n  6,\n  6,\n  1\n ]', '"inputShape": [6, 6, 0.5]'),
  (_t) => deep(100000),
  (_t) => '"lenet5"',
  (_t) => 'null',
];

const specSuite: Suite = {
  setup() {
    return JSON.stringify({
      inputShape: [6, 6, 1],
      layers: [
        { type: 'Conv2d', outChannels: 2, kernelSize: 3, stride: 1, padding: 1, bias: true }, { type: 'ReLU' },
        { type: 'MaxPool2d', kernelSize: 2 }, { type: 'Flatten' }, { type: 'Dense', outFeatures: 3, bias: true }, { type: 'Softmax' },
      ],
    }, null, 1);
  },
  make(i, rng, dir, seed) {
    const text = seed as string;
    let mutated: string, what: string;
    const r = rng.uniform();
    if (r < 0.4) {
      const m = mutateBytes(new TextEncoder().encode(text), rng, 0);
      mutated = new TextDecoder().decode(m.bytes);
      what = m.what;
    } else if (r < 0.8) ({ text: mutated, what } = mutateToken(text, rng));
    else {
      const k = rng.int(SPEC_EDITS.length);
      mutated = SPEC_EDITS[k](text, rng);
      what = `edit ${k}`;
    }
    const file = write(dir, 'spec.json', mutated);
    return {
      name: `spec #${i} ${what}`,
      run: () => Sequential.fromConfig(loadArchitecture(file, [6, 6, 1], 3)),
      oracle: (net: Sequential) => specOracle(mutated, net),
    };
  },
};

// ---- Suites the negative tests run: the harness must report each of these ----

const negativeSuites: Record<string, Suite> = {
  'negative-hang': {
    setup: () => null,
    make: () => ({ name: 'an endless loop', run: () => { for (;;) { /* hangs */ } } }),
  },
};

export const suites: Record<string, Suite> = {
  idx: idxSuite(false),
  'gzip-idx': idxSuite(true),
  csv: csvSuite,
  folder: folderSuite,
  model: modelSuite,
  checkpoint: checkpointSuite,
  pytorch: pytorchSuite,
  spec: specSuite,
  ...negativeSuites,
};

/** A loader that parses CSV the lax way (Number() on every field): the oracle must catch it. */
export function laxCsvCase(dir: string): FuzzCase<Dataset> {
  const text = `0,${['0x10', ...Array(15).fill('0')].join(',')}\n1,${Array(16).fill('1').join(',')}\n`;
  const bytes = new TextEncoder().encode(text);
  write(dir, 'lax.csv', bytes);
  return {
    name: 'a lax CSV parser',
    run: () => {
      const rows = text.trim().split('\n').map((l) => l.split(',').map(Number));
      return createDataset({ x: Float32Array.from(rows.flatMap((r) => r.slice(1).map((v) => v / 255))),
        labels: Int32Array.from(rows.map((r) => r[0])), shape: [4, 4, 1] });
    },
    oracle: (got: Dataset) => {
      const want = strictCsv(bytes);
      return typeof want === 'string' ? `the CSV definition refuses it (${want})` : sameDataset(got, want);
    },
  };
}

