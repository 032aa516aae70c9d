"""PyTorch peer of the project's benchmark: the same work as dev.scalenet.bench.BenchWorkload, timed the same way.

Run by dev.scalenet.bench.ScaleNetBenchmark, one fresh process per workload, so that the peak resident memory it
reports is that workload's. Prints one JSON line. The models are timm's ViT layout written out in plain torch (timm
itself is not a Debian package): pre-norm blocks, LayerNorm eps 1e-6, exact GELU, class-token pooling; the grown
models reuse their base blocks cyclically and add rank-r parallel adapters (down, ReLU, up) on both branches of
every inserted position, as the project's ScaleNet expansion does. Training is the fine-tune recipe: AdamW (decay
on weights, not on biases or norms), label smoothing 0.1, global gradient-norm clipping at 1.0.

    python3 torch_peer.py WORKLOAD --batch B --warmup W [--warmup-seconds S] --iters N --threads T
"""
import argparse
import json
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

MODELS = {  # img, patch, chans, classes, width, depth, heads, mlp ratio, grown depth
    'micro': (28, 7, 1, 10, 64, 4, 4, 2, 4),
    'micro8': (28, 7, 1, 10, 64, 4, 4, 2, 8),
    'tiny': (224, 16, 3, 1000, 192, 12, 3, 4, 12),
    'tiny24': (224, 16, 3, 1000, 192, 12, 3, 4, 24),
}
ADAPTER_RANK = 8


class Adapter(nn.Module):
    def __init__(self, dim, rank):
        super().__init__()
        self.down = nn.Linear(dim, rank)
        self.up = nn.Linear(rank, dim)

    def forward(self, h):
        return self.up(F.relu(self.down(h)))


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * (c // self.heads) ** -0.5
        x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(b, n, c))


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.fc1 = nn.Linear(dim, dim * mlp_ratio)
        self.fc2 = nn.Linear(dim * mlp_ratio, dim)

    def forward(self, x, adapters=None):
        h = self.norm1(x)
        a = self.attn(h)
        if adapters is not None:
            a = a + adapters[0](h)
        x = x + a
        h = self.norm2(x)
        m = self.fc2(F.gelu(self.fc1(h)))
        if adapters is not None:
            m = m + adapters[1](h)
        return x + m


class Vit(nn.Module):
    def __init__(self, img, patch, chans, classes, dim, depth, heads, mlp_ratio, grown):
        super().__init__()
        self.patch_embed = nn.Conv2d(chans, dim, patch, patch)
        tokens = (img // patch) ** 2 + 1
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        # cyclic growth: position j runs block j mod depth; inserted positions carry adapters
        self.order = [j % depth for j in range(grown)]
        self.adapters = nn.ModuleList(nn.ModuleList([Adapter(dim, ADAPTER_RANK), Adapter(dim, ADAPTER_RANK)])
                                      for _ in range(grown - depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1) + self.pos_embed
        depth = len(self.blocks)
        for j, src in enumerate(self.order):
            x = self.blocks[src](x, self.adapters[j - depth] if j >= depth else None)
        return self.head(self.norm(x)[:, 0])


COLD = 20  # the warm-up iterations whose median is reported as the cold start


def median_ms(body, a):
    """At least a.warmup untimed iterations and until a.warmup_seconds have passed, then a.iters timed ones.

    Returns the timed median, the timed iterations, and the warm-up: its length and its first COLD iterations' median.
    """
    cold = []
    start = time.perf_counter()
    i = 0
    while i < a.warmup or time.perf_counter() - start < a.warmup_seconds:
        t0 = time.perf_counter()
        body()
        if i < COLD:
            cold.append((time.perf_counter() - t0) * 1e3)
        i += 1
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        body()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times), times, {'warmup': i, 'coldMs': statistics.median(cold) if cold else None}


def main():
    p = argparse.ArgumentParser()
    p.add_argument('workload')
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--iters', type=int, default=10)
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--warmup-seconds', type=float, default=0.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    name, _, mode = a.workload.rpartition('-')
    if a.workload == 'sgemm':
        m = torch.rand(1024, 1024)
        n = torch.rand(1024, 1024)
        out = torch.empty(1024, 1024)
        ms, times, warm = median_ms(lambda: torch.mm(m, n, out=out), a)
    elif name == 'block':  # DeiT-Tiny shapes: B8 T197 D192 H3 MLP768
        block = Block(192, 3, 4)
        x = torch.randn(8, 197, 192)
        eps = torch.randn(8, 197, 192)
        if mode == 'forward':
            with torch.no_grad():
                ms, times, warm = median_ms(lambda: block(x), a)
        else:
            def fwd_bwd():
                block.zero_grad(set_to_none=True)
                block(x).backward(eps)
            ms, times, warm = median_ms(fwd_bwd, a)
    elif name in MODELS:
        cfg = MODELS[name]
        model = Vit(*cfg)
        x = torch.randn(a.batch, cfg[2], cfg[0], cfg[0])
        y = torch.randint(0, cfg[3], (a.batch,))
        if mode == 'infer':
            model.eval()
            with torch.no_grad():
                ms, times, warm = median_ms(lambda: model(x), a)
        else:
            decay = [q for q in model.parameters() if q.ndim >= 2]
            rest = [q for q in model.parameters() if q.ndim < 2]
            opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.05}, {'params': rest, 'weight_decay': 0}], lr=1e-3)

            def step():
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x), y, label_smoothing=0.1).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
            model.train()
            ms, times, warm = median_ms(step, a)
    else:
        sys.exit(f'unknown workload {a.workload}')
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({'engine': f'PyTorch {torch.__version__}', 'workload': a.workload, 'medianMs': ms,
                      'timesMs': times, **warm, 'peakRssMb': peak_kib / 1024, 'threads': torch.get_num_threads()}))


if __name__ == '__main__':
    main()
