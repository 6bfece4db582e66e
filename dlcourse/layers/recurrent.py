r"""Recurrent layers RNN, LSTM and GRU, and their single-step cells (Unit 5, "Recurrent networks").

A recurrent layer applies the same cell at every time step, feeding it the input
:math:`x_t` and its own previous state :math:`h_{t-1}`; backpropagation through time
(BPTT) runs the cells' backward passes in reverse order and *sums* the weight
gradients of every step (the weights are shared over time).

Each cell is also a plain function that an exercise can mirror:
``rnn_cell_forward(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh) -> (h, cache)``
and ``rnn_cell_backward(grad_h, cache) -> CellGrads``, and likewise
:func:`lstm_cell_forward` / :func:`lstm_cell_backward` (with the cell state ``c``) and
:func:`gru_cell_forward` / :func:`gru_cell_backward`.

Conventions are PyTorch's: input ``(T, N, D)`` (time first), one layer, unidirectional,
two biases ``bias_ih`` and ``bias_hh``, gates stacked in ``weight_ih`` ``(G*H, D)`` and
``weight_hh`` ``(G*H, H)`` in the order LSTM ``i, f, g, o`` and GRU ``r, z, n``.
A layer's ``params`` are named ``weight_ih`` ...; torch calls them ``weight_ih_l0`` ...,
which :meth:`~dlcourse.layers.module.Module.load_torch` takes care of.

Internally each cell is split into a *step* that receives the input projection
:math:`x W_{ih}^\top + b_{ih}` (computed for all time steps in one matrix product by the
layers) and returns the gradients of the pre-activations, from which the layers compute
the weight gradients of all steps in one matrix product as well.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng, check_float_dtype, check_positive_int, check_shape
from .module import Module

__all__ = ["RNN", "LSTM", "GRU", "CellCache", "CellGrads",
           "rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward",
           "gru_cell_forward", "gru_cell_backward"]


def _sigmoid(a):
    r"""$\sigma(a) = 1/(1 + e^{-a})$; for $a \ll 0$, $e^{-a}$ overflows to inf and $\sigma$ is 0, as it should."""
    with np.errstate(over="ignore"):
        out = np.exp(-a)
    out += 1.0
    return np.reciprocal(out, out=out)


# --------------------------------------------------------------------------- steps
class RNNStepCache(NamedTuple):
    h_prev: np.ndarray
    h: np.ndarray


def _rnn_step(xi, state, weight_hh, bias_hh):
    (h_prev,) = state
    h = np.tanh(xi + h_prev @ weight_hh.T + bias_hh)
    return (h,), RNNStepCache(h_prev, h)


def _rnn_step_backward(dstate, cache, weight_hh):
    (dh,) = dstate
    da = dh * (1.0 - cache.h * cache.h)
    return da, da, (da @ weight_hh,)


class LSTMStepCache(NamedTuple):
    h_prev: np.ndarray
    c_prev: np.ndarray
    gates: np.ndarray   # (N, 4H): i, f, g, o after their nonlinearities
    tanh_c: np.ndarray


def _lstm_step(xi, state, weight_hh, bias_hh):
    h_prev, c_prev = state
    H = h_prev.shape[1]
    gates = xi + h_prev @ weight_hh.T + bias_hh
    gates[:, :2 * H] = _sigmoid(gates[:, :2 * H])
    gates[:, 2 * H:3 * H] = np.tanh(gates[:, 2 * H:3 * H])
    gates[:, 3 * H:] = _sigmoid(gates[:, 3 * H:])
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    return (o * tanh_c, c), LSTMStepCache(h_prev, c_prev, gates, tanh_c)


def _lstm_step_backward(dstate, cache, weight_hh):
    dh, dc = dstate
    H = dh.shape[1]
    gates = cache.gates
    i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc = dc + dh * o * (1.0 - cache.tanh_c * cache.tanh_c)
    da = np.empty_like(gates)
    da[:, :H] = dc * g * i * (1.0 - i)
    da[:, H:2 * H] = dc * cache.c_prev * f * (1.0 - f)
    da[:, 2 * H:3 * H] = dc * i * (1.0 - g * g)
    da[:, 3 * H:] = dh * cache.tanh_c * o * (1.0 - o)
    return da, da, (da @ weight_hh, dc * f)


class GRUStepCache(NamedTuple):
    h_prev: np.ndarray
    rz: np.ndarray      # (N, 2H): r, z after the sigmoid
    n: np.ndarray
    hh_n: np.ndarray    # W_hn h_prev + b_hn, the part that r multiplies


def _gru_step(xi, state, weight_hh, bias_hh):
    (h_prev,) = state
    H = h_prev.shape[1]
    hh = h_prev @ weight_hh.T + bias_hh
    rz = _sigmoid(xi[:, :2 * H] + hh[:, :2 * H])
    r, z = rz[:, :H], rz[:, H:]
    hh_n = hh[:, 2 * H:]
    n = np.tanh(xi[:, 2 * H:] + r * hh_n)
    return (n + z * (h_prev - n),), GRUStepCache(h_prev, rz, n, hh_n)


def _gru_step_backward(dstate, cache, weight_hh):
    (dh,) = dstate
    H = dh.shape[1]
    r, z, n = cache.rz[:, :H], cache.rz[:, H:], cache.n
    dan = dh * (1.0 - z) * (1.0 - n * n)
    dgi = np.empty((dh.shape[0], 3 * H))
    dgi[:, :H] = dan * cache.hh_n * r * (1.0 - r)
    dgi[:, H:2 * H] = dh * (cache.h_prev - n) * z * (1.0 - z)
    dgi[:, 2 * H:] = dan
    dgh = dgi.copy()
    dgh[:, 2 * H:] *= r
    return dgi, dgh, (dgh @ weight_hh + dh * z,)


# --------------------------------------------------------------------------- cells
class CellCache(NamedTuple):
    """What a cell's backward needs: its input, its weights and the step's saved values."""
    x: np.ndarray
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    step: NamedTuple


class CellGrads(NamedTuple):
    """Gradients returned by a cell's backward (``c_prev`` only for the LSTM)."""
    x: np.ndarray
    h_prev: np.ndarray
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray
    bias_hh: np.ndarray
    c_prev: np.ndarray | None = None


