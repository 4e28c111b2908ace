#!/usr/bin/env python3
"""PyTorch CPU baseline of benchmarks/proxies-cpu: every zero-shot proxy as test/torch/proxies.py
writes it from the official code (grad_norm, grad_norm_zc, snip, grasp, fisher, jacob_cov, synflow,
synflow_zc, naswot, tenas_ntk, tenas_lr, tenas, gsnr), in float32 (synflow and synflow_zc in float64,
as their official code runs them), on the same nets (decoded descriptor v2 → OpListNet), the same
Philox weights, input and labels as the engine. Per case the model is rebuilt and its weights
loaded before each call (not timed: several proxies patch the model); the proxy call is timed.

    python3 bench_torch.py < spec.json    spec: {"threads", "iterations", "warmup", "cases": [{"net", "proxy", "batch", ...}]}
stdout: {"torch": version, "cases": [{"seconds": [...], "score": float}]}
"""
import copy
import json
import os
import sys
import time

import torch

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "torch"))
sys.path.insert(0, os.path.join(HERE, "..", "zen-score-cpu"))
import proxies as P  # noqa: E402
from torch_zen import STREAM_INPUT, OpListNet, gaussian_tensor  # noqa: E402


def prepare(c):
    net, proxy = c["net"], c["proxy"]
    model = OpListNet(net, 1e-5).train()
    with torch.no_grad():
        P.init_weights(model, c.get("init") or P.INIT[proxy], c["seed"], 0)
    dtype = torch.float64 if proxy in ("synflow", "synflow_zc") else torch.float32
    model = model.to(dtype)
    shape = (c["batch"], net["inputChannels"], c["resolution"], c["resolution"])
    images = shape[0] * (c.get("numBatches", 8) if proxy == "gsnr" else c.get("sampleBatches", 1) if proxy in ("tenas_lr", "tenas") else 1)
    x = gaussian_tensor(c["seed"], STREAM_INPUT, 0, (images,) + shape[1:], torch.float32).to(dtype)
    labels = torch.tensor(c["labels"], dtype=torch.long)
    return model, x, labels, shape


def call(c, model, x, labels, shape):
    proxy, B = c["proxy"], shape[0]
    if proxy == "synflow":
        return P.synflow(model, shape)["score"]
    if proxy == "synflow_zc":
        return P.synflow_zc(model, shape)["score"]
    if proxy == "naswot":
        return P.naswot(model, x, c["net"])["score"]
    if proxy == "gsnr":
        return P.gsnr(model, x, labels, B, c.get("numBatches", 8), c.get("gsnrMode", "batch"), c.get("xi", 1e-8))["score"]
    if proxy in ("tenas_ntk", "tenas_lr", "tenas"):
        lr = P.tenas_lr(model, [x[j * B:(j + 1) * B] for j in range(x.shape[0] // B)]) if proxy != "tenas_ntk" else 0.0
        ntk = P.tenas_ntk(model, x[:B]) if proxy != "tenas_lr" else 0.0
        return {"tenas_ntk": ntk, "tenas_lr": lr, "tenas": lr - ntk}[proxy]
    return {"grad_norm": P.grad_norm, "grad_norm_zc": P.grad_norm_zc, "snip": P.snip, "grasp": P.grasp, "fisher": P.fisher, "jacob_cov": P.jacob_cov}[proxy](model, x, labels)["score"]


def main():
    spec = json.load(sys.stdin)
    torch.set_num_threads(spec["threads"])
    out = []
    for c in spec["cases"]:
        base = prepare(c)
        state = copy.deepcopy(base[0].state_dict())
        seconds, score = [], None
        for i in range(spec["warmup"] + spec["iterations"]):
            model, x, labels, shape = base
            fresh = OpListNet(c["net"], 1e-5).train().to(x.dtype)
            fresh.load_state_dict(state)
            t0 = time.perf_counter()
            s = call(c, fresh, x, labels, shape)
            dt = time.perf_counter() - t0
            if i >= spec["warmup"]:
                seconds.append(dt)
            score = s
        out.append({"seconds": seconds, "score": float(score)})
        print(f"  torch {c['name']} {c['proxy']}: {min(seconds):.3f} s", file=sys.stderr, flush=True)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "cases": out}))


if __name__ == "__main__":
    main()
