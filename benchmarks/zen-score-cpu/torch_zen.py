#!/usr/bin/env python3
"""PyTorch CPU cross-check and timing baseline of the zennas Zen-score.

Independent of the zennas code: builds each network in torch from its decoded descriptor op list,
fills weights / input / noise with a numpy-vectorised Philox4x32-10 identical to
native/DESCRIPTOR.md (so the scores equal the zennas engine's up to float32 rounding), and
computes the Zen-score as the official Zen-NAS code does (ZeroShotProxy/compute_zen_score.py):
two separate forwards in training mode, Δ on the pre-GAP map, log σ̄ per BN.

    python3 torch_zen.py spec.json        # or "-" for stdin; prints JSON to stdout

spec.json: {"threads": 2, "warmup": true, "nets": [NET, ...]}   (a bare list of NETs also works)
NET: {"name": str, "inputChannels": int, "outputs": [value id, ...],
      "nodes": [{"op": "conv"|"dwconv"|"bn"|"relu"|"maxpool"|"gap"|"linear"|"sigmoid"|"mul"|"add",
                 "inputs": [value id, ...], "cin", "cout", "kernel", "stride"}, ...],
      (descriptor v2 decoded: value 0 = input, node i produces value i + 1),
      "batch": int, "resolution": int, "repeats": int, "seed": int,
      "mode": "paper"|"official", "alpha": 0.01, "bnEps": 1e-5,
      "threads": int (optional), "dtype": "float32" (default) | "float64" (exactness checks)}
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------ Philox4x32-10 (Random123)
M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
STREAM_INPUT, STREAM_NOISE = 0x40000000, 0x40000001
MASK32 = 0xFFFFFFFF


def philox4x32(c0, c1, c2, c3, k0, k1, rounds=10):
    """Vectorised Philox4x32: counters are uint32 arrays (or scalars broadcast), key is two ints."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint32) for c in (c0, c1, c2, c3))
    c0, c1, c2, c3 = np.broadcast_arrays(c0, c1, c2, c3)
    x0, x1, x2, x3 = (c.astype(np.uint32).copy() for c in (c0, c1, c2, c3))
    k0, k1 = int(k0) & MASK32, int(k1) & MASK32
    for r in range(rounds):
        if r > 0:
            k0, k1 = (k0 + W0) & MASK32, (k1 + W1) & MASK32
        p0 = x0.astype(np.uint64) * M0  # exact: < 2^64
        p1 = x2.astype(np.uint64) * M1
        hi0, lo0 = (p0 >> np.uint64(32)).astype(np.uint32), p0.astype(np.uint32)
        hi1, lo1 = (p1 >> np.uint64(32)).astype(np.uint32), p1.astype(np.uint32)
        x0, x1, x2, x3 = hi1 ^ x1 ^ np.uint32(k0), lo1, hi0 ^ x3 ^ np.uint32(k1), lo0
    return x0, x1, x2, x3


def gaussian(seed, stream, repeat, count):
    """DESCRIPTOR.md normals: element n from counter (n//4, stream, repeat, 0), Box–Muller per lane pair (float64)."""
    blocks = (count + 3) // 4
    k0, k1 = seed % (1 << 32), seed >> 32
    x0, x1, x2, x3 = philox4x32(np.arange(blocks, dtype=np.uint32), stream, repeat, 0, k0, k1)
    u = lambda x: (x.astype(np.float64) + 0.5) / 4294967296.0
    ra, ta = np.sqrt(-2.0 * np.log(u(x0))), 2.0 * math.pi * u(x1)
    rb, tb = np.sqrt(-2.0 * np.log(u(x2))), 2.0 * math.pi * u(x3)
    out = np.stack([ra * np.cos(ta), ra * np.sin(ta), rb * np.cos(tb), rb * np.sin(tb)], axis=1)
    return out.reshape(-1)[:count]


def gaussian_tensor(seed, stream, repeat, shape, dtype=torch.float32):
    """Rounded to float32 like the C++ engine (float64 only for exactness checks against the reference)."""
    n = int(np.prod(shape))
    return torch.from_numpy(gaussian(seed, stream, repeat, n).reshape(shape)).to(dtype)