def _check_cell(name, gates, x, states, weight_ih, weight_hh, bias_ih, bias_hh):
    x = as_float_array(x, "x", ndim=2)
    weight_hh = as_float_array(weight_hh, "weight_hh", ndim=2)
    GH, H = weight_hh.shape
    if GH != gates * H:
        raise ValueError(f"weight_hh of {name} must have shape ({gates}*H, H), got {weight_hh.shape}")
    N, D = x.shape
    arrays = [as_float_array(s, sname) for sname, s in states]
    for (sname, _), s in zip(states, arrays):
        check_shape(s, (N, H), sname)
    weight_ih = as_float_array(weight_ih, "weight_ih")
    check_shape(weight_ih, (GH, D), "weight_ih")
    biases = [as_float_array(b, bname) for bname, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh))]
    for bname, b in zip(("bias_ih", "bias_hh"), biases):
        check_shape(b, (GH,), bname)
    return x, arrays, weight_ih, weight_hh, biases


def _cell_forward(name, gates, step, x, states, weight_ih, weight_hh, bias_ih, bias_hh):
    x, states, weight_ih, weight_hh, (bias_ih, bias_hh) = _check_cell(
        name, gates, x, states, weight_ih, weight_hh, bias_ih, bias_hh)
    new_state, step_cache = step(x @ weight_ih.T + bias_ih, tuple(states), weight_hh, bias_hh)
    return new_state, CellCache(x, weight_ih, weight_hh, step_cache)


