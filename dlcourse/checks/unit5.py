"""Unit 5's exercises: convolution, pooling and recurrent cells, checked against the layers of ``dlcourse.layers``."""

from __future__ import annotations

import numpy as np

from ..layers.conv import Conv2d
from ..layers.pooling import MaxPool2d
from ..layers.recurrent import gru_cell_forward, lstm_cell_forward, rnn_cell_forward
from .exercise import Exercise, _copy, as_outputs, skeleton
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


# The hint levels of each exercise (Exercise.hints): the idea, the formula, a skeleton with blanks.
_HINTS = {
    "5.1": (
        r"Count the window positions along one axis. Padding adds $p$ values at each end; the first window starts "
        r"at 0, each next one $s$ further, and the last one must still fit inside the padded input.",
        r"The padded length is $n + 2p$, so the last start is at most $n + 2p - k$. The starts are "
        r"$0, s, 2s, \dots$: there are $\lfloor (n + 2p - k)/s \rfloor + 1$ of them. Python's `//` is the floor "
        r"for non-negative numbers and keeps an `int`; `/` would give 16.5 where PyTorch gives 16 "
        r"($n = 33$, $k = 2$, $s = 2$, $p = 0$).",
        skeleton("""
            return (____ - ____) // ____ + ____
        """),
    ),
    "5.2": (
        r"Slide each filter over the padded input. At each output position, the output is the sum of the filter "
        r"times the window under it, over all input channels, plus the filter's bias. PyTorch's convolution does "
        r"not flip the kernel.",
        r"Pad only the two spatial axes: `np.pad` takes one `(before, after)` pair per axis, so the batch and "
        r"channel axes get `(0, 0)`. The output is $(N, C_\text{out}, H_\text{out}, W_\text{out})$ with "
        r"$H_\text{out} = \lfloor (H + 2p - k_H)/s \rfloor + 1$ (Exercise 5.1). The window of output pixel "
        r"$(i, j)$ starts at row $i s$ and column $j s$ and has shape $(N, C_\text{in}, k_H, k_W)$; `weight[o]` is "
        r"$(C_\text{in}, k_H, k_W)$, so their product broadcasts over $N$. Sum it over the last three axes.",
        skeleton("""
            xp = np.pad(x, ____)                          # pad rows and columns only
            rows, cols = ____, ____                       # H_out and W_out
            out = np.empty(____)                          # (N, C_out, rows, cols)
            for i in ____:
                for j in ____:
                    window = xp[:, :, ____, ____]         # (N, C_in, kH, kW)
                    for o in ____:
                        out[:, o, i, j] = ____
            return ____
        """),
    ),
    "5.3": (
        r"Max pooling passes on only the largest input of each window, so only that input can change the output: "
        r"it receives the window's whole output gradient, the others nothing. When windows overlap, one input can "
        r"win several windows and collects all their gradients.",
        r"Output $(i, j)$ reads rows $is, \dots, is + k - 1$ and columns $js, \dots, js + k - 1$. Flattened to "
        r"$(N, C, k^2)$, `argmax(axis=2)` gives each window's winner as a flat offset, and "
        r"`np.unravel_index(offset, (k, k))` turns it into row and column offsets $u, v$: the winner sits at "
        r"$(is + u,\ js + v)$ in $x$. Index arrays for $n$ and $c$ (from `np.meshgrid(..., indexing=\"ij\")`) "
        r"update all $N \times C$ windows at once. Add with `+=`, since windows can overlap.",
        skeleton("""
            n, c = np.meshgrid(____, ____, indexing="ij")          # (N, C) index arrays
            for i in ____:
                for j in ____:
                    window = x[:, :, ____, ____].reshape(N, C, k * k)
                    u, v = np.unravel_index(____, (k, k))
                    dx[n, c, ____, ____] += ____
        """),
    ),
    "5.4": (
        r"The new state mixes the input and the previous state, each through its own weight matrix and bias, and "
        r"squashes the sum with tanh. Every row is one sample.",
        r"For one sample as a column, $h = \tanh(W_{ih} x + b_{ih} + W_{hh} h_\text{prev} + b_{hh})$. With samples "
        r"as rows, `x` is $(N, D)$ and `weight_ih` is $(H, D)$, so $W x$ becomes $x W^\top$: "
        r"$(N, D)(D, H) = (N, H)$. Both biases are added.",
        skeleton("""
            a = ____ @ ____ + bias_ih + ____ @ ____ + bias_hh      # (N, H)
            return np.tanh(a)
        """),
    ),
    "5.5": (
        r"Go backwards through the step: first through the tanh, then through the sum, whose two products each "
        r"pass the gradient on as in a linear layer (Exercise 1.6). Every gradient has the shape of its variable; "
        r"let the shapes choose each product.",
        r"With $a$ the pre-activation, $\delta = \partial L/\partial a = \partial L/\partial h \odot (1 - h^2)$ "
        r"(tanh' written with its output). Then $\partial L/\partial x = \delta\,W_{ih}$, $(N, H)(H, D)$; "
        r"$\partial L/\partial h_\text{prev} = \delta\,W_{hh}$; $\partial L/\partial W_{ih} = \delta^\top x$, "
        r"$(H, N)(N, D)$; $\partial L/\partial W_{hh} = \delta^\top h_\text{prev}$; and the bias gradient sums "
        r"$\delta$ over the batch.",
        skeleton("""
            da = grad_h * (____)                # through the tanh
            dx = ____ @ ____                    # (N, D)
            dh_prev = ____ @ ____               # (N, H)
            dweight_ih = ____ @ ____            # (H, D)
            dweight_hh = ____ @ ____            # (H, H)
            dbias = ____                        # (H,)
            return dx, dh_prev, dweight_ih, dweight_hh, dbias
        """),
    ),
    "5.6": (
        r"Compute the four blocks at once, as one pre-activation with $4H$ columns; split it into the i, f, g, o "
        r"blocks; squash each with its own function; then update the cell state, and the output from it.",
        r"$a = x W_{ih}^\top + b_{ih} + h_\text{prev} W_{hh}^\top + b_{hh}$, shape $(N, 4H)$, in PyTorch's order "
        r"i, f, g, o: `np.split` into 4 equal parts along axis 1 gives four $(N, H)$ blocks. $i, f, o$ use the sigmoid, $g$ uses tanh; "
        r"$c = f \odot c_\text{prev} + i \odot g$ and $h = o \odot \tanh(c)$. Return $(h, c)$.",
        skeleton("""
            a = ____                                   # (N, 4H)
            ai, af, ag, ao = np.split(____, 4, axis=____)
            i, f, o = ____                             # the sigmoid of ai, af, ao
            c = ____
            h = ____
            return h, c
        """),
    ),
    "5.7": (
        r"Two gates, r (reset) and z (update), and a candidate state n. In PyTorch's form the reset gate multiplies "
        r"only the *hidden* part of the candidate's pre-activation, so keep the input part and the hidden part "
        r"apart before combining them.",
        r"$g^i = x W_{ih}^\top + b_{ih}$ and $g^h = h_\text{prev} W_{hh}^\top + b_{hh}$, each $(N, 3H)$ in blocks "
        r"r, z, n. $r = \sigma(g^i_r + g^h_r)$, $z = \sigma(g^i_z + g^h_z)$, $n = \tanh(g^i_n + r \odot g^h_n)$ "
        r"and $h = (1 - z) \odot n + z \odot h_\text{prev}$.",
        skeleton("""
            gi_r, gi_z, gi_n = np.split(____, 3, axis=1)
            gh_r, gh_z, gh_n = np.split(____, 3, axis=1)
            r = ____
            z = ____
            n = np.tanh(____)
            return ____
        """),
    ),
}


