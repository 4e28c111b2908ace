#!/usr/bin/env python3
"""PyTorch autograd reference of the zennas 'gradients' proxy (test/engine-grad-torch.test.ts).

Reads a JSON spec on stdin: {"net": decoded descriptor v2, "batch", "resolution", "seed",
"repeat", "bnEps", "loss": "sum"|"cross-entropy", "labels": [int] (cross-entropy)}; builds the
net with benchmarks/zen-score-cpu/torch_zen.py's OpListNet (independent of the zennas code),
loads the same Philox weights and input (DESCRIPTOR.md streams), runs one training-mode forward
and backward in float64, and prints {"loss", "grads": {op index: flat list}, "input": flat list}.
Gradient layouts: conv OIHW, dwconv [C][k][k], linear weight [cout][cin] then bias, BN γ then β.
"""
import json
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "zen-score-cpu"))
from torch_zen import OpListNet, init_philox  # noqa: E402


def main():
    spec = json.load(sys.stdin)
    torch.set_num_threads(1)
    net = spec["net"]
    model = OpListNet(net, spec["bnEps"]).double().train()
    shape = (spec["batch"], net["inputChannels"], spec["resolution"], spec["resolution"])
    with torch.no_grad():
        x, _ = init_philox(model, shape, spec["seed"], spec["repeat"], torch.float64)
    x.requires_grad_(True)
    y = model(x)
    if spec["loss"] == "sum":
        loss = y.sum()
    else:
        logits = y.reshape(y.shape[0], -1)
        loss = nn.functional.cross_entropy(logits, torch.tensor(spec["labels"], dtype=torch.long))
    loss.backward()
    grads = {}
    for i, m in enumerate(model.layers):
        ps = [p for p in (getattr(m, "weight", None), getattr(m, "bias", None)) if p is not None]
        if ps:
            grads[str(i)] = torch.cat([p.grad.reshape(-1) for p in ps]).tolist()
    print(json.dumps({"loss": float(loss), "grads": grads, "input": x.grad.reshape(-1).tolist()}))


if __name__ == "__main__":
    main()
