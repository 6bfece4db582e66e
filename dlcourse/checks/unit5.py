"""Unit 5's exercises: convolution, pooling and recurrent cells, checked against the layers of ``dlcourse.layers``."""

from __future__ import annotations

import numpy as np

from ..layers.conv import Conv2d
from ..layers.pooling import MaxPool2d
from ..layers.recurrent import gru_cell_forward, lstm_cell_forward, rnn_cell_forward
from .exercise import Exercise, _copy, as_outputs
from .registry import register


def _named(*names):
    """An adapter that calls ``fn(**case)`` on copies and names the returned tuple's entries."""
    def run(fn, case):
        out = fn(**{k: _copy(v) for k, v in case.items()})
        if isinstance(out, (tuple, list)) and len(out) == len(names):
            return {name: np.asarray(v, dtype=np.float64) for name, v in zip(names, out)}
        if len(names) == 1 and not isinstance(out, (tuple, list, dict)):
            return {names[0]: np.asarray(out, dtype=np.float64)}
        return as_outputs(tuple(out) if isinstance(out, list) else out)
    return run


# -- 5.1 output size -------------------------------------------------------------------------------
def _output_size_reference(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) // stride + 1


def _output_size_cases(rng):
    cases = [{"n": 32, "kernel_size": 3, "stride": 1, "padding": 1},   # the lecture's walk-through
             {"n": 32, "kernel_size": 2, "stride": 2, "padding": 0},
             {"n": 227, "kernel_size": 11, "stride": 4, "padding": 0}]  # AlexNet's first layer
    while len(cases) < 10:
        n, k, s, p = int(rng.integers(5, 40)), int(rng.integers(1, 8)), int(rng.integers(2, 5)), int(rng.integers(0, 4))
        if k <= n + 2 * p and (n + 2 * p - k) % s:   # the floor matters
            cases.append({"n": n, "kernel_size": k, "stride": s, "padding": p})
    return cases


# -- 5.2 naive convolution -------------------------------------------------------------------------
def _conv2d_reference(x, weight, bias, stride=1, padding=0):
    C_out, C_in, kH, kW = weight.shape
    layer = Conv2d(C_in, C_out, (kH, kW), stride=stride, padding=padding)
    layer.params["weight"][...] = weight
    layer.params["bias"][...] = bias
    return layer.forward(x)


def _conv2d_cases(rng):
    cases = []
    for (N, C_in, H, W), (C_out, kH, kW), s, p in [((1, 1, 5, 5), (1, 3, 3), 1, 0), ((2, 3, 6, 7), (4, 2, 3), 1, 1),
                                                   ((2, 2, 7, 6), (3, 3, 3), 2, 1), ((1, 3, 8, 8), (2, 3, 2), 3, 2)]:
        cases.append({"x": rng.normal(size=(N, C_in, H, W)), "weight": rng.normal(size=(C_out, C_in, kH, kW)),
                      "bias": rng.normal(size=C_out), "stride": s, "padding": p})
    return cases


# -- 5.3 max-pool backward -------------------------------------------------------------------------
def _maxpool_backward_reference(x, grad_out, kernel_size, stride):
    pool = MaxPool2d(kernel_size, stride)
    pool.forward(x)
    return pool.backward(grad_out)


def _maxpool_cases(rng):
    cases = []
    for shape, k, s in [((1, 1, 4, 4), 2, 2), ((2, 3, 6, 6), 2, 2), ((2, 2, 7, 7), 3, 2), ((1, 2, 5, 6), 2, 1)]:
        x = rng.normal(size=shape)
        H_out, W_out = (shape[2] - k) // s + 1, (shape[3] - k) // s + 1
        cases.append({"x": x, "grad_out": rng.normal(size=shape[:2] + (H_out, W_out)), "kernel_size": k,
                      "stride": s})
    return cases


# -- 5.4 and 5.5: the RNN cell -----------------------------------------------------------------------
def _cell_case(rng, N, D, H, gates):
    return {"x": rng.normal(size=(N, D)), "h_prev": rng.normal(0, 0.5, (N, H)),
            "weight_ih": rng.normal(0, 0.5, (gates * H, D)), "weight_hh": rng.normal(0, 0.5, (gates * H, H)),
            "bias_ih": rng.normal(0, 0.5, gates * H), "bias_hh": rng.normal(0, 0.5, gates * H)}


