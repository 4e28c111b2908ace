"""Interpret a zennas model descriptor (decoded to JSON by the TypeScript benchmark) as a PyTorch
module, so the PyTorch baseline runs exactly the network the zennas engine runs (same ops, same
values, same shapes). Shared by benchmarks/zen-score-gpu and benchmarks/latency-gpu."""
import torch
import torch.nn as nn
import torch.nn.functional as F


class OpNet(nn.Module):
    """spec = decoded descriptor v2: {inputChannels, outputs, nodes: [{op, inputs, cin, cout, kernel, stride}]}"""

    def __init__(self, spec, bn_eps=1e-5):
        super().__init__()
        self.spec = spec
        self.mods = nn.ModuleDict()
        for i, o in enumerate(spec["nodes"]):
            k, s = o["kernel"], o["stride"]
            if o["op"] in ("conv", "dwconv"):
                groups = o["cin"] if o["op"] == "dwconv" else 1
                self.mods[str(i)] = nn.Conv2d(o["cin"], o["cout"], k, s, (k - 1) // 2, groups=groups, bias=False)
            elif o["op"] == "bn":
                self.mods[str(i)] = nn.BatchNorm2d(o["cout"], eps=bn_eps)
            elif o["op"] == "linear":
                self.mods[str(i)] = nn.Linear(o["cin"], o["cout"])
        self.bn_hook = None  # called as hook(op_index, input) before every BN (Zen-score σ̄)

    def forward(self, x):
        slots = [x]
        for i, o in enumerate(self.spec["nodes"]):
            src, op = slots[o["inputs"][0]], o["op"]
            if op in ("conv", "dwconv"):
                y = self.mods[str(i)](src)
            elif op == "bn":
                if self.bn_hook is not None:
                    self.bn_hook(i, src)
                y = self.mods[str(i)](src)
            elif op == "relu":
                y = F.relu(src)
            elif op == "maxpool":
                y = F.max_pool2d(src, o["kernel"], o["stride"], (o["kernel"] - 1) // 2)
            elif op == "gap":
                y = F.adaptive_avg_pool2d(src, 1)
            elif op == "linear":
                y = self.mods[str(i)](src.flatten(1))[:, :, None, None]
            elif op == "sigmoid":
                y = torch.sigmoid(src)
            elif op == "mul":
                y = src * slots[o["inputs"][1]]
            elif op == "add":
                y = sum(slots[v] for v in o["inputs"])
            else:
                raise ValueError(f"unknown op {op}")
            slots.append(y)
        return slots[self.spec["outputs"][0]]


def quantile(v, q):
    v = sorted(v)
    pos = q * (len(v) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (pos - lo)
