/**
 * Whole-network PyTorch parity for a graph: a small ResNet (two residual blocks with batch norm, one
 * with a 1×1-projection shortcut, and a concatenation). Logits, loss, every gradient, and the weights
 * and running statistics after three SGD-momentum steps, against test/fixtures/graph-parity.json
 * (made by test/fixtures/make_graph_parity.py with PyTorch in float64; layouts converted here).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Arena, HeapArena } from '../src/core/arena.js';
import type { Floats } from '../src/core/floats.js';
import { channelsFirstToLast } from '../src/io/layout.js';
import { exportPytorchStateDict, importPytorchStateDict } from '../src/io/pytorch.js';
import { decodeSafetensors, encodeSafetensors, type TensorInput } from '../src/io/safetensors.js';
import { Sequential } from '../src/network/sequential.js';
import { SGD } from '../src/train/optimizers/index.js';
import { assertClose, fixture, host } from './helpers.js';
import { smallResNet } from './interchange-nets.js';

interface T { shape: number[]; data: number[] }
type Tensors = Record<string, Record<string, T>>;
interface Parity {
  x: T; labels: number[]; params: Tensors; logits: T; loss: number; grads: Tensors;
  params_after: Tensors; buffers_after: Tensors;
}

const fx = fixture<Parity>('graph-parity.json');


/** PyTorch's layout → Descent's: NCHW activations and [O, C, KH, KW] conv weights to channels-last. */
function toLast(t: T): Float64Array {
  if (t.shape.length !== 4) return Float64Array.from(t.data);
  const [a, b, c, d] = t.shape;
  return channelsFirstToLast(t.data, a, b, c, d, new Float64Array(a * b * c * d)) as Float64Array;
}

function build(arena: Arena): Sequential {
  const net = Sequential.fromConfig({ inputShape: [6, 6, 3], layers: smallResNet }, { arena, seed: 1 });
  each(net, fx.params, (view, t) => view.set(toLast(t)));
  return net;
}

/** Calls `f` with the view of every tensor the fixture names, as node → tensor name. */
function each(net: Sequential, tensors: Tensors, f: (view: Floats, t: T, what: string) => void, kind: 'params' | 'grads' | 'buffers' = 'params'): void {
  let count = 0;
  for (const [node, byName] of Object.entries(tensors)) {
    const k = net.topology.names.indexOf(node);
    assert.ok(k >= 0, `no node "${node}" in the Descent network`);
    for (const [name, t] of Object.entries(byName)) {
      const view = net.layers[k][kind][name];
      assert.ok(view, `node "${node}" has no ${kind} "${name}"`);
      f(host(view), t, `${node}.${name}`);
      count++;
    }
  }
  assert.ok(count > 0);
}

function run(arena: Arena, tol: number): void {
  const net = build(arena), N = fx.labels.length;
  assert.equal(net.parameterCount, Object.values(fx.params).flatMap((p) => Object.values(p)).reduce((n, t) => n + t.data.length, 0));
  const x = toLast(fx.x), labels = Int32Array.from(fx.labels);
  const risk = net.gradient(x, { labels }, N);
  const K = net.layers.length;
  assertClose(host(net.activation(K - 1)).subarray(0, N * 5), fx.logits.data, tol, 'logits', 1e-3);
  assertClose([risk], [fx.loss], tol, 'loss');
  each(net, fx.grads, (view, t, what) => assertClose(Array.from(view), toLast(t), tol, `∂L/∂${what}`, 1e-3), 'grads');
  const sgd = new SGD({ lr: 0.1, momentum: 0.9 }, net.parameterCount, arena); // momentum in the precision of w
  sgd.step(net.w, net.g);
  for (let step = 2; step <= 3; step++) {
    net.gradient(x, { labels }, N);
    sgd.step(net.w, net.g);
  }
  each(net, fx.params_after, (view, t, what) => assertClose(Array.from(view), toLast(t), tol, `${what} after 3 steps`, 1e-3));
  each(net, fx.buffers_after, (view, t, what) => assertClose(Array.from(view), toLast(t), tol, `${what} after 3 steps`, 1e-3), 'buffers');
}

describe('PyTorch parity of a small ResNet with a concatenation (graph network)', () => {
  it('float64: logits, loss, every gradient and the weights after three SGD-momentum steps within 1e-5', () => {
    run(new HeapArena('float64'), 1e-5);
  });

  it('float32 (as training runs): the same within 1e-4', () => {
    run(new HeapArena('float32'), 1e-4);
  });

  it('the check can fail: the concatenation in the wrong order is caught', () => {
    const wrong = smallResNet.map((c) => (c.name === 'cat' ? { ...c, inputs: ['b1.pool', 'b2.relu2'] } : c));
    const net = Sequential.fromConfig({ inputShape: [6, 6, 3], layers: wrong }, { arena: new HeapArena('float64') });
    each(net, fx.params, (view, t) => view.set(toLast(t)));
    net.forward(toLast(fx.x), fx.labels.length, true);
    assert.throws(() => assertClose(host(net.activation(net.layers.length - 1)).subarray(0, 20), fx.logits.data, 1e-5, 'logits', 1e-3));
  });

  it('a PyTorch state_dict of the same modules (node names as module paths) imports by name and exports back', () => {
    const tensors = new Map<string, TensorInput>();
    for (const [node, byName] of Object.entries(fx.params)) {
      for (const [name, t] of Object.entries(byName)) tensors.set(`${node}.${name}`, { shape: t.shape, data: Float64Array.from(t.data) });
      if (node.includes('bn')) {
        const C = byName.weight.shape[0];
        tensors.set(`${node}.running_mean`, { shape: [C], data: new Float32Array(C) });
        tensors.set(`${node}.running_var`, { shape: [C], data: new Float32Array(C).fill(1) });
        tensors.set(`${node}.num_batches_tracked`, { dtype: 'I64', shape: [], data: new BigInt64Array(1) });
      }
    }
    const net = importPytorchStateDict(encodeSafetensors(tensors), { inputShape: [6, 6, 3], layers: smallResNet },
      { arena: new HeapArena('float64') });
    net.forward(toLast(fx.x), fx.labels.length, true);
    assertClose(host(net.activation(net.layers.length - 1)).subarray(0, 20), fx.logits.data, 1e-5, 'logits after import', 1e-3);
    const back = decodeSafetensors(exportPytorchStateDict(net)).tensors;
    assert.deepEqual([...back.keys()].sort(), [...tensors.keys()].sort());
    const w = back.get('b2.shortcut.conv.weight')!;
    assert.deepEqual(w.shape, [8, 4, 1, 1]);
    assertClose(Array.from(w.data as Float32Array), fx.params['b2.shortcut.conv'].weight.data, 1e-6, 'exported weight');
    const c = back.get('b1.conv1.weight')!;
    assertClose(Array.from(c.data as Float32Array), fx.params['b1.conv1'].weight.data, 1e-6, 'exported conv weight [O, C, KH, KW]');
  });
});
