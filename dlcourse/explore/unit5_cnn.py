r"""A small CNN for the 8×8 digits, in PyTorch and in :mod:`dlcourse.layers`, and its feature maps.

The architecture (the same in both)::

    input 1×8×8 → Conv 3×3, 32 filters, padding 1 → ReLU → MaxPool 2 → 32×4×4
                → Conv 3×3, 64 filters, padding 1 → ReLU → MaxPool 2 → 64×2×2
                → Flatten (256) → Linear 128 → ReLU → Linear 10

:func:`train_torch_cnn` trains the PyTorch version (float32, one thread, Adam with a
one-cycle learning rate); :func:`train_numpy_cnn` trains the NumPy version with
:func:`dlcourse.train.fit`. :func:`compute_feature_maps` runs a digit through the trained
network layer by layer for the feature-map widget.

:func:`train_torch_cnn` (with OneCycleLR) and :func:`train_conv_autoencoder` stay outside
:func:`dlcourse.train.fit` (issue 14): they train torch modules with ``torch.optim`` in float32, and ``fit`` /
``train_step`` train :mod:`dlcourse.layers` modules with :mod:`dlcourse.optim`; rewriting them in NumPy would
change every number the notebook prints. Each of their steps is
:func:`~dlcourse.explore.unit5_common.torch_train_step`, the torch counterpart of ``train_step``.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..activations import softmax
from ..data import load_digits, train_test_split
from ..layers import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from ..plotting import DIVERGING, PALETTE, View, colorbar, picture
from .session import once
from .unit5_common import torch_threads, torch_train_step

CHANNELS, HIDDEN = (32, 64), 128
LAYERS = ("conv1", "pool1", "conv2", "pool2")   # feature maps after ReLU (conv) and after pooling
_LAYER_INDEX = {"conv1": 1, "pool1": 2, "conv2": 4, "pool2": 5}   # position in the Sequential (output of)


@lru_cache(maxsize=1)
def digit_images(rng=0):
    """The digits as ``(N, 1, 8, 8)`` images split 75 / 25: ``X_train, X_test, y_train, y_test``."""
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, rng=seed)
    return Xtr.reshape(-1, 1, 8, 8), Xte.reshape(-1, 1, 8, 8), ytr, yte


def torch_cnn(channels=CHANNELS, hidden: int = HIDDEN):
    """The digits CNN as a ``torch.nn.Sequential`` (weights from torch's current seed)."""
    import torch.nn as nn

    c1, c2 = channels
    return nn.Sequential(nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(c2 * 4, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def numpy_cnn(channels=CHANNELS, hidden: int = HIDDEN, rng=0) -> Sequential:
    """The same CNN built from :mod:`dlcourse.layers` (layer for layer, so ``load_torch`` works)."""
    rng = np.random.default_rng(rng)
    c1, c2 = channels
    return Sequential(Conv2d(1, c1, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
                      Conv2d(c1, c2, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
                      Flatten(), Linear(c2 * 4, hidden, rng=rng), ReLU(), Linear(hidden, 10, rng=rng))


class TrainedCNN(NamedTuple):
    model: object          # torch.nn.Sequential or dlcourse Sequential
    history: dict          # per epoch: "loss", "test_acc"
    test_acc: float
    seconds: float


def train_torch_cnn(epochs: int = 15, lr: float = 5e-3, batch_size: int = 32, rng=0,
                    progress: bool = True) -> TrainedCNN:
    """Train :func:`torch_cnn` on the training digits (float32, one thread); evaluate on the test digits.

    Adam with ``OneCycleLR`` (the learning rate rises to ``lr`` and anneals to almost 0).
    Deterministic for a given ``seed`` on a given machine.
    """
    seed = as_seed(rng, "rng")
    import torch
    from .._progress import progress_bar

    Xtr, Xte, ytr, yte = digit_images()
    Xtr_t, Xte_t = torch.tensor(Xtr, dtype=torch.float32), torch.tensor(Xte, dtype=torch.float32)
    ytr_t, yte_t = torch.tensor(ytr), torch.tensor(yte)
    with torch_threads(1):
        torch.manual_seed(seed)
        model = torch_cnn().float()
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        n_batches = (len(Xtr) + batch_size - 1) // batch_size
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * n_batches)
        gen = torch.Generator().manual_seed(seed)
        history, start = {"loss": [], "test_acc": []}, time.perf_counter()
        for _ in (bar := progress_bar(range(epochs), "torch CNN", enabled=progress)):
            model.train()
            total = 0.0
            for idx in torch.randperm(len(Xtr_t), generator=gen).split(batch_size):
                loss = torch.nn.functional.cross_entropy(model(Xtr_t[idx]), ytr_t[idx])
                total += torch_train_step(loss, opt, scheduler=sched) * len(idx)
            model.eval()
            with torch.no_grad():
                acc = (model(Xte_t).argmax(1) == yte_t).double().mean().item()
            history["loss"].append(total / len(Xtr_t))
            history["test_acc"].append(acc)
            bar.set_postfix(loss=f"{history['loss'][-1]:.3f}", test_acc=f"{acc:.3f}")
    return TrainedCNN(model, history, history["test_acc"][-1], time.perf_counter() - start)


def train_numpy_cnn(epochs: int = 6, lr: float = 3e-3, decay_epochs: int = 2, batch_size: int = 32,
                    rng=0, progress: bool = True) -> TrainedCNN:
    """Train :func:`numpy_cnn` with :func:`dlcourse.train.fit` (Adam), then ``decay_epochs`` at ``lr / 8``."""
    seed = as_seed(rng, "rng")
    from threadpoolctl import threadpool_limits

    from ..train import accuracy, fit

    Xtr, Xte, ytr, yte = digit_images()
    model = numpy_cnn(rng=seed)
    start = time.perf_counter()
    with threadpool_limits(1):
        schedule = lambda epoch: lr if epoch < epochs else lr / 8  # noqa: E731
        hist = fit(model, Xtr, ytr, epochs=epochs + decay_epochs, batch_size=batch_size, lr=lr, rng=seed,
                   X_val=Xte, y_val=yte, progress=progress, lr_schedule=schedule)
        acc = accuracy(model, Xte, yte)
    return TrainedCNN(model, {"loss": hist["loss"], "test_acc": hist["val_acc"]}, acc, time.perf_counter() - start)


def trained_torch_cnn(progress: bool = False) -> TrainedCNN:
    """:func:`train_torch_cnn` with its defaults, trained once per session (the widgets share it)."""
    return once("torch cnn", lambda: train_torch_cnn(progress=progress))


def trained_numpy_copy() -> Sequential:
    """The trained torch CNN's weights in a :mod:`dlcourse.layers` network (float64)."""
    def make():
        net = numpy_cnn()
        net.load_torch(trained_torch_cnn().model)
        return net.eval()

    return once("torch cnn as numpy", make)


def layer_outputs(net: Sequential, x) -> list[np.ndarray]:
    """The output of every layer of ``net`` for input ``x`` (a forward pass, layer by layer)."""
    outs = []
    for layer in net.layers:
        x = layer.forward(x)
        outs.append(x)
    return outs


class FeatureMapData(NamedTuple):
    image: np.ndarray       # (8, 8)
    label: int
    probs: np.ndarray       # (10,)
    layer: str
    maps: np.ndarray        # (16, h, w): the shown feature maps
    channels: np.ndarray    # (16,) their channel numbers
    filters: np.ndarray     # (16, 3, 3): the filters that made them (conv2: the input slice it weighs most)
    filter_note: str
    shape: tuple            # the layer's full output shape (C, h, w)


def compute_feature_maps(index: int = 0, layer: str = "conv1", first: int = 0) -> FeatureMapData:
    """Feature maps ``first .. first + 15`` of ``layer`` for test digit ``index``, and their filters."""
    if layer not in _LAYER_INDEX:
        raise ValueError(f"layer must be one of {list(_LAYER_INDEX)}, got {layer!r}")
    net = trained_numpy_copy()
    _, Xte, _, yte = digit_images()
    i = int(index) % len(Xte)
    outs = layer_outputs(net, Xte[i:i + 1])
    fmap = outs[_LAYER_INDEX[layer]][0]
    first = int(first) % fmap.shape[0] // 16 * 16
    channels = np.arange(first, first + 16)
    conv = net[0] if layer.endswith("1") else net[3]
    W = conv.weight[channels]                                    # (16, C_in, 3, 3)
    strongest = np.abs(W).sum(axis=(2, 3)).argmax(axis=1)
    filters = W[np.arange(16), strongest]
    note = "its 3×3 kernel" if layer.endswith("1") else "the slice on the input map it weighs most"
    return FeatureMapData(Xte[i, 0], int(yte[i]), softmax(outs[-1])[0], layer, fmap[channels], channels,
                          filters, note, fmap.shape)


TILE = 8   # every feature map is shown as an 8×8 tile (4×4 and 2×2 maps enlarged by repetition)


def mosaic(images: np.ndarray, rows: int = 4, tile: int | None = None) -> np.ndarray:
    """Lay ``images`` (k, h, w) out on a grid with one-pixel NaN gaps (drawn blank), enlarging each to ``tile``."""
    k, h, w = images.shape
    tile = tile or h
    rep = max(1, tile // h)
    cols = -(-k // rows)
    out = np.full((rows * (h * rep + 1) - 1, cols * (w * rep + 1) - 1), np.nan)
    for n, img in enumerate(images):
        r, c = divmod(n, cols)
        big = np.kron(img, np.ones((rep, rep)))
        out[r * (h * rep + 1):r * (h * rep + 1) + h * rep, c * (w * rep + 1):c * (w * rep + 1) + w * rep] = big
    return out


class FeatureMapView(View):
    """The digit and the predicted probabilities; 16 filters; the 16 feature maps they make.

    Filters and maps are drawn as two mosaics (one image each), which keeps redrawing fast; the
    maps of every layer are enlarged to the same tile size, so the layout never changes.
    """

    def setup(self, fig, d: FeatureMapData) -> None:
        import matplotlib

        gs = fig.add_gridspec(2, 3, width_ratios=[1, 1.6, 1.9], height_ratios=[1, 1])
        self.ax_img = fig.add_subplot(gs[0, 0])
        self.img = picture(self.ax_img.imshow(d.image, cmap="gray_r", vmin=0, vmax=1))
        self.t_img = self.ax_img.set_title(" ", fontsize=9)
        self.ax_p = fig.add_subplot(gs[1, 0])
        self.bars = self.ax_p.bar(range(10), np.zeros(10), color="#bbbbbb")
        self.ax_p.set_ylim(0, 1)
        self.ax_p.set_xticks(range(10))
        self.ax_p.tick_params(labelsize=9)
        ax_f, ax_m = fig.add_subplot(gs[:, 1]), fig.add_subplot(gs[:, 2])
        cmap_f, cmap_m = (matplotlib.colormaps[c].with_extremes(bad="white") for c in (DIVERGING, "magma"))
        self.filters = ax_f.imshow(mosaic(np.zeros((16, 3, 3))), cmap=cmap_f, vmin=-1, vmax=1)
        self.maps = ax_m.imshow(mosaic(np.zeros((16, TILE, TILE))), cmap=cmap_m, vmin=0, vmax=1)
        for ax in (self.ax_img, ax_f, ax_m):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(ax is self.ax_img)
        ax_f.set_title("16 filters (conv1: the 3×3 kernel;\nconv2: its slice on the strongest input map)", fontsize=9)
        self.head_m = ax_m.set_title(" ", fontsize=9)
        colorbar(ax_f, self.filters, label="weight ÷ largest", ticks=[-1, 0, 1], shrink=0.7)
        colorbar(ax_m, self.maps, label="activation ÷ largest", ticks=[0, 1], shrink=0.7)

    def update(self, d: FeatureMapData) -> list:
        self.img.set_data(d.image)
        pred = int(np.argmax(d.probs))
        self.t_img.set_text(f"label {d.label} → {pred}")
        for k, bar in enumerate(self.bars):
            bar.set_height(d.probs[k])
            bar.set_color(PALETTE["blue"] if k == pred else "#bbbbbb")
        flim = float(np.abs(d.filters).max()) or 1.0
        self.filters.set_data(mosaic(d.filters / flim))   # relative: the colour bars stay put
        self.maps.set_data(mosaic(d.maps / (float(d.maps.max()) or 1.0), tile=TILE))
        self.head_m.set_text(f"{d.layer}: maps {d.channels[0]}–{d.channels[-1]} of {d.shape[0]}, "
                             f"{d.shape[1]}×{d.shape[2]}")
        return [self.img, self.t_img, *self.bars, self.filters, self.maps, self.head_m]


# --------------------------------------------------------------------------- convolutional autoencoder
def conv_autoencoder(code_channels: int = 4):
    """Encoder: two stride-2 convolutions, 1×8×8 → 8×4×4 → ``code_channels``×2×2; decoder: two transposed back."""
    import torch.nn as nn

    encoder = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
                            nn.Conv2d(8, code_channels, 3, stride=2, padding=1))
    decoder = nn.Sequential(nn.ConvTranspose2d(code_channels, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
                            nn.ConvTranspose2d(8, 1, 3, stride=2, padding=1, output_padding=1), nn.Sigmoid())
    return encoder, decoder


def train_conv_autoencoder(epochs: int = 30, lr: float = 1e-2, batch_size: int = 32, rng=0,
                           progress: bool = True):
    """Train :func:`conv_autoencoder` on the training digits (squared error); returns ``(encoder, decoder, losses)``."""
    seed = as_seed(rng, "rng")
    import torch
    from .._progress import progress_bar

    Xtr = torch.tensor(digit_images()[0], dtype=torch.float32)
    with torch_threads(1):
        torch.manual_seed(seed)
        encoder, decoder = conv_autoencoder()
        params = [*encoder.parameters(), *decoder.parameters()]
        opt = torch.optim.Adam(params, lr=lr)
        gen = torch.Generator().manual_seed(seed)
        losses = []
        for _ in (bar := progress_bar(range(epochs), "conv autoencoder", enabled=progress)):
            total = 0.0
            for idx in torch.randperm(len(Xtr), generator=gen).split(batch_size):
                loss = torch.mean((decoder(encoder(Xtr[idx])) - Xtr[idx]) ** 2)
                total += torch_train_step(loss, opt) * len(idx)
            losses.append(total / len(Xtr))
            bar.set_postfix(loss=f"{losses[-1]:.4f}")
    return encoder.eval(), decoder.eval(), np.array(losses)


def retrieval_precision(query_features, query_labels, base_features, base_labels, k: int = 5) -> float:
    """Content-based retrieval: the fraction of each query's ``k`` nearest neighbours that share its label."""
    d = ((query_features[:, None, :] - base_features[None, :, :]) ** 2).sum(axis=2)
    nearest = np.argsort(d, axis=1)[:, :k]
    return float(np.mean(base_labels[nearest] == query_labels[:, None]))
