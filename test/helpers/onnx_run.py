"""Checks an ONNX model with onnx.checker (full_check: shape inference too) and runs it with
onnxruntime on a raw little-endian input. Used by test/onnx-export.test.ts.

stdin JSON: {"model": path, "input": path, "shape": [n, c, h, w], "dtype": "float32"|"float16", "output": path}
stdout JSON: {"shape": [...], "dtype": "..."}; the output tensor is written raw to "output".
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

req = json.load(sys.stdin)
model = onnx.load(req["model"])
onnx.checker.check_model(model, full_check=True)
x = np.fromfile(req["input"], dtype=req["dtype"]).reshape(req["shape"])
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
# Graph rewrites off: the test checks the graph as written, not onnxruntime's fusions of it.
opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
sess = ort.InferenceSession(req["model"], opts, providers=["CPUExecutionProvider"])
(y,) = sess.run(None, {sess.get_inputs()[0].name: x})
y.tofile(req["output"])
print(json.dumps({"shape": list(y.shape), "dtype": str(y.dtype), "input": sess.get_inputs()[0].name, "output": sess.get_outputs()[0].name}))