def _cell_backward(step_backward, dstate, cache):
    if not isinstance(cache, CellCache):
        raise TypeError(f"cache must be the CellCache returned by the cell's forward, got {type(cache).__name__}")
    names = ("grad_h", "grad_c")
    dstate = tuple(as_float_array(d, name) for d, name in zip(dstate, names))
    for d, name in zip(dstate, names):
        check_shape(d, cache.step.h_prev.shape, name)
    dgi, dgh, dprev = step_backward(dstate, cache.step, cache.weight_hh)
    return CellGrads(x=dgi @ cache.weight_ih, h_prev=dprev[0],
                     weight_ih=dgi.T @ cache.x, weight_hh=dgh.T @ cache.step.h_prev,
                     bias_ih=dgi.sum(axis=0), bias_hh=dgh.sum(axis=0),
                     c_prev=dprev[1] if len(dprev) > 1 else None)


def rnn_cell_forward(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""One step of the Elman RNN with tanh, as ``torch.nn.RNNCell``.

    .. math:: h = \tanh(x W_{ih}^\top + b_{ih} + h_\text{prev} W_{hh}^\top + b_{hh})

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    weight_ih : ndarray, shape (H, D)
    weight_hh : ndarray, shape (H, H)
    bias_ih, bias_hh : ndarray, shape (H,)

    Returns
    -------
    h : ndarray, shape (N, H)
    cache : CellCache
        For :func:`rnn_cell_backward`.

    Unit 5, "Recurrent networks".
    """
    (h,), cache = _cell_forward("the RNN cell", 1, _rnn_step, x, [("h_prev", h_prev)],
                                weight_ih, weight_hh, bias_ih, bias_hh)
    return h, cache


def rnn_cell_backward(grad_h, cache) -> CellGrads:
    r"""Backward pass of :func:`rnn_cell_forward`.

    With :math:`\delta = \frac{\partial L}{\partial h} \odot (1 - h^2)`:

    .. math::
        \frac{\partial L}{\partial x} = \delta W_{ih}, \quad
        \frac{\partial L}{\partial h_\text{prev}} = \delta W_{hh}, \quad
        \frac{\partial L}{\partial W_{ih}} = \delta^\top x, \quad
        \frac{\partial L}{\partial W_{hh}} = \delta^\top h_\text{prev}, \quad
        \frac{\partial L}{\partial b_{ih}} = \frac{\partial L}{\partial b_{hh}} = \textstyle\sum_n \delta_n

    Parameters
    ----------
    grad_h : ndarray, shape (N, H)
    cache : CellCache

    Returns
    -------
    CellGrads
        Fields ``x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh``.
    """
    return _cell_backward(_rnn_step_backward, (grad_h,), cache)


def lstm_cell_forward(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""One step of the LSTM, as ``torch.nn.LSTMCell``.

    .. math::
        \begin{aligned}
        i &= \sigma(W_{ii} x + b_{ii} + W_{hi} h_\text{prev} + b_{hi}) &&\text{input gate}\\
        f &= \sigma(W_{if} x + b_{if} + W_{hf} h_\text{prev} + b_{hf}) &&\text{forget gate}\\
        g &= \tanh(W_{ig} x + b_{ig} + W_{hg} h_\text{prev} + b_{hg}) &&\text{candidate}\\
        o &= \sigma(W_{io} x + b_{io} + W_{ho} h_\text{prev} + b_{ho}) &&\text{output gate}\\
        c &= f \odot c_\text{prev} + i \odot g, \qquad h = o \odot \tanh(c)
        \end{aligned}

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev, c_prev : ndarray, shape (N, H)
    weight_ih : ndarray, shape (4H, D)
        Rows stacked as ``i, f, g, o`` (torch's order).
    weight_hh : ndarray, shape (4H, H)
    bias_ih, bias_hh : ndarray, shape (4H,)

    Returns
    -------
    h, c : ndarray, shape (N, H)
    cache : CellCache
        For :func:`lstm_cell_backward`.

    Notes
    -----
    The additive path :math:`c = f \odot c_\text{prev} + \dots` lets the gradient flow
    back through time multiplied by :math:`f` only, which is why the LSTM suffers less
    from vanishing gradients than the plain RNN (Unit 5, "LSTM").
    """
    (h, c), cache = _cell_forward("the LSTM cell", 4, _lstm_step, x, [("h_prev", h_prev), ("c_prev", c_prev)],
                                  weight_ih, weight_hh, bias_ih, bias_hh)
    return h, c, cache


def lstm_cell_backward(grad_h, grad_c, cache) -> CellGrads:
    r"""Backward pass of :func:`lstm_cell_forward`.

    With :math:`\bar c = \frac{\partial L}{\partial c} + \frac{\partial L}{\partial h}
    \odot o \odot (1 - \tanh^2 c)` the total gradient reaching the cell state:

    .. math::
        \frac{\partial L}{\partial c_\text{prev}} = \bar c \odot f, \quad
        \delta_i = \bar c\, g\, i(1-i), \quad \delta_f = \bar c\, c_\text{prev} f(1-f), \quad
        \delta_g = \bar c\, i (1-g^2), \quad
        \delta_o = \tfrac{\partial L}{\partial h} \tanh(c)\, o(1-o)

    and, with :math:`\delta = [\delta_i, \delta_f, \delta_g, \delta_o]`, the same matrix
    products as :func:`rnn_cell_backward`.

    Parameters
    ----------
    grad_h, grad_c : ndarray, shape (N, H)
        Gradients of the loss with respect to ``h`` and ``c``.
    cache : CellCache

    Returns
    -------
    CellGrads
        Fields ``x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, c_prev``.
    """
    return _cell_backward(_lstm_step_backward, (grad_h, grad_c), cache)


def gru_cell_forward(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    r"""One step of the GRU, as ``torch.nn.GRUCell``.

    .. math::
        \begin{aligned}
        r &= \sigma(W_{ir} x + b_{ir} + W_{hr} h_\text{prev} + b_{hr}) &&\text{reset gate}\\
        z &= \sigma(W_{iz} x + b_{iz} + W_{hz} h_\text{prev} + b_{hz}) &&\text{update gate}\\
        n &= \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h_\text{prev} + b_{hn})) &&\text{candidate}\\
        h &= (1 - z) \odot n + z \odot h_\text{prev}
        \end{aligned}

    Parameters
    ----------
    x : ndarray, shape (N, D)
    h_prev : ndarray, shape (N, H)
    weight_ih : ndarray, shape (3H, D)
        Rows stacked as ``r, z, n`` (torch's order).
    weight_hh : ndarray, shape (3H, H)
    bias_ih, bias_hh : ndarray, shape (3H,)

    Returns
    -------
    h : ndarray, shape (N, H)
    cache : CellCache
        For :func:`gru_cell_backward`.

    Notes
    -----
    Torch applies the reset gate *after* the hidden-to-hidden product,
    :math:`r \odot (W_{hn} h + b_{hn})`; Cho et al. (2014) and several textbooks write
    :math:`W_{hn} (r \odot h)`. The two differ; this function follows torch. Some texts
    also swap the roles of :math:`z` and :math:`1 - z`.

    References
    ----------
    Cho et al., "Learning Phrase Representations using RNN Encoder-Decoder for
    Statistical Machine Translation", 2014.
    """
    (h,), cache = _cell_forward("the GRU cell", 3, _gru_step, x, [("h_prev", h_prev)],
                                weight_ih, weight_hh, bias_ih, bias_hh)
    return h, cache


def gru_cell_backward(grad_h, cache) -> CellGrads:
    r"""Backward pass of :func:`gru_cell_forward`.

    With :math:`\bar h = \partial L/\partial h` and :math:`\delta_n = \bar h (1-z)(1-n^2)`:

    .. math::
        \delta_r = \delta_n \odot (W_{hn} h_\text{prev} + b_{hn})\, r(1-r), \quad
        \delta_z = \bar h (h_\text{prev} - n)\, z(1-z), \quad
        \frac{\partial L}{\partial h_\text{prev}} = [\delta_r, \delta_z, r\delta_n] W_{hh}
        + \bar h \odot z

    The input side sees :math:`[\delta_r, \delta_z, \delta_n]`, the hidden side
    :math:`[\delta_r, \delta_z, r \odot \delta_n]` (so ``bias_ih`` and ``bias_hh`` get
    different gradients in the ``n`` block).

    Returns
    -------
    CellGrads
        Fields ``x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh``.
    """
    return _cell_backward(_gru_step_backward, (grad_h,), cache)


# --------------------------------------------------------------------------- layers
class RecurrentCache(NamedTuple):
    x: np.ndarray
    state0: tuple          # initial states, each (N, H)
    output: np.ndarray     # (T, N, H): h_1 ... h_T
    steps: list            # one step cache per time step


class _Recurrent(Module):
    """Shared parameters, validation and the loops over time of RNN, LSTM and GRU."""

    GATES = 1
    # RNN and LSTM: the input and the hidden side see the same pre-activation gradient
    # (GRU's n gate differs, as r multiplies only the hidden side).
    _SAME_PREACT_GRAD = True
    _step = staticmethod(_rnn_step)
    _step_backward = staticmethod(_rnn_step_backward)

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=np.float64):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.dtype = check_float_dtype(dtype)
        rng = as_rng(rng)
        D, H, G = self.input_size, self.hidden_size, self.GATES
        bound = 1.0 / np.sqrt(H)
        for name, shape in (("weight_ih", (G * H, D)), ("weight_hh", (G * H, H)),
                            ("bias_ih", (G * H,)), ("bias_hh", (G * H,))):
            self._add_param(name, rng.uniform(-bound, bound, shape), self.dtype)
        self.last_grad_norms: np.ndarray | None = None
        self.grad_h0: np.ndarray | None = None

    def torch_name(self, name: str) -> str:
        """``weight_ih`` → ``weight_ih_l0`` (torch numbers the layers of a stacked RNN)."""
        return f"{name}_l0"

    def load_torch(self, module) -> None:
        """Copy the weights of a one-layer, unidirectional ``torch.nn.RNN``/``LSTM``/``GRU`` with biases."""
        checks = (("num_layers", 1), ("bidirectional", False), ("bias", True), ("nonlinearity", "tanh"),
                  ("proj_size", 0))
        for attr, wanted in checks:
            theirs = getattr(module, attr, wanted)
            if theirs != wanted:
                raise ValueError(f"{type(self).__name__} matches a torch module with {attr}={wanted!r}, "
                                 f"got {attr}={theirs!r}")
        super().load_torch(module)

    def __call__(self, x, hx=None):
        return self.forward(x, hx)

    def _check_x(self, x):
        x = as_float_array(x, "x", dtype=self.dtype)
        if x.ndim != 3 or x.shape[2] != self.input_size:
            raise ValueError(f"x must have shape (T, N, {self.input_size}) (time first, as torch's default) for "
                             f"{type(self).__name__}({self.input_size}, {self.hidden_size}), got {x.shape}")
        return x

    def _check_state(self, value, name, N):
        if value is None:
            return np.zeros((N, self.hidden_size), self.dtype)
        value = as_float_array(value, name, dtype=self.dtype)
        check_shape(value, (1, N, self.hidden_size), name)
        return value[0]

    def _run(self, x, state0):
        W_ih, W_hh, b_ih, b_hh = (self.params[k] for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))
        T, N, D = x.shape
        # one 2-D product for all steps (a 3-D @ 2-D matmul would loop over the time axis, several times slower)
        xi = (x.reshape(T * N, D) @ W_ih.T).reshape(T, N, -1) + b_ih
        output = np.empty(x.shape[:2] + (self.hidden_size,), self.dtype)
        state, steps = state0, []
        for t in range(x.shape[0]):
            state, cache = self._step(xi[t], state, W_hh, b_hh)
            output[t] = state[0]
            steps.append(cache)
        self._cache = RecurrentCache(x, state0, output, steps)
        return output, tuple(s[None] for s in state)

    def _backprop(self, grad_output, grad_state_n):
        x, state0, output, steps = self._require_cache()
        g = as_float_array(grad_output, "grad_output", dtype=self.dtype)
        check_shape(g, output.shape, "grad_output")
        T, N, H = output.shape
        dstate = tuple(np.zeros((N, H), self.dtype) if d is None else self._check_state(d, name, N)
                       for d, name in zip(grad_state_n, ("grad_h_n", "grad_c_n")))
        W_hh = self.params["weight_hh"]
        dgi = np.empty((T, N, self.GATES * H), self.dtype)
        dgh = dgi if self._SAME_PREACT_GRAD else np.empty_like(dgi)
        norms = np.empty(T)
        for t in reversed(range(T)):
            dstate = (dstate[0] + g[t],) + dstate[1:]
            norms[t] = np.linalg.norm(dstate[0])
            dgi[t], dgh_t, dstate = self._step_backward(dstate, steps[t], W_hh)
            if dgh is not dgi:
                dgh[t] = dgh_t
        self._accumulate(x, state0[0], output, dgi, dgh)
        self.last_grad_norms = norms
        dx = (dgi.reshape(T * N, -1) @ self.params["weight_ih"]).reshape(T, N, self.input_size)
        return dx, tuple(d[None] for d in dstate)

    def _accumulate(self, x, h0, output, dgi, dgh):
        h_prev = np.concatenate([h0[None], output[:-1]])
        GH = dgi.shape[-1]
        dgi2, dgh2 = dgi.reshape(-1, GH), dgh.reshape(-1, GH)
        self.grads["weight_ih"] += dgi2.T @ x.reshape(-1, self.input_size)
        self.grads["weight_hh"] += dgh2.T @ h_prev.reshape(-1, self.hidden_size)
        self.grads["bias_ih"] += dgi2.sum(axis=0)
        self.grads["bias_hh"] += dgh2.sum(axis=0)

    def __repr__(self) -> str:
        dtype = "" if self.dtype is np.float64 else f", dtype={self.dtype.__name__}"
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}{dtype})"


