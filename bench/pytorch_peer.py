"""The peer in native code: PyTorch (Debian's python3-torch) on NET-A or NET-B, the protocol of
Descent's benchmark: SGD momentum 0.9, lr 0.01, a batch of real MNIST digits gathered each step
from the pool that bench.ts wrote, windows of whole steps after a warm-up. Prints one JSON line:
{"train": timing, "infer": timing}, each timing {median, min, max, windows, steps} in images/s.

usage: /usr/bin/python3 bench/pytorch_peer.py NET-A|NET-B THREADS POOL_FILE COUNT [WINDOWS] [WINDOW_S] [WARMUP_S]
POOL_FILE: COUNT×784 float32 images (N, H, W order, values in [0, 1]) then COUNT int32 labels.
"""
import json
import sys
import time

import numpy as np
import torch
from torch import nn

BATCH = 64


def model(name):
    if name == 'NET-A':
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))
    if name == 'NET-B':
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(64 * 12 * 12, 128), nn.ReLU(), nn.Linear(128, 10))
    raise SystemExit(f'pytorch_peer: unknown network {name!r}')


def time_steps(step, windows, window_s, warmup_s):
    end = time.perf_counter() + warmup_s
    step()
    while time.perf_counter() < end:
        step()
    rates, steps = [], 0
    for _ in range(windows):
        start, n = time.perf_counter(), 0
        while True:
            step()
            n += 1
            if time.perf_counter() - start >= window_s:
                break
        rates.append(n * BATCH / (time.perf_counter() - start))
        steps += n
    rates.sort()
    mid = len(rates) // 2
    median = rates[mid] if len(rates) % 2 else (rates[mid - 1] + rates[mid]) / 2
    return {'median': median, 'min': rates[0], 'max': rates[-1], 'windows': len(rates), 'steps': steps}


def main():
    name, threads, pool_file, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    windows = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    window_s = float(sys.argv[6]) if len(sys.argv) > 6 else 1.0
    warmup_s = float(sys.argv[7]) if len(sys.argv) > 7 else 1.0
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    raw = np.fromfile(pool_file, dtype=np.uint8)
    x = torch.from_numpy(raw[:count * 784 * 4].view(np.float32).reshape(count, 1, 28, 28).copy())
    y = torch.from_numpy(raw[count * 784 * 4:count * 784 * 4 + count * 4].view(np.int32).astype(np.int64))
    net = model(name)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(7)

    def batch():
        idx = torch.randint(0, count, (BATCH,), generator=gen)
        return x.index_select(0, idx), y.index_select(0, idx)

    def train_step():
        xb, yb = batch()
        opt.zero_grad()
        loss_fn(net(xb), yb).backward()
        opt.step()

    def infer_step():
        xb, _ = batch()
        with torch.no_grad():
            net(xb)

    net.train()
    train = time_steps(train_step, windows, window_s, warmup_s)
    net.eval()
    infer = time_steps(infer_step, windows, window_s, warmup_s)
    print(json.dumps({'train': train, 'infer': infer, 'torch': torch.__version__, 'threads': threads}))


if __name__ == '__main__':
    main()
