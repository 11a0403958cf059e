/**
 * Helpers shared by every kernel family.
 *
 * Calling convention: every exported kernel is `name(params, part, parts)`. `params` points at
 * a block of 32-bit words that the JavaScript side wrote (pointers are byte addresses into this
 * memory, sizes are counts; each kernel's words are named in src/engine/kernel-params.ts); `part`
 * in [0, parts) says which share of the work this call does.
 * A kernel splits its work into units whose arithmetic does not depend on `parts` (whole output
 * rows, pixels, channels or fixed-size blocks), so any split gives bitwise equal results. Shares
 * are claimed by whichever thread is free (a thread may run several, in any order), so per-thread
 * scratch is chosen by `thread`, this instance's index in the pool (0 on the calling thread),
 * never by `part`. Kernels never allocate: scratch space is passed in `params`.
 */

/** This instance's thread index (each worker instantiates the module and sets its own). */
export let thread: i32 = 0;

export function setThread(index: i32): void {
  thread = index;
}

/**
 * Fused ReLU: the byte distance from an output y to where ReLU(y) goes, set by a forward kernel
 * from its parameter block before it stores. Tile stores write it under STORE_RELU (gemm.ts);
 * the few-channel direct convolution sets it to 0 when there is no ReLU output and tests that.
 */
export let reluDelta: usize = 0;

@inline export function setReluOutput(relu: usize, y: usize): void {
  reluDelta = relu - y;
}

/** ReLU as the reference defines it: a < 0 ? 0 : a (a NaN passes, as in PyTorch). */
@inline export function relu4(v: v128): v128 {
  const zero = f32x4.splat(0);
  return v128.bitselect(zero, v, f32x4.lt(v, zero));
}

@inline export function relu1(v: f32): f32 {
  return v < 0 ? 0 : v;
}

/**
 * g[i] = x[i] < 0 ? 0 : g[i] for i in [start, start + count): the ReLU backward of activations.ts
 * in place, for a kernel that fuses it after writing g (the max-pool's backward).
 */
export function reluBackwardInPlace(g: usize, x: usize, start: i32, count: i32): void {
  const zero = f32x4.splat(0), e = start + count;
  let i = start;
  for (; i + 4 <= e; i += 4) {
    const o = <usize>i << 2;
    v128.store(g + o, v128.bitselect(zero, v128.load(g + o), f32x4.lt(v128.load(x + o), zero)));
  }
  for (; i < e; i++) {
    const o = <usize>i << 2;
    if (load<f32>(x + o) < 0) store<f32>(g + o, 0);
  }
}

/** The i-th 32-bit word of a parameter block, as a signed integer (a size or a flag). */
@inline export function pi(params: usize, i: i32): i32 {
  return load<i32>(params + (<usize>i << 2));
}

/** The i-th word as an address. */
@inline export function pp(params: usize, i: i32): usize {
  return <usize>load<u32>(params + (<usize>i << 2));
}

/** The float64 at words i and i + 1. */
@inline export function pd(params: usize, i: i32): f64 {
  return load<f64>(params + (<usize>i << 2));
}

/** The i-th word as a float32. */
@inline export function pf(params: usize, i: i32): f32 {
  return load<f32>(params + (<usize>i << 2));
}

/** First unit of share `part` when `units` are split into `parts` contiguous shares. */
@inline export function shareStart(units: i32, part: i32, parts: i32): i32 {
  return <i32>((<i64>units * <i64>part) / <i64>parts);
}

@inline export function imin(a: i32, b: i32): i32 {
  return a < b ? a : b;
}

@inline export function imax(a: i32, b: i32): i32 {
  return a > b ? a : b;
}

/** The address of the start of this engine's data: everything below is static data and stack. */
export function heapBase(): usize {
  return __heap_base;
}
