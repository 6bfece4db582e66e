r"""CNN applications on generated shapes: detection (IoU, NMS, anchors), segmentation (a tiny U-Net), receptive fields.

- :func:`make_shapes`: grey images with squares and discs, their boxes, labels and pixel masks
  (nothing downloaded).
- :func:`~dlcourse.detection.box_iou`, :func:`~dlcourse.detection.nms`, anchors and the one-stage
  targets come from :mod:`dlcourse.detection` (re-exported here for the notebook);
  :func:`noisy_detections` stands in for a detector's raw output.
- :func:`train_unet`: a two-level U-Net (encoder, decoder, skip connections) trained in PyTorch
  with pixel-wise cross-entropy to label every pixel background / square / disc.
- :func:`receptive_fields`: the receptive field of every layer of a CNN, layer by layer.
- The notebook's figures, one function each: :func:`plot_shapes`, :func:`plot_nms`, :func:`plot_anchor_targets`,
  :func:`plot_segmentations` and :func:`plot_verification`.

.. math:: r_\ell = r_{\ell-1} + (k_\ell - 1)\, j_{\ell-1}, \quad j_\ell = j_{\ell-1}\, s_\ell

The U-Net training stay outside :func:`dlcourse.train.fit` (issue 14): they train torch modules with
``torch.optim`` in float32, and ``fit`` / ``train_step`` train :mod:`dlcourse.layers` modules with
:mod:`dlcourse.optim`; rewriting them in NumPy would change every number the notebook prints.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_positive_int
from ..detection import Targets, anchor_grid, box_area, box_iou, decode_boxes, encode_targets, nms  # noqa: F401
from ..plotting import CYCLE, PALETTE, SEQUENTIAL, View, colorbar, legend_outside, picture
from .unit5_attention import seeded
from .session import once
from .unit5_common import torch_threads

FONT = 9
CLASSES = ("background", "square", "disc")


# --------------------------------------------------------------------------- data
class Shapes(NamedTuple):
    images: np.ndarray   # (N, 1, S, S) in [0, 1] plus noise
    masks: np.ndarray    # (N, S, S) integers: 0 background, 1 square, 2 disc
    boxes: list          # per image, (k, 4) float arrays (x0, y0, x1, y1), pixels, x1/y1 exclusive
    labels: list         # per image, (k,) integers 1 (square) or 2 (disc)


def make_shapes(n: int = 200, size: int = 32, max_objects: int = 3, noise: float = 0.15, rng=0) -> Shapes:
    """``n`` images of ``size``² pixels, each with 1 to ``max_objects`` non-overlapping squares and discs.

    Squares are bright (0.8-1.0), discs dimmer (0.4-0.6), on a dark background, plus Gaussian noise: a pixel's
    class shows in its brightness *and* its neighbourhood.
    """
    n, size, max_objects = (check_positive_int(v, k) for v, k in ((n, "n"), (size, "size"),
                                                                   (max_objects, "max_objects")))
    rng = np.random.default_rng(rng)
    yy, xx = np.mgrid[:size, :size] + 0.5
    images, masks = np.zeros((n, 1, size, size)), np.zeros((n, size, size), dtype=np.int64)
    all_boxes, all_labels = [], []
    for i in range(n):
        boxes, labels = [], []
        for _ in range(int(rng.integers(1, max_objects + 1))):
            for _attempt in range(20):
                side = float(rng.integers(size // 6, size // 2.5))
                x0, y0 = rng.uniform(0, size - side, 2).round()
                box = np.array([x0, y0, x0 + side, y0 + side])
                if not boxes or box_iou(box[None], np.array(boxes)).max() == 0:
                    break
            else:
                continue
            label = int(rng.integers(1, 3))
            if label == 1:
                inside = (xx >= box[0]) & (xx < box[2]) & (yy >= box[1]) & (yy < box[3])
            else:
                c, r = (box[:2] + box[2:]) / 2, side / 2
                inside = (xx - c[0]) ** 2 + (yy - c[1]) ** 2 <= r * r
            masks[i][inside] = label
            boxes.append(box)
            labels.append(label)
        images[i, 0] = np.choose(masks[i], [0.0, rng.uniform(0.8, 1.0), rng.uniform(0.4, 0.6)])
        all_boxes.append(np.array(boxes).reshape(-1, 4))
        all_labels.append(np.array(labels, dtype=np.int64))
    images += noise * rng.standard_normal(images.shape)
    return Shapes(images, masks, all_boxes, all_labels)


def noisy_detections(boxes, labels, per_object: int = 6, false: int = 3, rng=0):
    """Stand-in detector output: jittered copies of each true box (scores 0.5-0.95) and a few low-score false boxes.

    Returns ``(boxes (M, 4), scores (M,), labels (M,))``; what a trained detector's anchors typically report
    before non-maximum suppression.
    """
    rng = np.random.default_rng(rng)
    out_b, out_s, out_l = [], [], []
    for box, label in zip(boxes, labels):
        size = box[2:] - box[:2]
        for _ in range(per_object):
            out_b.append(box + rng.normal(0, 0.08, 4) * np.tile(size, 2))
            out_s.append(rng.uniform(0.5, 0.95))
            out_l.append(label)
    for _ in range(false):
        x0, y0 = rng.uniform(0, 24, 2)
        out_b.append(np.array([x0, y0, x0 + rng.uniform(4, 8), y0 + rng.uniform(4, 8)]))
        out_s.append(rng.uniform(0.05, 0.3))
        out_l.append(int(rng.integers(1, 3)))
    b = np.array(out_b)
    b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 1)
    return b, np.array(out_s), np.array(out_l)


# --------------------------------------------------------------------------- segmentation: a tiny U-Net
@lru_cache(maxsize=1)
def _unet_class():
    import torch
    nn = torch.nn

    def conv(c_in, c_out):
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU())

    class TinyUNet(nn.Module):
        """Two poolings down, two transposed convolutions up; with ``skips`` each level of the decoder also
        receives the encoder's maps of the same size (concatenated), as in U-Net (Ronneberger et al., 2015)."""

        def __init__(self, skips: bool = True, width: int = 8, classes: int = len(CLASSES)):
            super().__init__()
            w, self.skips = width, skips
            self.enc1, self.enc2, self.mid = conv(1, w), conv(w, 2 * w), conv(2 * w, 2 * w)
            self.up2, self.up1 = nn.ConvTranspose2d(2 * w, 2 * w, 2, stride=2), nn.ConvTranspose2d(w, w, 2, stride=2)
            self.dec2, self.dec1 = conv(4 * w if skips else 2 * w, w), conv(2 * w if skips else w, w)
            self.head = nn.Conv2d(w, classes, 1)
            self.pool = nn.MaxPool2d(2)

        def forward(self, x):
            e1 = self.enc1(x)                      # (N, w, S, S)
            e2 = self.enc2(self.pool(e1))          # (N, 2w, S/2, S/2)
            m = self.mid(self.pool(e2))            # (N, 2w, S/4, S/4)
            u2 = self.up2(m)
            d2 = self.dec2(torch.cat([u2, e2], 1) if self.skips else u2)
            u1 = self.up1(d2)
            d1 = self.dec1(torch.cat([u1, e1], 1) if self.skips else u1)
            return self.head(d1)                   # (N, classes, S, S): a score per class and pixel

    return TinyUNet


