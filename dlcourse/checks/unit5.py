"""Unit 5's exercises: convolution, pooling and recurrent cells, checked against the layers of ``dlcourse.layers``."""

from __future__ import annotations

import re

import numpy as np

from ..activations import softmax as _softmax
from ..detection import nms as _nms
from ..layers import Flatten, Linear, ReLU
from ..layers.attention import attention_backward as _attention_backward
from ..layers.attention import attention_forward as _attention_forward
from ..layers.attention import causal_mask as _causal_mask
from ..layers.embedding import sinusoidal_positional_encoding as _positional_encoding
from ..layers.conv import Conv2d, conv_output_size
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


def _output_size_note(case, problem):
    span = case["n"] + 2 * case["padding"] - case["kernel_size"]
    if span % case["stride"]:
        return (f"Here n + 2p - k = {span} is not a multiple of the stride {case['stride']}: the windows do not "
                f"fit exactly.")
    return None


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
        r"$(is + u,\ js + v)$ in $x$. Index arrays for $n$ and $c$ (from `np.meshgrid(..., indexing='ij')`) "
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
        r"i, f, g, o: `np.split` into 4 equal parts along axis 1 gives four $(N, H)$ blocks. $i, f, o$ use the "
        r"sigmoid, $g$ uses tanh; "
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
    "5.8": (
        r"Walk through the layers keeping the current shape, $(C, H, W)$ — or one length, after `flatten`. A layer "
        r"either has weights (count them) or only changes the shape. A fully connected layer's count depends on the "
        r"shape that reaches it, so the shape bookkeeping is the heart of the exercise.",
        r"A convolution with $C_\text{out}$ filters of $k \times k$ on $C_\text{in}$ channels has "
        r"$C_\text{out} C_\text{in} k^2$ weights and $C_\text{out}$ biases; it outputs $(C_\text{out}, H', W')$ with "
        r"$H' = \lfloor (H + 2p - k)/s \rfloor + 1$ (Exercise 5.1). A $k \times k$ max-pooling (stride $k$) has no "
        r"parameters and gives $H' = \lfloor (H - k)/k \rfloor + 1$. ReLU changes nothing. `flatten` turns "
        r"$(C, H, W)$ into $C H W$ features, and a linear layer from $n$ to $m$ features has $n m + m$ parameters.",
        skeleton("""
            c, h, w = ____                       # the current shape
            n = None                             # the number of features, after "flatten"
            result = []
            for spec in layers:
                if spec[0] == "conv":
                    _, c_out, k, s, p = spec
                    result.append(____)
                    c, h, w = ____, ____, ____
                elif spec[0] == "maxpool":
                    h, w = ____, ____
                    result.append(0)
                elif spec[0] == "flatten":
                    n = ____
                    result.append(0)
                elif spec[0] == "linear":
                    result.append(____)
                    n = ____
                else:                            # "relu"
                    result.append(0)
            return result
        """),
    ),
    "5.9": (
        r"Work backwards from one unit of the last layer. A layer with a $k \times k$ kernel widens the window by "
        r"$k - 1$ positions of *its own input*. Every stride below that layer spreads those positions further apart "
        r"in the image, so the same widening costs more pixels the deeper the layer is.",
        r"Keep the *jump* $J$: the distance, in image pixels, between neighbouring positions of a layer's input. "
        r"$J = 1$ for the image, and each layer multiplies it by its stride. Then "
        r"$r = 1 + \sum_l (k_l - 1)\,J_l$ with $J_l = \prod_{j<l} s_j$, the jump *before* layer $l$. Two 3×3 layers "
        r"with stride 1: $1 + 2 + 2 = 5$.",
        skeleton("""
            r, jump = ____, ____
            for k, s in ____:                    # the layers, first to last
                r = ____                         # widen by k - 1 positions of this layer's input
                jump = ____                      # the jump for the next layer
            return ____
        """),
    ),
    "5.10": (
        r"Insert a blank before, between and after the labels: $\ell' = (\text{-}, \ell_1, \text{-}, \ell_2, \dots, "
        r"\ell_L, \text{-})$. Every valid path walks through $\ell'$ from left to right, one symbol per frame: it "
        r"stays, moves one step, or skips the blank between two *different* labels. Add up all paths with dynamic "
        r"programming: one number per frame and position in $\ell'$.",
        r"Let $\alpha_t(s)$ be the total probability of the path prefixes that are at $\ell'_s$ at frame $t$. Start: "
        r"$\alpha_0(0) = p_0(\text{-})$, $\alpha_0(1) = p_0(\ell_1)$, the others 0. Step: "
        r"$\alpha_t(s) = \bigl(\alpha_{t-1}(s) + \alpha_{t-1}(s-1) + [\ell'_s \ne \text{-} \text{ and } "
        r"\ell'_s \ne \ell'_{s-2}]\;\alpha_{t-1}(s-2)\bigr)\, p_t(\ell'_s)$. A path ends on the last label or on the "
        r"blank after it: $P = \alpha_{T-1}(S-1) + \alpha_{T-1}(S-2)$ with $S = 2L + 1$.",
        skeleton("""
            ext = [0]                                   # blank, l1, blank, l2, ..., blank
            for label in labels:
                ext += [____, ____]
            T, S = len(probs), len(ext)
            a = np.zeros((T, S))
            a[0, 0], a[0, 1] = ____, ____
            for t in range(1, T):
                for s in range(S):
                    total = a[t - 1, s]
                    if s >= 1:
                        total += ____
                    if s >= 2 and ____:                 # skip the blank between two different labels
                        total += ____
                    a[t, s] = total * ____
            return ____
        """),
    ),
}


