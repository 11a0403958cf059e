/**
 * Graph joins (Add, Concat, Identity) and the fan-out gradient sum; the reference is
 * src/kernels/reference/join.ts. Each output element is one fixed expression (a sum over r in
 * increasing order for sumBroadcast), so every split of the work gives the same bits.
 *
 * Parameter words: AddTensors, AddBroadcast, SumBroadcast, CopyBlock in src/engine/kernel-params.ts.
 * Threads split: addTensors blocks of 1024 elements, addBroadcast the N·R rows, sumBroadcast
 * samples, copyBlock rows.
 */
import { pi, pp, shareStart } from './common';
import { AddBroadcast, AddTensors, CopyBlock, SumBroadcast } from '../src/engine/kernel-params';

const BLOCK = 1024;

export function addTensors(params: usize, part: i32, parts: i32): void {
  const a = pp(params, AddTensors.A), b = pp(params, AddTensors.B), y = pp(params, AddTensors.Y);
  const n = pi(params, AddTensors.Count);
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
  const x = pp(params, AddBroadcast.X), b = pp(params, AddBroadcast.B), y = pp(params, AddBroadcast.Y);
  const R = pi(params, AddBroadcast.R), C = pi(params, AddBroadcast.C);
  const rows = pi(params, AddBroadcast.N) * R;
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
  const gy = pp(params, SumBroadcast.Gy), gb = pp(params, SumBroadcast.Gb), N = pi(params, SumBroadcast.N);
  const R = pi(params, SumBroadcast.R), C = pi(params, SumBroadcast.C);
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
  const src = pp(params, CopyBlock.Src), dst = pp(params, CopyBlock.Dst), R = pi(params, CopyBlock.R);
  const C = pi(params, CopyBlock.C);
  const ss = pi(params, CopyBlock.SrcStride), so = pi(params, CopyBlock.SrcOffset);
  const ds = pi(params, CopyBlock.DstStride), dO = pi(params, CopyBlock.DstOffset);
  const r0 = shareStart(R, part, parts), r1 = shareStart(R, part + 1, parts);
  for (let r = r0; r < r1; r++) {
    memory.copy(dst + (<usize>(r * ds + dO) << 2), src + (<usize>(r * ss + so) << 2), <usize>C << 2);
  }
}