@lru_cache(maxsize=1)
def segmentation_data():
    """``(train, test)`` :class:`Shapes` of 32×32: 600 training and 100 test images."""
    return make_shapes(600, rng=0), make_shapes(100, rng=1)


def train_unet(skips: bool = True, steps: int = 200, batch_size: int = 8, lr: float = 1e-2, rng=0,
               progress: bool = False):
    """Train a :class:`TinyUNet` with pixel-wise cross-entropy (Adam); ``(model, losses)``, float32.

    Each step is :func:`~dlcourse.explore.unit5_common.torch_train_step`.
    """
    import torch
    from .._progress import progress_bar
    from .unit5_common import torch_train_step

    train, _ = segmentation_data()
    x, y = torch.tensor(train.images, dtype=torch.float32), torch.tensor(train.masks)
    rng, torch_seed = seeded(rng)
    with torch_threads(1):
        torch.manual_seed(torch_seed)
        model = _unet_class()(skips)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        for _ in progress_bar(range(steps), f"U-Net {'with' if skips else 'without'} skips", enabled=progress,
                              mininterval=0.5):
            idx = torch.tensor(rng.integers(0, len(x), batch_size))
            losses.append(torch_train_step(torch.nn.functional.cross_entropy(model(x[idx]), y[idx]), opt))
    return model.eval(), np.array(losses)


