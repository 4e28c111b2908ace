#!/usr/bin/env python3
"""PyTorch CPU autograd baseline of benchmarks/backward-cpu: one training-mode forward + backward
(loss = sum of outputs) per iteration, float32, the same networks (decoded descriptor v2 →
benchmarks/zen-score-cpu/torch_zen.py OpListNet) and the same Philox weights and input as the
zennas engine. Prints JSON: per net the seconds of each timed iteration and, for repeat 0, the
loss and every parameterised op's gradient norm (to check that both compute the same thing).

    python3 bench_torch.py < spec.json      spec: {"threads", "iterations", "warmup", "nets": [...]}
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "zen-score-cpu"))
from torch_zen import OpListNet, init_philox  # noqa: E402


def run(net, spec):
    model = OpListNet(net["net"], 1e-5).train()
    shape = (net["batch"], net["net"]["inputChannels"], net["resolution"], net["resolution"])
    with torch.no_grad():
        x, _ = init_philox(model, shape, net["seed"], 0, torch.float32)
    params = [p for p in model.parameters()]
    def step():
        for p in params:
            p.grad = None
        y = model(x)
        loss = y.sum()
        loss.backward()
        return loss
    loss = step()
    norms = {}
    for i, m in enumerate(model.layers):
        ps = [p for p in (getattr(m, "weight", None), getattr(m, "bias", None)) if p is not None]
        if ps:
            norms[str(i)] = float(torch.sqrt(sum((p.grad.double() ** 2).sum() for p in ps)))
    for _ in range(spec["warmup"]):
        step()
    times = []
    for _ in range(spec["iterations"]):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return {"name": net["name"], "loss": float(loss), "norms": norms, "seconds": times}


def main():
    spec = json.load(sys.stdin)
    torch.set_num_threads(int(spec["threads"]))
    out = {"torch": torch.__version__, "threads": torch.get_num_threads(), "nets": [run(n, spec) for n in spec["nets"]]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