# -- 5.8 parameters per layer (notebook 5.2) -----------------------------------------------------------------------
def _build_layer(spec, shape):
    """The ``dlcourse.layers`` module of a plain-data layer spec, and the shape it outputs for ``shape``."""
    kind = spec[0]
    if kind == "conv":
        _, out_channels, k, s, p = spec
        return Conv2d(shape[0], out_channels, k, stride=s, padding=p), \
            (out_channels, conv_output_size(shape[1], k, s, p), conv_output_size(shape[2], k, s, p))
    if kind == "maxpool":
        k = spec[1]
        return MaxPool2d(k), (shape[0], conv_output_size(shape[1], k, k), conv_output_size(shape[2], k, k))
    if kind == "flatten":
        return Flatten(), (int(np.prod(shape)),)
    if kind == "linear":
        return Linear(shape[0], spec[1]), (spec[1],)
    return ReLU(), shape


def _parameters_reference(input_shape, layers):
    """Build each layer from ``dlcourse.layers`` and count its parameters, tracing the shape through the stack."""
    counts, shape = [], tuple(input_shape)
    for spec in layers:
        layer, shape = _build_layer(spec, shape)
        counts.append(sum(p.size for p in layer.params.values()))
    return counts


CNN_DIGITS = [("conv", 32, 3, 1, 1), ("relu",), ("maxpool", 2), ("conv", 64, 3, 1, 1), ("relu",), ("maxpool", 2),
              ("flatten",), ("linear", 128), ("relu",), ("linear", 10)]          # notebook 5.2's network
LENET5 = [("conv", 6, 5, 1, 0), ("relu",), ("maxpool", 2), ("conv", 16, 5, 1, 0), ("relu",), ("maxpool", 2),
          ("flatten",), ("linear", 120), ("relu",), ("linear", 84), ("relu",), ("linear", 10)]