_LAYER_DOC = r"""

    Parameters
    ----------
    input_size, hidden_size : int
        :math:`D` and :math:`H`.
    rng : None, int or numpy.random.Generator
        Source of the initial weights, all drawn like torch's from
        :math:`\mathcal{U}(-1/\sqrt{H}, 1/\sqrt{H})`.
    dtype : numpy.float64 (default) or numpy.float32
        The dtype of the weights, the gradients and the computation, as torch's ``dtype``
        argument (``torch.float32`` is accepted too). Inputs are converted to it.
        float32 halves the memory and roughly halves the time; float64 is what the
        finite-difference checks need.

    Shapes: ``weight_ih`` ``(<G>H, D)``, ``weight_hh`` ``(<G>H, H)``, ``bias_ih`` and
    ``bias_hh`` ``(<G>H,)``; input ``x`` ``(T, N, D)``; output ``(T, N, H)`` (every
    :math:`h_t`); final state<s> ``(1, N, H)``.

    ``backward(grad_output, <grad_args>)`` takes the gradient of ``output`` (and optionally
    of the final state<s>), runs backpropagation through time, accumulates the parameter
    gradients into ``grads``, stores the gradient<s> of the initial state<s> in
    <grad_attrs>, and returns the gradient of ``x``, shape ``(T, N, D)``. It also stores
    ``last_grad_norms``, shape ``(T,)``: entry ``t`` is the Frobenius norm of the total
    gradient :math:`\partial L / \partial h_{t+1}` (an ``(N, H)`` array) reaching the hidden
    state of step ``t`` — the quantity that vanishes or explodes over time.
    """


