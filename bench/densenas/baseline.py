#!/usr/bin/python3
"""PyTorch-in-Python baseline for bench/densenas: the DenseNAS MBV2 super network of a config (specs/densenas.md
§1.3 connectivity, §2 ops, §3.3 op sampling, §3.4 forward, §3.5 chained cost, §3.6 losses and alpha re-scaling),
written for this benchmark from the spec, timing one weight step, one architecture step and a latency LUT built
with the original's per-entry procedure (§5.1: meas_times forwards per op, the first 100 discarded, mean of the
rest). Prints one JSON object. Run with Debian's python3-torch: /usr/bin/python3.

Usage: baseline.py CONFIG.yaml COSTS.json [--threads N] [--steps N] [--batch N] [--meas-times N] [--seed N]
                   [--no-lut] [--serve]
COSTS.json: the cost list (stem, blocks[j-1].head/stack, conv1x1, classifier) for the chained cost.
--serve: after construction print one JSON line (the run's description), then answer one JSON line per request
read from stdin: {"cmd": "weight" | "arch", "ops": {"head": [...], "stack": [...]}} runs one step on the given op
sample (per block j, per mixed op, the ascending op indices; the layout of torchnas's `ops` option) and answers
{"seconds": S, "loss": L}; {"cmd": "lut"} builds the LUT and answers its summary; {"cmd": "quit"} ends. So the
bench can interleave the two sides step by step on the same sampled paths (paired timings)."""
import json
import math
import os
import re
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from footing import footing  # noqa: E402


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


# ---------------------------------------------------------------- space (§1.3)
def parse_size(v):
    if isinstance(v, str):
        v = [int(x) for x in re.findall(r'\d+', v)]
    return list(v)


def build_space(cfg):
    sp = cfg['search_params']
    ns = sp['net_scale']
    chs, fm, stage, layers = ns['chs'], ns['fm_sizes'], ns['stage'], ns['num_layers']
    n = len(chs)  # block N = conv1_1
    last_dim = cfg['optim']['last_dim']
    widths = list(chs) + [last_dim]
    fms = list(fm) + [fm[-1]]
    succ = []
    for i in range(n):
        out = []
        j = i + 1
        for _ in range(sp['adjoin_connect_nums'][stage[i]]):
            if j > n or stage[j] - stage[i] > 1 or fms[i] % fms[j] != 0 or fms[i] // fms[j] not in (1, 2):
                break
            out.append((j, fms[i] // fms[j]))
            j += 1
        succ.append(out)
    pred = [[] for _ in range(n + 1)]
    for i in range(n):
        for j, s in succ[i]:
            pred[j].append((i, s))
    for j in range(n + 1):
        pred[j].sort(key=lambda e: -e[0])  # nearest first
    return {'n': n, 'widths': widths, 'layers': list(layers) + [0], 'succ': [[j for j, _ in s] for s in succ], 'pred': pred,
            'head_ops': sp['PRIMITIVES_head'], 'stack_ops': sp['PRIMITIVES_stack']}


# ---------------------------------------------------------------- ops (§2)
BN_MOMENTUM, BN_EPS = 0.1, 1e-3


def bn(c, affine):
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=BN_MOMENTUM, affine=affine, track_running_stats=True)


def conv(cin, cout, k, s, g=1):
    return nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=g, bias=False)


class MBConv(nn.Module):
    def __init__(self, cin, cout, k, t, s, affine):
        super().__init__()
        hidden = cin * t
        self.residual = cin == cout and s == 1
        self.expand = nn.Sequential(conv(cin, hidden, 1, 1), bn(hidden, affine), nn.ReLU6()) if t > 1 else None
        self.depthwise = nn.Sequential(conv(hidden, hidden, k, s, hidden), bn(hidden, affine), nn.ReLU6())
        self.project = nn.Sequential(conv(hidden, cout, 1, 1), bn(cout, True if t == 1 else affine))

    def forward(self, x):
        h = self.expand(x) if self.expand is not None else x
        h = self.project(self.depthwise(h))
        return h + x if self.residual else h


class Skip(nn.Module):
    def __init__(self, cin, cout, affine):
        super().__init__()
        self.op = nn.Sequential(conv(cin, cout, 1, 1), bn(cout, affine)) if cin != cout else None

    def forward(self, x):
        return self.op(x) if self.op is not None else x


def make_op(name, cin, cout, s):
    if name == 'skip_connect':
        return Skip(cin, cout, False)
    m = re.fullmatch(r'mbconv_k(\d)_t(\d)', name)
    return MBConv(cin, cout, int(m.group(1)), int(m.group(2)), s, False)


