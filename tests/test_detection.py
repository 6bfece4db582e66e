"""Tests for dlcourse.detection: IoU, non-maximum suppression (against a torch version of torchvision's greedy
NMS), the anchor grid, and the one-stage targets' encoding and decoding."""

import numpy as np
import pytest

pytestmark = pytest.mark.unit5

from dlcourse import detection as D  # noqa: E402
from dlcourse.explore import unit5_detection as det  # noqa: E402  (generated shapes and stand-in detections)


# -- IoU and NMS -------------------------------------------------------------------------------------
def _torch_nms(torch, boxes, scores, threshold):
    """torchvision's NMS written with torch ops (torchvision is not part of the course environment)."""
    b, order, keep = torch.tensor(boxes), torch.argsort(torch.tensor(scores), descending=True), []
    while len(order):
        i, order = order[0], order[1:]
        keep.append(int(i))
        lo, hi = torch.maximum(b[i, :2], b[order, :2]), torch.minimum(b[i, 2:], b[order, 2:])
        inter = (hi - lo).clamp(min=0).prod(1)
        area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])   # noqa: E731
        order = order[inter / (area(b[i]) + area(b[order]) - inter) <= threshold]
    return keep


def test_iou_hand_computed_and_symmetric(rng):
    a = np.array([[0.0, 0.0, 4.0, 4.0]])
    np.testing.assert_allclose(D.box_iou(a, [[2, 2, 6, 6], [1, 1, 3, 3], [5, 5, 7, 7], [0, 0, 4, 4]]),
                               [[4 / 28, 4 / 16, 0, 1]])
    boxes = np.sort(rng.uniform(0, 10, (6, 2, 2)), axis=1).transpose(0, 2, 1).reshape(6, 4)[:, [0, 2, 1, 3]]
    iou = D.box_iou(boxes, boxes)
    np.testing.assert_allclose(iou, iou.T)
    assert np.all((iou >= 0) & (iou <= 1 + 1e-12))
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(n, 4\)"):
        D.box_iou(np.zeros(4), a)
    with pytest.raises(ValueError, match="x1 >= x0"):
        D.box_iou([[2, 0, 1, 1]], a)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.5, 0.9])
def test_nms_matches_torch_greedy_nms(torch, threshold):
    boxes, scores, _ = det.noisy_detections(det.make_shapes(1, rng=2).boxes[0], [1, 1, 1], rng=4)
    keep = D.nms(boxes, scores, threshold)
    assert keep.tolist() == _torch_nms(torch, boxes, scores, threshold)
    assert np.all(np.diff(scores[keep]) < 0)                             # highest score first
    kept = boxes[keep]
    assert np.all(D.box_iou(kept, kept)[~np.eye(len(keep), dtype=bool)] <= threshold)


def test_nms_rejects_bad_input():
    with pytest.raises(ValueError, match=r"scores must have one entry per box \(2\), got 3"):
        D.nms(np.zeros((2, 4)), np.zeros(3), 0.5)
    with pytest.raises(ValueError, match=r"iou_threshold must be <= 1.0, got 1.5"):
        D.nms(np.zeros((2, 4)), np.zeros(2), 1.5)


# -- anchors -----------------------------------------------------------------------------------------
def test_anchor_grid_centres_and_sizes():
    a = D.anchor_grid(32, 4, (8.0, 16.0))
    assert a.shape == (4, 4, 2, 4)
    np.testing.assert_allclose(a[1, 2, 0], [16, 8, 24, 16])               # row 1, column 2: centre (20, 12)
    np.testing.assert_allclose(a[1, 2, 1], [12, 4, 28, 20])


def test_targets_encode_and_decode_every_box():
    s = det.make_shapes(40, rng=1)
    anchors = D.anchor_grid()
    for boxes, labels in zip(s.boxes, s.labels):
        t = D.encode_targets(boxes, labels, anchors)
        assert t.objectness.sum() == len(boxes) and set(t.classes[t.objectness > 0]) == set(labels)
        decoded = D.decode_boxes(t.offsets, anchors)[t.objectness > 0]
        np.testing.assert_allclose(np.sort(D.box_iou(decoded, boxes).max(1)), 1.0)
    # the responsible cell holds the box centre
    t = D.encode_targets([[17.0, 2.0, 23.0, 8.0]], [2], anchors)
    assert np.argwhere(t.objectness).tolist() == [[0, 2, 0]]
    np.testing.assert_allclose(t.offsets[0, 2, 0], [0, 1 / 8, np.log(6 / 8), np.log(6 / 8)], atol=1e-12)  # centre (20, 5)