class RNN(_Recurrent):
    r"""Elman RNN with tanh, one layer, as ``torch.nn.RNN(input_size, hidden_size)``.

    .. math:: h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})

    ``forward(x, h0=None)`` returns ``(output, h_n)``; ``h0`` defaults to zeros.
    See :func:`rnn_cell_forward` for one step. Unit 5, "Recurrent networks" and
    "Vanishing and exploding gradients".
    """

    def forward(self, x, h0=None):
        x = self._check_x(x)
        output, (h_n,) = self._run(x, (self._check_state(h0, "h0", x.shape[1]),))
        return output, h_n

    def backward(self, grad_output, grad_h_n=None):
        dx, (self.grad_h0,) = self._backprop(grad_output, (grad_h_n,))
        return dx


class LSTM(_Recurrent):
    r"""Long short-term memory, one layer, as ``torch.nn.LSTM(input_size, hidden_size)``.

    The cell of :func:`lstm_cell_forward` applied at every step, gates ``i, f, g, o``.

    ``forward(x, hx=None)`` with ``hx = (h0, c0)`` returns ``(output, (h_n, c_n))``;
    ``hx`` defaults to zeros. Unit 5, "LSTM".
    """

    GATES = 4
    _step = staticmethod(_lstm_step)
    _step_backward = staticmethod(_lstm_step_backward)

    def forward(self, x, hx=None):
        x = self._check_x(x)
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"hx must be None or a pair (h0, c0) of arrays of shape (1, N, H), "
                            f"got {type(hx).__name__}")
        N = x.shape[1]
        state0 = (self._check_state(hx[0], "h0", N), self._check_state(hx[1], "c0", N))
        output, state_n = self._run(x, state0)
        return output, state_n

    def backward(self, grad_output, grad_h_n=None, grad_c_n=None):
        dx, (self.grad_h0, self.grad_c0) = self._backprop(grad_output, (grad_h_n, grad_c_n))
        return dx