class SuperNet(nn.Module):
    def __init__(self, cfg, space, classes, in_ch, stem_stride):
        super().__init__()
        o = cfg['optim']
        w = space['widths']
        self.space = space
        self.stem = nn.Sequential(conv(in_ch, o['init_dim'], 3, stem_stride), bn(o['init_dim'], False), nn.ReLU6())
        self.head_block = MBConv(o['init_dim'], o['head_dim'], 3, 1, 1, False)
        self.heads = nn.ModuleList()
        self.stacks = nn.ModuleList()
        n = space['n']
        for j in range(1, n):
            self.heads.append(nn.ModuleList(nn.ModuleList(make_op(op, w[i], w[j], s) for op in space['head_ops']) for i, s in space['pred'][j]))
            self.stacks.append(nn.ModuleList(nn.ModuleList(make_op(op, w[j], w[j], 1) for op in space['stack_ops'])
                                             for _ in range(space['layers'][j])))
        self.last = nn.ModuleList(nn.Sequential(conv(w[i], w[n], 1, 1), bn(w[n], False), nn.ReLU6()) for i, _ in space['pred'][n])
        self.classifier = nn.Linear(w[n], classes)
        for m in self.modules():  # he_fout (§2 "Init")
            if isinstance(m, nn.Conv2d):
                fan = m.kernel_size[0] * m.kernel_size[1] * m.out_channels / m.groups
                m.weight.data.normal_(0, math.sqrt(2.0 / fan))
            elif isinstance(m, nn.BatchNorm2d) and m.affine:
                m.weight.data.fill_(1)
                m.bias.data.zero_()
            elif isinstance(m, nn.Linear):
                m.bias.data.zero_()

    @staticmethod
    def mixed(ops, alpha_row, chosen, x, temp):
        w = F.softmax(alpha_row[chosen] / temp, dim=0)
        out = None
        for k, c in enumerate(chosen):
            y = ops[c](x) * w[k]
            out = y if out is None else out + y
        return out

    def forward(self, x, arch, sample, temp):
        sp = self.space
        n = sp['n']
        p = [F.softmax(b / temp, dim=0) for b in arch['betas']]
        outs = [self.head_block(self.stem(x))]
        for j in range(1, n):
            z = None
            for h, (i, _) in enumerate(sp['pred'][j]):
                m = self.mixed(self.heads[j - 1][h], arch['alpha_head'][j][h], sample['head'][j][h], outs[i], temp)
                t = m * p[i][sp['succ'][i].index(j)]
                z = t if z is None else z + t
            for layer in range(sp['layers'][j]):
                z = self.mixed(self.stacks[j - 1][layer], arch['alpha_stack'][j][layer], sample['stack'][j][layer], z, temp)
            outs.append(z)
        q = F.softmax(torch.stack([p[i][sp['succ'][i].index(n)] for i, _ in sp['pred'][n]]), dim=0)  # §3.4 quirk
        merged = None
        for h, (i, _) in enumerate(sp['pred'][n]):
            t = self.last[h](outs[i]) * q[h]
            merged = t if merged is None else merged + t
        return self.classifier(F.adaptive_avg_pool2d(merged, 1).flatten(1))

    def expected_cost(self, arch, sample, costs, temp):
        sp = self.space
        n = sp['n']

        def weighted(row, chosen, c):
            w = F.softmax(row[chosen] / temp, dim=0)
            return (w * torch.tensor([c[k] for k in chosen], dtype=torch.float32)).sum()

        stack = [None] * (n + 1)
        for j in range(1, n):
            s = torch.zeros(())
            for layer in range(sp['layers'][j]):
                s = s + weighted(arch['alpha_stack'][j][layer], sample['stack'][j][layer], costs['blocks'][j - 1]['stack'][layer])
            stack[j] = s
        e = [None] * (n + 1)
        e[n] = torch.zeros(())
        for i in range(n - 1, -1, -1):
            p = F.softmax(arch['betas'][i] / temp, dim=0)
            total = torch.zeros(())
            for s, j in enumerate(sp['succ'][i]):
                h = [a for a, _ in sp['pred'][j]].index(i)
                if j == n:
                    total = total + p[s] * (torch.tensor(costs['conv1x1'][h]) + e[n])
                else:
                    head = weighted(arch['alpha_head'][j][h], sample['head'][j][h], costs['blocks'][j - 1]['head'][h])
                    total = total + p[s] * (head + stack[j] + e[j])
            e[i] = total
        return e[0] + costs['stem'] + costs['classifier']


