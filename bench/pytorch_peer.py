"""The peer in native code: PyTorch (Debian's python3-torch) on NET-A, NET-B or ResNet-20, the
protocol of Descent's benchmark: SGD momentum 0.9, lr 0.01, a batch gathered each step from the pool
of images that bench.ts wrote (MNIST digits; for ResNet-20 generated 32x32x3 images), windows of
whole steps after a warm-up. Prints one JSON line: {"train": timing, "infer": timing}, each timing
{median, min, max, windows, steps} in images/s.

usage: /usr/bin/python3 bench/pytorch_peer.py NET-A|NET-B|ResNet-20 THREADS POOL_FILE COUNT [WINDOWS] [WINDOW_S] [WARMUP_S] [HxWxC]
POOL_FILE: COUNT images of HxWxC float32 (channels-last, as Descent holds them; default 28x28x1), then
COUNT int32 labels. They are turned to PyTorch's N, C, H, W once, before timing.

ResNet-20 is Descent's `resnet20` preset: He et al. 2016's CIFAR variant, 3 stages of 3 basic blocks
(16, 32, 64 channels), convolutions without bias, each followed by batch norm, and where the shape
changes a 1x1-projection shortcut (a stride-2 1x1 convolution, then batch norm: the paper's option B);
272,474 parameters, checked below.
"""
import json
import sys
import time

import numpy as np
import torch
from torch import nn

BATCH = 64


class BasicBlock(nn.Module):
    """conv3x3(stride)-BN-ReLU-conv3x3-BN, plus the shortcut (identity, or 1x1 conv + BN), then ReLU."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, 0, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(y)) + self.shortcut(x))


def resnet20(classes=10):
    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for stage, cout in enumerate([16, 32, 64]):
        for b in range(3):
            layers.append(BasicBlock(cin, cout, 2 if stage > 0 and b == 0 else 1))
            cin = cout
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, classes))
    count = sum(p.numel() for p in net.parameters())
    assert count == 272474, f'ResNet-20 has {count} parameters, Descent\'s preset 272,474'
    return net


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
    if name == 'ResNet-20':
        return resnet20()
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
    h, w, c = (int(v) for v in (sys.argv[8] if len(sys.argv) > 8 else '28x28x1').split('x'))
    size = h * w * c
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    raw = np.fromfile(pool_file, dtype=np.uint8)
    x = torch.from_numpy(raw[:count * size * 4].view(np.float32).reshape(count, h, w, c).copy()).permute(0, 3, 1, 2).contiguous()
    y = torch.from_numpy(raw[count * size * 4:count * size * 4 + count * 4].view(np.int32).astype(np.int64))
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