def trained_unet(skips: bool = True, progress: bool = False):
    return once(("unet", bool(skips)), lambda: train_unet(skips, progress=progress))


def predict_masks(model, images) -> tuple[np.ndarray, np.ndarray]:
    """``(logits (N, C, S, S) float64, predicted classes (N, S, S))`` of a U-Net on ``images``."""
    import torch

    with torch_threads(1), torch.no_grad():
        logits = model(torch.tensor(np.asarray(images), dtype=torch.float32)).double().numpy()
    return logits, logits.argmax(axis=1)


def class_iou(pred, masks, classes: int = len(CLASSES)) -> np.ndarray:
    """IoU of the predicted and true pixel sets of each class, ``(classes,)``."""
    pred, masks = np.asarray(pred), np.asarray(masks)
    return np.array([((pred == c) & (masks == c)).sum() / max(((pred == c) | (masks == c)).sum(), 1)
                     for c in range(classes)])


# --------------------------------------------------------------------------- receptive fields
NETWORKS = {   # name: (input size, [(layer, kernel, stride, padding), ...])
    "5.2 digits CNN": (8, [("conv1", 3, 1, 1), ("pool1", 2, 2, 0), ("conv2", 3, 1, 1), ("pool2", 2, 2, 0)]),
    "VGG-16, blocks 1-3": (224, [("conv1_1", 3, 1, 1), ("conv1_2", 3, 1, 1), ("pool1", 2, 2, 0),
                                 ("conv2_1", 3, 1, 1), ("conv2_2", 3, 1, 1), ("pool2", 2, 2, 0),
                                 ("conv3_1", 3, 1, 1), ("conv3_2", 3, 1, 1), ("conv3_3", 3, 1, 1),
                                 ("pool3", 2, 2, 0)]),
    "AlexNet": (227, [("conv1", 11, 4, 0), ("pool1", 3, 2, 0), ("conv2", 5, 1, 2), ("pool2", 3, 2, 0),
                      ("conv3", 3, 1, 1), ("conv4", 3, 1, 1), ("conv5", 3, 1, 1), ("pool5", 3, 2, 0)]),
}


class FieldRow(NamedTuple):
    name: str
    size: int        # r: input pixels one unit of this layer sees (per side)
    jump: int        # j: input pixels between two neighbouring units of this layer
    start: float     # centre of the first unit's field, in input pixels (may lie in the padding)
    out: int         # the layer's output size


def receptive_fields(layers, input_size: int) -> list[FieldRow]:
    r"""The receptive field of each layer, by :math:`r_\ell = r_{\ell-1} + (k_\ell - 1) j_{\ell-1}`,
    :math:`j_\ell = j_{\ell-1} s_\ell`, starting from :math:`r_0 = j_0 = 1` at the input (Unit 5, notebook 5.8)."""
    r, j, start, n = 1, 1, 0.5, check_positive_int(input_size, "input_size")
    rows = []
    for name, k, s, p in layers:
        start = start + ((k - 1) / 2 - p) * j
        r, j = r + (k - 1) * j, j * s
        n = (n + 2 * p - k) // s + 1
        rows.append(FieldRow(name, r, j, start, n))
    return rows


class FieldData(NamedTuple):
    network: str
    input_size: int
    rows: list
    layer: int         # index into rows
    unit: int          # which unit (row and column) of that layer
    box: tuple         # (x0, y0, x1, y1) of that unit's field on the input


