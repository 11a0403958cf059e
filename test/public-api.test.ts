/**
 * The public entry points: the fast engine by default, the reference kernels on request, networks
 * built on an engine, custom layers that save and reload once registered, and the names the
 * README's table promises from descent-cnn/node.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as core from '../src/index.js';
import * as node from '../src/node/index.js';
import { Layer, type LayerConfig } from '../src/layers/layer.js';
import { layerFromConfig, layerTypes, registerLayer } from '../src/layers/registry.js';
import { decodeModel, encodeModel } from '../src/io/model-file.js';
import { Sequential } from '../src/network/sequential.js';
import { createEngine } from '../src/node/engine.js';
import { WasmKernels } from '../src/engine/wasm-kernels.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import type { Floats } from '../src/core/floats.js';
import type { Shape } from '../src/core/shape.js';

/** y = factor · x, elementwise. */
class Scale extends Layer {
  readonly type = 'Scale';
  constructor(readonly factor: number) {
    super();
  }
  protected outputShapeFor(inputShape: Shape): Shape {
    return inputShape;
  }
  forward(x: Floats, y: Floats, N: number): void {
    for (let i = 0; i < N * core.sizeOf(this.inputShape); i++) y[i] = this.factor * x[i];
  }
  backward(_x: Floats, _y: Floats, gy: Floats, gx: Floats | null, N: number): void {
    if (gx) for (let i = 0; i < N * core.sizeOf(this.inputShape); i++) gx[i] = this.factor * gy[i];
  }
  config(): LayerConfig {
    return { type: 'Scale', factor: this.factor };
  }
}

const architecture = { inputShape: [4], layers: [{ type: 'Dense', outFeatures: 3 }, { type: 'Scale', factor: 0.5 }, { type: 'Softmax' }] };

describe('custom layers', () => {
  it('a model with an unregistered layer type is refused, naming it; once registered it saves and reloads bit for bit', () => {
    const net = new Sequential([new core.Dense({ outFeatures: 3 }), new Scale(0.5), new core.Softmax()], { inputShape: [4], seed: 3 });
    const bytes = encodeModel(net);
    if (!layerTypes.includes('Scale')) {
      assert.throws(() => decodeModel(bytes, 'scale.safetensors'), /unknown layer type "Scale"/);
    }
    registerLayer('Scale', (o) => new Scale(o.factor as number));
    const again = decodeModel(bytes, 'scale.safetensors').net;
    assert.deepEqual(again.config(), net.config());
    assert.deepEqual(again.config().layers[1], architecture.layers[1]);
    assert.deepEqual(again.getWeights(), net.getWeights());
    const x = Float32Array.of(1, -2, 0.5, 3);
    assert.deepEqual(again.predict(x, 1).p, net.predict(x, 1).p);
    assert.equal((layerFromConfig({ type: 'Scale', factor: 2 }) as Scale).factor, 2);
  });

  it('refuses to register a built-in name, a name twice, or a bad name', () => {
    assert.throws(() => registerLayer('Dense', () => new Scale(1)), /"Dense" is already registered/);
    registerLayer('Twice', () => new Scale(1));
    assert.throws(() => registerLayer('Twice', () => new Scale(2)), /"Twice" is already registered/);
    assert.throws(() => registerLayer('no spaces', () => new Scale(1)), /must be an identifier/);
  });
});

describe('engines', () => {
  it('createEngine() starts the WebAssembly engine; kind reference gives the reference kernels', async () => {
    const fast = await createEngine({ threads: 1 });
    assert.equal(fast.name, 'wasm');
    assert.ok(fast.kernels instanceof WasmKernels);
    const net = Sequential.fromConfig({ inputShape: [4], layers: [{ type: 'Dense', outFeatures: 2 }] }, { engine: fast });
    assert.equal(net.kernels, fast.kernels);
    assert.equal(net.arena, fast.arena);
    await fast.dispose();
    const slow = await createEngine({ kind: 'reference' });
    assert.equal(slow.name, 'reference');
    assert.equal(slow.kernels, referenceKernels);
    assert.equal((await createEngine('reference')).name, 'reference');
    await assert.rejects(createEngine({ kind: 'gpu' as never }), /unknown engine "gpu"/);
  });
});

describe('entry points', () => {
  it('descent-cnn/node re-exports the core and adds files, data sources, engines and the dashboard', () => {
    for (const name of Object.keys(core)) assert.equal((node as Record<string, unknown>)[name], (core as Record<string, unknown>)[name], name);
    for (const name of ['createEngine', 'createWasmEngine', 'saveModel', 'loadModel', 'importPytorch', 'exportPytorch', 'loadMnist',
      'loadIdxPair', 'loadCsvFile', 'loadImageFolder', 'loadImageFile', 'startDashboard', 'RunRecorder', 'exportModelFiles', 'importModelFile']) {
      assert.equal(typeof (node as Record<string, unknown>)[name], 'function', name);
    }
    for (const name of ['encodeModel', 'decodeModel', 'importPytorchStateDict', 'exportPytorchStateDict', 'registerLayer', 'evaluate',
      'referenceEngine', 'parseIdx', 'parseCsvDataset', 'preset', 'exportOnnx', 'importOnnx', 'exportTfjs', 'exportPytorchModel']) {
      assert.equal(typeof (core as Record<string, unknown>)[name], 'function', name);
    }
  });
});
