/**
 * `npm run bench -- --engine webgpu`: NET-A, NET-B and ResNet-20, training and inference images/s,
 * Descent's webgpu engine against TensorFlow.js's WebGPU backend (@tensorflow/tfjs-backend-webgpu,
 * the same 4.22 as the CPU peer) in one process on the same adapter, batch 64, SGD momentum 0.9.
 * Each network is built once per side, then measured in ROUNDS rounds, each a Descent measurement
 * and a TF.js one (alternating which goes first); Descent/TF.js is the median of the rounds' ratios.
 *
 * Options: --gpu-adapter system|swiftshader (default: the system's GPU, else SwiftShader with a
 * line saying so; DESCENT_GPU_ADAPTER does the same), --nets NET-A,NET-B,ResNet-20 (as the CPU benchmark), --batch N,
 * --quick (batch 8, one step per measurement: checks that everything runs; its numbers mean
 * nothing), and the path of the JSON results (default bench-webgpu-results.json).
 * On SwiftShader (a CPU Vulkan driver) the images/s are a CPU's, not a GPU's: only the ratio says
 * something, about the two libraries' kernels and dispatch on the same adapter.
 */
import { createEngine } from '../src/node/engine.js';
import type { Engine, EngineOptions } from '../src/engine/engine.js';
import { nodeGpu } from '../src/engine/node-webgpu.js';
import { writeFileAtomic } from '../src/node/files.js';
import { descentContender, descentNetwork } from './descent-webgpu.js';
import { poolFor } from './image-pool.js';
import { timeSteps, type Contender, type Timing } from './measure.js';
import { type BenchNetwork, forwardFlops, selectNetworks } from './networks.js';
import { startTfjsWebgpu, tfjsContender } from './tfjs-webgpu-peer.js';

type Adapter = NonNullable<EngineOptions['gpuAdapter']>;

interface Options { adapter?: Adapter; networks: BenchNetwork[]; batch: number; quick: boolean; out: string }

/** The value of `--name value` or `--name=value`. */
function flag(args: string[], name: string): string | undefined {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  return args[i].includes('=') ? args[i].slice(name.length + 1) : args[i + 1];
}

function parse(args: string[]): Options {
  const adapter = flag(args, '--gpu-adapter') ?? process.env.DESCENT_GPU_ADAPTER;
  if (adapter !== undefined && adapter !== 'system' && adapter !== 'swiftshader') {
    throw new Error(`--gpu-adapter must be system or swiftshader, got ${adapter}`);
  }
  const networks = selectNetworks(flag(args, '--nets'));
  const quick = args.includes('--quick');
  const batch = Number(flag(args, '--batch') ?? (quick ? 8 : 64));
  if (!Number.isInteger(batch) || batch < 1) throw new Error(`--batch must be a positive integer, got ${flag(args, '--batch')}`);
  const valued = new Set(['--gpu-adapter', '--nets', '--batch', '--engine']);
  const out = args.find((a, i) => !a.startsWith('--') && !valued.has(args[i - 1])) ?? 'bench-webgpu-results.json';
  return { adapter: adapter as Adapter | undefined, networks, batch, quick, out };
}

/** The webgpu engine on the adapter asked for; without one, the system's GPU, else SwiftShader (saying why). */
async function openEngine(adapter: Adapter | undefined): Promise<{ engine: Engine; adapter: Adapter }> {
  if (adapter) return { engine: await createEngine({ kind: 'webgpu', gpuAdapter: adapter }), adapter };
  try {
    return { engine: await createEngine({ kind: 'webgpu', gpuAdapter: 'system' }), adapter: 'system' };
  } catch (e) {
    console.log(`no GPU adapter (${(e as Error).message}): measuring on SwiftShader, a CPU driver`);
    return { engine: await createEngine({ kind: 'webgpu', gpuAdapter: 'swiftshader' }), adapter: 'swiftshader' };
  }
}

const median = (a: number[]) => { const s = [...a].sort((p, q) => p - q), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));

/** The rounds' timings as one: the median of their medians, the extremes of their windows. */
function pooled(t: Timing[]): Timing {
  return { median: median(t.map((x) => x.median)), min: Math.min(...t.map((x) => x.min)), max: Math.max(...t.map((x) => x.max)),
    windows: t.reduce((s, x) => s + x.windows, 0), steps: t.reduce((s, x) => s + x.steps, 0) };
}

type Budget = Parameters<typeof timeSteps>[2];

