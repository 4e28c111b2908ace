"""PyTorch CUDA baseline of the Zen-score (Zen-NAS Algorithm 1, paper mode: σ̄ from the clean
forward's batch variance), on the same networks as bench.ts. Usage: python3 bench_torch.py specs.json
Prints one JSON object {results: [{name, secondsPerRepeat, candidatesPerSecond?, meanScore}], device}."""
import json
import math
import sys
import time

import torch

from torch_net import OpNet


@torch.no_grad()
def zen_score(net, batch, res, cin, alpha=0.01):
    for m in net.modules():
        if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
            torch.nn.init.normal_(m.weight)
            if getattr(m, "bias", None) is not None:
                torch.nn.init.zeros_(m.bias)
    x = torch.randn(batch, cin, res, res, device="cuda")
    eps = torch.randn_like(x)
    sig = []
    net.bn_hook = lambda i, t: sig.append(torch.log(torch.sqrt(t.var(dim=(0, 2, 3), unbiased=False).mean())))
    f1 = net(x)
    net.bn_hook = None
    f2 = net(x + alpha * eps)
    delta = (f1.double() - f2.double()).abs().sum(dim=(1, 2, 3)).mean()
    return float(torch.log(delta) + (torch.stack(sig).sum() if sig else 0.0))


def main():
    specs = json.load(open(sys.argv[1]))
    torch.backends.cudnn.benchmark = False  # candidates change shapes constantly, as in a search
    torch.backends.cudnn.allow_tf32 = False  # FP32, as the zennas engine
    out = []
    for s in specs:
        if s.get("kind") == "candidates":
            nets = [OpNet(c).cuda().train() for c in s["candidates"]]
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for n, c in zip(nets, s["candidates"]):
                zen_score(n, s["batch"], s["resolution"], c["inputChannels"])
            torch.cuda.synchronize()
            dt = time.perf_counter() - t0
            out.append({"name": s["name"], "candidatesPerSecond": len(nets) / dt})
            continue
        net = OpNet(s["spec"], s.get("bnEps", 1e-5)).cuda().train()
        zen_score(net, s["batch"], s["resolution"], s["spec"]["inputChannels"])  # warm-up
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        scores = [zen_score(net, s["batch"], s["resolution"], s["spec"]["inputChannels"]) for _ in range(s["repeats"])]
        torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        out.append({"name": s["name"], "secondsPerRepeat": dt / s["repeats"], "meanScore": sum(scores) / len(scores)})
    print(json.dumps({"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "results": out}))


if __name__ == "__main__":
    main()
