/**
 * The native peer: bench/pytorch_peer.py run by Debian's python3-torch (/usr/bin/python3, or
 * DESCENT_PYTORCH_PYTHON) as a separate process, on the benchmark's pool of images (MNIST digits, or
 * ResNet-20's generated 32×32×3 images) written to a temporary file, so that both sides gather their
 * batches from the same images.
 * `bash bench/setup-pytorch.sh` installs it; without it the benchmark leaves the row out.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Timing } from './measure.js';

const PYTHON = process.env.DESCENT_PYTORCH_PYTHON ?? '/usr/bin/python3';
/** dist/bench/pytorch-peer.js → bench/pytorch_peer.py */
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'pytorch_peer.py');

/** PyTorch's version when this machine has it, else null. */
export function pytorchVersion(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

export class PytorchPeer {
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'descent-bench-'));
  private readonly pool = path.join(this.dir, 'pool.bin');

  /** Writes the image pool (count × H·W·C float32, channels-last, then count int32 labels) for the peer. */
  constructor(images: Float32Array, private readonly labels: Int32Array, private readonly shape: number[] = [28, 28, 1]) {
    const bytes = Buffer.concat([Buffer.from(images.buffer, images.byteOffset, images.byteLength),
      Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength)]);
    writeFileSync(this.pool, bytes);
  }

  /** One measurement in a fresh process: training and inference windows. */
  measure(network: string, threads: number, windows = 5, windowSeconds = 1): { train: Timing; infer: Timing } {
    const out = execFileSync(PYTHON, [SCRIPT, network, String(threads), this.pool, String(this.labels.length),
      String(windows), String(windowSeconds), '1', this.shape.join('x')], { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: String(threads) } });
    const result = JSON.parse(out.trim().split('\n').pop() as string) as { train: Timing; infer: Timing };
    return { train: result.train, infer: result.infer };
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
