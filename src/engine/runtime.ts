/**
 * The WebAssembly side of the engine, platform-neutral: one shared WebAssembly.Memory holding
 * every tensor (bump-allocated, never moved), the module instantiated on it for the main thread,
 * the parameter block kernels read their arguments from, and the thread pool that runs a call's
 * shares on (threads - 1) workers plus the calling thread, handing work out through doorbells in
 * the shared control block (no message per call; see protocol.ts). Every thread of a call claims
 * shares until none is left, so a slow or late thread does fewer; idle workers spin briefly on
 * their doorbell before sleeping in Atomics.wait, so the back-to-back calls of a training step
 * cost a few µs each to hand off instead of a wake-up (40-100 µs).
 * The calling thread blocks in Atomics.wait while workers finish; where it may not (a page's main
 * thread), canWait: false makes it spin instead.
 * Without shared memory (a browser page that is not cross-origin isolated) the module built for
 * unshared memory runs on one thread, on a memory allocated at its maximum size once, because
 * growing an unshared memory would detach every array the arena has handed out.
 */
import {
  BELL, CLAIM, claimShare, CONTROL_BYTES, DONE, ERROR, FN, KERNEL_NAMES, type KernelFn, type KernelName, MAIN_SLEEP,
  MAX_PARTS, MAX_THREADS, PARAMS_OFFSET, PARAMS_WORDS, PARTS, SHARE_BITS, SLEEP, STOP, type WorkerInit,
} from './protocol.js';

const PAGE = 65536;
const KERNEL_INDEX = new Map<KernelName, number>(KERNEL_NAMES.map((name, i) => [name, i]));
/** Bytes left free after every allocation: kernels may read (never write) up to 32 bytes past an array. */
const SLACK = 64;

/** A started worker, as the platform loader gives it back. */
export interface WorkerHandle {
  /** Resolves when the worker has left its loop and exited (after the pool set STOP and rang). */
  exited(): Promise<void>;
  /** Forcibly stops it (used only if it does not exit by itself). */
  terminate(): Promise<void>;
}

export type SpawnWorker = (init: WorkerInit) => Promise<WorkerHandle>;

export interface RuntimeOptions {
  /** Threads, the calling one included (1 = no workers). */
  threads: number;
  /** Starts `threads - 1` workers; required when threads > 1. */
  spawn?: SpawnWorker;
  /** Initial and maximum size of the WebAssembly memory in MiB (defaults 16 and 1024, at most 4096). */
  initialMiB?: number;
  maximumMiB?: number;
  /** Shared memory and a pool (default true); false: one thread, a fixed-size unshared memory. */
  shared?: boolean;
  /** May the calling thread block in Atomics.wait (default true; false spins instead). */
  canWait?: boolean;
}

interface Exports {
  heapBase(): number;
  gemmScratchBytes(): number;
  convScratchBytes(C: number, O: number, KH: number, KW: number): number;
  convFilterScratchBytes(C: number, O: number, KH: number, KW: number): number;
  convFilterUnits(N: number, C: number, O: number, KH: number, KW: number): number;
  convFilterSumBytes(N: number, C: number, O: number, KH: number, KW: number): number;
  convPackedBytes(C: number, O: number, KH: number, KW: number, backwardData: number): number;
  convPackForward(params: number): void;
  convPackBackwardData(params: number): void;
  convPackFlipped(params: number): void;
  convPackDirect(params: number): void;
  convDirectPackedBytes(C: number, O: number, KH: number, KW: number): number;
  convForwardScratchBytes(C: number, KH: number, KW: number): number;
  convDirectScratchBytes(params: number): number;
  convFilterDirectScratchBytes(params: number): number;
  convFilterPartialBytes(N: number, C: number, O: number, KH: number, KW: number): number;
  convFilterReduce(params: number): void;
  convPackScatter(params: number): void;
  convScatterPackedBytes(C: number, O: number, KH: number, KW: number): number;
  convScatterScratchBytes(C: number, O: number, KW: number, OH: number): number;
  convScatterUnits(N: number, OW: number): number;
  winogradPack(params: number): void;
  winogradPackedBytes(C: number, O: number): number;
  winogradForwardScratchBytes(C: number, O: number): number;
  winogradFilterScratchBytes(C: number, O: number): number;
  winogradFilterGroups(N: number, OH: number, OW: number, C: number, O: number): number;
  winogradFilterPartialBytes(N: number, OH: number, OW: number, C: number, O: number): number;
}

