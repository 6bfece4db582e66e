r"""Object detection's geometry (Unit 5, notebook 5.8): IoU, non-maximum suppression, anchors and one-stage targets.

Boxes are rows ``(x0, y0, x1, y1)`` in pixels with continuous coordinates (no "+1"), as in torchvision.

- :func:`box_iou` and :func:`nms`, as ``torchvision.ops.box_iou`` and ``torchvision.ops.nms``;
- :func:`anchor_grid`, :func:`encode_targets`, :func:`decode_boxes`: what a one-stage detector
  (YOLO, SSD) predicts for every cell of a grid and every anchor box of that cell.

.. math:: \mathrm{IoU}(A, B) = \frac{|A \cap B|}{|A \cup B|} = \frac{|A \cap B|}{|A| + |B| - |A \cap B|}

References
----------
Redmon et al., "You only look once", CVPR 2016; Liu et al., "SSD: single shot multibox detector", ECCV 2016.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, check_number, check_positive_int

__all__ = ["box_area", "box_iou", "nms", "anchor_grid", "Targets", "encode_targets", "decode_boxes"]


def _check_boxes(boxes, name):
    b = as_float_array(boxes, name)
    if b.ndim != 2 or b.shape[1] != 4:
        raise ValueError(f"{name} must have shape (n, 4) with rows (x0, y0, x1, y1), got {b.shape}")
    if np.any(b[:, 2:] < b[:, :2]):
        raise ValueError(f"{name} must have x1 >= x0 and y1 >= y0 in every row (x0, y0, x1, y1)")
    return b


def box_area(boxes) -> np.ndarray:
    b = _check_boxes(boxes, "boxes")
    return (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])


def box_iou(boxes1, boxes2) -> np.ndarray:
    r"""IoU of every box of ``boxes1`` ``(n, 4)`` with every box of ``boxes2`` ``(m, 4)``: an ``(n, m)`` array.

    .. math:: \mathrm{IoU} = \frac{\text{intersection}}{\text{area}_1 + \text{area}_2 - \text{intersection}}

    Boxes are ``(x0, y0, x1, y1)`` with continuous coordinates (no "+1"), as torchvision.
    """
    a, b = _check_boxes(boxes1, "boxes1"), _check_boxes(boxes2, "boxes2")
    lo = np.maximum(a[:, None, :2], b[None, :, :2])
    hi = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(hi - lo, 0, None), axis=-1)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def nms(boxes, scores, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression, as ``torchvision.ops.nms``.

    Take the highest-scoring box, drop every remaining box whose IoU with it is above
    ``iou_threshold``, repeat with the best box left. Returns the indices of the kept boxes,
    highest score first, as an integer array.
    """
    b = _check_boxes(boxes, "boxes")
    s = as_float_array(scores, "scores", ndim=1)
    if len(s) != len(b):
        raise ValueError(f"scores must have one entry per box ({len(b)}), got {len(s)}")
    t = check_number(iou_threshold, "iou_threshold", low=0.0, high=1.0)
    order = np.argsort(-s, kind="stable")
    keep = []
    while order.size:
        best, order = order[0], order[1:]
        keep.append(best)
        order = order[box_iou(b[best][None], b[order])[0] <= t]
    return np.array(keep, dtype=np.int64)


# --------------------------------------------------------------------------- one-stage detection
def anchor_grid(image_size: int = 32, cells: int = 4, sizes=(8.0, 16.0)) -> np.ndarray:
    """Anchor boxes ``(cells, cells, A, 4)``: ``A = len(sizes)`` squares centred on every cell of a ``cells``² grid."""
    image_size, cells = check_positive_int(image_size, "image_size"), check_positive_int(cells, "cells")
    step = image_size / cells
    centres = (np.arange(cells) + 0.5) * step
    cy, cx = np.meshgrid(centres, centres, indexing="ij")
    half = np.asarray(sizes, dtype=float) / 2
    return np.stack([cx[..., None] - half, cy[..., None] - half, cx[..., None] + half, cy[..., None] + half], -1)


class Targets(NamedTuple):
    objectness: np.ndarray   # (S, S, A): 1 where an anchor is responsible for an object
    offsets: np.ndarray      # (S, S, A, 4): (tx, ty, tw, th) of that object relative to the anchor
    classes: np.ndarray      # (S, S, A): the object's class (0 where no object)


def _centre_size(boxes):
    return (boxes[..., :2] + boxes[..., 2:]) / 2, boxes[..., 2:] - boxes[..., :2]


def encode_targets(boxes, labels, anchors) -> Targets:
    r"""What a one-stage detector is trained to output, YOLO-style.

    Each object is assigned to the grid cell that contains its centre and, in that cell, to the
    anchor whose shape matches best (largest IoU with both centred). That anchor's target is
    objectness 1, the object's class and the offsets

    .. math:: t_x = \frac{c_x - a_x}{a_w},\; t_y = \frac{c_y - a_y}{a_h},\;
              t_w = \log\frac{w}{a_w},\; t_h = \log\frac{h}{a_h};

    every other anchor has objectness 0.
    """
    boxes = _check_boxes(np.asarray(boxes, dtype=float).reshape(-1, 4), "boxes")
    S, _, A, _ = anchors.shape
    step = (anchors[0, 1, 0, 0] - anchors[0, 0, 0, 0]) if S > 1 else anchors[0, 0, 0, 2] * 2
    obj, off, cls = np.zeros((S, S, A)), np.zeros((S, S, A, 4)), np.zeros((S, S, A), dtype=np.int64)
    for box, label in zip(boxes, np.asarray(labels).reshape(-1)):
        (cx, cy), (w, h) = _centre_size(box)
        i, j = min(int(cy // step), S - 1), min(int(cx // step), S - 1)
        centres, sizes = _centre_size(anchors[i, j])          # (A, 2) each
        ax, ay, aw, ah = centres[:, 0], centres[:, 1], sizes[:, 0], sizes[:, 1]
        shape_iou = box_iou(np.array([[-w / 2, -h / 2, w / 2, h / 2]]),
                            np.stack([-aw / 2, -ah / 2, aw / 2, ah / 2], axis=1))[0]
        a = int(np.argmax(shape_iou))
        obj[i, j, a], cls[i, j, a] = 1.0, int(label)
        off[i, j, a] = [(cx - ax[a]) / aw[a], (cy - ay[a]) / ah[a], np.log(w / aw[a]), np.log(h / ah[a])]
    return Targets(obj, off, cls)


def decode_boxes(offsets, anchors) -> np.ndarray:
    """The boxes ``(..., 4)`` that offsets ``(..., 4)`` describe relative to ``anchors`` (the inverse of the encoding)."""
    centres, sizes = _centre_size(np.asarray(anchors, dtype=float))
    ax, ay, aw, ah = centres[..., 0], centres[..., 1], sizes[..., 0], sizes[..., 1]
    tx, ty, tw, th = np.moveaxis(np.asarray(offsets, dtype=float), -1, 0)
    cx, cy, w, h = ax + tx * aw, ay + ty * ah, aw * np.exp(tw), ah * np.exp(th)
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


