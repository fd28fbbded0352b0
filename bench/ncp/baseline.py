#!/usr/bin/env python3
"""bench/ncp baseline: NCP's predictor training and code propagation in PyTorch-in-Python, done the way
the original tools do the work (ncp.md §5): a torch DataLoader over numpy rows, an nn.Module MLP, Adam with
OneCycleLR stepped per batch, validation every epoch with the best state saved; then 70 propagation steps
where every step builds the MultiResolutionNet for the rounded code and counts its FLOPs/params with
forward hooks at 1x3x128x128 (thop's 2020 rules). Written for this bench, not copied from the original.

Run with Debian's python3 (python3-torch): /usr/bin/python3 baseline.py TABLE.pkl [--epochs N] [--iters N]
[--threads N]. Prints one JSON object (timings, validation L1, trajectory) on stdout.
"""
import argparse
import gzip
import json
import math
import pickle
import tempfile
import time

import numpy as np
import os
import sys as _sys

import torch

_sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from footing import footing  # noqa: E402
from torch import nn
from torch.nn import functional as F

METRICS = [['mIoU'], ['mAcc', 'aAcc'], ['flops', 'params']]
START = [64, 64, 2, 2, 64, 2, 2, 2, 64, 64, 2, 2, 2, 2, 64, 64, 64, 2, 2, 2, 2, 2, 64, 64, 64, 64, 64]
CHANNELS = {0, 1, 4, 8, 9, 14, 15, 16, 22, 23, 24, 25, 26}


# ---- MultiResolutionNet (ncp.md §3) ------------------------------------------------------------------
def conv_bn_relu(cin, cout, k, stride):
    return nn.Sequential(nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU())


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c1, self.b1 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)
        self.c2, self.b2 = nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c)

    def forward(self, x):
        return F.relu(self.b2(self.c2(F.relu(self.b1(self.c1(x))))) + x)


class Fuse(nn.Module):
    def __init__(self, inc, outc):
        super().__init__()
        self.rows = nn.ModuleList()
        for i in range(min(len(inc), len(outc))):
            row = nn.ModuleDict()
            for j in (i - 1, i, i + 1):
                if 0 <= j < len(inc):
                    path = conv_bn_relu(inc[j], outc[i], 1 if j == i + 1 else 3, 2 if j == i - 1 else 1)
                    row[str(j)] = nn.Sequential(path, nn.Upsample(scale_factor=2, mode='nearest')) if j == i + 1 else path
            self.rows.append(row)
        self.new = nn.ModuleList(conv_bn_relu(outc[b - 1], outc[b], 3, 2) for b in range(len(inc), len(outc)))

    def forward(self, xs):
        out = []
        for i, row in enumerate(self.rows):
            y = None
            for j, path in row.items():
                t = path(xs[int(j)])
                y = t if y is None else y + F.interpolate(t, size=y.shape[2:], mode='bilinear', align_corners=False)
            out.append(F.relu(y))
        for new in self.new:
            out.append(new(out[-1]))
        return out


class MultiResolutionNet(nn.Module):
    def __init__(self, e, num_classes=50, classification=True):
        super().__init__()
        self.classification = classification
        self.stem = nn.Sequential(conv_bn_relu(3, e[0], 3, 2), conv_bn_relu(e[0], e[1], 3, 2))
        layers, inc, pos = [], [e[1]], 2
        for s in range(1, 5):
            blocks, chans = e[pos + 1:pos + 1 + s], e[pos + 1 + s:pos + 1 + 2 * s]
            for _ in range(e[pos]):
                layers.append(Fuse(inc, chans))
                layers.append(nn.ModuleList(nn.Sequential(*[Block(c) for _ in range(b)]) for b, c in zip(blocks, chans)))
                inc = chans
            pos += 1 + 2 * s
        self.layers = nn.ModuleList(layers)
        self.transform = conv_bn_relu(sum(inc), e[26], 1, 1)
        self.classifier = nn.Conv2d(e[26], num_classes, 1)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def forward(self, x):
        xs = [self.stem(x)]
        for k in range(0, len(self.layers), 2):
            xs = self.layers[k](xs)
            xs = [branch(t) for branch, t in zip(self.layers[k + 1], xs)]
        size = xs[-1].shape[2:] if self.classification else xs[0].shape[2:]
        y = self.transform(torch.cat([F.interpolate(t, size=size, mode='bilinear', align_corners=False) for t in xs], 1))
        if self.classification:
            y = F.avg_pool2d(y, y.shape[2:])
        return self.classifier(y)


def count_by_hooks(model, side=128):
    """thop 0.0.31's rules: conv = out·(cin/groups·k² + bias), BN = 2·in (eval), everything else 0."""
    totals = {'ops': 0, 'params': 0}

    def conv_hook(m, inputs, output):
        totals['ops'] += output.numel() * (m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1] + (m.bias is not None))

    def bn_hook(m, inputs, output):
        totals['ops'] += 2 * inputs[0].numel()

    hooks = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.BatchNorm2d):
            hooks.append(m.register_forward_hook(bn_hook))
        if isinstance(m, (nn.Conv2d, nn.BatchNorm2d)):
            totals['params'] += sum(p.numel() for p in m.parameters())
    model.eval()
    with torch.no_grad():
        model(torch.randn(1, 3, side, side))
    for h in hooks:
        h.remove()
    return totals['ops'], totals['params']


def net2flops(code):
    ops, params = count_by_hooks(MultiResolutionNet([int(v) for v in code]))
    return ops / 1e9, params / 1e6


