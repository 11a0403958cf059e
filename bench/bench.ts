/**
 * `npm run bench`: training and inference throughput of NET-A and NET-B (MNIST-shaped input) and
 * ResNet-20 (32×32×3, the `resnet20` preset), batch 64, SGD with momentum, on the reference engine, the WebAssembly engine on one thread and on all
 * cores, and TensorFlow.js 4.22's CPU backend, side by side in one process. Reports images/s (median
 * of ≥ 5 windows after warm-up, with min and max), GFLOP/s, memory, and ratios to TensorFlow.js,
 * and writes the same as JSON (bench-results.json, or the path given as an argument; --no-tfjs
 * leaves TensorFlow.js out for a quick run).
 * A training step here is what the Trainer does per mini-batch: forward, risk, back-propagation
 * into g, and the optimizer's update of w.
 * Before and after, a machine probe (probe.ts) says what this core gives WebAssembly at the time,
 * and the 512³ matrix multiply is timed; the speed targets of issue #14 (training img/s, and the
 * ratios to PyTorch in the same run) are checked at the end, each img/s target beside its ceiling
 * (ceiling.ts: every multiply of the step at the tile probe's speed, nothing else taking time).
 * Every step gathers a batch of real MNIST digits from a pool of 6,400 training images (ResNet-20: of
 * generated CIFAR-format images, cifar-pool.ts; TensorFlow.js is left out of its row, too slow to time).
 * --nets=NET-A,resnet20 (or --nets resnet20) measures only those networks (names without case or dash).
 * When Debian's python3-torch is installed (bench/setup-pytorch.sh; --no-pytorch leaves it out),
 * PyTorch runs the same protocol in a separate process (pytorch-peer.ts), in ROUNDS rounds
 * interleaved with the WebAssembly engine on all cores, and Descent/PyTorch ratios are the median
 * of the rounds' ratios. --conv=auto|direct|winograd|both picks the 3×3 convolution kernels of
 * the WebAssembly engine (both: a row for each, side by side).
 * --engine webgpu runs the WebGPU benchmark instead (webgpu-bench.ts).
 */
import { availableParallelism, cpus } from 'node:os';
import { Rng } from '../src/core/rng.js';
import { Sequential } from '../src/network/sequential.js';
import { type Engine, createEngine, referenceEngine } from '../src/node/engine.js';
import { writeFileAtomic } from '../src/node/files.js';
import { createOptimizer } from '../src/train/optimizers/index.js';
import { bestOf, timeSteps, type Timing } from './measure.js';
import { probe, type Probe } from './probe.js';
import { ceilingImagesPerSecond } from './ceiling.js';
import { BENCH_NETWORKS, type BenchNetwork, forwardFlops, selectNetworks } from './networks.js';
import { poolFor } from './image-pool.js';
import { tfjsPeer } from './tfjs-peer.js';
import { PytorchPeer, pytorchVersion } from './pytorch-peer.js';
import type { ConvAlgorithm } from '../src/engine/winograd.js';
import { hostFloats } from '../src/core/tensor.js';

