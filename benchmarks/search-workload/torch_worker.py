#!/usr/bin/env python3
"""PyTorch peer of the search workload: one JSON net per stdin line, one JSON result per stdout line.

A candidate costs what a PyTorch Zen-NAS search pays for a new structure: build the nn.Module from
the op list (torch_zen.OpListNet), the official init (nn.init.normal_ + torch.randn for x and ε),
two train-mode forwards and the score (torch_zen.forwards_and_score). The Philox weights that make
the score comparable with zennas are copied in afterwards, outside the timing, and scored again.

    {"net": NET (torch_zen.py), "threads": 2, "philox": true}  →  {"buildSeconds", "initSeconds",
    "forwardSeconds", "seconds", "score" (own init), "philoxScore", with "warm": true also
    "warmForwardSeconds" (the two forwards once more, after torch's per-shape set-up)}
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zen-score-cpu"))
import torch_zen as tz  # noqa: E402


def candidate(spec):
    net = spec["net"]
    torch.set_num_threads(int(spec.get("threads", 2)))
    batch, res = int(net["batch"]), int(net["resolution"])
    shape = (batch, net["inputChannels"], res, res)
    seed, alpha, mode, bn_eps = int(net.get("seed", 0)), float(net.get("alpha", 0.01)), net.get("mode", "paper"), float(net.get("bnEps", 1e-5))
    with torch.no_grad():
        t0 = time.perf_counter()
        model = tz.OpListNet(net, bn_eps).train()
        t1 = time.perf_counter()
        x, eps = tz.init_torch_native(model, shape, torch.float32)
        t2 = time.perf_counter()
        ld, ls, _ = tz.forwards_and_score(model, x, eps, alpha, mode)
        t3 = time.perf_counter()
        out = dict(buildSeconds=t1 - t0, initSeconds=t2 - t1, forwardSeconds=t3 - t2, seconds=t3 - t0, score=ld + ls)
        if spec.get("warm", False):  # the same forwards again: torch's per-shape set-up (oneDNN primitives) already done
            t4 = time.perf_counter()
            tz.forwards_and_score(model, x, eps, alpha, mode)
            out["warmForwardSeconds"] = time.perf_counter() - t4
        if spec.get("philox", True):
            for m in model.modules():  # fresh BN state: the Philox forward is a first forward as well
                if isinstance(m, torch.nn.BatchNorm2d):
                    m.reset_running_stats()
            x, eps = tz.init_philox(model, shape, seed, 0, torch.float32)
            ld, ls, _ = tz.forwards_and_score(model, x, eps, alpha, mode)
            out["philoxScore"] = ld + ls
    return out


def main():
    torch.manual_seed(0)
    for line in sys.stdin:
        if not line.strip():
            continue
        spec = json.loads(line)
        if spec.get("hello"):
            print(json.dumps(dict(torch=torch.__version__, threads=torch.get_num_threads())), flush=True)
            continue
        print(json.dumps(candidate(spec)), flush=True)


if __name__ == "__main__":
    main()
