"""Checks a `zennas export --format pytorch` module against the ONNX export of the same network.
Used by test/pytorch-export.test.ts.

stdin JSON: {"module": path of the .py, "onnx": path, "weights": path of raw float32 weights,
             "index": {"<node>": [offset, count]}, "input": path, "shape": [n, c, h, w]}
stdout JSON: {"params": count, "maxAbsDiff": ..., "maxAbsRef": ..., "outShape": [...]}
"""
import importlib.util
import json
import sys

import numpy as np
import onnxruntime as ort
import torch

req = json.load(sys.stdin)
spec = importlib.util.spec_from_file_location("exported", req["module"])
mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mod)
net = mod.ZenNet()
params = sum(p.numel() for p in net.parameters())

# The engine's weights (Philox draws) into conv/linear weights; linear biases 0; BN at its
# initial state (γ 1, β 0, running mean 0, var 1) — what the ONNX export with bn 'fresh' folds.
flat = np.fromfile(req["weights"], dtype=np.float32)
with torch.no_grad():
    for name, p in net.named_parameters():
        node, kind = name.split(".")
        i = node[1:]
        if kind == "weight" and i in req["index"]:
            off, n = req["index"][i]
            p.copy_(torch.from_numpy(flat[off:off + n].copy()).reshape(p.shape))
        elif kind == "bias":
            p.zero_()
net.eval()
x = np.fromfile(req["input"], dtype=np.float32).reshape(req["shape"])
with torch.no_grad():
    y = net(torch.from_numpy(x)).numpy()
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
sess = ort.InferenceSession(req["onnx"], opts, providers=["CPUExecutionProvider"])
(ref,) = sess.run(None, {sess.get_inputs()[0].name: x})
print(json.dumps({
    "params": int(params),
    "maxAbsDiff": float(np.max(np.abs(y - ref))),
    "maxAbsRef": float(np.max(np.abs(ref))),
    "outShape": list(y.shape),
}))
