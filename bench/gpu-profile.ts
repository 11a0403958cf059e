/**
 * Per-kernel time of one training step (forward, loss, backward, Adam) of a network on the webgpu
 * engine: `node dist/bench/gpu-profile.js [--gpu-adapter swiftshader|system] [--net NET-A] [--batch 64]
 * [--reps 3]`. After a warm-up step (pipelines are made then), every dispatch is submitted and waited
 * for alone, so each kernel's time is its own; the sum is more than a real step, which overlaps
 * dispatches and waits once. Then whole steps are timed the normal way (one wait per step).
 */
import { Rng } from '../src/core/rng.js';
import { createEngine } from '../src/node/engine.js';
import type { EngineOptions } from '../src/engine/engine.js';
import type { GpuKernels } from '../src/engine/webgpu/gpu-kernels.js';
import type { WebGpuKernels } from '../src/engine/webgpu/engine.js';
import type { KernelSpec } from '../src/engine/webgpu/shaders/spec.js';
import { createOptimizer } from '../src/train/optimizers/index.js';
import { descentNetwork } from './descent-webgpu.js';
import { BENCH_NETWORKS, type BenchNetwork } from './networks.js';

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : fallback;
}

type Dispatch = (spec: KernelSpec, tensors: unknown[], scalars: Record<string, number | boolean>, x: number, y: number) => void;

/** Wraps the kernels' private dispatch so that each one is timed alone (submitted and waited for). */
function timeEachDispatch(gpu: GpuKernels, totals: Map<string, { ms: number; calls: number; groups: number }>): () => Promise<void> {
  const inner = gpu as unknown as { dispatch: Dispatch };
  const original = inner.dispatch.bind(gpu);
  const queue: { name: string; run: () => void; groups: number }[] = [];
  inner.dispatch = (spec, tensors, scalars, x, y) => {
    const label = spec.name === 'matmul' ? `matmul ${scalars.GM}x${scalars.GN}x${scalars.GK}` :
      'GM' in scalars ? `${spec.name} ${scalars.GM}x${scalars.GN}x${scalars.GK}` : spec.name;
    queue.push({ name: label, run: () => original(spec, tensors, scalars, x, y), groups: x * y });
  };
  // Dispatches are replayed one by one when the step is done recording (reads and writes are in order).
  return async () => {
    inner.dispatch = original;
    for (const d of queue) {
      const t0 = performance.now();
      d.run();
      await gpu.finish();
      const e = totals.get(d.name) ?? { ms: 0, calls: 0, groups: d.groups };
      e.ms += performance.now() - t0;
      e.calls++;
      totals.set(d.name, e);
    }
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const adapter = flag(args, '--gpu-adapter', 'swiftshader') as EngineOptions['gpuAdapter'];
  const name = flag(args, '--net', 'NET-A') as BenchNetwork;
  if (!(name in BENCH_NETWORKS)) throw new Error(`--net: one of ${Object.keys(BENCH_NETWORKS).join(', ')}`);
  const batch = Number(flag(args, '--batch', '64')), reps = Number(flag(args, '--reps', '3'));
  const engine = await createEngine({ kind: 'webgpu', gpuAdapter: adapter });
  const kernels = engine.kernels as WebGpuKernels, gpu = kernels.gpu, device = kernels.device;
  console.log(`${name}, batch ${batch}, on ${engine.adapter}`);
  const net = descentNetwork(name, engine);
  const optimizer = createOptimizer({ kind: 'adam', lr: 0.001 }, net.parameterCount, engine.arena, engine.kernels);
  const rng = new Rng(3), input = net.inputBuffer(batch), labels = new Int32Array(batch);
  const fill = (): void => {
    for (let i = 0; i < input.length; i++) input[i] = rng.uniform();
    for (let i = 0; i < batch; i++) labels[i] = rng.int(10);
  };
  const step = async (): Promise<void> => {
    fill();
    net.recordGradient(input, { labels }, batch);
    optimizer.step(net.wTensor, net.gTensor);
    await device.read(device.loss);
  };
  let t0 = performance.now();
  await step();
  console.log(`first step (pipelines made): ${(performance.now() - t0).toFixed(0)} ms`);
  const totals = new Map<string, { ms: number; calls: number; groups: number }>();
  for (let r = 0; r < reps; r++) {
    const replay = timeEachDispatch(gpu, totals);
    fill();
    net.recordGradient(input, { labels }, batch);
    optimizer.step(net.wTensor, net.gTensor);
    await replay();
    await device.read(device.loss);
  }
  const rows = [...totals].sort((a, b) => b[1].ms - a[1].ms);
  const sum = rows.reduce((s, [, e]) => s + e.ms, 0) / reps;
  for (const [k, e] of rows) {
    console.log(`${(e.ms / reps).toFixed(1).padStart(9)} ms ${(100 * e.ms / reps / sum).toFixed(1).padStart(5)}%  ${k}` +
      ` (${e.calls / reps} call${e.calls / reps === 1 ? '' : 's'}, ${e.groups} workgroups)`);
  }
  console.log(`${sum.toFixed(1).padStart(9)} ms  sum of the kernels, each waited for alone`);
  t0 = performance.now();
  for (let r = 0; r < reps; r++) await step();
  const ms = (performance.now() - t0) / reps;
  console.log(`${ms.toFixed(1).padStart(9)} ms  a whole step (one wait), ${(batch * 1000 / ms).toFixed(1)} images/s`);
  await engine.dispose();
}

main().catch((e: unknown) => {
  console.error(`gpu-profile: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