def _parameters_cases(rng):
    """Two real networks, then random small CNNs whose every layer fits its input (height and width tracked)."""
    cases = [{"input_shape": (1, 8, 8), "layers": CNN_DIGITS}, {"input_shape": (1, 32, 32), "layers": LENET5}]
    while len(cases) < 6:
        C, H, W = int(rng.integers(1, 4)), int(rng.integers(12, 25)), int(rng.integers(12, 25))
        layers, h, w, fits = [], H, W, True
        for _ in range(int(rng.integers(1, 3))):
            k, s, p = int(rng.choice([1, 3, 5])), int(rng.integers(1, 3)), int(rng.integers(0, 3))
            if min(h, w) + 2 * p < k:          # the kernel would not fit: draw another network
                fits = False
                break
            h, w = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
            layers += [("conv", int(rng.integers(2, 9)), k, s, p), ("relu",)]
            if min(h, w) >= 4:
                layers.append(("maxpool", 2))
                h, w = h // 2, w // 2
        if fits and min(h, w) >= 1:
            cases.append({"input_shape": (C, H, W),
                          "layers": layers + [("flatten",), ("linear", int(rng.integers(2, 20)))]})
    return cases


def _run_parameters(fn, case):
    out = fn(input_shape=tuple(case["input_shape"]), layers=[tuple(spec) for spec in case["layers"]])
    return {"parameters per layer": out}


def _parameters_note(case, problem):
    """Name the layer whose count is wrong (the index a message reports), or say what to return."""
    found = re.search(r"at index \((\d+),\)", problem)
    if found:
        i = int(found.group(1))
        return f"Layer {i} (counting from 0) is {case['layers'][i]}."
    return f"Return one count per layer: a list of {len(case['layers'])} numbers here."


# -- 5.9 receptive field (notebook 5.3) ----------------------------------------------------------------------------
def _receptive_field_reference(kernel_sizes, strides):
    r"""Side of the input window one unit of the last layer sees: :math:`1 + \sum_l (k_l - 1) \prod_{j<l} s_j`."""
    field, jump = 1, 1
    for k, s in zip(kernel_sizes, strides):
        field, jump = field + (int(k) - 1) * jump, jump * int(s)
    return field


def _receptive_field_cases(rng):
    cases = [{"kernel_sizes": [3, 3], "strides": [1, 1]},                    # VGG: two 3x3 layers see 5x5
             {"kernel_sizes": [3, 3, 3], "strides": [1, 1, 1]},
             {"kernel_sizes": [11, 3, 5, 3], "strides": [4, 2, 1, 2]},       # AlexNet: conv1, pool1, conv2, pool2
             {"kernel_sizes": [7, 3], "strides": [2, 2]}]                    # ResNet's stem: conv 7x7/2, pool 3x3/2
    for _ in range(4):
        n = int(rng.integers(2, 6))
        cases.append({"kernel_sizes": [int(k) for k in rng.integers(1, 8, n)],
                      "strides": [int(s) for s in rng.integers(1, 4, n)]})
    return cases


def _receptive_field_note(case, problem):
    if any(int(s) > 1 for s in case["strides"]):
        return "This stack has strides larger than 1."
    return None


def _run_receptive_field(fn, case):
    return {"receptive field": fn(kernel_sizes=list(case["kernel_sizes"]), strides=list(case["strides"]))}


# -- 5.10 CTC by dynamic programming (notebook 5.6) ----------------------------------------------------------------
def _ctc_reference(probs, labels):
    """P(labels | probs) summed over every alignment, by the forward recursion of Graves et al. (2006); blank = 0."""
    extended = [0]
    for label in labels:
        extended += [int(label), 0]
    T, S = len(probs), len(extended)
    alpha = np.zeros((T, S))
    alpha[0, :2] = probs[0, extended[:2]]
    for t in range(1, T):
        for s in range(S):
            paths = alpha[t - 1, s] + (alpha[t - 1, s - 1] if s >= 1 else 0.0)
            if s >= 2 and extended[s] != 0 and extended[s] != extended[s - 2]:
                paths += alpha[t - 1, s - 2]
            alpha[t, s] = paths * probs[t, extended[s]]
    return float(alpha[-1, -1] + alpha[-1, -2])