def init_arch(space, gen):
    n = space['n']
    draw = lambda *shape: (1e-3 * torch.randn(*shape, generator=gen)).requires_grad_(True)
    arch = {'betas': [draw(len(space['succ'][i])) for i in range(n)], 'alpha_head': [None], 'alpha_stack': [None]}
    for j in range(1, n):
        arch['alpha_head'].append(draw(len(space['pred'][j]), len(space['head_ops'])))
        arch['alpha_stack'].append(draw(space['layers'][j], len(space['stack_ops'])) if space['layers'][j] > 0 else None)
    return arch


def sample_ops(space, arch, k, policy, gen):
    """§3.3: k distinct ops per mixed-op row, sorted; uniform or multinomial on softmax(alpha) (no temperature)."""
    def row(a):
        ops = a.shape[0]
        if k >= ops:
            return list(range(ops))
        if policy == 'uniform':
            picked = torch.randperm(ops, generator=gen)[:k]
        else:
            picked = torch.multinomial(F.softmax(a.detach().double(), 0), k, replacement=False, generator=gen)
        return sorted(picked.tolist())
    n = space['n']
    s = {'head': [None], 'stack': [None]}
    for j in range(1, n):
        s['head'].append([row(r) for r in arch['alpha_head'][j]])
        s['stack'].append([row(r) for r in arch['alpha_stack'][j]] if arch['alpha_stack'][j] is not None else [])
    return s


def detached(arch):
    return {k: [None if t is None else t.detach() for t in v] for k, v in arch.items()}


# ---------------------------------------------------------------- LUT (§5.1)
def time_op(fn, x, meas_times):
    times = []
    with torch.no_grad():
        for _ in range(meas_times):
            t0 = time.perf_counter()
            y = fn(x)
            times.append((time.perf_counter() - t0) * 1000)
    kept = times[100:]
    mean = sum(kept) / len(kept)
    std = math.sqrt(sum((t - mean) ** 2 for t in kept) / (len(kept) - 1)) if len(kept) > 1 else 0.0
    return y, {'count': len(kept), 'mean': mean, 'std': std}


def build_lut(net, space, batch, in_ch, size, meas_times, gen):
    net.eval()
    n = space['n']
    entries = []
    x = torch.randn(batch, in_ch, size, size, generator=gen)
    stem_out, s1 = time_op(net.stem, x, meas_times)
    outs = [None] * (n + 1)
    outs[0], s2 = time_op(net.head_block, stem_out, meas_times)
    entries.append({'count': min(s1['count'], s2['count']), 'mean': s1['mean'] + s2['mean'], 'std': math.hypot(s1['std'], s2['std'])})
    for j in range(1, n):
        current = None
        for h, (i, _) in enumerate(space['pred'][j]):
            for op in net.heads[j - 1][h]:
                current, st = time_op(op, outs[i], meas_times)
                entries.append(st)
        for layer in range(space['layers'][j]):
            for op in net.stacks[j - 1][layer]:
                current, st = time_op(op, current, meas_times)
                entries.append(st)
        outs[j] = current
    last = None
    for h, (i, _) in enumerate(space['pred'][n]):
        last, st = time_op(net.last[h], outs[i], meas_times)
        entries.append(st)
    _, st = time_op(net.classifier, F.adaptive_avg_pool2d(last, 1).flatten(1), meas_times)
    entries.append(st)
    net.train()
    return entries


