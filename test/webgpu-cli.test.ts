/**
 * `descent train/eval --engine webgpu` on SwiftShader with a tiny generated data set, and the one-line
 * errors of `--engine webgpu` where WebGPU has no adapter. Skipped without SwiftShader (not under CI).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { encodeIdx } from '../src/data/idx.js';
import { gpuDevicePresent, SWIFTSHADER_ICD } from '../src/engine/node-webgpu.js';
import { assertOneLineError, cliIn } from './cli-run.js';
import { patches } from './synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'descent-webgpu-cli-'));
const descent = cliIn(dir);
const images = join(dir, 'images.idx'), labels = join(dir, 'labels.idx');
const data = `idx:${images},${labels}`;
const skip: string | false = !existsSync(SWIFTSHADER_ICD) && !process.env.CI
  ? `SwiftShader (${SWIFTSHADER_ICD}) is not installed; under CI this test runs and fails instead` : false;

before(() => {
  const d = patches(48, 2);
  writeFileSync(images, encodeIdx({ type: 'ubyte', dims: [48, 8, 8], data: Uint8Array.from(d.x, (v) => Math.round(Math.min(1, v) * 255)) }));
  writeFileSync(labels, encodeIdx({ type: 'ubyte', dims: [48], data: d.labels }));
  writeFileSync(join(dir, 'small.json'), JSON.stringify({ layers: [
    { type: 'Conv2d', outChannels: 4, kernelSize: 3, padding: 1 }, { type: 'ReLU' }, { type: 'MaxPool2d', kernelSize: 2 },
    { type: 'Flatten' }, { type: 'Dense', outFeatures: 3 }, { type: 'Softmax' },
  ] }));
});

describe('descent --engine webgpu', () => {
  it('trains, checkpoints and evaluates on SwiftShader, saying the adapter; the model matches a reference run', { skip }, () => {
    const args = ['--model', 'small.json', '--data', data, '--test', data, '--epochs', '3', '--batch-size', '8', '--lr', '0.01',
      '--validation-split', '0.25', '--augment', '0', '--json'];
    const r = descent('train', ...args, '--engine', 'webgpu', '--gpu-adapter', 'swiftshader', '--out', 'gpu');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /engine webgpu \(adapter google swiftshader/i);
    const result = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.ok(result.test.accuracy > 0.9, `accuracy ${result.test.accuracy}`);
    assert.ok(existsSync(join(dir, 'gpu', 'checkpoint.safetensors')));
    // The dashboard's files got the validation views and the layer norms read back from the device.
    const snapshot = JSON.parse(readFileSync(join(dir, 'gpu', 'snapshot.json'), 'utf8'));
    assert.ok(snapshot.validation.evaluated > 0 && snapshot.filters.weights.length === 36);
    assert.match(readFileSync(join(dir, 'gpu', 'metrics.jsonl'), 'utf8'), /"type":"norms"/);

    const cpu = descent('train', ...args, '--engine', 'reference', '--out', 'cpu');
    assert.equal(cpu.status, 0, cpu.stderr);
    assert.ok(Math.abs(JSON.parse(cpu.stdout.trim().split('\n').at(-1)!).test.loss - result.test.loss) < 1e-4);

    const ev = descent('eval', join('gpu', 'model.safetensors'), '--data', data, '--engine', 'webgpu', '--gpu-adapter', 'swiftshader', '--json');
    assert.equal(ev.status, 0, ev.stderr);
    assert.ok(Math.abs(JSON.parse(ev.stdout).loss - result.test.loss) < 1e-6);
  });

  it('--resume continues on webgpu and its adapter without the flags, bitwise as a straight run; --engine elsewhere says so; export works', { skip }, () => {
    const args = ['--model', 'small.json', '--data', data, '--epochs', '2', '--batch-size', '8', '--lr', '0.01', '--augment', '0', '--json'];
    const gpu = ['--engine', 'webgpu', '--gpu-adapter', 'swiftshader'];
    assert.equal(descent('train', ...args, ...gpu, '--out', 'straight').status, 0);
    const part = descent('train', ...args, ...gpu, '--out', 'part', '--max-steps', '3', '--checkpoint-every', '3');
    assert.equal(part.status, 0, part.stderr);
    const checkpoint = join('part', 'checkpoint.safetensors');
    const elsewhere = descent('train', '--resume', checkpoint, '--out', 'elsewhere', '--json', '--engine', 'reference');
    assert.equal(elsewhere.status, 0, elsewhere.stderr);
    assert.match(elsewhere.stderr, /engine reference, .*\nnote: this run trained on the webgpu engine and continues on reference: the continuation is not bitwise/);
    assert.notDeepEqual(readFileSync(join(dir, 'elsewhere', 'model.safetensors')),
      readFileSync(join(dir, 'straight', 'model.safetensors')), 'negative: another engine gives other bits');

    process.env.VK_ICD_FILENAMES = '/nowhere/icd.json';
    try {
      assertOneLineError(descent('train', '--resume', checkpoint, '--out', 'nowhere', '--json'),
        /WebGPU found no adapter: .* \(the checkpoint was trained on the webgpu engine; --engine wasm continues it on the CPU, not bitwise as it would have\)/);
    } finally {
      delete process.env.VK_ICD_FILENAMES;
    }

    const resumed = descent('train', '--resume', checkpoint, '--out', 'part', '--json');
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /engine webgpu \(adapter google swiftshader/i);
    assert.doesNotMatch(resumed.stderr, /note:/);
    assert.deepEqual(readFileSync(join(dir, 'part', 'model.safetensors')), readFileSync(join(dir, 'straight', 'model.safetensors')));

    const exported = descent('export', join('part', 'model.safetensors'), '--format', 'onnx', '--out', 'part.onnx');
    assert.equal(exported.status, 0, exported.stderr);
    assert.ok(existsSync(join(dir, 'part.onnx')));
  });

  it('without an adapter, --engine webgpu is one line naming what is missing', () => {
    const missingIcd = cliIn(dir);
    process.env.VK_ICD_FILENAMES = '/nowhere/icd.json';
    try {
      assertOneLineError(missingIcd('eval', 'none.safetensors', '--data', data, '--engine', 'webgpu'),
        /the WebGPU engine could not start: WebGPU found no adapter: VK_ICD_FILENAMES names \/nowhere\/icd\.json, which does not exist/);
    } finally {
      delete process.env.VK_ICD_FILENAMES;
    }
    assertOneLineError(descent('eval', 'none.safetensors', '--engine', 'wasm', '--gpu-adapter', 'swiftshader'),
      /a GPU adapter applies to the webgpu and auto engines, not to wasm/);
  });

  it('on a machine without a GPU device: webgpu refuses (SwiftShader only by name), auto says it runs on the CPU', { skip: gpuDevicePresent() && 'this machine has a GPU device' }, () => {
    assertOneLineError(descent('eval', 'none.safetensors', '--data', data, '--engine', 'webgpu'),
      /WebGPU found no adapter: this machine has no GPU device \(no \/dev\/dri\/renderD\* or \/dev\/nvidia0\); .*--gpu-adapter swiftshader/);
    const auto = descent('train', '--model', 'small.json', '--data', data, '--epochs', '1', '--max-steps', '1', '--out', 'auto', '--json');
    assert.equal(auto.status, 0, auto.stderr);
    assert.match(auto.stderr, /engine wasm/);
  });
});