def _ctc_cases(rng):
    def softmax_rows(T, K):
        return _softmax(rng.normal(0, 1.5, (T, K)), axis=1)

    cases = [{"probs": np.full((5, 3), 1 / 3), "labels": np.array([1, 2])},    # the notebook's uniform example
             {"probs": softmax_rows(6, 4), "labels": np.array([2, 2])},        # a repeat needs a blank between
             {"probs": softmax_rows(3, 3), "labels": np.array([1, 1])},        # ... exactly one path fits
             {"probs": softmax_rows(1, 3), "labels": np.array([2])},           # a single frame
             {"probs": softmax_rows(4, 3), "labels": np.array([1, 1, 1])},     # needs 5 frames: probability 0
             {"probs": softmax_rows(8, 5), "labels": np.array([3, 1, 1, 4])}]
    for T, K, L in ((10, 6, 3), (9, 4, 4)):
        cases.append({"probs": softmax_rows(T, K), "labels": rng.integers(1, K, L)})
    return cases


def _run_ctc(fn, case):
    return {"probability": fn(probs=case["probs"].copy(), labels=case["labels"].copy())}


def _ctc_note(case, problem):
    labels = [int(v) for v in case["labels"]]
    repeats = sum(a == b for a, b in zip(labels, labels[1:]))
    frames = len(case["probs"])
    text = f"Here {frames} frame(s) must spell labels {labels}"
    if repeats:
        text += f", with {repeats} repeated neighbour(s) that need a blank between them"
    if frames < len(labels) + repeats:
        text += f": at least {len(labels) + repeats} frames would be needed"
    return text + "."


register(
    Exercise("5.8", "parameters_per_layer", "the parameters of each layer of a CNN", _parameters_reference,
             _parameters_cases, _run_parameters, hints=_HINTS["5.8"], diagnose=_parameters_note),
    Exercise("5.9", "receptive_field", "the receptive field of a stack of layers", _receptive_field_reference,
             _receptive_field_cases, _run_receptive_field, hints=_HINTS["5.9"], diagnose=_receptive_field_note),
    Exercise("5.10", "ctc_probability", "the CTC probability of a transcript", _ctc_reference, _ctc_cases,
             _run_ctc, hints=_HINTS["5.10"], diagnose=_ctc_note, rtol=1e-6, atol=1e-12),
)


