"""PyTorch CUDA baseline of `zennas latency` (DESIGN §4): eval mode, FP16 (model.half()) or FP32,
cudnn.benchmark on, warm-up then `iterations` mini-batches timed with CUDA events, on the same
as-trained networks as bench.ts. BN is *not* folded (PyTorch eager runs cuDNN BN inference).
Usage: python3 bench_torch.py specs.json  → one JSON line {device, torch, results: [...]}."""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "zen-score-gpu"))
from torch_net import OpNet, quantile  # noqa: E402


@torch.no_grad()
def latency(spec, batch, res, precision, warmup, iterations, channels_last=False):
    net = OpNet(spec).cuda().eval()
    dtype = torch.float16 if precision == "fp16" else torch.float32
    net = net.to(dtype)
    x = torch.randn(batch, spec["inputChannels"], res, res, device="cuda", dtype=dtype)
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    for _ in range(warmup):
        net(x)
    torch.cuda.synchronize()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(iterations)]
    for a, b in ev:
        a.record()
        net(x)
        b.record()
    torch.cuda.synchronize()
    ms = [a.elapsed_time(b) for a, b in ev]
    mean = sum(ms) / len(ms)
    return {"meanMs": mean, "medianMs": quantile(ms, 0.5), "p90Ms": quantile(ms, 0.9), "imagesPerSecond": 1000.0 * batch / mean}


def main():
    specs = json.load(open(sys.argv[1]))
    torch.backends.cudnn.benchmark = True
    out = []
    for s in specs:
        r = latency(s["spec"], s["batch"], s["resolution"], s["precision"], s["warmup"], s["iterations"])
        r["name"] = s["name"]
        if s["precision"] == "fp16":
            r["channelsLastMeanMs"] = latency(s["spec"], s["batch"], s["resolution"], "fp16", s["warmup"], s["iterations"], True)["meanMs"]
        out.append(r)
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "results": out}))


if __name__ == "__main__":
    main()
