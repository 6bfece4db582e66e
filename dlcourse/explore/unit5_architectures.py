r"""Classic CNN architectures: PyTorch builders, parameter and multiply-add counts, and residual gradient flow.

Two ways to count, which the tests check against each other:

- :func:`lenet5`, :func:`alexnet`, :func:`vgg16`, :func:`googlenet`, :func:`resnet18` and
  :func:`resnet152` build the networks with ``torch.nn`` (on the ``"meta"`` device by
  default: shapes without memory, so VGG-16's 138 million weights cost nothing);
  :func:`count_parameters` and :func:`count_macs` measure them.
- :func:`layer_table` counts a layer list (:data:`SPECS`) with the formulas, for any input
  size and width multiplier, in microseconds: what the architecture-builder widget uses.

Per convolution with :math:`C_\text{in}` inputs, :math:`C_\text{out}` filters of
:math:`k \times k` and :math:`g` groups, producing :math:`H_o \times W_o` maps:

.. math::
    \text{params} = C_\text{out} \frac{C_\text{in}}{g} k^2 + C_\text{out}, \qquad
    \text{MACs} = C_\text{out} \frac{C_\text{in}}{g} k^2 \, H_o W_o

(one multiply-add, MAC, is two floating-point operations). :func:`residual_gradient_flow`
backpropagates through a deep stack of convolution blocks with and without skip
connections.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..layers.conv import Conv2d, conv_output_size
from ..plotting import PALETTE, View

# --------------------------------------------------------------------------- torch builders


def _nn():
    import torch.nn as nn

    return nn


def _on(device):
    import torch

    return torch.device(device)


def lenet5(device="meta"):
    """LeNet-5 (LeCun et al., 1998) for 1×32×32 input: two 5×5 convolutions, average pooling, tanh."""
    nn = _nn()
    with _on(device):
        return nn.Sequential(nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
                             nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                             nn.Linear(400, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10))


def alexnet(device="meta"):
    """AlexNet (Krizhevsky et al., 2012) for 3×227×227 input, with the paper's two-GPU groups.

    Convolutions 2, 4 and 5 are split in two groups (each half sees only the maps of its
    own GPU), which is why this network has fewer weights than the one-GPU version.
    """
    nn = _nn()
    with _on(device):
        return nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(96, 256, 5, padding=2, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2),
            nn.Conv2d(256, 384, 3, padding=1), nn.ReLU(),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), nn.ReLU(),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Flatten(),
            nn.Dropout(), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(),
            nn.Dropout(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, 1000))


VGG16_CONFIG = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg16(device="meta"):
    """VGG-16, configuration D (Simonyan & Zisserman, 2015): 13 convolutions 3×3 + 3 fully connected."""
    nn = _nn()
    layers, c_in = [], 3
    with _on(device):
        for v in VGG16_CONFIG:
            if v == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(c_in, v, 3, padding=1), nn.ReLU()]
                c_in = v
        return nn.Sequential(*layers, nn.Flatten(), nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Dropout(),
                             nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(), nn.Linear(4096, 1000))


def _inception_class():
    import torch
    nn = _nn()

    class Inception(nn.Module):
        """Four parallel branches — 1×1; 1×1→3×3; 1×1→5×5; 3×3 max-pool→1×1 — concatenated."""

        def __init__(self, c_in, c1, c3r, c3, c5r, c5, pool_proj):
            super().__init__()
            relu = nn.ReLU
            self.b1 = nn.Sequential(nn.Conv2d(c_in, c1, 1), relu())
            self.b2 = nn.Sequential(nn.Conv2d(c_in, c3r, 1), relu(), nn.Conv2d(c3r, c3, 3, padding=1), relu())
            self.b3 = nn.Sequential(nn.Conv2d(c_in, c5r, 1), relu(), nn.Conv2d(c5r, c5, 5, padding=2), relu())
            self.b4 = nn.Sequential(nn.MaxPool2d(3, 1, padding=1), nn.Conv2d(c_in, pool_proj, 1), relu())

        def forward(self, x):
            return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)

    return Inception


GOOGLENET_INCEPTIONS = {  # name: (c1, c3 reduce, c3, c5 reduce, c5, pool proj), Szegedy et al. (2015), Table 1
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64), "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64), "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128), "5b": (384, 192, 384, 48, 128, 128),
}


def googlenet(device="meta"):
    """GoogLeNet / Inception v1 (Szegedy et al., 2015) without its two auxiliary classifiers, 3×224×224."""
    nn = _nn()
    Inception = _inception_class()
    with _on(device):
        layers, c_in = [nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, 2, padding=1),
                        nn.Conv2d(64, 64, 1), nn.ReLU(), nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(),
                        nn.MaxPool2d(3, 2, padding=1)], 192
        for name, cfg in GOOGLENET_INCEPTIONS.items():
            if name in ("4a", "5a"):
                layers.append(nn.MaxPool2d(3, 2, padding=1))
            layers.append(Inception(c_in, *cfg))
            c_in = cfg[0] + cfg[2] + cfg[4] + cfg[5]
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.4), nn.Linear(c_in, 1000))


def _residual_classes():
    nn = _nn()

    class BasicBlock(nn.Module):
        """out = ReLU(F(x) + shortcut(x)), F = conv3×3 → BN → ReLU → conv3×3 → BN (He et al., 2016)."""

        expansion = 1

        def __init__(self, c_in, c_out, stride=1):
            super().__init__()
            self.f = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                                   nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
            self.shortcut = _projection(c_in, c_out, stride)

        def forward(self, x):
            return (self.f(x) + self.shortcut(x)).relu()

    class Bottleneck(nn.Module):
        """1×1 (reduce) → 3×3 → 1×1 (expand ×4), each with BN, plus the shortcut: the blocks of ResNet-50+."""

        expansion = 4

        def __init__(self, c_in, width, stride=1):
            super().__init__()
            c_out = 4 * width
            self.f = nn.Sequential(nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                   nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                                   nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
            self.shortcut = _projection(c_in, c_out, stride)

        def forward(self, x):
            return (self.f(x) + self.shortcut(x)).relu()

    def _projection(c_in, c_out, stride):
        if stride == 1 and c_in == c_out:
            return nn.Identity()
        return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    return BasicBlock, Bottleneck


def _resnet(block, blocks_per_stage, device):
    nn = _nn()
    with _on(device):
        layers, c_in = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                        nn.MaxPool2d(3, 2, padding=1)], 64
        for stage, n in enumerate(blocks_per_stage):
            width = 64 * 2 ** stage
            for i in range(n):
                layers.append(block(c_in, width, stride=2 if stage > 0 and i == 0 else 1))
                c_in = width * block.expansion
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 1000))


def resnet18(device="meta"):
    """ResNet-18 (He et al., 2016): basic blocks [2, 2, 2, 2], 3×224×224."""
    return _resnet(_residual_classes()[0], [2, 2, 2, 2], device)


def resnet152(device="meta"):
    """ResNet-152 (He et al., 2016): bottleneck blocks [3, 8, 36, 3], 3×224×224."""
    return _resnet(_residual_classes()[1], [3, 8, 36, 3], device)


TORCH_MODELS = {  # name: (builder, input shape without the batch axis)
    "LeNet-5": (lenet5, (1, 32, 32)), "AlexNet": (alexnet, (3, 227, 227)), "VGG-16": (vgg16, (3, 224, 224)),
    "GoogLeNet": (googlenet, (3, 224, 224)), "ResNet-18": (resnet18, (3, 224, 224)),
    "ResNet-152": (resnet152, (3, 224, 224)),
}


def count_parameters(model) -> int:
    """Number of trainable numbers in a torch module (BatchNorm's running statistics are buffers, not counted)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def count_macs(model, input_shape) -> int:
    """Multiply-adds of one forward pass of one input of ``input_shape`` (C, H, W): convolutions and linears.

    Runs the model on a ``"meta"`` tensor (no arithmetic happens) with a hook on every
    ``Conv2d`` and ``Linear`` that adds ``output size × inputs per output``.
    """
    import torch

    nn = _nn()
    total = [0]

    def hook(module, inputs, output):
        if isinstance(module, nn.Conv2d):
            kH, kW = module.kernel_size
            total[0] += output[0].numel() * (module.in_channels // module.groups) * kH * kW
        else:
            total[0] += output[0].numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        device = next(model.parameters()).device
        with torch.no_grad():
            model.eval()(torch.empty((1,) + tuple(input_shape), device=device))
    finally:
        for h in handles:
            h.remove()
    return int(total[0])


# --------------------------------------------------------------------------- analytic counts
# A layer list: ("conv", C_out, k, stride, padding[, groups, bias, bn]), ("pool", k, stride, padding),
# ("flatten",), ("gap",) global average pooling, ("fc", out), ("res", C_out, stride) a basic residual block.
SPECS = {
    "LeNet-5": dict(input=(1, 32), min_size=12, layers=[
        ("conv", 6, 5, 1, 0), ("pool", 2, 2, 0), ("conv", 16, 5, 1, 0), ("pool", 2, 2, 0), ("flatten",),
        ("fc", 120), ("fc", 84), ("fc", 10)]),
    "AlexNet": dict(input=(3, 227), min_size=67, layers=[
        ("conv", 96, 11, 4, 0), ("pool", 3, 2, 0), ("conv", 256, 5, 1, 2, 2), ("pool", 3, 2, 0),
        ("conv", 384, 3, 1, 1), ("conv", 384, 3, 1, 1, 2), ("conv", 256, 3, 1, 1, 2), ("pool", 3, 2, 0),
        ("flatten",), ("fc", 4096), ("fc", 4096), ("fc", 1000)]),
    "VGG-16": dict(input=(3, 224), min_size=32, layers=[
        ("pool", 2, 2, 0) if v == "M" else ("conv", v, 3, 1, 1) for v in VGG16_CONFIG]
        + [("flatten",), ("fc", 4096), ("fc", 4096), ("fc", 1000)]),
    "ResNet-18": dict(input=(3, 224), min_size=32, layers=[
        ("conv", 64, 7, 2, 3, 1, False, True), ("pool", 3, 2, 1),
        ("res", 64, 1), ("res", 64, 1), ("res", 128, 2), ("res", 128, 1),
        ("res", 256, 2), ("res", 256, 1), ("res", 512, 2), ("res", 512, 1), ("gap",), ("fc", 1000)]),
}


class LayerRow(NamedTuple):
    name: str
    shape: tuple      # output (C, H, W) or (features,)
    params: int
    macs: int


def _conv_row(name, shape, c_out, k, s, p, groups=1, bias=True, bn=False):
    c_in, n = shape[0], shape[1]
    m = conv_output_size(n, k, s, p)
    params = c_out * (c_in // groups) * k * k + (c_out if bias else 0) + (2 * c_out if bn else 0)
    return LayerRow(name, (c_out, m, m), params, c_out * (c_in // groups) * k * k * m * m)


def _residual_rows(shape, c_out, stride, index):
    """A basic block's three convolutions (two 3×3, and the 1×1 projection if the shape changes)."""
    a = _conv_row(f"res{index} conv a", shape, c_out, 3, stride, 1, bias=False, bn=True)
    b = _conv_row(f"res{index} conv b", a.shape, c_out, 3, 1, 1, bias=False, bn=True)
    rows = [a, b]
    if stride != 1 or shape[0] != c_out:
        rows.append(_conv_row(f"res{index} shortcut 1×1", shape, c_out, 1, stride, 0, bias=False, bn=True))
    return rows


def layer_table(name: str, width: float = 1.0, size: int | None = None) -> list[LayerRow]:
    """Output shape, parameters and multiply-adds of every layer of ``SPECS[name]``.

    ``width`` multiplies every channel count and hidden width (not the input or the
    classes); ``size`` is the input's height and width (default: the architecture's own,
    raised to its ``min_size``).
    """
    if name not in SPECS:
        raise ValueError(f"name must be one of {list(SPECS)}, got {name!r}")
    spec = SPECS[name]
    channels, default = spec["input"]
    n = max(spec["min_size"], int(size or default))
    shape, rows, fcs = (channels, n, n), [], [layer for layer in spec["layers"] if layer[0] == "fc"]
    scale = lambda c: max(1, int(round(c * width)))  # noqa: E731
    counts = {}
    for layer in spec["layers"]:
        kind = layer[0]
        counts[kind] = counts.get(kind, 0) + 1
        label = f"{kind}{counts[kind]}"
        if kind == "conv":
            c_out = scale(layer[1])
            groups = layer[5] if len(layer) > 5 else 1
            c_out -= c_out % groups
            rows.append(_conv_row(label, shape, c_out, *layer[2:5], *layer[5:]))
        elif kind == "res":
            rows += _residual_rows(shape, scale(layer[1]), layer[2], counts[kind])
        elif kind == "pool":
            m = conv_output_size(shape[1], layer[1], layer[2], layer[3])
            rows.append(LayerRow(label, (shape[0], m, m), 0, 0))
        elif kind == "gap":
            rows.append(LayerRow("global avg pool", (shape[0], 1, 1), 0, 0))
        elif kind == "flatten":
            rows.append(LayerRow("flatten", (int(np.prod(shape)),), 0, 0))
        else:
            out = layer[1] if layer is fcs[-1] else scale(layer[1])
            d_in = int(np.prod(shape))
            rows.append(LayerRow(label, (out,), d_in * out + out, d_in * out))
        shape = rows[-1].shape
    return rows


# --------------------------------------------------------------------------- residual gradient flow
@lru_cache(maxsize=64)
def residual_gradient_flow(depth: int, residual: bool, channels: int = 8, rng=0) -> np.ndarray:
    r"""Norm of :math:`\partial L/\partial x_l` at the input of each of ``depth`` blocks, at initialization.

    Block: :math:`F(x) = W_2 * \mathrm{ReLU}(W_1 * x)` (two 3×3 convolutions, torch's default
    initialization); a plain network computes :math:`x_{l+1} = \mathrm{ReLU}(F(x_l))`, a
    residual one :math:`x_{l+1} = \mathrm{ReLU}(x_l + F(x_l))`. Input: 16 random 8×8 maps;
    loss: a random linear function of the last output. Backpropagation through a residual
    block adds the identity to the block's Jacobian, so the gradient cannot shrink to nothing.

    Returns
    -------
    ndarray, shape (depth + 1,)
        Entry ``l`` is the gradient norm at the input of block ``l`` (entry ``depth``: the output).
    """
    seed = as_seed(rng, "rng")
    rng = np.random.default_rng(seed)
    convs = [(Conv2d(channels, channels, 3, padding=1, rng=rng), Conv2d(channels, channels, 3, padding=1, rng=rng))
             for _ in range(depth)]
    x = rng.normal(size=(16, channels, 8, 8))
    masks = []
    for c1, c2 in convs:
        a = c1.forward(x)
        z = c2.forward(np.maximum(a, 0)) + (x if residual else 0.0)
        masks.append((a > 0, z > 0))
        x = np.maximum(z, 0)
    g = rng.normal(size=x.shape) / np.sqrt(x.size)
    norms = [np.linalg.norm(g)]
    for (c1, c2), (mask_a, mask_z) in zip(reversed(convs), reversed(masks)):
        gz = g * mask_z
        g = c1.backward(c2.backward(gz) * mask_a) + (gz if residual else 0.0)
        norms.append(np.linalg.norm(g))
    return np.array(norms[::-1])


DEPTHS = (5, 10, 20, 30, 40)   # the depths the widget offers (each computed once)


class ArchitectureData(NamedTuple):
    name: str
    rows: list
    size: int
    width: float
    total_params: int
    total_macs: int
    depth: int
    plain: np.ndarray
    residual: np.ndarray


def compute_architecture(name: str = "VGG-16", width: float = 1.0, size: int = 224,
                         depth: int = 20) -> ArchitectureData:
    """Per-layer counts of ``name`` and the gradient norms of a ``depth``-block plain and residual stack."""
    rows = layer_table(name, width, size)
    return ArchitectureData(name, rows, max(SPECS[name]["min_size"], int(size)), width,
                            sum(r.params for r in rows), sum(r.macs for r in rows), depth,
                            residual_gradient_flow(depth, False), residual_gradient_flow(depth, True))


def format_count(n: float) -> str:
    """A count with 3 significant digits and k, M or G: ``format_count(138357544) == "138M"``."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.0f}"


class ArchitectureView(View):
    """Parameters and multiply-adds per weight layer (log scale), and gradient norms through plain vs residual blocks.

    The layer names are tick labels of the static layer (redrawn when the architecture changes); the bars are two
    line collections, so width, size and depth changes repaint only a handful of artists.
    """

    def key(self, d: ArchitectureData):
        return d.name

    def setup(self, fig, d: ArchitectureData) -> None:
        from matplotlib.collections import LineCollection

        self.ax, self.ax_g = fig.subplots(1, 2, width_ratios=[1.7, 1])
        names = [r.name for r in d.rows if r.params]
        x = np.arange(len(names))
        self.x = x
        self.p_bars = self.ax.add_collection(LineCollection([], colors=PALETTE["blue"], linewidths=5,
                                                            label="parameters"))
        self.m_bars = self.ax.add_collection(LineCollection([], colors=PALETTE["orange"], linewidths=5,
                                                            label="multiply-adds"))
        self.ax.set_yscale("log")
        self.ax.set_ylim(1, 5e10)
        self.ax.set_xlim(-0.7, max(len(names), 8) - 0.3)
        self.ax.set_xticks(x, names, rotation=90, fontsize=9)
        self.ax.set_ylabel("count per layer")
        self.ax.legend(fontsize=9, loc="upper left", ncol=2)
        self.title = self.ax.set_title(" ", fontsize=9)
        self.plain, = self.ax_g.semilogy([], [], "o-", ms=3, color=PALETTE["vermillion"], label="plain blocks")
        self.resid, = self.ax_g.semilogy([], [], "o-", ms=3, color=PALETTE["green"], label="residual blocks")
        self.ax_g.set_xlim(0, max(DEPTHS))
        self.ax_g.set_ylim(1e-30, 1e2)
        self.ax_g.set_xlabel("block (0 = input)")
        self.ax_g.set_ylabel("‖∂L/∂x‖ at the block's input")
        self.ax_g.legend(fontsize=9, loc="lower right")
        self.g_title = self.ax_g.set_title(" ", fontsize=9)

    def update(self, d: ArchitectureData) -> list:
        rows = [r for r in d.rows if r.params]
        self.p_bars.set_segments([[(x - 0.17, 1), (x - 0.17, max(r.params, 1))] for x, r in zip(self.x, rows)])
        self.m_bars.set_segments([[(x + 0.17, 1), (x + 0.17, max(r.macs, 1))] for x, r in zip(self.x, rows)])
        self.title.set_text(f"{d.name}, input {d.size}×{d.size}, width ×{d.width:g}: "
                            f"{format_count(d.total_params)} parameters, {format_count(d.total_macs)} multiply-adds")
        depth = np.arange(d.depth + 1)
        self.plain.set_data(depth, np.maximum(d.plain, 1e-30))
        self.resid.set_data(depth, d.residual)
        self.g_title.set_text(f"{d.depth} blocks; gradient at the input ÷ at the output:\n"
                              f"plain {d.plain[0] / d.plain[-1]:.0e}, residual {d.residual[0] / d.residual[-1]:.2f}")
        return [self.p_bars, self.m_bars, self.title, self.plain, self.resid, self.g_title]


def describe_architecture(d: ArchitectureData) -> str:
    fc = sum(r.params for r in d.rows if r.name.startswith("fc"))
    conv_macs = sum(r.macs for r in d.rows if not r.name.startswith("fc"))
    return (f"Fully connected layers hold {fc / max(d.total_params, 1):.0%} of the parameters; "
            f"convolutions do {conv_macs / max(d.total_macs, 1):.0%} of the multiply-adds.")


def weight_depth(model) -> int:
    """Number of weight layers (convolutions and linears) on the longest path through ``model``.

    Parallel branches (Inception) count once, by their deepest branch; a residual block counts its
    main path, not the 1×1 projection on its shortcut. This is the depth in names like "VGG-16"
    and "ResNet-152".
    """
    nn = _nn()
    if isinstance(model, (nn.Conv2d, nn.Linear)):
        return 1
    branches = [getattr(model, b) for b in ("b1", "b2", "b3", "b4") if hasattr(model, b)]
    if branches:
        return max(weight_depth(b) for b in branches)
    if hasattr(model, "f") and hasattr(model, "shortcut"):
        return weight_depth(model.f)
    return sum(weight_depth(child) for child in model.children())


# --------------------------------------------------------------------------- transformers, for scale
TRANSFORMERS = {  # name: (layers, d_model, d_ff, vocabulary, positions), from each paper's configuration
    "BERT-base": (12, 768, 3072, 30522, 512),
    "GPT-2 (small)": (12, 768, 3072, 50257, 1024),
    "GPT-2 XL": (48, 1600, 6400, 50257, 1024),
    "ViT-B/16": (12, 768, 3072, 0, 197),
}


def transformer(name: str, device="meta"):
    """A parameter-exact stand-in for a Transformer of :data:`TRANSFORMERS` (``torch.nn`` layers, no forward).

    The encoder layers are ``torch.nn.TransformerEncoderLayer`` (self-attention + a two-layer MLP + two
    LayerNorms); around them, each model's embeddings and heads: BERT's token-type embeddings, embedding
    LayerNorm and pooler; GPT-2's final LayerNorm (its output layer reuses the token embedding); ViT's 16×16
    patch embedding, class token and 1,000-way head.
    """
    import torch

    nn = _nn()
    if name not in TRANSFORMERS:
        raise ValueError(f"name must be one of {list(TRANSFORMERS)}, got {name!r}")
    layers, d, d_ff, vocab, positions = TRANSFORMERS[name]
    with _on(device):
        parts = [nn.TransformerEncoderLayer(d, nhead=d // 64, dim_feedforward=d_ff) for _ in range(layers)]
        parts.append(nn.Embedding(positions, d))
        if name.startswith("BERT"):
            parts += [nn.Embedding(vocab, d), nn.Embedding(2, d), nn.LayerNorm(d), nn.Linear(d, d)]
        elif name.startswith("GPT"):
            parts += [nn.Embedding(vocab, d), nn.LayerNorm(d)]
        else:
            cls = nn.Module()
            cls.token = nn.Parameter(torch.empty(1, 1, d))
            parts += [nn.Conv2d(3, d, 16, stride=16), cls, nn.LayerNorm(d), nn.Linear(d, 1000)]
        return nn.ModuleList(parts)