const BATCH = 64;
const args = process.argv.slice(2);
const engineFlag = args.findIndex((a) => a === '--engine' || a.startsWith('--engine='));
if (engineFlag >= 0) {
  // --engine webgpu: the GPU benchmark (webgpu-bench.ts) instead of the CPU engines'.
  const kind = args[engineFlag].includes('=') ? args[engineFlag].slice(9) : args[engineFlag + 1];
  if (kind !== 'webgpu') throw new Error(`--engine must be webgpu (without it: the CPU engines), got ${kind}`);
  await (await import('./webgpu-bench.js')).webgpuBench(args);
  process.exit(0); // Dawn's instance would keep the process alive
}
const netsAt = args.indexOf('--nets');
/** --nets=a,b or --nets a,b: the networks to measure (default all), matched without case or dashes. */
const netsArg = args.find((a) => a.startsWith('--nets='))?.slice(7) ?? (netsAt >= 0 ? args[netsAt + 1] ?? '' : undefined);
const out = args.find((a, i) => !a.startsWith('--') && !(netsAt >= 0 && i === netsAt + 1)) ?? 'bench-results.json';
/** --no-tfjs: Descent's rows only (a quick run; the ratios to TF.js are then left out). */
const withTfjs = !args.includes('--no-tfjs');
/** --quick: short windows everywhere, to check that the benchmark runs (its numbers mean little). */
const quick = args.includes('--quick');
const QUICK = { windows: 2, windowSeconds: 0.2, warmupSeconds: 0.2, budgetSeconds: 2 };
const cores = availableParallelism();
const convArg = (args.find((a) => a.startsWith('--conv=')) ?? '--conv=auto').slice(7);
if (!['auto', 'direct', 'winograd', 'both'].includes(convArg)) throw new Error(`--conv must be auto, direct, winograd or both, got ${convArg}`);
const convs: ConvAlgorithm[] = convArg === 'both' ? ['direct', 'winograd'] : [convArg as ConvAlgorithm];
const torch = args.includes('--no-pytorch') ? null : pytorchVersion();
const ROUNDS = 3;
const networks = selectNetworks(netsArg);

interface Row {
  network: string;
  conv?: ConvAlgorithm;
  engine: string;
  threads: number;
  train: Timing;
  infer: Timing;
  trainGflops: number;
  inferGflops: number;
  memoryMiB: number;
  trainVsTfjs?: number;
  inferVsTfjs?: number;
  trainVsPytorch?: number;
  inferVsPytorch?: number;
}

/** The reference engine's windows: short, and for ResNet-20 (seconds per step) a step or two. */
const slowBudget = (name: BenchNetwork) => name === 'ResNet-20'
  ? { windows: 2, windowSeconds: 0.1, warmupSeconds: 0, budgetSeconds: 1 }
  : { windowSeconds: 0.5, warmupSeconds: 0.1, budgetSeconds: 20 };

async function measureDescent(name: BenchNetwork, engine: Engine, slow: boolean,
  options: { windows?: number; windowSeconds?: number } = {}): Promise<Row> {
  const rss0 = process.memoryUsage().rss;
  const net = Sequential.fromConfig(BENCH_NETWORKS[name], { seed: 1, arena: engine.arena, kernels: engine.kernels });
  const pool = poolFor(name);
  const optimizer = createOptimizer({ kind: 'sgd', lr: 0.01, momentum: 0.9 }, net.parameterCount, engine.arena, engine.kernels);
  const rng = new Rng(7), labels = new Int32Array(BATCH);
  const input = net.inputBuffer(BATCH);
  const budget = slow && (name === 'ResNet-20' || !quick) ? slowBudget(name) : quick ? QUICK : options;
  const train = await timeSteps(() => {
    pool.gather(rng, input, labels, BATCH);
    net.gradient(input, { labels }, BATCH);
    optimizer.step(net.w, net.g);
  }, BATCH, budget);
  const infer = await timeSteps(() => {
    pool.gather(rng, input, labels, BATCH);
    net.forward(input, BATCH, false);
  }, BATCH, budget);
  const flops = forwardFlops(net);
  return {
    network: name, engine: engine.name, threads: engine.threads, train, infer,
    trainGflops: (3 * flops * train.median) / 1e9, inferGflops: (flops * infer.median) / 1e9,
    memoryMiB: Math.max(0, process.memoryUsage().rss - rss0) / 2 ** 20,
  };
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));
const cell = (t: Timing) => `${fmt(t.median)} (${fmt(t.min)}–${fmt(t.max)}, ${t.windows}w)`;

const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
const showProbe = (when: string, p: Probe) => console.log(`machine probe (${when}): clock ≈ ${p.clockGHz.toFixed(2)} GHz, ` +
  `128-bit SIMD ceiling ${p.simdCeilingGflops.toFixed(1)} GFLOP/s per core; the 4×8 register tile on L1 data: ` +
  `${p.tileGflops.toFixed(1)} GFLOP/s on 1 thread, ${p.tileAllCores.map((v) => v.toFixed(1)).join(' + ')} = ` +
  `${sum(p.tileAllCores).toFixed(1)} on ${p.tileAllCores.length} at once`);

