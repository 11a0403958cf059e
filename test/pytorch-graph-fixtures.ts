/**
 * The graph networks whose generated model.py is a reviewed golden file (test/fixtures/pytorch-graph/),
 * and the script that writes those fixtures: run after `npm run build`,
 *
 *   node dist/test/pytorch-graph-fixtures.js [python]      (python: default /usr/bin/python3, with torch)
 *
 * For each network it writes model.py, model.safetensors and in.json (raw pixels) with Descent, then
 * runs that model.py with PyTorch to write torch-out.json: PyTorch's outputs, which the tests compare
 * with Descent's where no torch is installed (as in CI).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportPytorchModel } from '../src/io/pytorch-module.js';
import type { Sequential } from '../src/network/sequential.js';
import { caseNet, COLOUR_PREPROCESSING, GRAPH_CASES, GRAPH_INPUT, randomPixels } from './interchange-nets.js';

/** Fixture folder name → the case of GRAPH_CASES it holds. */
export const GOLDEN_CASES: Record<string, string> = {
  joins: 'three-way joins, depthwise, asymmetric padding',
  flattened: 'flattened image in a join',
};
export const GOLDEN_N = 3;
export const GOLDEN_DIR = fileURLToPath(new URL('../../test/fixtures/pytorch-graph/', import.meta.url));

export const goldenNet = (folder: string): Sequential => caseNet(GRAPH_CASES[GOLDEN_CASES[folder]], 1, GRAPH_INPUT);
export const goldenExport = (net: Sequential) => exportPytorchModel(net, { preprocessing: COLOUR_PREPROCESSING });
export const goldenPixels = () => randomPixels(GOLDEN_N, GRAPH_INPUT);

function writeFixtures(python: string): void {
  for (const folder of Object.keys(GOLDEN_CASES)) {
    const dir = join(GOLDEN_DIR, folder), { stateDict, modelPy } = goldenExport(goldenNet(folder));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'model.py'), modelPy);
    writeFileSync(join(dir, 'model.safetensors'), stateDict);
    writeFileSync(join(dir, 'in.json'), JSON.stringify({ shape: [GOLDEN_N, ...GRAPH_INPUT], data: Array.from(goldenPixels()) }));
    execFileSync(python, [join(dir, 'model.py'), '--input', join(dir, 'in.json'), '--output', join(dir, 'torch-out.json')], { stdio: 'inherit' });
    console.log(`wrote ${dir}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeFixtures(process.argv[2] ?? '/usr/bin/python3');
