/**
 * Time to accuracy: runs `descent train --recipe <name>` once per seed, as a user would (the built CLI,
 * its own JSON), and prints the MNIST test accuracy and the CLI's own time (training + evaluation, from
 * the command's start) per seed, with the machine's load beside each, then whether every seed met the
 * recipe's targets. One run at a time; the runs' folders go to a temporary directory and are removed.
 *
 *   node dist/bench/time-to-accuracy.js [--recipe fast] [--seeds 1,2,3] [--threads n] [-- <more train flags>]
 *
 * Targets: fast ≥ 99.0% in ≤ 30 s, thorough ≥ 99.3% (issue 14). Times mean something only on a quiet
 * machine: the load average is printed so that a busy one shows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const TARGETS: Record<string, { accuracy: number; seconds?: number }> = { fast: { accuracy: 0.99, seconds: 30 }, thorough: { accuracy: 0.993 } };
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

const { values, positionals } = parseArgs({
  options: { recipe: { type: 'string', default: 'fast' }, seeds: { type: 'string', default: '1,2,3' }, threads: { type: 'string' } },
  allowPositionals: true,
});
const seeds = values.seeds.split(',').map((s) => {
  if (!/^\d+$/.test(s)) {
    console.error(`--seeds: expected seeds like 1,2,3, got "${values.seeds}"`);
    process.exit(1);
  }
  return s;
});

interface Run { seed: string; accuracy: number; seconds: number; epochs: number; imagesPerSecond: number; load: [number, number] }

/** One training run; its epoch lines give the training throughput, its last line the result. */
function run(seed: string, dir: string): Run {
  const before = loadavg()[0]!;
  const args = [CLI, 'train', '--recipe', values.recipe, '--seed', seed, '--json', '--out', join(dir, `seed-${seed}`),
    ...(values.threads ? ['--threads', values.threads] : []), ...positionals];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    console.error(`seed ${seed}: descent train failed (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1)}`);
    process.exit(1);
  }
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const result = lines.at(-1) as { seconds: number; epochs: number; test: { accuracy: number } };
  const epochs = lines.filter((l) => l.type === 'epoch') as { imagesPerSecond: number }[];
  const imagesPerSecond = epochs.reduce((s, e) => s + e.imagesPerSecond, 0) / Math.max(1, epochs.length);
  return { seed, accuracy: result.test.accuracy, seconds: result.seconds, epochs: result.epochs, imagesPerSecond, load: [before, loadavg()[0]!] };
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}

const dir = mkdtempSync(join(tmpdir(), 'descent-tta-'));
const target = TARGETS[values.recipe];
console.log(`time to accuracy: ${['descent train --recipe', values.recipe, ...positionals].join(' ')} ` +
  `(${plural(Number(values.threads ?? availableParallelism()), 'thread')}, ${plural(availableParallelism(), 'core')})`);
const runs: Run[] = [];
try {
  for (const seed of seeds) {
    const x = run(seed, dir);
    runs.push(x);
    console.log(`seed ${x.seed}: test accuracy ${(100 * x.accuracy).toFixed(2)}%, ${x.seconds.toFixed(1)} s (CLI), ${x.epochs} epochs, ` +
      `training ${Math.round(x.imagesPerSecond).toLocaleString('en-US')} img/s, load average ${x.load[0].toFixed(1)} → ${x.load[1].toFixed(1)}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const worst = Math.min(...runs.map((x) => x.accuracy)), slowest = Math.max(...runs.map((x) => x.seconds));
const met = target ? worst >= target.accuracy && (target.seconds === undefined || slowest <= target.seconds) : undefined;
console.log(`worst ${(100 * worst).toFixed(2)}%, slowest ${slowest.toFixed(1)} s` +
  (target ? `; target ≥ ${(100 * target.accuracy).toFixed(1)}%${target.seconds ? ` in ≤ ${target.seconds} s` : ''}: ${met ? 'met' : 'not met'}` : ''));
