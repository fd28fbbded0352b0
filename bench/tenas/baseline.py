#!/usr/bin/python3
"""PyTorch-in-Python baseline for bench/tenas: the same NB201 TE-NAS networks and indicators as torchnas,
written for this benchmark from specs/tenas.md (module order as the original, so seeds give the same weights),
computed the way the original TE-NAS code does (one backward per sample for the NTK, ReLU hooks for regions).
Prints one JSON object with values and timings. Run with Debian's python3-torch: /usr/bin/python3."""
import json
import sys
import time

import os
import sys as _sys

import torch

_sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from footing import footing  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, pad):
        super().__init__()
        self.op = nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride, pad, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        return self.op(x)


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


class Identity(nn.Module):
    def forward(self, x):
        return x


class AvgPool(nn.Module):
    def forward(self, x):
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)


def make_op(name, c):
    return {"none": lambda: Zero(), "skip_connect": lambda: Identity(),
            "nor_conv_1x1": lambda: ReLUConvBN(c, c, 1, 1, 0), "nor_conv_3x3": lambda: ReLUConvBN(c, c, 3, 1, 1),
            "avg_pool_3x3": lambda: AvgPool()}[name]()


class ResBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2, 1)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, 2, 0), nn.Conv2d(cin, cout, 1, 1, 0, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Cell(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.edges = nn.ModuleList()
        for i in range(1, 4):
            for j in range(i):
                self.edges.append(nn.ModuleList([make_op(o, c) for o in OPS]))

    def forward(self, x, weights):
        nodes, e = [x], 0
        for i in range(1, 4):
            acc = []
            for j in range(i):
                acc.append(sum(op(nodes[j]) * w for op, w in zip(self.edges[e], weights[e]) if w > 0.01))
                e += 1
            nodes.append(sum(acc))
        return nodes[-1]


class Net(nn.Module):
    def __init__(self, c, n, classes, in_ch=3, use_stem=True, depth=-1):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_ch, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        chans = [c] * n + [2 * c] + [2 * c] * n + [4 * c] + [4 * c] * n
        reds = [False] * n + [True] + [False] * n + [True] + [False] * n
        if depth > 0:
            chans, reds = chans[:depth], reds[:depth]
        self.use_stem = use_stem
        prev = c if use_stem else in_ch
        self.cells = nn.ModuleList()
        for ch, red in zip(chans, reds):
            self.cells.append(ResBlock(prev, ch) if red else Cell(ch))
            prev = ch
        self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(prev, classes)
        self.alpha = 1e-3 * torch.randn(6, 5)

    def forward(self, x):
        w = F.softmax(self.alpha, dim=-1)
        h = self.stem(x) if self.use_stem else x
        for cell in self.cells:
            h = cell(h, w) if isinstance(cell, Cell) else cell(h)
        h = self.lastact(h)
        return self.classifier(F.adaptive_avg_pool2d(h, 1).flatten(1))


def ntk_kappa(net, x):
    """The original's loop: one backward per sample of the logit sum, grads of 'weight' params."""
    net.train()
    net.zero_grad()
    logits = net(x)
    rows = []
    for i in range(x.shape[0]):
        logits[i:i + 1].backward(torch.ones_like(logits[i:i + 1]), retain_graph=True)
        g = [p.grad.view(-1) for n, p in net.named_parameters() if "weight" in n and p.grad is not None]
        rows.append(torch.cat(g))
        net.zero_grad()
    j = torch.stack(rows).double()
    eig = torch.linalg.eigvalsh(j @ j.t())
    k = (eig[-1] / eig[0]).item()
    return 1e5 if k != k else k


def linear_regions(net, x, batch=1000):
    feats = []
    hooks = [m.register_forward_hook(lambda m, i, o: feats.append(o.detach()) if i[0].dim() == 4 else None)
             for m in net.modules() if isinstance(m, nn.ReLU)]
    net.train()
    rows = []
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            feats.clear()
            net(x[s:s + batch])
            rows.append(torch.cat([f.flatten(1) for f in feats], 1) > 0)
    for h in hooks:
        h.remove()
    return torch.unique(torch.cat(rows, 0), dim=0).shape[0]


def timed(fn, repeats):
    best, value = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return value, best


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 72
    repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    torch.set_num_threads(threads)
    g = torch.Generator().manual_seed(12345)
    x = torch.randn(batch, 3, 32, 32, generator=g)
    patches = torch.randn(3000, 1, 3, 3, generator=g)
    out = {"torch": torch.__version__, "threads": threads, "batch": batch}
    torch.manual_seed(0)
    supernet = Net(3, 1, 10)
    supernet.alpha = torch.zeros(6, 5)
    supernet.alpha[:, 0] = -1000
    out["supernet_kappa"], out["supernet_ntk_s"] = timed(lambda: ntk_kappa(supernet, x), repeats)
    torch.manual_seed(42000)
    single = Net(3, 1, 10)
    single.alpha = torch.full((6, 5), -1000.0)
    for e, o in enumerate([0, 3, 2, 1, 0, 3]):
        single.alpha[e, o] = 0
    out["single_kappa"], out["single_ntk_s"] = timed(lambda: ntk_kappa(single, x), repeats)
    torch.manual_seed(0)
    thin = Net(1, 1, 10, in_ch=1, use_stem=False, depth=1)
    thin.alpha = torch.zeros(6, 5)
    thin.alpha[:, 0] = -1000
    out["thin_regions"], out["thin_lr_s"] = timed(lambda: linear_regions(thin, patches), repeats)
    out["footing"] = footing()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
