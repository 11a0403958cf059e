/**
 * PyTorch export with its preprocessing: the state_dict's metadata records the preprocessing and
 * the architecture, and the generated model.py (run by Debian's python3-torch when it is installed;
 * skipped otherwise) gives Descent's outputs within 1e-5 on raw MNIST pixels, for every layer type
 * and the three networks.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { applyStandardization } from '../src/data/dataset.js';
import { exportPytorchModel } from '../src/io/pytorch-module.js';
import { importPytorchStateDict } from '../src/io/pytorch.js';
import { decodeSafetensors } from '../src/io/safetensors.js';
import type { Sequential } from '../src/network/sequential.js';
import { ALL_CASES, caseNet, MNIST_PREPROCESSING } from './interchange-nets.js';
import { assertWithin, findTorchPython, maxAbsDiff, mnistPixels, unit } from './interchange-helpers.js';
import { host } from './helpers.js';

const N = 8;
const pixels = mnistPixels(N);
const dir = mkdtempSync(join(tmpdir(), 'descent-pytorch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function descentOutput(net: Sequential): Float32Array {
  const x = unit(pixels);
  applyStandardization(x, MNIST_PREPROCESSING);
  return Float32Array.from(host(net.forward(x, N)).subarray(0, N * net.outputShape.reduce((a, b) => a * b, 1)));
}

/** Writes model.py, model.safetensors and in.json (raw pixels, channels-last) into a new folder. */
function writeCase(name: string, net: Sequential): string {
  const folder = join(dir, name.replace(/[^A-Za-z0-9]+/g, '_'));
  mkdirSync(folder, { recursive: true });
  const { stateDict, modelPy } = exportPytorchModel(net, { preprocessing: MNIST_PREPROCESSING });
  writeFileSync(join(folder, 'model.safetensors'), stateDict);
  writeFileSync(join(folder, 'model.py'), modelPy);
  writeFileSync(join(folder, 'in.json'), JSON.stringify({ shape: [N, 28, 28, 1], data: Array.from(pixels) }));
  return folder;
}

const readOutput = (folder: string) => Float32Array.from(JSON.parse(readFileSync(join(folder, 'out.json'), 'utf8')).data as number[]);

describe('PyTorch export', () => {
  it('the safetensors metadata carries the preprocessing and the architecture; the weights import back exactly', () => {
    const net = caseNet(ALL_CASES['batch norm and dropout']);
    const { stateDict, modelPy } = exportPytorchModel(net, { preprocessing: MNIST_PREPROCESSING, classNames: ['a'] });
    const { metadata, tensors } = decodeSafetensors(stateDict);
    assert.deepEqual(JSON.parse(metadata.preprocessing), MNIST_PREPROCESSING);
    assert.deepEqual(JSON.parse(metadata.classNames), ['a']);
    assert.ok(tensors.has('layers.0.weight') && tensors.has('layers.1.running_var') && tensors.has('layers.1.num_batches_tracked'));
    const back = importPytorchStateDict(stateDict, JSON.parse(metadata['descent.architecture']));
    assert.deepEqual(back.getWeights(), net.getWeights());
    assert.deepEqual(back.getBuffers(), net.getBuffers());
    assert.match(modelPy, /PREPROCESSING = \{"scale": 0\.00392156862745098, "mean": \(0\.1307,\), "std": \(0\.3081,\)\}/);
    assert.match(modelPy, /nn\.BatchNorm2d\(8, eps=0\.00001, momentum=0\.1\),  # 1: BatchNorm2d/);
  });

  const python = findTorchPython();
  describe('model.py run by python3-torch', { skip: python.command ? false : python.reason }, () => {
    it('python3 model.py --input ... --output ...: LeNet-5 as Descent computes it, within 1e-5, from any working directory', () => {
      const net = caseNet(ALL_CASES['LeNet-5']);
      const folder = writeCase('lenet-cli', net);
      execFileSync(python.command!, [join(folder, 'model.py'), '--input', join(folder, 'in.json'), '--output', join(folder, 'out.json')],
        { cwd: tmpdir(), stdio: 'pipe', timeout: 120_000 });
      assertWithin(readOutput(folder), descentOutput(net), 1e-5, 'LeNet-5');
      assert.ok(maxAbsDiff(readOutput(folder), descentOutput(caseNet(ALL_CASES['LeNet-5'], 2))) > 1e-3, 'another network\'s outputs differ');
      const printed = execFileSync(python.command!, [join(folder, 'model.py')], { encoding: 'utf8', timeout: 120_000 });
      assert.match(printed, /DescentModel[\s\S]*Conv2d\(1, 6, kernel_size=\(5, 5\)[\s\S]*output shape for one input: \[1, 10\]/);
    });

    it('every layer type and the three networks: model.py gives Descent\'s outputs within 1e-5', () => {
      const cases = Object.entries(ALL_CASES).map(([name, layers]) => ({ name, net: caseNet(layers) }));
      const folders = cases.map(({ name, net }) => writeCase(name, net));
      const driver = 'import runpy, sys\nfor d in sys.argv[1:]:\n    runpy.run_path(d + "/model.py", run_name="exported")["main"](["--input", d + "/in.json", "--output", d + "/out.json"])\n';
      execFileSync(python.command!, ['-c', driver, ...folders], { stdio: 'pipe', timeout: 300_000 });
      cases.forEach(({ name, net }, i) => assertWithin(readOutput(folders[i]), descentOutput(net), 1e-5, name));
    });
  });
});