export class Runtime {
  readonly memory: WebAssembly.Memory;
  readonly exports: Exports;
  readonly threads: number;
  /** The parameter block, as words, floats and doubles (doubles at even word indices). */
  readonly params: number;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;
  private readonly kernels: KernelFn[];
  private readonly ctl: Int32Array;
  private readonly buffers = new Set<ArrayBufferLike>();
  private buffer: ArrayBufferLike;
  private top: number;
  private scratchPtr = 0;
  private scratchBytes = 0;
  private workers: WorkerHandle[] = [];
  private disposed = false;
  private call = 0;
  private readonly canWait: boolean;
  /** Is the memory shared (growable in place)? */
  readonly shared: boolean;

  private constructor(module: WebAssembly.Module, options: RuntimeOptions) {
    const maximumPages = Math.min(65536, Math.ceil((options.maximumMiB ?? 1024) * 1048576 / PAGE));
    const shared = this.shared = options.shared ?? true;
    const initialPages = shared ? Math.min(maximumPages, Math.ceil((options.initialMiB ?? 16) * 1048576 / PAGE)) : maximumPages;
    this.memory = new WebAssembly.Memory({ initial: initialPages, maximum: maximumPages, shared });
    const instance = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    this.exports = instance.exports as unknown as Exports;
    this.kernels = KERNEL_NAMES.map((name) => instance.exports[name] as KernelFn);
    const threads = shared && Number.isFinite(options.threads) ? Math.floor(options.threads) : 1;
    this.threads = Math.max(1, Math.min(MAX_THREADS, threads));
    this.canWait = options.canWait ?? true;
    this.buffer = this.memory.buffer;
    this.buffers.add(this.buffer);
    const control = align(this.exports.heapBase(), 4096);
    this.ctl = new Int32Array(this.buffer, control, PARAMS_OFFSET / 4);
    this.params = control + PARAMS_OFFSET;
    this.u32 = new Uint32Array(this.buffer, this.params, PARAMS_WORDS);
    this.i32 = new Int32Array(this.buffer, this.params, PARAMS_WORDS);
    this.f32 = new Float32Array(this.buffer, this.params, PARAMS_WORDS);
    this.f64 = new Float64Array(this.buffer, this.params, PARAMS_WORDS / 2);
    this.top = align(control + CONTROL_BYTES, 4096);
  }

  static async create(module: WebAssembly.Module, options: RuntimeOptions): Promise<Runtime> {
    const rt = new Runtime(module, options);
    if (rt.threads > 1) {
      if (!options.spawn) throw new Error('threads > 1 needs a way to start workers');
      const control = rt.params - PARAMS_OFFSET;
      const spawn = options.spawn;
      const started = await Promise.allSettled(Array.from({ length: rt.threads - 1 },
        (_, i) => spawn({ module, memory: rt.memory, control, index: i + 1 })));
      for (const s of started) if (s.status === 'fulfilled') rt.workers.push(s.value);
      const failed = started.find((s) => s.status === 'rejected');
      if (failed) {
        await rt.dispose();
        throw (failed as PromiseRejectedResult).reason;
      }
    }
    return rt;
  }

  /** Is this buffer (of a typed array) the engine's memory, before or after growing? */
  owns(buffer: ArrayBufferLike): boolean {
    return buffer === this.buffer || this.buffers.has(buffer);
  }

  /** The current buffer: views made on it now stay valid forever (shared memory never moves). */
  get currentBuffer(): ArrayBufferLike {
    return this.buffer;
  }

