#!/usr/bin/env python3
"""NAS-Bench-201 networks in PyTorch, written from the definition (NAS-Bench-201 / TE-NAS
lib/models/cell_operations.py, cell_infers/cells.py, tiny_network.py), independent of zennas:
test/cells.test.ts compares zennas's params/FLOPs with these; benchmarks/prune-nb201 times the
same pruning loop with them.

stdin: {"nets": [{"genotype": "|op~0|+…", "C": 16, "N": 5, "numClasses": 10, "resolution": 32,
                  "reductionPool": "avg2"}, …]}
stdout: {"nets": [{"params": int, "flops": int, "paramsNoClassifier", "flopsNoClassifier"}, …]}
FLOPs = multiply-adds of Conv2d and Linear (forward hooks; Linear without the bias adds), params =
every parameter's numel (conv/linear weights, linear bias, BN γ and β).

A net with "weights" (the conv / linear weights in module registration order, flattened; linear
biases 0, BN γ 1, β 0) and "input" ([batch][3][R][R] flattened) is also run forward in float64 with
training-mode BN (ε 1e-5): its entry then has "logits" ([batch][numClasses] flattened).

The basic block's shortcut pool is NAS-Bench-201's AvgPool2d(2, 2) ("avg2", the default); "avg3"
and "subsample" are zennas's older stand-ins (reductionPool 'avg3' / 'subsample').
"""
import json
import sys

import torch
import torch.nn as nn

from cell_common import forward, multiply_adds

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride):
        super().__init__(nn.ReLU(inplace=False), nn.Conv2d(cin, cout, k, stride=stride, padding=(k - 1) // 2, bias=False), nn.BatchNorm2d(cout))


class Zero(nn.Module):
    def forward(self, x):
        return x.mul(0.0)


def make_op(name, c):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(name)


def parse(genotype):
    """'|a~0|+|b~0|c~1|+|d~0|e~1|f~2|' → [[ops of edge 1<-0], [2<-0], [2<-1], [3<-0], [3<-1], [3<-2]] (one op each)."""
    edges = []
    for j, node in enumerate(genotype.split("+"), start=1):
        items = [s for s in node.split("|") if s]
        assert len(items) == j, genotype
        for i, item in enumerate(items):
            op, src = item.split("~")
            assert int(src) == i, genotype
            edges.append([op])
    return edges


class Cell(nn.Module):
    """node j = Σ_{i<j} Σ_{op on edge i→j} op(node i); edges hold lists of ops (a supernet edge holds several)."""

    def __init__(self, edges, c):
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleList(make_op(o, c) for o in ops) for ops in edges)

    def forward(self, x):
        nodes = [x]
        e = 0
        for j in range(1, 4):
            s = 0
            for i in range(j):
                for op in self.edges[e]:
                    s = s + op(nodes[i])
                e += 1
            nodes.append(s)
        return nodes[3]


class BasicBlock(nn.Module):
    """ResNetBasicblock(C_in, C_out, stride 2): shortcut AvgPool2d(2, 2) + conv 1×1 (no BN) + main branch."""

    def __init__(self, cin, cout, pool="avg2"):
        super().__init__()
        self.conv_a = ReLUConvBN(cin, cout, 3, 2)
        self.conv_b = ReLUConvBN(cout, cout, 3, 1)
        if pool == "avg2":  # cell_operations.ResNetBasicblock
            p = nn.AvgPool2d(kernel_size=2, stride=2, padding=0)
        elif pool == "avg3":  # zennas's older stand-in (reductionPool 'avg3')
            p = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)
        elif pool == "subsample":
            p = nn.AvgPool2d(1, stride=2)
        else:
            raise ValueError(pool)
        self.downsample = nn.Sequential(p, nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class TinyNetwork(nn.Module):
    def __init__(self, edges, C=16, N=5, num_classes=10, pool="avg2"):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        cells = []
        c = C
        for stage in range(3):
            if stage > 0:
                cells.append(BasicBlock(c, 2 * c, pool))
                c *= 2
            for _ in range(N):
                cells.append(Cell(edges, c))
        self.cells = nn.Sequential(*cells)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x):
        y = self.gap(self.lastact(self.cells(self.stem(x))))
        return self.classifier(y.flatten(1))


def count(model, resolution):
    per = multiply_adds(model, 3, resolution)
    flops, cls_flops = sum(per.values()), per.get(model.classifier, 0)
    params = sum(p.numel() for p in model.parameters())
    cls = sum(p.numel() for p in model.classifier.parameters())
    return {"params": params, "flops": flops, "paramsNoClassifier": params - cls, "flopsNoClassifier": flops - cls_flops}


def main():
    req = json.load(sys.stdin)
    out = []
    for n in req["nets"]:
        model = TinyNetwork(parse(n["genotype"]), n.get("C", 16), n.get("N", 5), n.get("numClasses", 10), n.get("reductionPool", "avg2"))
        r = count(model, n.get("resolution", 32))
        if "weights" in n:
            r["logits"] = forward(model, n["weights"], n["input"], 3, n.get("resolution", 32))
        out.append(r)
    json.dump({"nets": out}, sys.stdout)


if __name__ == "__main__":
    main()
