/**
 * Bad input on the command line (issue 10): each is refused before any work, with one line naming
 * the flag, the file, the label or the field, and a non-zero exit; or, where it is not an error
 * (a reader that closes the pipe, a run folder killed before its first checkpoint), handled quietly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { crc32 } from '../src/core/checksum.js';
import { encodeIdx } from '../src/data/idx.js';
import { encodeModel } from '../src/io/model-file.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { Sequential } from '../src/network/sequential.js';
import { patches } from './synthetic.js';
import { cliIn, assertOneLineError } from './cli-run.js';

const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'descent-cli-inputs-'));

const descent = cliIn(dir);

const idx = (name: string, dims: number[], data: ArrayLike<number>) => {
  writeFileSync(join(dir, name), encodeIdx({ type: 'ubyte', dims, data }));
  return join(dir, name);
};
let images = '', labels = '';
const data = (imgs = images, labs = labels) => ['--data', `idx:${imgs},${labs}`];
const quick = ['--model', 'mlp', '--engine', 'reference', '--epochs', '1', '--json'];

before(() => {
  const d = patches(24, 1);
  const bytes = Uint8Array.from(d.x, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
  images = idx('images.idx', [24, 8, 8], bytes);
  labels = idx('labels.idx', [24], d.labels);
  const stray = Array.from(d.labels);
  stray[5] = 12;
  idx('stray.idx', [24], stray);
  idx('empty-images.idx', [0, 8, 8], []);
  idx('empty-labels.idx', [0], []);
  idx('two-images.idx', [2, 8, 8], bytes.subarray(0, 128));
  idx('two-labels.idx', [2], [0, 1]);
  writeFileSync(join(dir, 'strides.json'), JSON.stringify({ layers: [{ type: 'Conv2d', outChannels: 2, kernelSize: 3, strides: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' }] }));
  writeFileSync(join(dir, 'huge.json'), JSON.stringify({ layers: Array(10000).fill({ type: 'ReLU' }) }));
  writeFileSync(join(dir, 'deep.json'), '['.repeat(100000) + ']'.repeat(100000));
});

describe('descent refuses bad input with one line', () => {
  it('a label above the others, unless --classes says so; a label at or above --classes', () => {
    assertOneLineError(descent('train', ...quick, ...data(images, join(dir, 'stray.idx')), '--out', join(dir, 'r1')),
      /label 12 \(sample 5\) would make 13 classes, but class 3 has no sample; pass --classes 13/);
    assertOneLineError(descent('train', ...quick, ...data(images, join(dir, 'stray.idx')), '--classes', '10', '--out', join(dir, 'r2')),
      /stray\.idx: label 12 is out of range for 10 classes/);
  });

  it('numbers that are not plain decimals, naming the flag', () => {
    assertOneLineError(descent('train', ...quick, '--lr', '0x10'), /--lr <rate>.*'0x10' is invalid/);
    assertOneLineError(descent('train', ...quick, '--seed', ''), /--seed <n>.*argument '' is invalid/);
    assertOneLineError(descent('train', ...quick, '--validation-split', ''), /--validation-split <f>.*argument '' is invalid/);
    assertOneLineError(descent('train', ...quick, '--epochs', '1e400'), /--epochs <n>/);
    assertOneLineError(descent('train', ...quick, '--classes', '1'), /--classes <n>.*expected 2 to/);
    assertOneLineError(descent('ui', dir, '--port', '99999'), /--port <n>.*expected a port in 0\.\.65535/);
  });

  it('a bad --schedule, before any work', () => {
    for (const [value, pattern] of [['bogus', /--schedule: unknown schedule "bogus"/], ['step:abc', /--schedule step needs epochs/],
      ['exponential:-1', /--schedule exponential needs a factor/], ['onecycle:1.5', /--schedule onecycle takes .*pct_start in \(0, 1\)/],
      ['onecycle:0.3,25,1e4,2', /--schedule onecycle takes/], ['onecycle:0.3,0.5', /factors >= 1/]] as const) {
      const r = descent('train', ...quick, ...data(), '--schedule', value, '--out', join(dir, 'never'));
      assertOneLineError(r, pattern);
      assert.equal(r.stdout, '');
    }
    assert.equal(existsSync(join(dir, 'never')), false);
  });

  it('an unknown key in a JSON spec, a spec too large or too deep', () => {
    assertOneLineError(descent('train', ...quick, '--model', join(dir, 'strides.json'), ...data()),
      /layer 0 \(Conv2d\): unknown option "strides" \(its options: outChannels, kernelSize, stride/);
    assertOneLineError(descent('summary', join(dir, 'huge.json')), /10000 layers, more than the 1000/);
    assertOneLineError(descent('summary', join(dir, 'deep.json')), /deep\.json: the spec nests too deeply/);
  });

  it('more threads than cores', () => {
    assertOneLineError(descent('train', ...quick, '--threads', '1000'), new RegExp(`--threads.*has ${availableParallelism()} core`));
  });

  it('a device or an empty data set as data; too few images for the validation split', { skip: !existsSync('/dev/zero') && 'no /dev/zero' }, () => {
    assertOneLineError(descent('train', ...quick, ...data('/dev/zero', labels)), /cannot read \/dev\/zero: it is a device/);
    assertOneLineError(descent('train', ...quick, ...data(join(dir, 'empty-images.idx'), join(dir, 'empty-labels.idx'))), /holds no images/);
    assertOneLineError(descent('train', ...quick, '--validation-split', '0.0833', ...data(join(dir, 'two-images.idx'), join(dir, 'two-labels.idx'))),
      /--validation-split 0\.083\d* of 2 images holds out none/);
  });
});

describe('descent with a trained run', () => {
  const run = join(dir, 'run');
  const checkpoint = join(run, 'checkpoint.safetensors'), model = join(run, 'model.safetensors');
  before(() => {
    const r = descent('train', ...quick, ...data(), '--out', run);
    assert.equal(r.status, 0, r.stderr);
  });

  it('--resume with a --model of its own is refused; a folder with a checkpoint names --resume', () => {
    assertOneLineError(descent('train', '--resume', checkpoint, '--model', 'lenet5', '--out', join(dir, 'r3')), /--resume continues the checkpoint's own model: drop --model lenet5/);
    assertOneLineError(descent('train', ...quick, ...data(), '--out', run), /already holds a run: continue it with --resume .*checkpoint\.safetensors/);
  });

  it('eval on no images, and a model whose preprocessing divides by 0', () => {
    assertOneLineError(descent('eval', model, '--engine', 'reference', ...data(join(dir, 'empty-images.idx'), join(dir, 'empty-labels.idx'))), /holds no images/);
    const net = Sequential.fromConfig({ inputShape: [8, 8, 1], layers: [{ type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' }] });
    writeFileSync(join(dir, 'std0.safetensors'), encodeModel(net, { preprocessing: { scale: 1 / 255, mean: [0.1], std: [0] } }));
    assertOneLineError(descent('eval', join(dir, 'std0.safetensors'), '--engine', 'reference', ...data()),
      /std0\.safetensors: preprocessing needs 1 finite means and 1 positive finite standard deviations/);
  });

  it('a crafted checkpoint (checksum recomputed) with a saved flag of the wrong type', () => {
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(checkpoint)));
    const state = JSON.parse(metadata.state);
    state.meta.flags.data = 5;
    const text = JSON.stringify(state);
    let c = crc32(new TextEncoder().encode(text));
    for (const name of [...tensors.keys()].sort()) {
      const d = tensors.get(name)!.data;
      c = crc32(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), c);
    }
    const t = new Map([...tensors].map(([k, v]) => [k, { dtype: v.dtype, shape: v.shape, data: v.data } as TensorInput]));
    writeFileSync(join(dir, 'crafted.safetensors'), encodeSafetensors(t, { ...metadata, state: text, checksum: c.toString(16).padStart(8, '0') }));
    assertOneLineError(descent('train', '--resume', join(dir, 'crafted.safetensors'), '--out', join(dir, 'r4')), /crafted\.safetensors: its saved flag data is 5: expected a string/);
  });

  it('eval piped into a reader that stops after one byte ends quietly', async () => {
    const child = spawn(process.execPath, [main, 'eval', model, '--engine', 'reference', ...data()], { cwd: dir });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    const status = await new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    assert.equal(stderr, '');
    assert.equal(status, 0);
  });

  it('a run folder killed before its first checkpoint is reused, its stale temporary files removed', () => {
    const killed = join(dir, 'killed');
    mkdirSync(killed);
    writeFileSync(join(killed, 'run.json'), '{"format":"descent-run/1"}');
    writeFileSync(join(killed, 'metrics.jsonl'), '{"type":"step"}\n');
    // A temporary file of a dead process (pid 2^22 + 1 is above Linux's pid_max), and one of this (living) process.
    writeFileSync(join(killed, '.checkpoint.safetensors.4194305.0123456789ab.tmp'), 'half');
    writeFileSync(join(killed, `.model.safetensors.${process.pid}.0123456789ab.tmp`), 'in progress');
    const r = descent('train', ...quick, ...data(), '--out', killed);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /reusing .*killed: the run there stopped before its first checkpoint/);
    const files = readdirSync(killed);
    assert.ok(files.includes('checkpoint.safetensors'));
    assert.ok(!files.includes('.checkpoint.safetensors.4194305.0123456789ab.tmp'), files.join());
    assert.ok(files.includes(`.model.safetensors.${process.pid}.0123456789ab.tmp`), 'a living process\'s file is kept');
  });
});
