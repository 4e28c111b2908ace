#!/usr/bin/env python3
"""PyTorch versions of the zero-shot proxies (test/proxies-torch.test.ts), written from the official
code's definitions (Zen-NAS ZeroShotProxy/*.py, zero-cost-nas foresight/pruners/measures/*.py),
independent of the zennas code: the net is benchmarks/zen-score-cpu/torch_zen.py's OpListNet (the
descriptor's op list as nn modules), with the same Philox weights and input as the engine
(native/DESCRIPTOR.md streams, rounded to float32 like the engine, then run in float64).

stdin: {"net": decoded descriptor v2, "proxy": name, "batch", "resolution", "seed", "repeat",
"bnEps", "labels": [int], "sampleBatches" (tenas_lr, tenas; default 1), "gsnrMode", "numBatches", "xi" (gsnr),
"init" (default: the table's)}; stdout: {"score": float, ...}.
"""
import json
import math
import os
import sys
import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks", "zen-score-cpu"))
from torch_zen import STREAM_INPUT, OpListNet, gaussian_tensor, philox4x32  # noqa: E402


def uniform(seed, stream, repeat, count, bound, offset=0):
    """DESCRIPTOR.md init 'torch': element n = bound·(2u − 1), u = (lane n mod 4 of Philox(n//4, stream, repeat, 0) + 0.5)/2^32."""
    end = offset + count
    blocks = (end + 3) // 4
    x = np.stack(philox4x32(np.arange(blocks, dtype=np.uint32), stream, repeat, 0, seed % (1 << 32), seed >> 32), axis=1).reshape(-1)
    u = (x[offset:end].astype(np.float64) + 0.5) / 4294967296.0
    return bound * (2.0 * u - 1.0)


def init_weights(model, init, seed, repeat):
    """Op i's weight from Philox stream i+1 (N(0,1), or PyTorch's default U(±1/√fan_in) with the bias after the weights), float32-rounded."""
    for i, m in enumerate(model.layers):
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            if isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
            continue
        shape, n = tuple(m.weight.shape), m.weight.numel()
        if init == "normal":
            m.weight.copy_(gaussian_tensor(seed, i + 1, repeat, shape, torch.float32))
            if m.bias is not None:
                m.bias.zero_()
        else:
            fan_in = n // shape[0]  # nn.init._calculate_fan_in_and_fan_out: in/groups · k·k
            b = 1.0 / math.sqrt(fan_in)
            m.weight.copy_(torch.from_numpy(uniform(seed, i + 1, repeat, n, b).reshape(shape)).float())
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(uniform(seed, i + 1, repeat, shape[0], b, offset=n)).float())


def layers_with_weight(model):
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def logits_of(y):
    return y.reshape(y.shape[0], -1)


def grad_norm(model, x, labels):
    """Zen-NAS compute_gradnorm_score.py: one-hot CE (mean), √Σ over model.parameters() of ‖grad‖²."""
    model.zero_grad()
    out = logits_of(model(x))
    one_hot = F.one_hot(labels, out.shape[1]).double()
    loss = -(one_hot * F.log_softmax(out, dim=1)).sum(dim=1).mean()
    loss.backward()
    s = 0.0
    for p in model.parameters():
        if p.grad is not None:
            s += float(torch.norm(p.grad) ** 2)
    return {"score": math.sqrt(s), "loss": float(loss)}


def grad_norm_zc(model, x, labels):
    """zero-cost-nas grad_norm.py: Σ over Conv2d / Linear of ‖weight.grad‖."""
    model.zero_grad()
    loss = F.cross_entropy(logits_of(model(x)), labels)
    loss.backward()
    return {"score": float(sum(l.weight.grad.norm() for l in layers_with_weight(model))), "loss": float(loss)}