# ---- predictor (ncp.md §5.2) ---------------------------------------------------------------------------
class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class Mlp(nn.Module):
    def __init__(self, dim, groups, drops):
        super().__init__()
        self.trunk = nn.Sequential(nn.BatchNorm1d(dim), nn.Linear(dim, 256), nn.BatchNorm1d(256), Swish(), nn.Dropout(0.5))
        self.heads = nn.ModuleList(
            nn.Sequential(nn.Linear(256, 128), nn.BatchNorm1d(128), Swish(), nn.Dropout(p), nn.Linear(128, n)) for n, p in zip(groups, drops))

    def forward(self, x):
        h = self.trunk(x)
        return torch.cat([head(h) for head in self.heads], 1)


class Rows(torch.utils.data.Dataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('table')
    ap.add_argument('--epochs', type=int, default=200)
    ap.add_argument('--iters', type=int, default=70)
    ap.add_argument('--threads', type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    np.random.seed(233)
    torch.manual_seed(233)
    with open(args.table, 'rb') as f:
        gzipped = f.read(2) == b'\x1f\x8b'  # the bundled tables are gzipped pickles
    with (gzip.open if gzipped else open)(args.table, 'rb') as f:
        records = pickle.load(f)
    names = [m for g in METRICS for m in g]
    x = np.array([r['embedding'] for r in records]).astype(np.float32)
    y = np.array([[r[m] for m in names] for r in records]).astype(np.float32)
    in_mean, in_std, out_mean, out_std = x.mean(0), x.std(0), y.mean(0), y.std(0)
    xn, yn = (x - in_mean) / in_std, (y - out_mean) / out_std
    perm = np.random.permutation(len(x))  # what sklearn's train_test_split draws from the seeded global RNG
    n_val = math.ceil(0.2 * len(x))
    val, train = perm[:n_val], perm[n_val:]
    train_loader = torch.utils.data.DataLoader(Rows(xn[train], yn[train]), batch_size=128, shuffle=True)
    val_loader = torch.utils.data.DataLoader(Rows(xn[val], yn[val]), batch_size=128, shuffle=False)

    # ---- training (timed like the original's main(), checkpoints included) ----
    t0 = time.perf_counter()
    model = Mlp(x.shape[1], [len(g) for g in METRICS], [0.5, 0.5, 0])
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-7)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=1e-2, total_steps=len(train_loader) * args.epochs, pct_start=0.3,
                                                div_factor=10, base_momentum=0.85, max_momentum=0.95)
    smooth_l1, l1 = nn.SmoothL1Loss(), nn.L1Loss(reduction='none')
    std_t, mean_t = torch.from_numpy(out_std), torch.from_numpy(out_mean)
    best, best_epoch, best_l1, last_l1 = float('inf'), -1, None, None
    ckpt = tempfile.mkdtemp(prefix='ncp-bench-')
    for epoch in range(args.epochs):
        model.train()
        for data, label in train_loader:
            loss = smooth_l1(model(data), label)
            model.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        total = torch.zeros(len(names))
        with torch.no_grad():
            for data, label in val_loader:
                total += l1(model(data) * std_t + mean_t, label * std_t + mean_t).mean(0)
        last_l1 = (total / len(val_loader)).tolist()
        if last_l1[0] < best:
            best, best_epoch, best_l1 = last_l1[0], epoch, last_l1
            torch.save(model.state_dict(), f'{ckpt}/best_model.pth')
    torch.save(model.state_dict(), f'{ckpt}/last_model.pth')
    train_seconds = time.perf_counter() - t0

    # ---- propagation (ncp.md §5.4; the objectives' criterion is L1, as tools/ncp.py's) ----
    t0 = time.perf_counter()
    model.load_state_dict(torch.load(f'{ckpt}/best_model.pth'))
    model.eval()
    lo = torch.tensor([8.0 if i in CHANNELS else 1.0 for i in range(27)])
    hi = torch.tensor([128.0 if i in CHANNELS else 4.0 for i in range(27)])
    lo_n, hi_n = (lo - in_mean) / in_std, (hi - in_mean) / in_std
    start = torch.tensor([START])
    z = ((start - in_mean) / in_std).float().requires_grad_(True)
    rounded = np.array(START)
    flops_seconds = 0.0
    t1 = time.perf_counter()
    flops, params = net2flops(rounded)
    flops_seconds += time.perf_counter() - t1
    trajectory = []
    for _ in range(args.iters):
        sgd = torch.optim.SGD([z], lr=3)
        sgd.zero_grad()
        pred = model(z)[0]
        main_record = model(((torch.tensor(rounded, dtype=torch.float32) - in_mean) / in_std).float().unsqueeze(0))[0][0]
        trajectory.append({'rounded': [int(v) for v in rounded], 'main_metric': main_record.item() * float(out_std[0]) + float(out_mean[0]),
                           'flops': flops, 'params': params})
        loss = l1(pred[0], pred[0].detach() + 0.1) + 0.5 * l1(pred[-2], pred[-2].detach() - 0.1)
        loss.backward()
        sgd.step()
        with torch.no_grad():
            z.copy_(torch.max(torch.min(z, hi_n), lo_n))
        z = z.detach().clone().requires_grad_(True)
        cont = in_mean + np.array(z[0].tolist()) * in_std
        rounded = np.array([max(d, int(np.float32(v) + np.float32(d / 2)) // d * d) for v, d in zip(cont, lo.tolist())], dtype=np.int64)
        t1 = time.perf_counter()
        flops, params = net2flops(rounded)
        flops_seconds += time.perf_counter() - t1
    propagation_seconds = time.perf_counter() - t0
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'footing': footing(), 'epochs': args.epochs,
                      'train_seconds': train_seconds, 'best_epoch': best_epoch, 'best_l1': best_l1, 'last_l1': last_l1,
                      'propagation_seconds': propagation_seconds, 'net2flops_seconds': flops_seconds, 'trajectory': trajectory}))


if __name__ == '__main__':
    main()
