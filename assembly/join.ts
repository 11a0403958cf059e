/**
 * Graph joins (Add, Concat, Identity) and the fan-out gradient sum; the reference is
 * src/kernels/reference/join.ts. Each output element is one fixed expression (a sum over r in
 * increasing order for sumBroadcast), so every split of the work gives the same bits.
 *
 * addTensors: 0 a, 1 b, 2 y, 3 n (threads split blocks of 1024 elements).
 * addBroadcast: 0 x, 1 b, 2 y, 3 N, 4 R, 5 C (threads split the N·R rows).
 * sumBroadcast: 0 gy, 1 gb, 2 N, 3 R, 4 C (threads split samples).
 * copyBlock: 0 src, 1 dst, 2 R, 3 C, 4 srcStride, 5 srcOffset, 6 dstStride, 7 dstOffset (threads split rows).
 */
import { pi, pp, shareStart } from './common';

const BLOCK = 1024;

export function addTensors(params: usize, part: i32, parts: i32): void {
  const a = pp(params, 0), b = pp(params, 1), y = pp(params, 2), n = pi(params, 3);
  const blocks = (n + BLOCK - 1) / BLOCK;
  const i0 = shareStart(blocks, part, parts) * BLOCK;
  let i1 = shareStart(blocks, part + 1, parts) * BLOCK;
  if (i1 > n) i1 = n;
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < i1; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

export function addBroadcast(params: usize, part: i32, parts: i32): void {
  const x = pp(params, 0), b = pp(params, 1), y = pp(params, 2), R = pi(params, 4), C = pi(params, 5);
  const rows = pi(params, 3) * R;
  const r0 = shareStart(rows, part, parts), r1 = shareStart(rows, part + 1, parts);
  for (let row = r0; row < r1; row++) {
    const o = <usize>row * <usize>C << 2, bo = b + (<usize>(row / R) * <usize>C << 2);
    let c = 0;
    for (; c + 4 <= C; c += 4) {
      const at = o + (<usize>c << 2);
      v128.store(y + at, f32x4.add(v128.load(x + at), v128.load(bo + (<usize>c << 2))));
    }
    for (; c < C; c++) {
      const at = o + (<usize>c << 2);
      store<f32>(y + at, load<f32>(x + at) + load<f32>(bo + (<usize>c << 2)));
    }
  }
}

export function sumBroadcast(params: usize, part: i32, parts: i32): void {
  const gy = pp(params, 0), gb = pp(params, 1), N = pi(params, 2), R = pi(params, 3), C = pi(params, 4);
  const n0 = shareStart(N, part, parts), n1 = shareStart(N, part + 1, parts);
  for (let n = n0; n < n1; n++) {
    const out = gb + (<usize>n * <usize>C << 2), base = gy + (<usize>n * <usize>R * <usize>C << 2);
    for (let c = 0; c < C; c++) {
      let s: f32 = 0;
      for (let r = 0; r < R; r++) s += load<f32>(base + ((<usize>r * <usize>C + <usize>c) << 2));
      store<f32>(out + (<usize>c << 2), s);
    }
  }
}

export function copyBlock(params: usize, part: i32, parts: i32): void {
  const src = pp(params, 0), dst = pp(params, 1), R = pi(params, 2), C = pi(params, 3);
  const ss = pi(params, 4), so = pi(params, 5), ds = pi(params, 6), dO = pi(params, 7);
  const r0 = shareStart(R, part, parts), r1 = shareStart(R, part + 1, parts);
  for (let r = r0; r < r1; r++) {
    memory.copy(dst + (<usize>(r * ds + dO) << 2), src + (<usize>(r * ss + so) << 2), <usize>C << 2);
  }
}