def compute_receptive_field(network: str = "5.2 digits CNN", layer: int = 3, unit: int = 0) -> FieldData:
    if network not in NETWORKS:
        raise ValueError(f"network must be one of {list(NETWORKS)}, got {network!r}")
    size, layers = NETWORKS[network]
    rows = receptive_fields(layers, size)
    layer = int(np.clip(layer, 0, len(rows) - 1))
    row = rows[layer]
    unit = int(np.clip(unit, 0, row.out - 1))
    c = row.start + unit * row.jump
    return FieldData(network, size, rows, layer, unit, (c - row.size / 2, c - row.size / 2,
                                                        c + row.size / 2, c + row.size / 2))


def describe_receptive_field(d: FieldData) -> str:
    row = d.rows[d.layer]
    return (f"{row.name}: each unit sees {row.size}×{row.size} input pixels, neighbouring units are {row.jump} "
            f"pixels apart, the map is {row.out}×{row.out}.")


class FieldView(View):
    """Left: the receptive field size and the jump, layer by layer (log scale); right: one unit's field on the input.

    The static layer is one network's bars and names (redrawn when the network changes); moving the layer or the
    unit repaints only the highlighted bar, the box and the titles. The input is drawn as a unit square.
    """

    def key(self, d: FieldData):
        return d.network

    def setup(self, fig, d: FieldData) -> None:
        self.ax_r, self.ax_i = fig.subplots(1, 2, width_ratios=[1.4, 1], gridspec_kw=dict(wspace=0.3))
        x = np.arange(len(d.rows))
        sizes = [r.size for r in d.rows]
        self.ax_r.bar(x, sizes, color=PALETTE["sky"], label="field size r")
        self.ax_r.plot(x, [r.jump for r in d.rows], "o-", color=PALETTE["vermillion"], label="jump j", zorder=4)
        for i, size in enumerate(sizes):
            self.ax_r.text(i, size * 1.05, str(size), ha="center", va="bottom", fontsize=FONT)
        self.ax_r.set_yscale("log")
        self.ax_r.set_ylim(0.8, 400)
        self.ax_r.set_xticks(x, [r.name for r in d.rows], rotation=40, ha="right", fontsize=FONT)
        self.ax_r.set_ylabel("input pixels", fontsize=FONT)
        self.ax_r.tick_params(labelsize=FONT)
        self.ax_r.legend(fontsize=FONT, loc="upper left")
        self.ax_r.set_title(f"{d.network}: receptive field r by layer", fontsize=FONT)
        self.selected = self.ax_r.bar([0], [1], color=PALETTE["blue"])[0]
        self.ax_i.add_patch(_rect((0, 0, 1, 1), "0.85", fill=True))
        self.ax_i.set_xlim(-0.6, 1.6)
        self.ax_i.set_ylim(1.6, -0.6)
        self.ax_i.set_aspect("equal")
        self.ax_i.set_xticks([0, 1], ["0", str(d.input_size)], fontsize=FONT)
        self.ax_i.set_yticks([])
        self.title_i = self.ax_i.set_title(" ", fontsize=FONT)
        self.box = self.ax_i.add_patch(_rect((0, 0, 1, 1), PALETTE["vermillion"], lw=2.5))

    def update(self, d: FieldData) -> list:
        row = d.rows[d.layer]
        self.selected.set_x(d.layer - self.selected.get_width() / 2)
        self.selected.set_height(row.size)
        x0, y0, x1, y1 = np.array(d.box) / d.input_size
        self.box.set_bounds(x0, y0, x1 - x0, y1 - y0)
        self.title_i.set_text(f"input {d.input_size}×{d.input_size} (grey); {row.name} unit {d.unit}: "
                              f"{row.size}×{row.size}")
        return [self.selected, self.box, self.title_i]


def _rect(box, colour, fill=False, lw=1.5, **kw):
    from matplotlib.patches import Rectangle

    x0, y0, x1, y1 = box
    return Rectangle((x0, y0), x1 - x0, y1 - y0, fill=fill, fc=colour if fill else "none", ec=colour, lw=lw, **kw)


