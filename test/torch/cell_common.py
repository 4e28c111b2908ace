"""What test/torch/darts.py and test/torch/nb201.py share: FLOPs by forward hooks and a float64
forward with given weights. Imported from the scripts' own directory (Python puts a script's
directory first on sys.path; benchmarks/prune-nb201/torch_prune.py adds test/torch itself).
"""
import torch
import torch.nn as nn


def multiply_adds(model, cin, resolution):
    """{module: multiply-adds} of every Conv2d and Linear (Linear without the bias adds) on one
    zero image [1][cin][resolution][resolution], in eval mode."""
    per = {}

    def hook(m, inp, out):
        if isinstance(m, nn.Conv2d):
            f = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1] * m.out_channels * out.shape[2] * out.shape[3]
        else:
            f = m.in_features * m.out_features
        per[m] = per.get(m, 0) + f

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model.eval()(torch.zeros(1, cin, resolution, resolution))
    for h in hs:
        h.remove()
    return per


def forward(model, weights, x, cin, resolution):
    """Logits of `model` in float64, train-mode BN, with the given conv/linear weights (module
    registration order, flattened; linear biases 0) on x ([batch][cin][R][R] flattened)."""
    model = model.double().train()
    with torch.no_grad():
        off = 0
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                k = m.weight.numel()
                assert off + k <= len(weights), "fewer weights than the model has"
                m.weight.copy_(torch.tensor(weights[off:off + k], dtype=torch.float64).reshape(m.weight.shape))
                off += k
                if m.bias is not None:
                    m.bias.zero_()
        assert off == len(weights), f"{len(weights) - off} weights left over"
        return model(torch.tensor(x, dtype=torch.float64).reshape(-1, cin, resolution, resolution)).flatten().tolist()
