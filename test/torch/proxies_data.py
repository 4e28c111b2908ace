#!/usr/bin/env python3
"""`--data` / `--labels` cross-check (test/proxies-data.test.ts): the PyTorch proxies of
test/torch/proxies.py (same Philox weights, float64) on images and labels read by numpy's own
np.load from the .npy files zennas reads, so the reader and the data path are checked together.
The first `images` rows are used, as zennas does.

stdin: {"net": decoded descriptor, "proxy", "batch", "resolution", "seed", "repeat", "bnEps",
"data": path, "labels": path (optional), "images": n, "numBatches", "gsnrMode", "xi" (gsnr)};
stdout: {"score": float, ...}.
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import proxies as P  # noqa: E402


def main():
    spec = json.load(sys.stdin)
    torch.set_num_threads(1)
    net, proxy, n = spec["net"], spec["proxy"], spec["images"]
    model = P.OpListNet(net, spec["bnEps"]).train()
    with torch.no_grad():
        P.init_weights(model, spec.get("init") or P.INIT[proxy], spec["seed"], spec["repeat"])
    model = model.double()
    x = torch.from_numpy(np.load(spec["data"])[:n].astype(np.float64))
    assert x.shape[1] == net["inputChannels"] and x.shape[2] == x.shape[3] == spec["resolution"], x.shape
    labels = torch.from_numpy(np.load(spec["labels"])[:n].astype(np.int64)) if spec.get("labels") else None
    if proxy == "gsnr":
        res = P.gsnr(model, x, labels, spec["batch"], spec.get("numBatches", 8), spec.get("gsnrMode", "batch"), spec.get("xi", 1e-8))
    elif proxy == "naswot":
        res = P.naswot(model, x, net)
    elif proxy == "jacob_cov":
        res = P.jacob_cov(model, x, None)
    else:
        res = {"grad_norm": P.grad_norm, "grad_norm_zc": P.grad_norm_zc, "snip": P.snip, "fisher": P.fisher}[proxy](model, x, labels)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