  /** A zeroed, 64-byte aligned block of `bytes`, valid for the engine's lifetime. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) throw new RangeError(`cannot allocate ${bytes} bytes`);
    const p = align(this.top, 64);
    const end = p + bytes + SLACK;
    this.ensure(end);
    this.top = end;
    new Uint8Array(this.buffer, p, bytes).fill(0);
    return p;
  }

  /** Current allocation mark (see WasmArena.release). */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (mark > this.top) return;
    this.top = mark;
    if (this.scratchPtr >= mark) {
      this.scratchPtr = 0;
      this.scratchBytes = 0;
    }
  }

  /** Scratch space for one call (reused by the next call). */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      const size = Math.max(bytes, Math.ceil(this.scratchBytes * 1.5), 1 << 20);
      this.scratchPtr = this.alloc(size);
      this.scratchBytes = size;
    }
    return this.scratchPtr;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (!this.shared) {
      throw new RangeError(`the WebAssembly engine ran out of memory (${(end / 1048576).toFixed(0)} MiB needed, ` +
        `${(have / 1048576).toFixed(0)} MiB fixed without shared memory); pass a larger maximumMiB`);
    }
    const pages = Math.ceil((end - have) / PAGE);
    const grow = Math.max(pages, Math.ceil(have / PAGE / 4));
    try {
      this.memory.grow(grow);
    } catch {
      try {
        this.memory.grow(pages);
      } catch {
        throw new RangeError(`the WebAssembly engine ran out of memory (${(end / 1048576).toFixed(0)} MiB ` +
          'needed); pass a larger maximumMiB');
      }
    }
    this.buffer = this.memory.buffer;
    this.buffers.add(this.buffer);
  }

  /**
   * Runs kernel `name` on the parameter block in `parts` shares with up to `threads` threads (the
   * calling one and workers 1 .. threads-1): each claims shares until none is left, and this
   * returns when all are done. A worker that is late (asleep, descheduled) does fewer shares or
   * none; the calling thread never waits for one that has not started a share.
   */
  run(name: KernelName, parts: number, threads = parts): void {
    const fn = KERNEL_INDEX.get(name) as number;
    const kernel = this.kernels[fn];
    parts = Math.max(1, Math.min(parts, MAX_PARTS));
    threads = Math.min(threads, parts, this.threads);
    if (threads <= 1 || this.disposed) {
      for (let part = 0; part < parts; part++) kernel(this.params, part, parts);
      return;
    }
    const ctl = this.ctl;
    const call = this.call = (this.call + 1) & (0xfffff);
    ctl[FN] = fn;
    ctl[PARTS] = parts;
    ctl[DONE] = 0;
    Atomics.store(ctl, CLAIM, call << SHARE_BITS);
    for (let i = 1; i < threads; i++) {
      Atomics.store(ctl, BELL + i, call << SHARE_BITS);
      if (Atomics.load(ctl, SLEEP + i) !== 0) Atomics.notify(ctl, BELL + i, 1);
    }
    let mine = 0;
    try {
      for (let part = claimShare(ctl, call, parts); part >= 0; part = claimShare(ctl, call, parts)) {
        mine++;
        kernel(this.params, part, parts);
      }
    } finally {
      if (mine > 0) Atomics.add(ctl, DONE, mine);
      // The shares still running on workers usually end about now: spin a little, then sleep.
      if (Atomics.load(ctl, DONE) < parts) {
        const until = performance.now() + 0.05;
        for (let i = 1; Atomics.load(ctl, DONE) < parts; i++) {
          if ((i & 63) === 0 && performance.now() > until) break;
        }
        if (this.canWait) {
          Atomics.store(ctl, MAIN_SLEEP, 1);
          for (;;) {
            const done = Atomics.load(ctl, DONE);
            if (done >= parts) break;
            Atomics.wait(ctl, DONE, done);
          }
          Atomics.store(ctl, MAIN_SLEEP, 0);
        } else {
          while (Atomics.load(ctl, DONE) < parts) { /* spin: this thread may not wait */ }
        }
      }
    }
    if (Atomics.exchange(ctl, ERROR, 0) !== 0) throw new Error(`WebAssembly kernel ${name} failed on a worker`);
  }

  /** Stops the workers and waits until they have exited. The runtime still works, on one thread. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const ctl = this.ctl;
    Atomics.store(ctl, STOP, 1);
    for (let i = 1; i < this.threads; i++) {
      Atomics.add(ctl, BELL + i, 1);
      Atomics.notify(ctl, BELL + i);
    }
    await Promise.all(this.workers.map(async (w) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), 2000); });
      const result = await Promise.race([w.exited().then(() => 'exited' as const), timeout]);
      clearTimeout(timer);
      if (result === 'timeout') await w.terminate();
    }));
    this.workers = [];
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