register(
    Exercise("5.1", "output_size", "the output size of a convolution", _output_size_reference, _output_size_cases,
             _named("size"), hints=_HINTS["5.1"], diagnose=_output_size_note),
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


# Hints in levels: the idea, the formula or shape reasoning, a skeleton with blanks (never the answer's code).
_HINTS.update({
    "5.11": (
        'Scores compare every query with every key, scaled by the square root of the feature size; blocked keys must get weight exactly 0, so mask the scores before the softmax (not the weights after it), and take the softmax over the keys.',
        (r"$Z = QK^\top/\sqrt{E}$ has shape $(\dots, L, S)$: transpose only the last two axes of `key`, never the batch "
         r"axes. Where `mask` is `False`, set $Z$ to $-\infty$ (`np.where`) *before* the softmax; take the softmax along "
         r"the last axis after subtracting each row's maximum, then multiply the weights by `value`."),
        skeleton("""
scores = query @ ____ / np.sqrt(____)
scores = np.where(mask, scores, ____)
scores = scores - scores.max(axis=____, keepdims=True)
weights = ____ / ____
return weights @ ____, weights
"""),
    ),
    "5.12": (
        (r"Recompute the weights $A$ of the forward pass, then go backwards one operation at a time: "
         r"$\text{out} = AV$, then $A = \mathrm{softmax}(Z)$ row by row, then $Z = QK^\top/\sqrt{E}$. Each gradient "
         r"has the shape of its variable."),
        (r"With $G$ the `grad_output`: $\partial L/\partial V = A^\top G$, shapes $(\dots, S, L)$ times "
         r"$(\dots, L, E_v)$; $\partial L/\partial A = G V^\top$ has $A$'s shape $(\dots, L, S)$; the softmax step is "
         r"$\partial L/\partial Z = A \odot \big(\partial L/\partial A - \sum_j (\partial L/\partial A)_j A_j\big)$, "
         r"the sum taken over the keys of each row and kept as a column (`keepdims`). Transpose only the last two "
         r"axes, and do not forget the $1/\sqrt{E}$ of the last step."),
        skeleton("""
scale = ____                  # the forward pass's factor
A = ____                      # the weights, recomputed
grad_value = ____ @ grad_output
dA = grad_output @ ____
dZ = A * (dA - ____)          # the softmax's backward, row by row
return ____ @ key * scale, ____ @ query * scale, grad_value
"""),
    ),
    "5.13": (
        (r"Column pairs $(2i, 2i + 1)$ share one frequency: the angle $t / 10000^{2i/d_{\text{model}}}$ goes into a "
         r"sine in the even column $2i$ and a cosine in the odd column $2i + 1$; positions start at $t = 0$."),
        (r"Build the angles as an outer product: positions as a column $(\text{max\_len}, 1)$ times frequencies as a row "
         r"$(1, d_{\text{model}}/2)$, where the exponent of 10000 is $2i/d_{\text{model}}$ for $i = 0, 1, \dots$. "
         r"Then fill the even columns with the sines and the odd columns with the cosines."),
        skeleton("""
angles = np.arange(____)[:, None] / 10000 ** (np.arange(0, d_model, 2) / ____)
pe = np.zeros((max_len, d_model))
pe[:, 0::2] = ____
pe[:, 1::2] = ____
return ____
"""),
    ),
    "5.14": (
        (r"Visit the boxes from the highest score down; keep a box only if its IoU with every box kept so far is at "
         r"most `iou_threshold`. $\mathrm{IoU}(A, B) = |A \cap B| / (|A| + |B| - |A \cap B|)$, and the intersection "
         r"of two boxes is a box: its width is the smaller right edge minus the larger left edge, or 0 if that is "
         r"negative (likewise its height)."),
        (r"`np.argsort` sorts in increasing order; you want the highest score first. Compare the best remaining box "
         r"$b$ with all the others at once: the intersection's width is "
         r"$w = \max\big(0,\ \min(x_1^{b}, x_1) - \max(x_0^{b}, x_0)\big)$ element by element over the other boxes "
         r"(`np.minimum`, `np.maximum`, `np.clip`), likewise its height $h$, and the areas are "
         r"$(x_1 - x_0)(y_1 - y_0)$. A suppressed box suppresses nothing: it leaves the list before the next best is "
         r"picked."),
        skeleton("""
order = np.argsort(____)
keep = []
while len(order) > 0:
    best, rest = order[0], order[1:]
    keep.append(____)
    overlaps = ____
    order = rest[overlaps <= ____]
return np.array(keep)
"""),
    ),
})


# -- 5.11-5.13: attention, its backward pass, positional encodings (notebook 5.7) -------------------------

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
             hints=_HINTS["5.11"]),
    Exercise("5.12", "softmax_attention_backward", "the backward pass of softmax attention",
             _softmax_attention_backward_reference, _attention_backward_cases,
             outputs=("grad_query", "grad_key", "grad_value"),
             forbidden=("dlcourse.layers.attention.attention_backward",),
             hints=_HINTS["5.12"]),
    Exercise("5.13", "positional_encoding", "sinusoidal positional encodings", _positional_encoding_reference,
             _positional_encoding_cases, outputs=(),
             forbidden=("dlcourse.layers.embedding.sinusoidal_positional_encoding",),
             hints=_HINTS["5.13"]),
)


# -- 5.14: non-maximum suppression (notebook 5.8) ----------------------------------------------------------


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
             hints=_HINTS["5.14"]),
)