SIZES = [(1, 2, 3), (3, 4, 2), (5, 3, 5)]   # (N, D, H): D != H catches transposed weights


def _rnn_cases(rng):
    return [_cell_case(rng, *size, gates=1) for size in SIZES]


def _rnn_step_reference(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return rnn_cell_forward(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)[0]


def _rnn_backward_cases(rng):
    cases = []
    for case in _rnn_cases(rng):
        h = _rnn_step_reference(**case)
        cases.append({"grad_h": rng.normal(size=h.shape), "x": case["x"], "h_prev": case["h_prev"], "h": h,
                      "weight_ih": case["weight_ih"], "weight_hh": case["weight_hh"]})
    return cases


def _rnn_step_backward_reference(grad_h, x, h_prev, h, weight_ih, weight_hh):
    """The formulas of :func:`dlcourse.layers.recurrent.rnn_cell_backward` (the tests check they agree)."""
    da = grad_h * (1.0 - h * h)
    return da @ weight_ih, da @ weight_hh, da.T @ x, da.T @ h_prev, da.sum(axis=0)


# -- 5.6 LSTM cell, 5.7 GRU cell -------------------------------------------------------------------
def _lstm_cases(rng):
    cases = []
    for size in SIZES:
        case = _cell_case(rng, *size, gates=4)
        cases.append(case | {"c_prev": rng.normal(0, 1.0, case["h_prev"].shape)})
    return cases


def _lstm_step_reference(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    h, c, _ = lstm_cell_forward(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)
    return h, c


def _gru_cases(rng):
    return [_cell_case(rng, *size, gates=3) for size in SIZES]


def _gru_step_reference(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return gru_cell_forward(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh)[0]


register(
    Exercise("5.1", "output_size", "the output size of a convolution", _output_size_reference, _output_size_cases,
             _named("size"), hint="n_out = floor((n + 2p - k) / s) + 1: padding adds p on both sides, and a "
                                  "window that would stick out past the edge does not count. Use // for the floor."),
    Exercise("5.2", "conv2d_naive", "a convolution with loops", _conv2d_reference, _conv2d_cases, _named("out"),
             hint="Pad x with np.pad on the two spatial axes only. For each output pixel (i, j) take the window "
                  "xp[:, :, i*s : i*s + kH, j*s : j*s + kW] and, for each filter o, sum window * weight[o] over "
                  "(C, kH, kW), then add bias[o]. Do not flip the kernel (torch's 'convolution' is a "
                  "cross-correlation)."),
    Exercise("5.3", "maxpool2d_backward", "the backward pass of max pooling", _maxpool_backward_reference,
             _maxpool_cases, _named("dx"),
             hint="Each output gradient goes to the position of its window's maximum (np.argmax of the "
                  "flattened window gives it; np.unravel_index turns it back into (u, v)); every other input "
                  "gets 0. Windows can overlap when stride < kernel_size: add with +=, do not overwrite."),
    Exercise("5.4", "rnn_step", "one step of an RNN", _rnn_step_reference, _rnn_cases, _named("h"),
             hint="h = tanh(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh); weights are "
                  "(H, D) and (H, H) as in torch, so they are transposed on the right of x and h_prev."),
    Exercise("5.5", "rnn_step_backward", "one step of backpropagation through time",
             _rnn_step_backward_reference, _rnn_backward_cases,
             _named("dx", "dh_prev", "dweight_ih", "dweight_hh", "dbias"),
             hint="First da = grad_h * (1 - h**2) (tanh' written with the output h). Then dx = da @ weight_ih, "
                  "dh_prev = da @ weight_hh, dweight_ih = da.T @ x, dweight_hh = da.T @ h_prev and dbias = "
                  "da summed over the batch (the same for bias_ih and bias_hh). Each gradient has the shape of "
                  "its variable."),
    Exercise("5.6", "lstm_step", "one step of an LSTM", _lstm_step_reference, _lstm_cases, _named("h", "c"),
             hint="a = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh has 4H columns in torch's "
                  "order i, f, g, o. i, f, o use the sigmoid, g uses tanh; c = f * c_prev + i * g and "
                  "h = o * tanh(c)."),
    Exercise("5.7", "gru_step", "one step of a GRU", _gru_step_reference, _gru_cases, _named("h"),
             hint="gi = x @ weight_ih.T + bias_ih and gh = h_prev @ weight_hh.T + bias_hh, each split in three "
                  "blocks r, z, n. r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r * gh_n) (the reset "
                  "gate multiplies W_hn h + b_hn, as in torch) and h = (1 - z) * n + z * h_prev."),
)


# Hints in levels (agreement 2): the notebooks show the same three levels in <details> blocks. Until Exercise.hints
# exists on this branch, the first level is passed as hint=; merging with the hints branch: hints=HINTS[id].
HINTS = {
    "5.11": ("Scores compare every query with every key, scaled by the square root of the feature size; blocked keys "
             "must get weight exactly 0, so mask the scores before the softmax (not the weights after it), and take "
             "the softmax over the keys.",
             "Z = Q Kᵀ / √E has shape (..., L, S): transpose only the last two axes of key (np.swapaxes(key, -1, -2)). "
             "Where mask is False, Z = -inf (np.where). Softmax along the last axis after subtracting the row "
             "maximum, then weights @ value.",
             "scores = query @ ____ / np.sqrt(____); scores = np.where(mask, scores, ____); scores = scores - "
             "scores.max(axis=____, keepdims=True); weights = np.exp(scores) / ____; return weights @ ____, weights"),
    "5.12": ("Recompute the weights A of the forward pass, then go backwards one operation at a time: out = A V, then "
             "A = softmax(Z) row by row, then Z = Q Kᵀ / √E. Each gradient has the shape of its variable.",
             "grad_value = Aᵀ G is (..., S, L) @ (..., L, Ev); dA = G Vᵀ has A's shape (..., L, S); the softmax step "
             "is dZ = A * (dA - sum(dA * A over the keys, keepdims)); do not forget the 1/√E of the last step.",
             "scale = 1 / np.sqrt(query.shape[-1]); A = ____; grad_value = T(A) @ ____; dA = grad_output @ ____; "
             "dZ = A * (dA - (dA * A).sum(axis=____, keepdims=True)); return ____ @ key * scale, ____ @ query * scale, "
             "grad_value"),
    "5.13": ("Column pairs (2i, 2i + 1) share one frequency: position t / 10000^(2i / d_model) goes into a sine in the "
             "even column and a cosine in the odd one; positions start at 0.",
             "Build the angles as an outer product, positions (max_len, 1) times frequencies (1, d_model // 2), the "
             "exponent being np.arange(0, d_model, 2) / d_model; fill pe[:, 0::2] and pe[:, 1::2].",
             "angles = np.arange(____)[:, None] / 10000 ** (np.arange(0, d_model, 2) / ____); pe = np.zeros((max_len, "
             "d_model)); pe[:, 0::2] = ____; pe[:, 1::2] = ____"),
    "5.14": ("Visit the boxes from the highest score down; keep a box only if its IoU with every box kept so far is at "
             "most iou_threshold. IoU = intersection area / (area1 + area2 - intersection); the intersection's width "
             "is min(x1) - max(x0), clipped at 0.",
             "np.argsort(-scores) gives the order. For one box b and an array B: w = np.clip(np.minimum(b[2], B[:, 2]) "
             "- np.maximum(b[0], B[:, 0]), 0, None), likewise h. A suppressed box suppresses nothing.",
             "order = np.argsort(____); keep = []; while len(order) > 0: best, rest = order[0], order[1:]; "
             "keep.append(best); overlaps = ____; order = rest[overlaps <= ____]; return np.array(keep)"),
}


# -- 5.11-5.13: attention, its backward pass, positional encodings (notebook 5.7) -------------------------
from ..layers.attention import attention_backward as _attention_backward  # noqa: E402  (appended section)
from ..layers.attention import attention_forward as _attention_forward  # noqa: E402
from ..layers.attention import causal_mask as _causal_mask  # noqa: E402
from ..layers.embedding import sinusoidal_positional_encoding as _positional_encoding  # noqa: E402

# (batch, L, S, E, Ev, mask): L != S and E != Ev catch transposes; "causal" needs L == S
_ATTENTION_SIZES = [((), 3, 3, 2, 2, "causal"), ((), 3, 5, 4, 2, "random"), ((2,), 4, 4, 3, 5, "causal"),
                    ((2,), 2, 6, 4, 3, "random"), ((), 4, 3, 2, 3, "none")]


def _attention_cases(rng):
    cases = []
    for batch, L, S, E, Ev, kind in _ATTENTION_SIZES:
        if kind == "causal":
            mask = _causal_mask(L, S)
        elif kind == "random":
            mask = rng.random((L, S)) < 0.5
            mask[np.arange(L), rng.integers(0, S, L)] = True     # each query sees at least one key
        else:
            mask = np.ones((L, S), dtype=bool)
        cases.append({"query": rng.normal(size=batch + (L, E)), "key": rng.normal(size=batch + (S, E)),
                      "value": rng.normal(size=batch + (S, Ev)), "mask": mask})
    return cases


def _masked_attention_reference(query, key, value, mask):
    out, cache = _attention_forward(query, key, value, attn_mask=mask)
    return out, cache.weights


def _attention_backward_cases(rng):
    cases = []
    for batch, L, S, E, Ev, _ in _ATTENTION_SIZES:
        cases.append({"grad_output": rng.normal(size=batch + (L, Ev)), "query": rng.normal(size=batch + (L, E)),
                      "key": rng.normal(size=batch + (S, E)), "value": rng.normal(size=batch + (S, Ev))})
    return cases


def _softmax_attention_backward_reference(grad_output, query, key, value):
    _, cache = _attention_forward(query, key, value)
    return tuple(_attention_backward(grad_output, cache))


def _positional_encoding_cases(rng):
    cases = [{"max_len": 4, "d_model": 4}, {"max_len": 50, "d_model": 16}, {"max_len": 10, "d_model": 6}]
    cases += [{"max_len": int(rng.integers(5, 80)), "d_model": 2 * int(rng.integers(2, 32))} for _ in range(3)]
    return cases


def _positional_encoding_reference(max_len, d_model):
    return _positional_encoding(max_len, d_model)


register(
    Exercise("5.11", "masked_attention", "scaled dot-product attention with a mask", _masked_attention_reference,
             _attention_cases, outputs=("output", "weights"),
             forbidden=("dlcourse.layers.attention.attention_forward",
                        "dlcourse.layers.attention.scaled_dot_product_attention"),
             hint=HINTS["5.11"][0]),
    Exercise("5.12", "softmax_attention_backward", "the backward pass of softmax attention",
             _softmax_attention_backward_reference, _attention_backward_cases,
             outputs=("grad_query", "grad_key", "grad_value"),
             forbidden=("dlcourse.layers.attention.attention_backward",),
             hint=HINTS["5.12"][0]),
    Exercise("5.13", "positional_encoding", "sinusoidal positional encodings", _positional_encoding_reference,
             _positional_encoding_cases, outputs=(),
             forbidden=("dlcourse.layers.embedding.sinusoidal_positional_encoding",),
             hint=HINTS["5.13"][0]),
)


# -- 5.14: non-maximum suppression (notebook 5.8) ----------------------------------------------------------
from ..detection import nms as _nms  # noqa: E402  (appended section)


def _nms_cases(rng):
    """A chain (A suppresses B, B overlaps C, A does not), then clusters of jittered boxes; distinct scores."""
    chain = np.array([[0.0, 0.0, 10.0, 10.0], [4.0, 0.0, 14.0, 10.0], [8.0, 0.0, 18.0, 10.0]])
    cases = [{"boxes": chain[[2, 0, 1]], "scores": np.array([0.7, 0.9, 0.8]), "iou_threshold": 0.3}]
    for n_objects, per_object, threshold in [(1, 3, 0.5), (2, 4, 0.5), (3, 4, 0.3), (3, 5, 0.7), (4, 3, 0.5)]:
        boxes = []
        for _ in range(n_objects):
            x0, y0, side = rng.uniform(0, 40), rng.uniform(0, 40), rng.uniform(8, 20)
            for _ in range(per_object):
                jitter = rng.normal(0, 0.15 * side, 4)
                b = np.array([x0, y0, x0 + side, y0 + side]) + jitter
                boxes.append(np.concatenate([b[:2], np.maximum(b[2:], b[:2] + 1.0)]))
        order = rng.permutation(len(boxes))                     # the best box is not always first
        scores = rng.permutation(np.linspace(0.2, 0.95, len(boxes)))
        cases.append({"boxes": np.array(boxes)[order], "scores": scores, "iou_threshold": threshold})
    return cases


def _nms_reference(boxes, scores, iou_threshold):
    return _nms(boxes, scores, iou_threshold)


register(
    Exercise("5.14", "non_max_suppression", "non-maximum suppression", _nms_reference, _nms_cases, _named("keep"),
             forbidden=("dlcourse.detection.nms",),
             hint=HINTS["5.14"][0]),
)