class GRU(_Recurrent):
    r"""Gated recurrent unit, one layer, as ``torch.nn.GRU(input_size, hidden_size)``.

    The cell of :func:`gru_cell_forward` applied at every step, gates ``r, z, n``, with
    torch's :math:`n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))`.

    ``forward(x, h0=None)`` returns ``(output, h_n)``. Unit 5, "GRU".
    """

    GATES = 3
    _SAME_PREACT_GRAD = False
    _step = staticmethod(_gru_step)
    _step_backward = staticmethod(_gru_step_backward)

    def forward(self, x, h0=None):
        x = self._check_x(x)
        output, (h_n,) = self._run(x, (self._check_state(h0, "h0", x.shape[1]),))
        return output, h_n

    def backward(self, grad_output, grad_h_n=None):
        dx, (self.grad_h0,) = self._backprop(grad_output, (grad_h_n,))
        return dx




def _layer_doc(**subs) -> str:
    """:data:`_LAYER_DOC` with each ``<key>`` replaced (str.format would trip on the LaTeX braces)."""
    doc = _LAYER_DOC
    for key, value in subs.items():
        doc = doc.replace(f"<{key}>", value)
    return doc


RNN.__doc__ += _layer_doc(G="", s="", grad_args="grad_h_n=None", grad_attrs="``grad_h0``")
GRU.__doc__ += _layer_doc(G="3", s="", grad_args="grad_h_n=None", grad_attrs="``grad_h0``")
LSTM.__doc__ += _layer_doc(G="4", s="s", grad_args="grad_h_n=None, grad_c_n=None",
                           grad_attrs="``grad_h0`` and ``grad_c0``")
