#!/usr/bin/env python3
"""ξ-GSNR Algorithm 1 on the NAS-Bench-201 supernet in PyTorch, written from the definitions
(ξ-GSNR supplementary §B Algorithm 1 and §C.2; NAS-Bench-201's cell ops and skeleton from
test/torch/nb201.py), for the speed ratio against `zennas prune` (benchmarks/prune-nb201/run.ts).

The same work as zennas: θ initialised once (PyTorch's default init), 'none' pruned first; per
evaluation numBatches CE forward+backward passes of batchSize Gaussian images with random labels
(drawn once), GSNR = Σ over conv/linear weights of mean²/(population variance + ξ) over the batch
gradients, layers whose variance is 0 everywhere skipped; s(o) = P(N_t) − P(N_t \\ o); the argmin
of every edge removed. The basic blocks' shortcut pool is NAS-Bench-201's AvgPool2d(2, 2), as
zennas's default (--reduction-pool avg3 / subsample: zennas's older stand-ins).
Pruned ops are skipped in the forward (no work), as TE-NAS's `if w > 0.01` does.

argv: --channels 16 --cells 5 --batch-size 64 --num-batches 8 --xi 1e-8 --resolution 32
      --seed 0 --threads 2 [--rounds R: stop after R rounds] [--max-evaluations K: stop after K]
      [--reduction-pool avg2|avg3|subsample]
stdout: one JSON object {genotype, rounds: [...], seconds, cpuSeconds, evaluations, perEvaluation:
[{wall, cpu}], threads}; cpu = process CPU time (all threads), robust to a shared machine's load.
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "test", "torch"))
from nb201 import OPS, BasicBlock, make_op  # noqa: E402


class SuperCell(nn.Module):
    """Every op on every edge; forward(x, mask) sums the ops whose mask bit is set."""

    def __init__(self, c):
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleList(make_op(o, c) for o in OPS) for _ in range(6))

    def forward(self, x, mask):
        nodes = [x]
        e = 0
        for j in range(1, 4):
            s = 0
            for i in range(j):
                for k, op in enumerate(self.edges[e]):
                    if mask[e][k]:
                        s = s + op(nodes[i])
                e += 1
            nodes.append(s)
        return nodes[3]


class SuperNet(nn.Module):
    def __init__(self, C, N, num_classes=10, pool="avg2"):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        self.cells = nn.ModuleList()
        c = C
        for stage in range(3):
            if stage > 0:
                self.cells.append(BasicBlock(c, 2 * c, pool=pool))
                c *= 2
            for _ in range(N):
                self.cells.append(SuperCell(c))
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x, mask):
        y = self.stem(x)
        for cell in self.cells:
            y = cell(y, mask) if isinstance(cell, SuperCell) else cell(y)
        return self.classifier(F.adaptive_avg_pool2d(self.lastact(y), 1).flatten(1))


def gsnr(model, mask, images, labels, batch, xi):
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    grads = [[] for _ in layers]
    model.train()
    for j in range(images.shape[0] // batch):
        model.zero_grad(set_to_none=True)
        out = model(images[j * batch:(j + 1) * batch], mask)
        F.cross_entropy(out, labels[j * batch:(j + 1) * batch]).backward()
        for li, m in enumerate(layers):
            if m.weight.grad is not None:
                grads[li].append(m.weight.grad.detach().double().flatten().clone())
    score = 0.0
    for g in grads:
        if len(g) == 0:
            continue
        g = torch.stack(g)
        var = g.var(dim=0, unbiased=False)
        if not bool((var != 0).any()):
            continue
        score += float((g.mean(dim=0) ** 2 / (var + xi)).sum())
    return score


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--channels", type=int, default=16)
    ap.add_argument("--cells", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--num-batches", type=int, default=8)
    ap.add_argument("--xi", type=float, default=1e-8)
    ap.add_argument("--resolution", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=0)
    ap.add_argument("--max-evaluations", type=int, default=0)
    ap.add_argument("--reduction-pool", default="avg2", choices=["avg2", "avg3", "subsample"])
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    model = SuperNet(a.channels, a.cells, pool=a.reduction_pool)
    n = a.batch_size * a.num_batches
    images = torch.randn(n, 3, a.resolution, a.resolution)
    labels = torch.randint(0, 10, (n,))
    mask = [[k != 0 for k in range(5)] for _ in range(6)]  # 'none' pruned first
    t0, c0 = time.perf_counter(), time.process_time()
    rounds, evaluations, per = [], 0, []

    def timed(m):
        w, c = time.perf_counter(), time.process_time()
        v = gsnr(model, m, images, labels, a.batch_size, a.xi)
        per.append({"wall": time.perf_counter() - w, "cpu": time.process_time() - c})
        return v

    stop = False
    while any(sum(m) > 1 for m in mask) and not stop:
        tr = time.perf_counter()
        base = timed(mask)
        evaluations += 1
        cands = []
        for e in range(6):
            if sum(mask[e]) < 2 or stop:
                continue
            for k in range(5):
                if not mask[e][k] or stop:
                    continue
                m = [row[:] for row in mask]
                m[e][k] = False
                v = timed(m)
                evaluations += 1
                stop = bool(a.max_evaluations) and evaluations >= a.max_evaluations
                cands.append({"edge": e, "op": OPS[k], "score": base - v})
                print(f"torch: round {len(rounds) + 1}: {evaluations} evaluations, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        removed = []
        for e in range(6):
            cs = [c for c in cands if c["edge"] == e]
            if cs:
                best = min(cs, key=lambda c: c["score"])
                mask[e][OPS.index(best["op"])] = False
                removed.append({"edge": e, "op": best["op"]})
        rounds.append({"round": len(rounds) + 1, "base": base, "candidates": cands, "removed": removed, "seconds": time.perf_counter() - tr})
        if a.rounds and len(rounds) >= a.rounds:
            break
    ops = [[OPS[k] for k in range(5) if mask[e][k]] for e in range(6)]
    g = ops if any(len(o) > 1 for o in ops) else [o[0] for o in ops]
    json.dump({"genotype": g, "rounds": rounds, "seconds": time.perf_counter() - t0, "cpuSeconds": time.process_time() - c0, "evaluations": evaluations,
               "perEvaluation": per, "threads": a.threads, "torch": torch.__version__}, sys.stdout)


if __name__ == "__main__":
    main()
