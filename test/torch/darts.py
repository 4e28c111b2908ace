#!/usr/bin/env python3
"""TE-NAS's DARTS search network in PyTorch, written from its definition (VITA-Group/TENAS
lib/models/cell_operations.py OPS, cell_searchs/search_cells.py NASNetSearchCell,
search_model_darts_nasnet.py NASNetworkDARTS), independent of zennas: test/darts.test.ts compares
zennas's params/FLOPs and forward with these. Edges hold lists of ops (summed, weight 1 — zennas's
documented deviation from TE-NAS's softmax(α) weights); an empty edge is masked out (adds 0).

stdin: {"nets": [{"normal": [[op, …] × 14], "reduce": [[op, …] × 14], "C": 1, "N": 1, "depth": 2,
                  "stem": true, "stemMultiplier": 1, "numClasses": 10, "inputChannels": 3,
                  "resolution": 32, ["weights": conv/linear weights in registration order,
                  "input": [batch][inputChannels][R][R] flattened]}, …]}
stdout: {"nets": [{"params", "flops", ["logits"]}, …]}: FLOPs = Conv2d / Linear multiply-adds;
logits in float64 with training-mode BN (ε 1e-5), linear biases 0, BN γ 1, β 0.
"""
import json
import sys

import torch
import torch.nn as nn

from cell_common import forward, multiply_adds

SPACE = ["none", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5", "avg_pool_3x3", "max_pool_3x3"]


class ReLUConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride, pad, dil=1):
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cout, k, stride, pad, dilation=dil, bias=False), nn.BatchNorm2d(cout))


class SepConv(nn.Sequential):
    def __init__(self, cin, cout, k, stride, pad, dil):
        super().__init__(nn.ReLU(), nn.Conv2d(cin, cin, k, stride, pad, dilation=dil, groups=cin, bias=False),
                         nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))


class DualSepConv(nn.Sequential):
    def __init__(self, cin, cout, k, stride, pad, dil):
        super().__init__(SepConv(cin, cin, k, stride, pad, dil), SepConv(cin, cout, k, 1, pad, dil))


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x.mul(0.0) if self.stride == 1 else x[:, :, ::self.stride, ::self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.relu = nn.ReLU()
        self.convs = nn.ModuleList([nn.Conv2d(cin, cout // 2, 1, 2, bias=False), nn.Conv2d(cin, cout - cout // 2, 1, 2, bias=False)])
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        x = self.relu(x)
        y = self.pad(x)
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1))


def make_op(name, c, stride):
    if name == "none":
        return Zero(stride)
    if name == "skip_connect":
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name == "sep_conv_3x3":
        return DualSepConv(c, c, 3, stride, 1, 1)
    if name == "sep_conv_5x5":
        return DualSepConv(c, c, 5, stride, 2, 1)
    if name == "dil_conv_3x3":
        return SepConv(c, c, 3, stride, 2, 2)
    if name == "dil_conv_5x5":
        return SepConv(c, c, 5, stride, 4, 2)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride, 1)
    raise ValueError(name)


class Cell(nn.Module):
    def __init__(self, edges, c_pp, c_p, c, reduction, reduction_prev):
        super().__init__()
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else ReLUConvBN(c_pp, c, 1, 1, 0)
        self.pre1 = ReLUConvBN(c_p, c, 1, 1, 0)
        self.edges = nn.ModuleList()
        e = 0
        for j in range(2, 6):
            for i in range(j):
                stride = 2 if reduction and i < 2 else 1
                self.edges.append(nn.ModuleList(make_op(o, c, stride) for o in SPACE if o in edges[e]))
                e += 1

    def forward(self, s0, s1):
        states = [self.pre0(s0), self.pre1(s1)]
        e = 0
        for j in range(2, 6):
            s = 0
            for i in range(j):
                for op in self.edges[e]:
                    s = s + op(states[i])
                e += 1
            states.append(s)
        return torch.cat(states[2:], dim=1)


class Network(nn.Module):
    def __init__(self, n):
        super().__init__()
        C, N, sm = n.get("C", 1), n.get("N", 1), n.get("stemMultiplier", 1)
        self.use_stem = n.get("stem", True)
        self.stem = nn.Sequential(nn.Conv2d(n.get("inputChannels", 3), C * sm, 3, padding=1, bias=False), nn.BatchNorm2d(C * sm)) if self.use_stem else None
        channels = [C] * N + [2 * C] + [2 * C] * (N - 1) + [4 * C] + [4 * C] * (N - 1)
        reductions = [False] * N + [True] + [False] * (N - 1) + [True] + [False] * (N - 1)
        depth = n.get("depth", 2)
        c_pp, c_p, reduction_prev = C * sm, C * sm, False
        self.cells = nn.ModuleList()
        for index, (c, reduction) in enumerate(zip(channels, reductions)):
            if depth > 0 and index >= depth:
                break
            self.cells.append(Cell(n["reduce"] if reduction else n["normal"], c_pp, c_p, c, reduction, reduction_prev))
            c_pp, c_p, reduction_prev = c_p, 4 * c, reduction
        self.lastact = nn.Sequential(nn.BatchNorm2d(c_p), nn.ReLU())
        self.classifier = nn.Linear(c_p, n.get("numClasses", 10))

    def forward(self, x):
        s0 = s1 = self.stem(x) if self.use_stem else x
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(nn.functional.adaptive_avg_pool2d(self.lastact(s1), 1).flatten(1))


def count(model, cin, resolution):
    return {"params": sum(p.numel() for p in model.parameters()), "flops": sum(multiply_adds(model, cin, resolution).values())}


def main():
    req = json.load(sys.stdin)
    out = []
    for n in req["nets"]:
        model = Network(n)
        cin, r = n.get("inputChannels", 3), n.get("resolution", 32)
        res = count(model, cin, r)
        if "weights" in n:
            res["logits"] = forward(model, n["weights"], n["input"], cin, r)
        out.append(res)
    json.dump({"nets": out}, sys.stdout)


if __name__ == "__main__":
    main()