/** C = A·B, 512³, on the WebAssembly engine: best of 20 after half a second of warm-up, GFLOP/s. */
async function matmul512(threads: number): Promise<number> {
  const engine = await createEngine('wasm', threads);
  try {
    const n = 512, rng = new Rng(3);
    const [a, b, c] = [0, 1, 2].map(() => hostFloats(engine.arena.floats(n * n), 'bench'));
    for (let i = 0; i < n * n; i++) { a[i] = rng.uniform() - 0.5; b[i] = rng.uniform() - 0.5; }
    const run = () => engine.kernels.matmul(a, b, c, n, n, n, false, false, false);
    for (const end = performance.now() + 500; performance.now() < end;) run();
    const { wallMs } = bestOf(20, run, threads);
    return (2 * n ** 3) / wallMs / 1e6;
  } finally {
    await engine.dispose();
  }
}

const rows: Row[] = [];

const median = (a: number[]) => { const s = [...a].sort((p, q) => p - q), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

/**
 * PyTorch against the WebAssembly engine on all cores, ROUNDS rounds, each a Descent measurement
 * then a PyTorch one (alternating which goes first): a PyTorch row (medians of the rounds) and,
 * on the Descent rows of `cores` threads, the median of the rounds' ratios.
 */
async function pytorchRounds(name: BenchNetwork): Promise<void> {
  const pool = poolFor(name);
  const peer = new PytorchPeer(pool.x, pool.labels, BENCH_NETWORKS[name].inputShape);
  try {
    for (const conv of convs) {
      const ours: Row[] = [], theirs: { train: Timing; infer: Timing }[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const descent = async () => {
          const engine = await wasmEngine(cores, conv);
          try { ours.push(await measureDescent(name, engine, false, { windows: 3 })); } finally { await engine.dispose(); }
        };
        const pytorch = () => theirs.push(quick ? peer.measure(name, cores, 2, 0.2) : peer.measure(name, cores, 3));
        if (r % 2) { pytorch(); await descent(); } else { await descent(); pytorch(); }
        console.log(`${name} round ${r + 1}: wasm${conv === 'auto' ? '' : ` (${conv})`} ${cores}T train ${fmt(ours[r].train.median)} / PyTorch ` +
          `${fmt(theirs[r].train.median)} img/s, infer ${fmt(ours[r].infer.median)} / ${fmt(theirs[r].infer.median)}`);
      }
      const trainVs = median(ours.map((o, i) => o.train.median / theirs[i].train.median));
      const inferVs = median(ours.map((o, i) => o.infer.median / theirs[i].infer.median));
      for (const row of rows.filter((x) => x.network === name && x.engine === 'wasm' && x.threads === cores && x.conv === conv)) {
        row.trainVsPytorch = trainVs;
        row.inferVsPytorch = inferVs;
      }
      console.log(`${name} Descent/PyTorch (${cores} threads, median of ${ROUNDS} interleaved rounds): train ${trainVs.toFixed(2)}×, infer ${inferVs.toFixed(2)}×`);
      if (conv !== convs[0]) continue;
      const timing = (k: 'train' | 'infer'): Timing => ({ median: median(theirs.map((t) => t[k].median)),
        min: Math.min(...theirs.map((t) => t[k].min)), max: Math.max(...theirs.map((t) => t[k].max)),
        windows: theirs.reduce((s, t) => s + t[k].windows, 0), steps: theirs.reduce((s, t) => s + t[k].steps, 0) });
      const first = rows.find((x) => x.network === name)!;
      const perImage = first.inferGflops / first.infer.median;
      const train = timing('train'), infer = timing('infer');
      rows.push({ network: name, engine: `pytorch ${torch}`, threads: cores, train, infer, trainGflops: 3 * perImage * train.median,
        inferGflops: perImage * infer.median, memoryMiB: 0 });
    }
  } finally {
    peer.dispose();
  }
}
console.log(`Descent benchmark: ${networks.join(', ')}; batch ${BATCH} of real MNIST digits (ResNet-20: generated 32×32×3 images), SGD momentum 0.9, ${cores} cores (${cpus()[0]?.model ?? '?'}), ` +
  `Node ${process.version}, 3×3 convolutions: ${convArg}, PyTorch: ${torch ?? 'not installed (bash bench/setup-pytorch.sh)'}`);
/** The WebAssembly engine with its 3×3 convolutions set to conv. */
async function wasmEngine(threads: number, conv: ConvAlgorithm): Promise<Engine> {
  const engine = await createEngine('wasm', threads);
  if ('convAlgorithm' in engine.kernels) (engine.kernels as { convAlgorithm: ConvAlgorithm }).convAlgorithm = conv;
  return engine;
}
const engineLabel = (r: Row) => r.engine + (r.conv && r.conv !== 'auto' ? ` (${r.conv})` : '');
const probeStart = await probe(cores);
showProbe('start', probeStart);
const timeMatmul = async (when: string) => {
  const m = { oneThread: await matmul512(1), allThreads: cores > 1 ? await matmul512(cores) : undefined };
  console.log(`matmul 512³ (${when}, best of 20): ${m.oneThread.toFixed(1)} GFLOP/s on 1 thread` +
    (m.allThreads ? `, ${m.allThreads.toFixed(1)} on ${cores}` : ''));
  return m;
};
const matmulStart = await timeMatmul('start');
for (const name of networks) {
  const engines: [() => Promise<Engine>, ConvAlgorithm?][] = [
    [async () => referenceEngine()],
    ...convs.map((c): [() => Promise<Engine>, ConvAlgorithm] => [() => wasmEngine(1, c), c]),
    ...(cores > 1 ? convs.map((c): [() => Promise<Engine>, ConvAlgorithm] => [() => wasmEngine(cores, c), c]) : []),
  ];
  for (const [make, conv] of engines) {
    const engine = await make();
    try {
      const row = await measureDescent(name, engine, engine.name === 'reference');
      row.conv = conv;
      rows.push(row);
      console.log(`${name} ${engineLabel(row).padEnd(9)} ${engine.threads}T  train ${cell(row.train)} img/s ${row.trainGflops.toFixed(1)} GFLOP/s | ` +
        `infer ${cell(row.infer)} img/s ${row.inferGflops.toFixed(1)} GFLOP/s | +${row.memoryMiB.toFixed(0)} MiB`);
    } finally {
      await engine.dispose();
    }
  }
  if (torch) await pytorchRounds(name);
  if (!withTfjs || name === 'ResNet-20') continue;
  const peer = await tfjsPeer(name, BATCH);
  // TF.js does the same arithmetic per image as Descent's network.
  const first = rows.find((r) => r.network === name)!;
  const perImage = first.inferGflops / first.infer.median;
  const tfRow: Row = { network: name, engine: 'tfjs-cpu', threads: 1, train: peer.train, infer: peer.infer,
    trainGflops: 3 * perImage * peer.train.median, inferGflops: perImage * peer.infer.median, memoryMiB: peer.memoryMiB };
  rows.push(tfRow);
  console.log(`${name} tfjs-cpu  1T  train ${cell(peer.train)} img/s | infer ${cell(peer.infer)} img/s | +${peer.memoryMiB.toFixed(0)} MiB`);
  for (const r of rows.filter((r) => r.network === name && r.engine !== 'tfjs-cpu')) {
    r.trainVsTfjs = r.train.median / peer.train.median;
    r.inferVsTfjs = r.infer.median / peer.infer.median;
  }
}

console.log('\n| network | engine | threads | train img/s (min–max) | train GFLOP/s | infer img/s (min–max) | infer GFLOP/s | × TF.js train | × TF.js infer | × PyTorch train | × PyTorch infer |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
const ratio = (v: number | undefined, digits = 1) => (v ? v.toFixed(digits) : '–');
for (const r of rows) {
  console.log(`| ${r.network} | ${engineLabel(r)} | ${r.threads} | ${fmt(r.train.median)} (${fmt(r.train.min)}–${fmt(r.train.max)}) | ${r.trainGflops.toFixed(1)} | ` +
    `${fmt(r.infer.median)} (${fmt(r.infer.min)}–${fmt(r.infer.max)}) | ${r.inferGflops.toFixed(1)} | ` +
    `${ratio(r.trainVsTfjs)} | ${ratio(r.inferVsTfjs)} | ${ratio(r.trainVsPytorch, 2)} | ${ratio(r.inferVsPytorch, 2)} |`);
}
console.log(`peak resident memory of the process: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
const probeEnd = await probe(cores);
showProbe('end', probeEnd);
const matmulEnd = await timeMatmul('end');
// The kernel's speed: the better of the two measurements (each a best of 20; a neighbour can slow either).
const matmul = { start: matmulStart, end: matmulEnd, oneThread: Math.max(matmulStart.oneThread, matmulEnd.oneThread) };

// Issue #14's targets, with what bounds each on this machine now.
const row = (network: string, threads: number) => rows.find((r) => r.network === network && r.engine === 'wasm' && r.threads === threads);
const tileAll = Math.max(sum(probeStart.tileAllCores), sum(probeEnd.tileAllCores));
const targets: { what: string; target: number; got: number; ceiling?: number; note: string }[] = [];
/** Training img/s wanted of a network on every core, and what that needs of the tile. */
const speedTarget = (network: string, wanted: number) => {
  const r = row(network, cores);
  if (!r) return;
  const needed = wanted * r.trainGflops / r.train.median;
  const ceiling = ceilingImagesPerSecond(BENCH_NETWORKS[network as BenchNetwork], tileAll);
  targets.push({ what: `${network} training, ${cores} threads (img/s)`, target: wanted, got: r.train.median, ceiling,
    note: `best window ${fmt(r.train.max)}; ${fmt(wanted)} img/s needs ${needed.toFixed(1)} GFLOP/s sustained over the whole step, ` +
      `the tile probe on ${cores} cores at once gives ${tileAll.toFixed(1)} (measured: ${r.trainGflops.toFixed(1)}, ` +
      `${(100 * r.trainGflops / tileAll).toFixed(0)}% of it); ceiling ${fmt(ceiling)} img/s (every multiply the engine runs, ` +
      `Winograd's where it takes it, at the tile probe, nothing else taking time): the target is ${(100 * wanted / ceiling).toFixed(0)}% of it, ` +
      `the measurement ${(100 * r.train.median / ceiling).toFixed(0)}%` });
};
/** Descent/PyTorch wanted in the same run; `today`: the ratio when the issue was filed. */
const peerTarget = (network: string, pass: 'train' | 'infer', wanted: number, note: string) => {
  const r = row(network, cores), got = pass === 'train' ? r?.trainVsPytorch : r?.inferVsPytorch;
  if (got) targets.push({ what: `${network} ${pass === 'train' ? 'training' : 'inference'} × PyTorch, ${cores} threads`, target: wanted, got, note });
};
speedTarget('NET-A', 25_000);
speedTarget('NET-B', 1_900);
peerTarget('NET-A', 'train', 1, 'median of the interleaved rounds');
peerTarget('NET-B', 'train', 1, 'median of the interleaved rounds');
peerTarget('NET-A', 'infer', 1.14, 'as far ahead as when the issue was filed (52,501 against 46,255)');
peerTarget('NET-B', 'infer', 5.17, 'as far ahead as when the issue was filed (3,067 against 593, a PyTorch figure the issue calls erratic; its best was 3,256)');
console.log('\n| target | wanted | measured | met | note |\n|---|---:|---:|:---:|---|');
for (const t of targets) {
  const num = (v: number) => (v < 10 ? v.toFixed(2) : fmt(v));
  console.log(`| ${t.what} | ${num(t.target)} | ${num(t.got)} | ${t.got >= t.target ? 'yes' : 'no'} | ${t.note} |`);
}
writeFileAtomic(out, JSON.stringify({ date: new Date().toISOString(), node: process.version, cores, cpu: cpus()[0]?.model, batch: BATCH,
  peakRssMiB: process.resourceUsage().maxRSS / 1024, probe: { start: probeStart, end: probeEnd }, matmul, rows, targets }, null, 2));
console.log(`results written to ${out}`);