def draw_boxes(ax, boxes, labels=None, scores=None, colour=None, lw=1.5, zorder=None):
    """Draw boxes ``(x0, y0, x1, y1)`` on an image axis, coloured by class (``CYCLE[label]``: squares orange,
    discs green), with their scores; ``zorder`` (default matplotlib's, 1) puts them above or below other artists."""
    for k, box in enumerate(np.asarray(boxes).reshape(-1, 4)):
        c = colour or (CYCLE[int(labels[k])] if labels is not None else PALETTE["vermillion"])
        ax.add_patch(_rect(box, c, lw=lw, **({} if zorder is None else {"zorder": zorder})))
        if scores is not None:
            ax.text(box[0], box[1] - 0.5, f"{scores[k]:.2f}", color=c, fontsize=FONT)


# --------------------------------------------------------------------------- notebook 5.8's figures
def _bare(axes) -> None:
    for ax in np.ravel(axes):
        ax.set_xticks([])
        ax.set_yticks([])


def _image(ax, image, **kw):
    """A grey image of the data itself (a picture: no colour bar)."""
    return picture(ax.imshow(image, cmap="gray", vmin=0, vmax=1, **kw))


def _mask(ax, mask):
    return ax.imshow(mask, cmap=SEQUENTIAL, vmin=0, vmax=len(CLASSES) - 1)


def _class_colorbar(axes, image, **kw):
    """One colour bar for masks, its ticks named by class."""
    cb = colorbar(list(np.ravel(axes)), image, ticks=range(len(CLASSES)), **kw)
    cb.ax.set_yticklabels(CLASSES, fontsize=FONT)
    return cb


def plot_shapes(fig, shapes: Shapes, n: int = 4) -> None:
    """Top row: the first ``n`` images of ``shapes`` with their boxes; bottom row: their masks (Unit 5, 5.8)."""
    axes = fig.subplots(2, n, squeeze=False)
    for i in range(n):
        _image(axes[0, i], shapes.images[i, 0])
        draw_boxes(axes[0, i], shapes.boxes[i], labels=shapes.labels[i], lw=2)
        axes[0, i].set_title(f"image {i}: " + ", ".join(CLASSES[c] for c in shapes.labels[i]), fontsize=FONT)
        mask = _mask(axes[1, i], shapes.masks[i])
    _bare(axes)
    axes[0, 0].set_ylabel("image + boxes")
    axes[1, 0].set_ylabel("mask")
    _class_colorbar(axes[1], mask, fraction=0.02)


def plot_nms(fig, image, boxes, scores, labels, keep) -> None:
    """Left: every detection ``boxes`` ``(M, 4)`` on ``image`` ``(H, W)``; right: the ``keep`` indices that
    non-maximum suppression kept, with their ``scores`` (on the left, dozens of scores would pile up)."""
    keep = np.asarray(keep, dtype=int)
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        _image(ax, image)
        _bare(ax)
    draw_boxes(left, boxes, labels=labels)
    draw_boxes(right, boxes[keep], labels=labels[keep], scores=scores[keep])
    left.set_title(f"{len(boxes)} raw detections")
    right.set_title(f"after NMS: {len(keep)} kept, with scores")


