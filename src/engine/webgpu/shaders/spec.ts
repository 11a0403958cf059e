/**
 * A compute kernel as data: the tensors it binds, the scalars it reads and its WGSL body. The
 * header (bindings and the parameter struct P) is generated, so JavaScript and WGSL agree on
 * the layout by construction: P holds each tensor's element offset (`off_<name>`), then the scalars.
 */
export type ScalarType = 'u32' | 'i32' | 'f32';

export interface KernelSpec {
  readonly name: string;
  /** Storage bindings 1.., in order: name and element type. */
  readonly tensors: readonly (readonly [string, 'f32' | 'i32'])[];
  readonly scalars: readonly (readonly [string, ScalarType])[];
  /** WGSL after the header: helper functions and `@compute fn main`. */
  readonly body: string;
}

/** The counter-based hash of src/core/rng.ts (hash32) in WGSL: u32 arithmetic wraps as Math.imul does. */
export const HASH_WGSL = /* wgsl */ `
fn hash32(seed: u32, index: u32) -> u32 {
  var h = seed ^ (index * 0x9e3779b1u);
  h = (h ^ (h >> 16u)) * 0x85ebca6bu;
  h = (h ^ (h >> 13u)) * 0xc2b2ae35u;
  return h ^ (h >> 16u);
}`;

/** NaN and sign tests on the bits: a shader compiler may assume that comparisons never see a NaN. */
export const FLOAT_WGSL = /* wgsl */ `
fn is_nan(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }
fn is_finite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }
fn is_negative(v: f32) -> bool { return v < 0.0 && !is_nan(v); }
// SwiftShader's exp and log turn a NaN into a number (exp(NaN) = ∞): these pass it on, as IEEE does.
fn exp_(v: f32) -> f32 { return select(exp(v), v, is_nan(v)); }
fn log_(v: f32) -> f32 { return select(log(v), v, is_nan(v)); }
fn neg_inf() -> f32 {
  var bits = 0xff800000u; // a runtime value: a constant −∞ is not a valid f32 constant in WGSL
  return bitcast<f32>(bits);
}`;

/** Element-wise kernels: 64 threads a group, the groups folded into 2-D past 65,535 of them. */
export const FLAT_WGSL = /* wgsl */ `
fn flat(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 { return (wid.y * nwg.x + wid.x) * 64u + lid.x; }`;
export const FLAT_MAIN = `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u)`;

/**
 * The source for one aliasing pattern: `alias[i]` is the first tensor bound to the same buffer as
 * tensor i (WebGPU forbids two writable bindings of one buffer in a dispatch, and w, g and the
 * optimizer state share one). An alias gets no binding of its own: its name is rewritten to its
 * representative's, whose offsets still tell them apart. All distinct: alias = [0, 1, 2, …].
 */
/**
 * Column sums by one workgroup of 64 threads: thread t adds rows t, t + 64, … in order, then a
 * tree halves the 64 partial sums in a fixed pattern. The same order on every run: no atomics.
 * `column_sum2` sums two columns' worth at once (batch norm's backward needs both).
 */
export const COLUMN_SUM_WGSL = /* wgsl */ `
var<workgroup> partA: array<f32, 64>;
var<workgroup> partB: array<f32, 64>;
fn tree(t: u32) {
  for (var stride = 32u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (t < stride) {
      partA[t] = partA[t] + partA[t + stride];
      partB[t] = partB[t] + partB[t + stride];
    }
  }
  workgroupBarrier();
}`;
export const COLUMN_MAIN = `@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_id) lid: vec3u)`;

export function wgslSource(spec: KernelSpec, alias: readonly number[] = spec.tensors.map((_, i) => i),
  constants?: Readonly<Record<string, number | boolean>>): string {
  const fields = [...spec.tensors.map(([n]) => `off_${n}: u32`), ...spec.scalars.map(([n, t]) => `${n}: ${t}`)];
  if (fields.length === 0) fields.push('unused: u32');
  const bindings = spec.tensors.flatMap(([n, t], i) =>
    alias[i] === i ? [`@group(0) @binding(${i + 1}) var<storage, read_write> ${n}: array<${t}>;`] : []);
  let body = spec.body;
  spec.tensors.forEach(([n, t], i) => {
    const [rep, repType] = spec.tensors[alias[i]];
    if (repType !== t) throw new Error(`kernel ${spec.name}: ${n} (${t}) shares a buffer with ${rep} (${repType}); keep int tensors in a storage of their own`);
    if (rep !== n) body = body.replace(new RegExp(`\\b${n}\\[`, 'g'), `${rep}[`);
  });
  if (constants) body = specialise(spec, body, constants);
  return [`struct Params { ${fields.join(', ')} }`, '@group(0) @binding(0) var<uniform> P: Params;',
    ...bindings, FLOAT_WGSL, FLAT_WGSL, body].join('\n');
}

/** The uniform's bytes: offsets, then scalars, each 4 bytes; the size rounded up to 16. */
export function paramBytes(spec: KernelSpec, offsets: number[], scalars: Record<string, number | boolean>): ArrayBuffer {
  const count = Math.max(1, spec.tensors.length + spec.scalars.length);
  const bytes = new ArrayBuffer(Math.ceil(count / 4) * 16);
  const view = new DataView(bytes);
  offsets.forEach((o, i) => view.setUint32(i * 4, o, true));
  spec.scalars.forEach(([name, type], j) => {
    const raw = scalars[name];
    if (raw === undefined) throw new Error(`kernel ${spec.name}: scalar ${name} is missing`);
    const v = typeof raw === 'boolean' ? (raw ? 1 : 0) : raw;
    const at = (offsets.length + j) * 4;
    if (type === 'f32') view.setFloat32(at, v, true);
    else if (type === 'i32') view.setInt32(at, v, true);
    else view.setUint32(at, v >>> 0, true);
  });
  return bytes;
}

/**
 * The body with each integer scalar named in `constants` written as a literal instead of read from
 * P: a pipeline made for one call site's shape, where divisions by the sizes become multiplications
 * and loops have known bounds. Float scalars stay in P.
 */
export function specialise(spec: KernelSpec, body: string, constants: Readonly<Record<string, number | boolean>>): string {
  for (const [name, type] of spec.scalars) {
    const raw = constants[name];
    if (raw === undefined || type === 'f32') continue;
    const v = typeof raw === 'boolean' ? (raw ? 1 : 0) : raw;
    const literal = type === 'i32' ? `(${v | 0}i)` : `${v >>> 0}u`;
    body = body.replace(new RegExp(`\\bP\\.${name}\\b`, 'g'), literal);
  }
  return body;
}
