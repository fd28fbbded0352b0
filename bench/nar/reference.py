"""Our own PyTorch model of NAR's ranker (spec nar.md §4.1), written plainly: the decoder runs once per tier with
the batch-1 tier embedding as its query (broadcast against the B encoder outputs) and the 5 outputs are summed,
as the original describes it. Parameter names match torchnas's NarRanker, so weights move between the two.

Modes (Debian's /usr/bin/python3 with python3-torch):
  parity WEIGHTS.bin META.json OUT.json   eval-mode forward on the inputs in META/WEIGHTS (the parity test)
  bench [--threads N] [--space nb201] [--epochs E]   E training epochs (7 steps x 128 each; default 2) and scoring
                                                    15,625 archs (timings)
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

NB201 = dict(n_patch=31, patch_len=16, d_model=128, d_inner=512, n_layers=6, n_head=4, d_k=32, d_v=32, dropout=0.1,
             d_tier_inner=256, d_score_inner=1024, n_tier=5, n_position=200, scale_prj=True)
NB101 = dict(NB201, n_patch=19, patch_len=49, d_model=256, d_inner=1024, n_head=4, d_k=64, d_v=64, d_tier_inner=2048,
             d_score_inner=2048)


def sinusoid(n_position, d):
    table = np.array([[pos / np.power(10000, 2 * (j // 2) / d) for j in range(d)] for pos in range(n_position)])
    table[:, 0::2] = np.sin(table[:, 0::2])
    table[:, 1::2] = np.cos(table[:, 1::2])
    return torch.FloatTensor(table)


class Attention(nn.Module):
    def __init__(self, d_model, n_head, d_k, d_v, dropout):
        super().__init__()
        self.n_head, self.d_k, self.d_v = n_head, d_k, d_v
        self.w_qs = nn.Linear(d_model, n_head * d_k, bias=False)
        self.w_ks = nn.Linear(d_model, n_head * d_k, bias=False)
        self.w_vs = nn.Linear(d_model, n_head * d_v, bias=False)
        self.fc = nn.Linear(n_head * d_v, d_model, bias=False)
        self.layer_norm = nn.LayerNorm(d_model, eps=1e-6)
        self.drop = nn.Dropout(dropout)

    def forward(self, q, k, v):
        h = self.n_head
        bq, lq = q.shape[:2]
        bk, lk = k.shape[:2]
        residual = q
        qq = self.w_qs(q).view(bq, lq, h, self.d_k).transpose(1, 2)
        kk = self.w_ks(k).view(bk, lk, h, self.d_k).transpose(1, 2)
        vv = self.w_vs(v).view(bk, lk, h, self.d_v).transpose(1, 2)
        attn = torch.matmul(qq / math.sqrt(self.d_k), kk.transpose(2, 3))
        attn = self.drop(F.softmax(attn, dim=-1))
        out = torch.matmul(attn, vv)
        out = out.transpose(1, 2).contiguous().view(out.size(0), lq, -1)
        out = self.drop(self.fc(out))
        return self.layer_norm(out + residual)


class FeedForward(nn.Module):
    def __init__(self, d_model, d_inner, dropout):
        super().__init__()
        self.w_1 = nn.Linear(d_model, d_inner)
        self.w_2 = nn.Linear(d_inner, d_model)
        self.layer_norm = nn.LayerNorm(d_model, eps=1e-6)
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        return self.layer_norm(self.drop(self.w_2(F.relu(self.w_1(x)))) + x)


class EncoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.slf_attn = Attention(c['d_model'], c['n_head'], c['d_k'], c['d_v'], c['dropout'])
        self.pos_ffn = FeedForward(c['d_model'], c['d_inner'], c['dropout'])

    def forward(self, x):
        return self.pos_ffn(self.slf_attn(x, x, x))


class DecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.slf_attn = Attention(c['d_model'], c['n_head'], c['d_k'], c['d_v'], c['dropout'])
        self.enc_attn = Attention(c['d_model'], c['n_head'], c['d_k'], c['d_v'], c['dropout'])
        self.pos_ffn = FeedForward(c['d_model'], c['d_inner'], c['dropout'])

    def forward(self, y, enc):
        y = self.slf_attn(y, y, y)
        y = self.enc_attn(y, enc, enc)
        return self.pos_ffn(y)


class Ranker(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        d, flat = c['d_model'], c['n_patch'] * c['d_model']
        self.src_prj = nn.Linear(c['patch_len'], d)
        self.trg_prj = nn.Linear(d, d)
        self.enc_norm = nn.LayerNorm(d, eps=1e-6)
        self.enc_layers = nn.ModuleList([EncoderLayer(c) for _ in range(c['n_layers'])])
        self.dec_norm = nn.LayerNorm(d, eps=1e-6)
        self.dec_layers = nn.ModuleList([DecoderLayer(c) for _ in range(c['n_layers'])])
        self.score_fc1 = nn.Linear(flat, c['d_score_inner'])
        self.score_fc2 = nn.Linear(c['d_score_inner'], 1)
        self.tier_fc1 = nn.Linear(flat, c['d_tier_inner'], bias=False)
        self.tier_fc2 = nn.Linear(c['d_tier_inner'], c['n_tier'])
        self.register_buffer('pos_table', sinusoid(c['n_position'], d))
        self.drop = nn.Dropout(c['dropout'])
        for p in self.parameters():
            if p.dim() > 1:
                nn.init.xavier_uniform_(p)

    def encode(self, src):
        c = self.c
        x = self.src_prj(src.reshape(src.size(0), c['n_patch'], c['patch_len']))
        x = self.enc_norm(self.drop(x) + self.pos_table[:c['n_patch']])
        for layer in self.enc_layers:
            x = layer(x)
        return x

    def score(self, enc):
        return self.score_fc2(F.relu(self.score_fc1(enc.flatten(1))))

    def forward(self, src, trg):
        c = self.c
        enc = self.encode(src)
        total = None
        for i in range(trg.size(0)):
            y = self.trg_prj(trg[i:i + 1])
            y = self.dec_norm(self.drop(y) + self.pos_table[:c['n_patch']])
            for layer in self.dec_layers:
                y = layer(y, enc)
            total = y if total is None else total + y
        logits = self.tier_fc2(F.relu(self.tier_fc1(total.flatten(1))))
        if c['scale_prj']:
            logits = logits * c['d_model'] ** -0.5
        return logits, enc, self.score(enc)


def rank_loss(s, y):
    s = s.reshape(-1)
    n = s.size(0)
    diff = s.unsqueeze(1) - s.unsqueeze(0)
    sign = torch.sign(y.unsqueeze(1) - y.unsqueeze(0))
    pair = F.softplus(-diff * sign) * (1 - torch.eye(n))
    return pair.sum() / (n * (n - 1))


def parity(weights_path, meta_path, out_path):
    meta = json.load(open(meta_path))
    c = dict(NB201 if meta['space'] == 'nb201' else NB101)
    c.update(meta.get('options', {}))
    model = Ranker(c).eval()
    raw = np.fromfile(weights_path, dtype='<f4')
    state = model.state_dict()
    at = 0
    for name, shape in meta['tensors']:
        n = int(np.prod(shape))
        state[name] = torch.from_numpy(raw[at:at + n].copy()).reshape(shape)
        at += n
    missing = [k for k in model.state_dict() if k not in dict((n, 0) for n, _ in meta['tensors']) and k != 'pos_table']
    model.load_state_dict(state)
    src = state_input = torch.from_numpy(raw[at:at + meta['src_numel']].copy())
    at += meta['src_numel']
    trg = torch.from_numpy(raw[at:at + meta['trg_numel']].copy()).reshape(c['n_tier'], c['n_patch'], c['d_model'])
    src = src.reshape(meta['batch'], -1)
    with torch.no_grad():
        logits, enc, score = model(src, trg)
    json.dump({'logits': logits.reshape(-1).tolist(), 'scores': score.reshape(-1).tolist(), 'missing': missing,
               'parameters': sum(p.numel() for p in model.parameters())}, open(out_path, 'w'))


def bench(threads, space, epochs):
    sys.path.insert(0, __file__.rsplit('/', 2)[0])
    from footing import footing
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = NB201 if space == 'nb201' else NB101
    model = Ranker(c)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), eps=1e-9, weight_decay=1e-2)
    feat = c['n_patch'] * c['patch_len']
    x_all = torch.rand(15625, feat) * 100
    acc = torch.rand(15625) * 50
    tiers = torch.randint(0, 5, (15625,))
    buckets = torch.zeros(5, c['n_patch'], c['d_model'])
    counts = torch.zeros(5)
    model.train()
    epoch_seconds = []
    steps = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        for step in range(7):
            s0 = time.perf_counter()
            idx = torch.arange(step * 128, (step + 1) * 128)
            trg = buckets / counts.clamp(min=1).view(-1, 1, 1)
            logits, enc, score = model(x_all[idx], trg)
            loss = F.cross_entropy(logits, tiers[idx]) + rank_loss(score, acc[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            buckets.index_add_(0, tiers[idx], enc.detach())
            counts.index_add_(0, tiers[idx], torch.ones(128))
            steps.append(time.perf_counter() - s0)
        epoch_seconds.append(time.perf_counter() - t0)
    model.eval()
    t1 = time.perf_counter()
    with torch.no_grad():
        for s in range(0, 15625, 1024):
            model.score(model.encode(x_all[s:s + 1024]))
    scoring = time.perf_counter() - t1
    print(json.dumps({'torch': torch.__version__, 'threads': torch.get_num_threads(), 'epoch_seconds': epoch_seconds,
                      'step_seconds': steps, 'scoring_seconds': scoring, 'footing': footing(),
                      'parameters': sum(p.numel() for p in model.parameters())}))


if __name__ == '__main__':
    if sys.argv[1] == 'parity':
        parity(sys.argv[2], sys.argv[3], sys.argv[4])
    elif sys.argv[1] == 'bench':
        threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 1
        space = sys.argv[sys.argv.index('--space') + 1] if '--space' in sys.argv else 'nb201'
        epochs = int(sys.argv[sys.argv.index('--epochs') + 1]) if '--epochs' in sys.argv else 2
        bench(threads, space, epochs)
    else:
        sys.exit('usage: reference.py parity WEIGHTS META OUT | bench [--threads N] [--space nb201|nb101] [--epochs E]')
