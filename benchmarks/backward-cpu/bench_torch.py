#!/usr/bin/env python3
"""PyTorch CPU autograd side of benchmarks/backward-cpu, driven by run.ts one command per line
(JSON in, JSON out) so that zennas and torch iterations alternate in one run:

  {"cmd": "load", "net", "batch", "resolution", "seed", "threads", "labels"}
      builds the decoded descriptor v2 as a torch module (benchmarks/zen-score-cpu/torch_zen.py
      OpListNet) with the same Philox weights and input as the engine, float32, and answers the
      checks: loss = Σ logits and every parameterised op's gradient norm (float32, what is timed),
      and the same for softmax cross-entropy (mean over the batch, the given labels) in float64 —
      per-op norms and the flat gradient vector, to compare with the engine's float32 gradients
      (and torch's own float32 CE gradients against the same float64 ones, for scale).
  {"cmd": "step"}   one timed training-mode forward + backward (loss = Σ logits, float32,
                    gradients reset first); answers {"seconds"}.
  {"cmd": "quit"}
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "zen-score-cpu"))
from torch_zen import OpListNet, init_philox  # noqa: E402


def build(spec, dtype):
    model = OpListNet(spec["net"], 1e-5).train().to(dtype)
    shape = (spec["batch"], spec["net"]["inputChannels"], spec["resolution"], spec["resolution"])
    with torch.no_grad():
        x, _ = init_philox(model, shape, spec["seed"], 0, dtype)
    return model, x


def grads(model):
    """Per parameterised op: gradient norm and the flat gradient (weight then bias, the engine's order)."""
    norms, flat = {}, {}
    for i, m in enumerate(model.layers):
        ps = [p for p in (getattr(m, "weight", None), getattr(m, "bias", None)) if p is not None]
        if ps:
            g = torch.cat([p.grad.double().flatten() for p in ps])
            norms[str(i)] = float(torch.sqrt((g ** 2).sum()))
            flat[str(i)] = g
    return norms, flat


def load(spec):
    torch.set_num_threads(int(spec["threads"]))
    model, x = build(spec, torch.float32)
    params = list(model.parameters())

    def step():
        for p in params:
            p.grad = None
        loss = model(x).sum()
        loss.backward()
        return loss

    loss = step()
    norms, _ = grads(model)
    # float64 cross-entropy check (not timed)
    m64, x64 = build(spec, torch.float64)
    labels = torch.tensor(spec["labels"], dtype=torch.long)
    ce = F.cross_entropy(m64(x64).reshape(spec["batch"], -1), labels)
    ce.backward()
    ce_norms, ce_flat = grads(m64)
    # torch's own float32 error on the same check (how much of a float32 difference is float32 itself)
    for p in params:
        p.grad = None
    F.cross_entropy(model(x).reshape(spec["batch"], -1), labels).backward()
    n32, f32 = grads(model)
    d2 = sum(float(((f32[k] - ce_flat[k]) ** 2).sum()) for k in ce_flat)
    r2 = sum(float((ce_flat[k] ** 2).sum()) for k in ce_flat)
    worst32 = max(abs(n32[k] - ce_norms[k]) / max(ce_norms[k], 1e-30) for k in ce_norms)
    return step, {"torch": torch.__version__, "threads": torch.get_num_threads(), "loss": float(loss), "norms": norms,
                  "ce": {"loss": float(ce), "norms": ce_norms, "grads": {k: v.tolist() for k, v in ce_flat.items()},
                         "torch32WorstNormRelDiff": worst32, "torch32RelL2Diff": (d2 / max(r2, 1e-300)) ** 0.5}}


def main():
    step = None
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "load":
            step, out = load(cmd)
        elif cmd["cmd"] == "step":
            t0 = time.perf_counter()
            step()
            out = {"seconds": time.perf_counter() - t0}
        else:
            break
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
