/**
 * Timing windows: warm up, then time at least `windows` windows of whole steps, each about
 * `windowSeconds` long (at least one step), within an overall time budget for slow peers.
 */
export interface Timing {
  /** Images per second: median, min and max over the windows. */
  median: number;
  min: number;
  max: number;
  windows: number;
  steps: number;
}

export async function timeSteps(step: () => void | Promise<void>, batch: number,
  options: { windows?: number; windowSeconds?: number; warmupSeconds?: number; budgetSeconds?: number } = {}): Promise<Timing> {
  const windows = options.windows ?? 5, windowSeconds = options.windowSeconds ?? 1;
  // Warm-up (at least one step) unless warmupSeconds is 0: a very slow peer gets none.
  const warmupSeconds = options.warmupSeconds ?? 1;
  const warmupEnd = performance.now() + 1000 * warmupSeconds;
  if (warmupSeconds > 0) do await step(); while (performance.now() < warmupEnd);
  const budgetEnd = performance.now() + 1000 * (options.budgetSeconds ?? Infinity);
  const rates: number[] = [];
  let steps = 0;
  while (rates.length < windows && (rates.length === 0 || performance.now() < budgetEnd)) {
    const start = performance.now();
    let n = 0;
    do {
      await step();
      n++;
    } while (performance.now() - start < 1000 * windowSeconds);
    rates.push((n * batch) / ((performance.now() - start) / 1000));
    steps += n;
  }
  rates.sort((a, b) => a - b);
  const mid = rates.length >> 1;
  const median = rates.length % 2 ? rates[mid] : (rates[mid - 1] + rates[mid]) / 2;
  return { median, min: rates[0], max: rates[rates.length - 1], windows: rates.length, steps };
}

/**
 * Best of `reps` timed runs of `body` after 3 warm-up runs (V8 tiers WebAssembly up from its
 * baseline compiler): wall milliseconds, and this process's CPU milliseconds divided by `threads`.
 */
export function bestOf(reps: number, body: () => void, threads = 1): { wallMs: number; cpuMs: number } {
  for (let i = 0; i < 3; i++) body();
  let wallMs = Infinity, cpuMs = Infinity;
  for (let r = 0; r < reps; r++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    body();
    const wall = performance.now() - t0, cu = process.cpuUsage(c0);
    wallMs = Math.min(wallMs, wall);
    cpuMs = Math.min(cpuMs, (cu.user + cu.system) / 1000 / threads);
  }
  return { wallMs, cpuMs };
}

/** One side of a side-by-side benchmark: a network built once, whose steps are timed in rounds. */
export interface Contender {
  /** One training step on a fresh batch, done when its loss is back on the host. */
  train(): Promise<void>;
  /** One inference step on a fresh batch, done when its outputs are back on the host. */
  infer(): Promise<void>;
  dispose(): void;
}