def median(v):
    s = sorted(v)
    m = len(s)
    return s[m // 2] if m % 2 else 0.5 * (s[m // 2 - 1] + s[m // 2])


def main():
    cfg = yaml.safe_load(open(sys.argv[1]))
    costs = json.load(open(sys.argv[2]))
    threads = int(arg('--threads', 1))
    steps = int(arg('--steps', 3))
    batch = int(arg('--batch', cfg['data']['batch_size']))
    meas_times = int(arg('--meas-times', 110))
    seed = int(arg('--seed', 2))
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    in_ch, size, _ = parse_size(cfg['data']['input_size'])
    space = build_space(cfg)
    classes = cfg.get('num_classes', 10)
    stem_stride = cfg.get('stem_stride', 2)
    sp = cfg['search_params']
    o = cfg['optim']
    temp = float(sp['softmax_temp'])
    lam, tau = o['sub_obj']['sub_loss_factor'], o['sub_obj']['log_base']

    t0 = time.perf_counter()
    net = SuperNet(cfg, space, classes, in_ch, stem_stride)
    build_seconds = time.perf_counter() - t0
    arch = init_arch(space, gen)
    weights = list(net.parameters())
    alphas = [a for a in arch['alpha_head'][1:] + arch['alpha_stack'][1:] if a is not None]
    sgd = torch.optim.SGD(weights, lr=o['weight']['init_lr'], momentum=o['weight']['momentum'], weight_decay=o['weight']['weight_decay'])
    adam = torch.optim.Adam([{'params': alphas, 'lr': o['arch']['alpha_lr']}, {'params': arch['betas'], 'lr': o['arch']['beta_lr']}],
                            betas=(0.5, 0.999), weight_decay=o['arch']['weight_decay'])
    x = torch.rand(batch, in_ch, size, size, generator=gen)
    y = torch.randint(0, classes, (batch,), generator=gen)
    net.train()

    def given(ops):
        n = space['n']
        return {'head': [None] + [ops['head'][j] for j in range(1, n)],
                'stack': [None] + [ops['stack'][j] or [] for j in range(1, n)]}

    def weight_step(ops=None):
        sample = given(ops) if ops else sample_ops(space, arch, sp['weight_sample_num'], sp['sample_policy'], gen)
        frozen = detached(arch)
        sgd.zero_grad()  # PyTorch 1.13: zero tensors kept (set_to_none=False), as the original relies on
        loss = F.cross_entropy(net(x, frozen, sample, temp), y)
        loss.backward()
        sgd.step()
        with torch.no_grad():
            net.expected_cost(frozen, sample, costs, temp)  # logged only (§3.5)
        return loss.item()

    def arch_step(ops=None):
        sample = given(ops) if ops else sample_ops(space, arch, 2, 'prob', gen)
        before = [a.detach().clone() for a in alphas]
        for p in weights:
            p.requires_grad_(False)
        adam.zero_grad()
        loss = F.cross_entropy(net(x, arch, sample, temp), y)
        cost = net.expected_cost(arch, sample, costs, temp)
        loss = loss + lam * torch.log(cost) / math.log(tau)
        loss.backward()
        adam.step()
        for p in weights:
            p.requires_grad_(True)
        with torch.no_grad():  # §3.6 re-scaling of the sampled entries (scalar fill, as the original means it)
            k = 0
            for key in ('alpha_head', 'alpha_stack'):
                for j in range(1, space['n']):
                    a = arch[key][j]
                    if a is None:
                        continue
                    old = before[k]
                    k += 1
                    for r, chosen in enumerate(sample['head' if key == 'alpha_head' else 'stack'][j]):
                        if len(chosen) >= a.shape[1]:
                            continue
                        idx = torch.tensor(chosen)
                        c = torch.logsumexp(old[r][idx], 0) - torch.logsumexp(a[r][idx], 0)
                        a[r].index_add_(0, idx, c.expand(len(chosen)))
        return loss.item(), cost.item()

    def timed(fn, count):
        fn()  # one untimed step (allocator, first-touch)
        out = []
        for _ in range(count):
            t = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t)
        return out

    def lut():
        t = time.perf_counter()
        entries = build_lut(net, space, batch, in_ch, size, meas_times, gen)
        return {'seconds': time.perf_counter() - t, 'entries': len(entries), 'meas_times': meas_times,
                'timed_runs': entries[0]['count'], 'total_ms': sum(e['mean'] for e in entries),
                # precision of each entry's estimate (the mean of the kept runs): SE / mean
                'rel_se': [e['std'] / math.sqrt(e['count']) / e['mean'] for e in entries if e['count'] > 1 and e['mean'] > 0],
                'rel_std': [e['std'] / e['mean'] for e in entries if e['count'] > 1 and e['mean'] > 0]}

    result = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'footing': footing(),
              'weights': sum(p.numel() for p in weights), 'arch_parameters': sum(a.numel() for a in alphas + arch['betas']),
              'build_seconds': build_seconds}
    if '--serve' in sys.argv:
        print(json.dumps(result), flush=True)
        for line in sys.stdin:
            req = json.loads(line)
            if req['cmd'] == 'quit':
                break
            if req['cmd'] == 'lut':
                print(json.dumps(lut()), flush=True)
                continue
            step = weight_step if req['cmd'] == 'weight' else arch_step
            t = time.perf_counter()
            out = step(req.get('ops'))
            seconds = time.perf_counter() - t
            print(json.dumps({'seconds': seconds, 'loss': out if isinstance(out, float) else out[0]}), flush=True)
        return
    result['weight_step'] = timed(weight_step, steps)
    result['arch_step'] = timed(arch_step, steps)
    if '--no-lut' not in sys.argv:
        result['lut'] = lut()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
