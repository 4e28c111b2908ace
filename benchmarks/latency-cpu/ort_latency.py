"""onnxruntime CPU latency of ONNX files written by `zennas export` (benchmarks/latency-cpu/bench.ts).

stdin JSON: {"threads": n, "warmup": w, "iterations": k, "models": [{"name", "path", "shape": [b, c, h, w]}]}
stdout: one JSON line {"onnxruntime": version, "results": [{"name", "samplesMs": [...]}]}.
Default graph optimisations (what users get); one session per model, input N(0,1).
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort

req = json.load(sys.stdin)
out = []
for m in req["models"]:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = req["threads"]
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(m["path"], opts, providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal(m["shape"], dtype=np.float32)
    feed = {sess.get_inputs()[0].name: x}
    for _ in range(req["warmup"]):
        sess.run(None, feed)
    samples = []
    for _ in range(req["iterations"]):
        t0 = time.perf_counter()
        sess.run(None, feed)
        samples.append((time.perf_counter() - t0) * 1e3)
    out.append({"name": m["name"], "samplesMs": samples})
print(json.dumps({"onnxruntime": ort.__version__, "results": out}))