register(
    Exercise("5.1", "output_size", "the output size of a convolution", _output_size_reference, _output_size_cases,
             _named("size"), hints=_HINTS["5.1"]),
    Exercise("5.2", "conv2d_naive", "a convolution with loops", _conv2d_reference, _conv2d_cases, _named("out"),
             hints=_HINTS["5.2"]),
    Exercise("5.3", "maxpool2d_backward", "the backward pass of max pooling", _maxpool_backward_reference,
             _maxpool_cases, _named("dx"),
             hints=_HINTS["5.3"]),
    Exercise("5.4", "rnn_step", "one step of an RNN", _rnn_step_reference, _rnn_cases, _named("h"),
             hints=_HINTS["5.4"]),
    Exercise("5.5", "rnn_step_backward", "one step of backpropagation through time",
             _rnn_step_backward_reference, _rnn_backward_cases,
             _named("dx", "dh_prev", "dweight_ih", "dweight_hh", "dbias"),
             hints=_HINTS["5.5"]),
    Exercise("5.6", "lstm_step", "one step of an LSTM", _lstm_step_reference, _lstm_cases, _named("h", "c"),
             hints=_HINTS["5.6"]),
    Exercise("5.7", "gru_step", "one step of a GRU", _gru_step_reference, _gru_cases, _named("h"),
             hints=_HINTS["5.7"]),
)