def snip(model, x, labels):
    """zero-cost-nas snip.py: weight masks of ones, forward with W ⊙ mask, Σ |∂L/∂mask|."""
    def conv_fwd(self, inp):
        return F.conv2d(inp, self.weight * self.weight_mask, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def linear_fwd(self, inp):
        return F.linear(inp, self.weight * self.weight_mask, self.bias)

    for l in layers_with_weight(model):
        l.weight_mask = nn.Parameter(torch.ones_like(l.weight))
        l.weight.requires_grad = False
        l.forward = types.MethodType(conv_fwd if isinstance(l, nn.Conv2d) else linear_fwd, l)
    model.zero_grad()
    loss = F.cross_entropy(logits_of(model(x)), labels)
    loss.backward()
    return {"score": float(sum(torch.abs(l.weight_mask.grad).sum() for l in layers_with_weight(model))), "loss": float(loss)}


def grasp(model, x, labels):
    """zero-cost-nas grasp.py (T=1, num_iters=1, split_data=1): grad_w = autograd.grad(loss, weights) of
    one forward; a second forward, grad_f = autograd.grad(loss, weights, create_graph=True),
    z = Σ grad_w.data·grad_f, z.backward() (the double backward: weight.grad = H·grad_w); score Σ −W ⊙ weight.grad."""
    layers = layers_with_weight(model)
    weights = [l.weight for l in layers]
    model.zero_grad()
    loss = F.cross_entropy(logits_of(model(x)), labels)
    grad_w = torch.autograd.grad(loss, weights, allow_unused=True)
    loss2 = F.cross_entropy(logits_of(model(x)), labels)
    grad_f = torch.autograd.grad(loss2, weights, create_graph=True, allow_unused=True)
    z = 0
    for gw, gf in zip(grad_w, grad_f):
        if gw is not None:
            z = z + (gw.data * gf).sum()
    z.backward()
    score = sum(float((-l.weight.data * l.weight.grad).sum()) for l in layers if l.weight.grad is not None)
    return {"score": score, "loss": float(loss.detach()), "gHW": -score}


def se_relus(net):
    """Node indices of the ReLUs inside SE gates: those reached walking back from a MUL's gate input (inputs[1]) to its GAP."""
    nodes, out = net["nodes"], set()
    for n in nodes:
        if n["op"] != "mul":
            continue
        todo = [n["inputs"][1]]
        while todo:
            v = todo.pop()
            if v == 0:
                continue
            m = nodes[v - 1]
            if m["op"] == "relu":
                out.add(v - 1)
            if m["op"] != "gap":
                todo.extend(m["inputs"])
    return out


def naswot(model, x, net):
    """Zen-NAS compute_NASWOT_score.py (BayesWatch): a forward hook on every ReLU of the body (not SE's) codes
    its input x > 0 per image; K += c cᵀ + (1 − c)(1 − c)ᵀ; score = np.linalg.slogdet(K)[1]."""
    relu_nodes = [i for i, n in enumerate(net["nodes"]) if n["op"] == "relu"]
    skip = se_relus(net)
    B = x.shape[0]
    K = torch.zeros(B, B, dtype=torch.float64)
    calls = []
    relu = F.relu

    def hooked(inp, *a, **k):
        calls.append(inp.detach())
        return relu(inp, *a, **k)

    F.relu = hooked
    try:
        with torch.no_grad():
            model(x)
    finally:
        F.relu = relu
    assert len(calls) == len(relu_nodes)
    units = 0
    for node, inp in zip(relu_nodes, calls):
        if node in skip:
            continue
        c = (inp.reshape(B, -1) > 0).double()
        units += c.shape[1]
        K += c @ c.t() + (1. - c) @ (1. - c).t()
    sign, ld = np.linalg.slogdet(K.numpy())
    return {"score": float(ld), "units": units}


def gsnr(model, x, labels, batch, num_batches, mode, xi):
    """ξ-GSNR run_gsnr.py: gradient samples of the conv/linear weights — 'batch': one CE gradient per batch of
    `batch` images, zero_grad between batches; 'official': no zero_grad (sample j = the running sum, as the
    official loop); 'sample': per-image gradients of the first `batch` images. Per layer over the samples
    (dim 0): mean² / (var(unbiased=False) + ξ) summed; a layer with zero variance everywhere is skipped."""
    layers = layers_with_weight(model)
    samples = []
    model.zero_grad()
    if mode == "sample":
        for i in range(batch):
            model.zero_grad()
            F.cross_entropy(logits_of(model(x[i:i + 1])), labels[i:i + 1]).backward()
            samples.append([l.weight.grad.detach().clone() for l in layers])
    else:
        for j in range(num_batches):
            if mode == "batch":
                model.zero_grad()
            F.cross_entropy(logits_of(model(x[j * batch:(j + 1) * batch])), labels[j * batch:(j + 1) * batch]).backward()
            samples.append([l.weight.grad.detach().clone() for l in layers])
    score, used = 0.0, 0
    for k in range(len(layers)):
        g = torch.stack([s[k] for s in samples], 0)
        v = g.var(0, unbiased=False)
        if bool((v == 0).all()):
            continue
        score += float((g.mean(0) ** 2 / (v + xi)).sum())
        used += 1
    return {"score": score, "layers": used}


def synflow_pass(model, shape):
    """Every state_dict entry |·| (BN statistics included), one all-ones image in float64, Σ output backward."""
    with torch.no_grad():
        for _, p in model.state_dict().items():
            p.abs_()
    model.zero_grad()
    out = model.forward(torch.ones([1] + list(shape[1:]), dtype=torch.float64))
    r = torch.sum(out)
    r.backward()
    return float(r.detach())


def synflow(model, shape):
    """Zen-NAS compute_syncflow_score.py: per layer mean over dim 0 of the sums of |W ⊙ grad|; the official value is −score."""
    r = synflow_pass(model, shape)
    score = 0.0
    for l in layers_with_weight(model):
        g = torch.abs(l.weight * l.weight.grad)
        score += float(torch.mean(torch.sum(g, dim=[1, 2, 3]))) if g.dim() == 4 else float(torch.mean(torch.sum(g, dim=[1])))
    return {"score": score, "official": -score, "logR": math.log(r)}


def synflow_zc(model, shape):
    """zero-cost-nas synflow.py with bn=False: BN forward is identity; Σ |W ⊙ grad|."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.forward = types.MethodType(lambda self, v: v, m)
    r = synflow_pass(model, shape)
    return {"score": float(sum(torch.abs(l.weight * l.weight.grad).sum() for l in layers_with_weight(model))), "logR": math.log(r)}


def fisher(model, x, labels):
    """zero-cost-nas fisher.py (mode 'channel') + find_measures' sum: per conv/linear layer the output
    act is kept and, in the backward pass, g = ∂L/∂act; del_k = ½·mean_n(Σ_hw act·g)²; |fisher| per
    channel is broadcast over W.shape[1:] (reshape_elements) and every element summed."""
    def conv_fwd(self, inp):
        self.act = F.conv2d(inp, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)
        self.act.register_hook(hook_factory(self))
        return self.act

    def linear_fwd(self, inp):
        self.act = F.linear(inp, self.weight, self.bias)
        self.act.register_hook(hook_factory(self))
        return self.act

    def hook_factory(layer):
        def hook(grad):
            act = layer.act.detach()
            grad = grad.detach()
            g_nk = torch.sum(act * grad, list(range(2, len(act.shape)))) if len(act.shape) > 2 else act * grad
            del_k = g_nk.pow(2).mean(0).mul(0.5)
            layer.fisher = del_k if layer.fisher is None else layer.fisher + del_k
        return hook

    for l in layers_with_weight(model):
        l.fisher = None
        l.forward = types.MethodType(conv_fwd if isinstance(l, nn.Conv2d) else linear_fwd, l)
    model.zero_grad()
    loss = F.cross_entropy(logits_of(model(x)), labels)
    loss.backward()
    score = 0.0
    for l in layers_with_weight(model):
        f = torch.abs(l.fisher.detach()) if l.fisher is not None else torch.zeros(l.weight.shape[0], dtype=torch.float64)
        score += float(torch.stack([torch.full(tuple(l.weight.shape[1:]), float(v), dtype=torch.float64) for v in f], dim=0).sum())
    return {"score": score, "loss": float(loss)}


def jacob_cov(model, x, labels):
    """zero-cost-nas jacob_cov.py: y = net(x); y.backward(ones_like(y)); J = x.grad rows; np.corrcoef, np.linalg.eig, −Σ(ln(v+k) + 1/(v+k))."""
    model.zero_grad()
    x = x.clone().requires_grad_(True)
    y = model(x)
    y.backward(torch.ones_like(y))
    jacob = x.grad.detach().reshape(x.shape[0], -1).numpy()
    corrs = np.corrcoef(jacob)
    v, _ = np.linalg.eig(corrs)
    k = 1e-5
    return {"score": float(np.real(-np.sum(np.log(v + k) + 1. / (v + k))))}


def tenas_ntk(model, x):
    """TE-NAS ntk.py get_ntk_n (train_mode=True, one batch): per image logit[i:i+1].backward(ones, retain_graph),
    the grads of every parameter named '*weight*', NTK = G Gᵀ, eigenvalues ascending (torch.symeig, now
    torch.linalg.eigvalsh), cond = λmax/λmin, np.nan_to_num(nan=1e5)."""
    model.train()
    model.zero_grad()
    logit = model(x.clone())
    grads = []
    for i in range(len(x)):
        logit[i:i + 1].backward(torch.ones_like(logit[i:i + 1]), retain_graph=True)
        grads.append(torch.cat([W.grad.view(-1).detach() for name, W in model.named_parameters() if "weight" in name and W.grad is not None], -1))
        model.zero_grad()
    g = torch.stack(grads, 0)
    ntk = torch.einsum("nc,mc->nm", [g, g])
    ev = torch.linalg.eigvalsh(ntk)
    return float(np.nan_to_num((ev[-1] / ev[0]).item(), copy=True, nan=100000.0))


def tenas_lr(model, batches):
    """TE-NAS linear_region_counter.py: every ReLU's output with a 4-D input (torch_zen's OpListNet calls
    F.relu, hooked here as TE-NAS hooks nn.ReLU), sign, concatenated per image over the sample batches;
    calc_LR in half precision as the official: Σ_i 1/#{j: code_j = code_i}."""
    feats = []
    relu = F.relu

    def hooked(inp, *a, **k):
        out = relu(inp, *a, **k)
        if inp.dim() == 4:
            feats.append(out.detach())
        return out

    rows = []
    F.relu = hooked
    try:
        with torch.no_grad():
            for xb in batches:
                feats.clear()
                model(xb)
                rows.append(torch.sign(torch.cat([f.view(xb.shape[0], -1) for f in feats], 1)))
    finally:
        F.relu = relu
    act = torch.cat(rows, 0).float()
    res = torch.matmul(act.half(), (1 - act).T.half())
    res = res + res.T  # official: res += res.T (in-place on its own transpose, refused by torch 2; entries ≥ 0, so the signs are the same)
    res = 1 - torch.sign(res)
    res = res.sum(1)
    res = 1. / res.float()
    return float(res.sum().item())