def plot_anchor_targets(ax, image, anchors, targets: Targets, boxes, labels) -> list:
    """A one-stage detector's view of ``image``: its grid, the cells responsible for an object (shaded), their
    anchors (dashed yellow, outlined in black) and the true ``boxes``. Returns the anchors' patches.

    An anchor often coincides with its cell (an 8×8 anchor on an 8×8 cell): it is drawn last, above the image
    (zorder 0), the grid (1), the shading (2) and the true boxes (3), with a dark outline that shows on bright
    and dark pixels alike. The axes grow to hold an anchor that reaches past the image.
    """
    from matplotlib.patches import Rectangle
    from matplotlib.patheffects import withStroke

    size, S = image.shape[-1], anchors.shape[0]
    step = size / S
    _image(ax, image, extent=(0, size, size, 0), zorder=0)
    for k in range(1, S):
        ax.axhline(step * k, color="0.6", lw=0.6, zorder=1)
        ax.axvline(step * k, color="0.6", lw=0.6, zorder=1)
    cells = np.argwhere(targets.objectness)
    for i, j, a in cells:
        ax.add_patch(Rectangle((step * j, step * i), step, step, fc=CYCLE[int(targets.classes[i, j, a])],
                               ec="none", alpha=0.35, zorder=2))
    draw_boxes(ax, boxes, labels=labels, lw=2, zorder=3)
    drawn = [ax.add_patch(_rect(anchors[i, j, a], PALETTE["yellow"], lw=2.5, ls="--", zorder=4, gid="anchor",
                                path_effects=[withStroke(linewidth=4.5, foreground="black")])) for i, j, a in cells]
    chosen = anchors[tuple(cells.T)] if len(cells) else np.zeros((0, 4))
    lo, hi = min(0.0, chosen[:, :2].min(initial=0.0)), max(float(size), chosen[:, 2:].max(initial=0.0))
    ax.set_xlim(lo, hi)
    ax.set_ylim(hi, lo)
    ax.set_xticks(np.arange(0, size + 1, step))
    ax.set_yticks(np.arange(0, size + 1, step))
    ax.set_title(f"{S}×{S} grid: responsible cells (shaded), their anchors (dashed), true boxes", fontsize=FONT)
    return drawn


# --------------------------------------------------------------------------- verification in an embedding
def pair_distances(embeddings, labels) -> tuple[np.ndarray, np.ndarray]:
    """Distances of all pairs ``i < j`` of ``embeddings`` ``(N, D)`` and whether the pair has the same label."""
    E = as_float_array(embeddings, "embeddings", ndim=2)
    y = np.asarray(labels)
    i, j = np.triu_indices(len(E), k=1)
    return np.linalg.norm(E[i] - E[j], axis=1), y[i] == y[j]


def best_threshold(distances, same) -> tuple[float, float]:
    """The distance threshold that verifies the most pairs correctly ("same" if distance <= threshold), and that
    fraction. In practice the threshold is chosen on validation pairs; here on the pairs themselves."""
    d, same = np.asarray(distances, dtype=float), np.asarray(same, dtype=bool)
    order = np.argsort(d)
    # threshold at the k-th smallest distance: pairs 0..k are called "same"
    correct = np.cumsum(same[order]) + (np.sum(~same) - np.cumsum(~same[order]))
    k = int(np.argmax(correct))
    return float(d[order][k]), float(correct[k] / len(d))


def plot_segmentations(fig, images, masks, predictions: dict, n: int = 4) -> None:
    """``n`` rows: the image, its true mask and each predicted mask of ``predictions`` (title → ``(N, S, S)``),
    with one colour bar naming the classes (Unit 5, 5.8, U-Net)."""
    titles = ("image", "true mask", *predictions)
    axes = fig.subplots(n, len(titles), squeeze=False)
    for row in range(n):
        _image(axes[row, 0], images[row, 0])
        for ax, mask in zip(axes[row, 1:], (masks[row], *(p[row] for p in predictions.values()))):
            shown = _mask(ax, mask)
    for ax, title in zip(axes[0], titles):
        ax.set_title(title)
    _bare(axes)
    _class_colorbar(axes[:, 1:], shown, fraction=0.03)


def plot_verification(ax, distances, same, threshold: float) -> None:
    """Histograms of the pair ``distances`` for the same and for different labels (``same``), and the
    ``threshold`` that separates them best (:func:`best_threshold`)."""
    d, same = np.asarray(distances, dtype=float), np.asarray(same, dtype=bool)
    bins = np.linspace(0, d.max(), 60)
    ax.hist(d[same], bins=bins, density=True, alpha=0.6, color=PALETTE["blue"], label="same digit")
    ax.hist(d[~same], bins=bins, density=True, alpha=0.6, color=PALETTE["orange"], label="different digits")
    ax.axvline(threshold, color="black", ls="--", lw=1.2, label=f"threshold {threshold:.2f}")
    ax.set_xlabel("distance between the two embeddings")
    ax.set_ylabel("density")
    legend_outside(ax, "right")