interface Row {
  network: BenchNetwork;
  forwardFlopsPerImage: number;
  trainVsTfjs: number;
  inferVsTfjs: number;
  descent: { train: Timing; infer: Timing };
  tfjs: { train: Timing; infer: Timing };
}

/** One network, built once per side, measured in `rounds` rounds that alternate which side goes first. */
async function measureNetwork(name: BenchNetwork, engine: Engine, o: Options, rounds: number, budget: Budget): Promise<Row> {
  const pool = poolFor(name);
  const net = descentNetwork(name, engine);
  const sides: Record<'descent' | 'tfjs', { c: Contender; train: Timing[]; infer: Timing[] }> = {
    descent: { c: descentContender(net, engine, pool, o.batch), train: [], infer: [] },
    tfjs: { c: tfjsContender(name, pool, o.batch), train: [], infer: [] },
  };
  try {
    for (let r = 0; r < rounds; r++) {
      for (const s of r % 2 ? [sides.tfjs, sides.descent] : [sides.descent, sides.tfjs]) {
        s.train.push(await timeSteps(() => s.c.train(), o.batch, budget));
        s.infer.push(await timeSteps(() => s.c.infer(), o.batch, budget));
      }
      console.log(`${name} round ${r + 1}: train Descent ${fmt(sides.descent.train[r].median)} / TF.js ${fmt(sides.tfjs.train[r].median)} img/s, ` +
        `infer ${fmt(sides.descent.infer[r].median)} / ${fmt(sides.tfjs.infer[r].median)}`);
    }
  } finally {
    sides.tfjs.c.dispose();
  }
  const ratio = (k: 'train' | 'infer') => median(sides.descent[k].map((d, i) => d.median / sides.tfjs[k][i].median));
  return { network: name, forwardFlopsPerImage: forwardFlops(net), trainVsTfjs: ratio('train'), inferVsTfjs: ratio('infer'),
    descent: { train: pooled(sides.descent.train), infer: pooled(sides.descent.infer) },
    tfjs: { train: pooled(sides.tfjs.train), infer: pooled(sides.tfjs.infer) } };
}

function printTable(rows: Row[]): void {
  const cell = (t: Timing) => `${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)})`;
  console.log(`\n| network | Descent train img/s (min–max) | TF.js train img/s | Descent/TF.js train | Descent infer img/s (min–max) | TF.js infer img/s | Descent/TF.js infer |`);
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(`| ${r.network} | ${cell(r.descent.train)} | ${cell(r.tfjs.train)} | ${r.trainVsTfjs.toFixed(2)}× | ` +
      `${cell(r.descent.infer)} | ${cell(r.tfjs.infer)} | ${r.inferVsTfjs.toFixed(2)}× |`);
  }
}

export async function webgpuBench(args: string[]): Promise<void> {
  const o = parse(args);
  const rounds = o.quick ? 1 : 3;
  const budget: Budget = o.quick ? { windows: 1, windowSeconds: 0, warmupSeconds: 0 }
    : { windows: 3, windowSeconds: 1, warmupSeconds: 1, budgetSeconds: 60 };
  const { engine, adapter } = await openEngine(o.adapter);
  const { adapter: tfAdapter, version } = await startTfjsWebgpu(await nodeGpu({ swiftshader: adapter === 'swiftshader' }));
  const descentAdapter = engine.adapter ?? '?', software = adapter === 'swiftshader';
  console.log(`Descent WebGPU benchmark: batch ${o.batch}, SGD momentum 0.9, ${rounds} interleaved round(s); ` +
    `Descent on ${descentAdapter}, TF.js ${version} webgpu on ${tfAdapter}` + (o.quick ? ' (--quick: the numbers mean nothing)' : ''));
  if (!descentAdapter.startsWith(tfAdapter)) console.log('warning: the two libraries got different adapters');
  if (software) console.log('SwiftShader runs on the CPU: images/s are not a GPU figure; the ratio compares the two libraries on one adapter');
  const rows: Row[] = [];
  try {
    for (const name of o.networks) rows.push(await measureNetwork(name, engine, o, rounds, budget));
  } finally {
    await engine.dispose();
  }
  printTable(rows);
  console.log(`adapter: ${descentAdapter}${software ? ' (SwiftShader: a CPU driver, so a ratio, not a GPU figure)' : ''}`);
  writeFileAtomic(o.out, JSON.stringify({ date: new Date().toISOString(), node: process.version, adapter: descentAdapter,
    tfjsAdapter: tfAdapter, tfjs: version, software, batch: o.batch, rounds, quick: o.quick, rows }, null, 2));
  console.log(`results written to ${o.out}`);
}