INIT = {"naswot": "normal", "gsnr": "torch", "grad_norm": "normal", "grad_norm_zc": "torch", "snip": "torch", "grasp": "torch", "synflow": "normal", "synflow_zc": "torch", "fisher": "torch", "jacob_cov": "torch", "tenas_ntk": "torch", "tenas_lr": "torch", "tenas": "torch"}


def main():
    spec = json.load(sys.stdin)
    torch.set_num_threads(1)
    net, proxy = spec["net"], spec["proxy"]
    model = OpListNet(net, spec["bnEps"]).train()
    with torch.no_grad():
        init_weights(model, spec.get("init") or INIT[proxy], spec["seed"], spec["repeat"])
    model = model.double()
    shape = (spec["batch"], net["inputChannels"], spec["resolution"], spec["resolution"])
    if proxy in ("synflow", "synflow_zc"):
        res = (synflow if proxy == "synflow" else synflow_zc)(model, shape)
    elif proxy in ("tenas_ntk", "tenas_lr", "tenas"):
        nb = spec.get("sampleBatches", 1)
        xs = gaussian_tensor(spec["seed"], STREAM_INPUT, spec["repeat"], (nb * shape[0],) + shape[1:], torch.float32).double()
        res = {}
        if proxy != "tenas_ntk":
            res["linearRegions"] = tenas_lr(model, [xs[j * shape[0]:(j + 1) * shape[0]] for j in range(nb)])
        if proxy != "tenas_lr":
            res["ntkCond"] = tenas_ntk(model, xs[:shape[0]])
        # Zen-NAS compute_te_nas_score.py __main__: RN + (−cond)
        res["score"] = {"tenas_ntk": lambda: res["ntkCond"], "tenas_lr": lambda: res["linearRegions"], "tenas": lambda: res["linearRegions"] - res["ntkCond"]}[proxy]()
    elif proxy == "naswot":
        x = gaussian_tensor(spec["seed"], STREAM_INPUT, spec["repeat"], shape, torch.float32).double()
        res = naswot(model, x, net)
    elif proxy == "gsnr":
        mode, nb = spec.get("gsnrMode", "batch"), spec.get("numBatches", 8)
        n = shape[0] if mode == "sample" else nb * shape[0]
        x = gaussian_tensor(spec["seed"], STREAM_INPUT, spec["repeat"], (n,) + shape[1:], torch.float32).double()
        res = gsnr(model, x, torch.tensor(spec["labels"], dtype=torch.long), shape[0], nb, mode, spec.get("xi", 1e-8))
    else:
        x = gaussian_tensor(spec["seed"], STREAM_INPUT, spec["repeat"], shape, torch.float32).double()
        labels = torch.tensor(spec["labels"], dtype=torch.long)
        res = {"grad_norm": grad_norm, "grad_norm_zc": grad_norm_zc, "snip": snip, "grasp": grasp, "fisher": fisher, "jacob_cov": jacob_cov}[proxy](model, x, labels)
    print(json.dumps(res))


if __name__ == "__main__":
    main()
