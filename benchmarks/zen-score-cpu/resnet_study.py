#!/usr/bin/env python3
"""Which ResNet layer lists reproduce the Zen-NAS paper's Table 4 Zen-scores?

Builds ResNet-18 / ResNet-50 variants (torchvision layout, residual links and projection
shortcuts removed, as Algorithm 1 prescribes), scores them at B=16, 224×224 with the Philox
streams of native/DESCRIPTOR.md, and reports paper-mode and official-mode means from the *same*
forwards (paper: biased batch variance of the clean forward; official: BN running_var after the
two forwards, persisting across repeats). Results → stdout (JSON) and RESNET.md (by hand).

    python3 resnet_study.py [--repeats 8] [--seed 0] [--threads 2] [--only R18,R50,R34,R101,R152]
"""
import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn as nn

import torch_zen as tz


class Spec:
    """A chain op list in decoded descriptor v2 form (node i reads value i, produces value i + 1)."""

    def __init__(self):
        self.ops, self.slot, self.c = [], 0, 3

    def _op(self, op, cin, cout, k=0, s=0, new_slot=False):
        self.ops.append(dict(op=op, inputs=[len(self.ops)], cin=cin, cout=cout, kernel=k, stride=s))
        self.c = cout

    def conv(self, cout, k, s=1):
        self._op("conv", self.c, cout, k, s, True)

    def bn(self):
        self._op("bn", self.c, self.c)

    def relu(self):
        self._op("relu", self.c, self.c)

    def cbr(self, cout, k, s=1, relu=True):
        self.conv(cout, k, s)
        self.bn()
        if relu:
            self.relu()

    def maxpool(self):
        self._op("maxpool", self.c, self.c, 3, 2, True)

    def net(self, name):
        return dict(name=name, inputChannels=3, outputs=[len(self.ops)], nodes=self.ops)


def resnet(depth, maxpool=True, stride_on="3x3"):
    """torchvision ResNet without residuals; stride_on '3x3' = v1.5 (torchvision), '1x1' = v1 (He et al.)."""
    blocks = {18: [2, 2, 2, 2], 34: [3, 4, 6, 3], 50: [3, 4, 6, 3], 101: [3, 4, 23, 3], 152: [3, 8, 36, 3]}[depth]
    bottleneck = depth >= 50
    s = Spec()
    s.cbr(64, 7, 2)
    if maxpool:
        s.maxpool()
    for stage, n in enumerate(blocks):
        width = 64 << stage
        for b in range(n):
            stride = 2 if (stage > 0 and b == 0) else 1
            if bottleneck:
                s.cbr(width, 1, stride if stride_on == "1x1" else 1)
                s.cbr(width, 3, stride if stride_on == "3x3" else 1)
                s.cbr(4 * width, 1)  # BN, then the block's final ReLU (after the removed addition)
            else:
                s.cbr(width, 3, stride)
                s.cbr(width, 3)
    tag = "%s%s" % ("maxpool" if maxpool else "no-maxpool", ", stride on %s" % stride_on if bottleneck else "")
    return s.net("ResNet-%d (%s)" % (depth, tag))


def score_both_modes(spec, batch, res, repeats, seed, bn_eps=1e-5, alpha=0.01):
    """Paper and official mode from the same draws and forwards."""
    shape = (batch, 3, res, res)
    model = tz.OpListNet(spec, bn_eps).train()
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    rows = []
    with torch.no_grad():
        for r in range(repeats):
            t0 = time.perf_counter()
            x, eps = tz.init_philox(model, shape, seed, r, torch.float32)
            t_init = time.perf_counter() - t0
            model.bn_inputs = []
            t0 = time.perf_counter()
            out = model(x)
            clean, model.bn_inputs = model.bn_inputs, None
            mix = model(x + alpha * eps)
            t_fwd = time.perf_counter() - t0
            log_delta = float(torch.log(torch.sum(torch.abs(out.double() - mix.double()), dim=[1, 2, 3]).mean()))
            paper = sum(0.5 * math.log(float(v.double().mean())) for v in clean)
            official = sum(0.5 * math.log(float(m.running_var.double().mean())) for m in bns)
            rows.append(dict(logDelta=log_delta, paper=log_delta + paper, official=log_delta + official, init=t_init, fwd=t_fwd))
    res_ = {}
    for mode in ("paper", "official"):
        v = np.array([row[mode] for row in rows])
        res_[mode] = dict(mean=float(v.mean()), std=float(v.std()), ci95=float(1.96 * v.std() / math.sqrt(len(v))), scores=v.tolist())
    return dict(name=spec["name"], bnLayers=len(bns), convLayers=sum(o["op"] == "conv" for o in spec["nodes"]),
                macs=tz.macs(spec, res), repeats=repeats, seed=seed, batch=batch, resolution=res,
                meanForwardSeconds=float(np.mean([r["fwd"] for r in rows])), **res_)


PAPER = {18: 59.53, 34: 112.32, 50: 140.3, 101: 287.87, 152: 433.57}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--resolution", type=int, default=224)
    ap.add_argument("--only", default="R18,R50")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    variants = []
    if "R18" in a.only.split(","):
        variants += [(18, resnet(18, True)), (18, resnet(18, False))]
    # the deeper ones only in the layout that reproduces ResNet-18/50 (torchvision, stem max-pool)
    for d in (34, 101, 152):
        if "R%d" % d in a.only.split(","):
            variants.append((d, resnet(d, True)))
    if "R50" in a.only.split(","):
        variants += [(50, resnet(50, mp, so)) for mp in (True, False) for so in ("3x3", "1x1")]
    out = []
    for depth, spec in variants:
        r = score_both_modes(spec, a.batch, a.resolution, a.repeats, a.seed)
        r["paperTable4"] = PAPER[depth]
        for mode in ("paper", "official"):
            r[mode]["relErr"] = (r[mode]["mean"] - PAPER[depth]) / PAPER[depth]
        out.append(r)
        print("%-40s BN=%3d  paper %.2f ± %.2f (%+.1f%%)  official %.2f ± %.2f (%+.1f%%)  [Table 4: %.2f]" % (
            r["name"], r["bnLayers"], r["paper"]["mean"], r["paper"]["ci95"], 100 * r["paper"]["relErr"],
            r["official"]["mean"], r["official"]["ci95"], 100 * r["official"]["relErr"], PAPER[depth]), flush=True)
    print(json.dumps(dict(torch=torch.__version__, threads=a.threads, results=out)))


if __name__ == "__main__":
    main()