# ------------------------------------------------------------------ network from the op list
class OpListNet(nn.Module):
    """The descriptor's op list as a torch module (bias-free convs, train-mode BN with γ=1, β=0)."""

    def __init__(self, net, bn_eps):
        super().__init__()
        self.net = net
        self.layers = nn.ModuleList()
        for o in net["nodes"]:
            k, s, op = o["kernel"], o["stride"], o["op"]
            if op == "conv":
                m = nn.Conv2d(o["cin"], o["cout"], k, s, (k - 1) // 2, bias=False)
            elif op == "dwconv":
                d = o.get("dilation", 1)
                m = nn.Conv2d(o["cin"], o["cout"], k, s, d * (k - 1) // 2, dilation=d, groups=o["cin"], bias=False)
            elif op == "bn":
                m = nn.BatchNorm2d(o["cout"], eps=bn_eps, momentum=0.1)
            elif op == "linear":
                m = nn.Linear(o["cin"], o["cout"], bias=bool(o.get("bias", 1)))
            elif op == "maxpool":
                m = nn.MaxPool2d(k, s, (k - 1) // 2)
            elif op == "avgpool":
                m = nn.AvgPool2d(k, s, o.get("pad", (k - 1) // 2), count_include_pad=bool(o.get("countIncludePad", 1)))
            else:
                m = nn.Identity()
            self.layers.append(m)
        self.bn_inputs = None  # list, when set: the BN inputs' biased per-channel variances are recorded

    def forward(self, x):
        slots = [x]
        for o, m in zip(self.net["nodes"], self.layers):
            src, op = slots[o["inputs"][0]], o["op"]
            if op in ("conv", "dwconv", "maxpool", "avgpool"):
                y = m(src)
            elif op == "bn":
                if self.bn_inputs is not None:
                    self.bn_inputs.append(torch.var(src, dim=(0, 2, 3), unbiased=False))
                y = m(src)
            elif op == "relu":
                y = F.relu(src)
            elif op == "gap":
                y = F.adaptive_avg_pool2d(src, 1)
            elif op == "linear":
                y = m(torch.flatten(src, 1)).reshape(src.shape[0], -1, 1, 1)
            elif op == "sigmoid":
                y = torch.sigmoid(src)
            elif op == "mul":
                y = src * slots[o["inputs"][1]]
            elif op == "add":
                y = slots[o["inputs"][0]]
                for v in o["inputs"][1:]:
                    y = y + slots[v]
            elif op == "crop":
                y = src[:, :, o["offset"]:, o["offset"]:]
                if o.get("fill", 0):
                    y = F.pad(y, (0, o["offset"], 0, o["offset"]))
            elif op == "concat":
                y = torch.cat([slots[v] for v in o["inputs"]], dim=1)
            elif op == "swish":
                y = F.silu(src)
            elif op == "identity":
                y = src
            elif op == "zero":
                y = src * 0.0
            else:
                raise ValueError("unknown op %r" % op)
            slots.append(y)
        return slots[self.net["outputs"][0]]


def weight_modules(model):
    return [(i, m) for i, m in enumerate(model.layers) if isinstance(m, (nn.Conv2d, nn.Linear))]


def init_torch_native(model, shape, dtype):
    """The official code's initialisation (network_weight_gaussian_init) and torch.randn inputs."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight)
            nn.init.zeros_(m.bias)
    return torch.randn(shape, dtype=dtype), torch.randn(shape, dtype=dtype)


def init_philox(model, shape, seed, repeat, dtype):
    """DESCRIPTOR.md streams: op i's weights from stream i+1, x from 0x40000000, ε from 0x40000001."""
    for i, m in weight_modules(model):
        m.weight.copy_(gaussian_tensor(seed, i + 1, repeat, tuple(m.weight.shape), dtype))
        if getattr(m, "bias", None) is not None:
            m.bias.zero_()
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.fill_(1.0)
            m.bias.zero_()
    return gaussian_tensor(seed, STREAM_INPUT, repeat, shape, dtype), gaussian_tensor(seed, STREAM_NOISE, repeat, shape, dtype)


def forwards_and_score(model, x, eps, alpha, mode):
    """Two separate train-mode forwards; returns (logΔ, Σ log σ̄, forward seconds)."""
    model.bn_inputs = [] if mode == "paper" else None
    t0 = time.perf_counter()
    out = model(x)
    model.bn_inputs, clean = None, model.bn_inputs
    mixup = model(x + alpha * eps)
    t_fwd = time.perf_counter() - t0
    delta = torch.sum(torch.abs(out.double() - mixup.double()), dim=[1, 2, 3]).mean()
    if mode == "paper":
        sig = [torch.sqrt(torch.mean(v.double())) for v in clean]
    else:
        sig = [torch.sqrt(torch.mean(m.running_var.double())) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    log_sigma = float(sum(torch.log(s) for s in sig)) if sig else 0.0
    return float(torch.log(delta)), log_sigma, t_fwd


def macs(net, resolution):
    """Multiply-adds of conv / dwconv / linear per forward of one image."""
    hw = [(resolution, resolution)]
    total = 0
    for o in net["nodes"]:
        h, w = hw[o["inputs"][0]]
        if o["op"] in ("conv", "dwconv", "maxpool"):
            k, s, p = o["kernel"], o["stride"], (o["kernel"] - 1) // 2
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            if o["op"] == "conv":
                total += o["cin"] * o["cout"] * k * k * h * w
            elif o["op"] == "dwconv":
                total += o["cout"] * k * k * h * w
        elif o["op"] == "gap":
            h, w = 1, 1
        elif o["op"] == "linear":
            total += o["cin"] * o["cout"]
        hw.append((h, w))
    return total


def run_net(spec, default_threads, warmup):
    threads = int(spec.get("threads", default_threads))
    torch.set_num_threads(threads)
    batch, res = int(spec["batch"]), int(spec["resolution"])
    repeats, seed = int(spec.get("repeats", 1)), int(spec.get("seed", 0))
    mode, alpha, bn_eps = spec.get("mode", "paper"), float(spec.get("alpha", 0.01)), float(spec.get("bnEps", 1e-5))
    shape = (batch, spec["inputChannels"], res, res)
    dtype = {"float32": torch.float32, "float64": torch.float64}[spec.get("dtype", "float32")]
    torch.manual_seed(seed)
    with torch.no_grad():
        if warmup:  # a throw-away copy: official-mode running_var of the measured model stays untouched
            w = OpListNet(spec, bn_eps).to(dtype).train()
            xw, ew = init_torch_native(w, shape, dtype)
            forwards_and_score(w, xw, ew, alpha, mode)
            del w
        model = OpListNet(spec, bn_eps).to(dtype).train()
        rows = []
        for r in range(repeats):
            t0 = time.perf_counter()
            init_torch_native(model, shape, dtype)
            t_init_torch = time.perf_counter() - t0
            t0 = time.perf_counter()
            x, eps = init_philox(model, shape, seed, r, dtype)
            t_init_philox = time.perf_counter() - t0
            t0 = time.perf_counter()
            log_delta, log_sigma, t_fwd = forwards_and_score(model, x, eps, alpha, mode)
            t_fwd_score = time.perf_counter() - t0
            rows.append(dict(score=log_delta + log_sigma, logDelta=log_delta, logSigmaSum=log_sigma,
                             forwardSeconds=t_fwd, initTorchSeconds=t_init_torch, initPhiloxSeconds=t_init_philox,
                             repeatSeconds=t_init_torch + t_fwd_score, repeatSecondsPhilox=t_init_philox + t_fwd_score))
    scores = np.array([r["score"] for r in rows])
    mean_of = lambda key: float(np.mean([r[key] for r in rows]))
    return dict(
        name=spec.get("name", ""), batch=batch, resolution=res, repeats=repeats, seed=seed, mode=mode, alpha=alpha,
        bnEps=bn_eps, threads=threads, dtype=str(dtype).replace("torch.", ""), macsPerImage=macs(spec, res),
        mean=float(scores.mean()), std=float(scores.std()), ci95=float(1.96 * scores.std() / math.sqrt(len(scores))),
        scores=scores.tolist(), logDelta=[r["logDelta"] for r in rows], logSigmaSum=[r["logSigmaSum"] for r in rows],
        repeatSeconds=[r["repeatSeconds"] for r in rows], forwardSeconds=[r["forwardSeconds"] for r in rows],
        initPhiloxSeconds=[r["initPhiloxSeconds"] for r in rows],
        meanRepeatSeconds=mean_of("repeatSeconds"), meanForwardSeconds=mean_of("forwardSeconds"),
        meanRepeatSecondsPhilox=mean_of("repeatSecondsPhilox"), meanInitPhiloxSeconds=mean_of("initPhiloxSeconds"),
    )


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: torch_zen.py SPEC.json|-\n")
        return 2
    doc = json.load(sys.stdin if argv[1] == "-" else open(argv[1]))
    if isinstance(doc, list):
        doc = {"nets": doc}
    threads, warmup = int(doc.get("threads", 2)), bool(doc.get("warmup", True))
    results = [run_net(n, threads, warmup) for n in doc["nets"]]
    json.dump(dict(torch=torch.__version__, numpy=np.__version__, threads=threads, results=results), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
