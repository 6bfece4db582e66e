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

The sequence layers run the same cell functions step by step: :class:`RNN`,
:class:`LSTM` and :class:`GRU` differ only in which cell they call and how many states
(``h``, or ``h`` and ``c``) it carries.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_rng, check_float_dtype, check_positive_int, check_shape
from .module import Module

__all__ = ["RNN", "LSTM", "GRU", "RNNCache", "LSTMCache", "GRUCache", "CellGrads",
           "rnn_cell_forward", "rnn_cell_backward", "lstm_cell_forward", "lstm_cell_backward",
           "gru_cell_forward", "gru_cell_backward"]

PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _sigmoid(a):
    r"""$\sigma(a) = 1/(1 + e^{-a})$; for $a \ll 0$, $e^{-a}$ overflows to inf and $\sigma$ is 0, as it should."""
    with np.errstate(over="ignore"):
        out = np.exp(-a)
    out += 1.0
    return np.reciprocal(out, out=out)


class CellGrads(NamedTuple):
    """Gradients returned by a cell's backward (``c_prev`` only for the LSTM)."""
    x: np.ndarray
    h_prev: np.ndarray
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray
    bias_hh: np.ndarray
    c_prev: np.ndarray | None = None


# --------------------------------------------------------------------------- the RNN cell
class RNNCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    h: np.ndarray
    weight_ih: np.ndarray
    weight_hh: np.ndarray


def _rnn_cell(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    h = np.tanh(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh)
    return h, RNNCache(x, h_prev, h, weight_ih, weight_hh)


def _rnn_cell_backward(grad_h, cache: RNNCache) -> CellGrads:
    x, h_prev, h, weight_ih, weight_hh = cache
    da = grad_h * (1.0 - h * h)                      # through the tanh
    db = da.sum(axis=0)
    return CellGrads(x=da @ weight_ih, h_prev=da @ weight_hh, weight_ih=da.T @ x, weight_hh=da.T @ h_prev,
                     bias_ih=db, bias_hh=db.copy())


# --------------------------------------------------------------------------- the LSTM cell
class LSTMCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    i: np.ndarray          # input gate
    f: np.ndarray          # forget gate
    g: np.ndarray          # candidate
    o: np.ndarray          # output gate
    tanh_c: np.ndarray
    weight_ih: np.ndarray
    weight_hh: np.ndarray


def _lstm_cell(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    a = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)      # torch's gate order: i, f, g, o
    i, f, g, o = _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, LSTMCache(x, h_prev, c_prev, i, f, g, o, tanh_c, weight_ih, weight_hh)


def _lstm_cell_backward(grad_h, grad_c, cache: LSTMCache) -> CellGrads:
    x, h_prev, c_prev, i, f, g, o, tanh_c, weight_ih, weight_hh = cache
    dc = grad_c + grad_h * o * (1.0 - tanh_c * tanh_c)          # all that reaches c
    da = np.concatenate([dc * g * i * (1.0 - i),                  # input gate
                         dc * c_prev * f * (1.0 - f),             # forget gate
                         dc * i * (1.0 - g * g),                  # candidate
                         grad_h * tanh_c * o * (1.0 - o)], axis=1)  # output gate
    db = da.sum(axis=0)
    return CellGrads(x=da @ weight_ih, h_prev=da @ weight_hh, weight_ih=da.T @ x, weight_hh=da.T @ h_prev,
                     bias_ih=db, bias_hh=db.copy(), c_prev=dc * f)


# --------------------------------------------------------------------------- the GRU cell
class GRUCache(NamedTuple):
    x: np.ndarray
    h_prev: np.ndarray
    r: np.ndarray          # reset gate
    z: np.ndarray          # update gate
    n: np.ndarray          # candidate
    hh_n: np.ndarray       # W_hn h_prev + b_hn, the part that r multiplies
    weight_ih: np.ndarray
    weight_hh: np.ndarray


def _gru_cell(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    xi_r, xi_z, xi_n = np.split(x @ weight_ih.T + bias_ih, 3, axis=1)   # torch's gate order: r, z, n
    hh_r, hh_z, hh_n = np.split(h_prev @ weight_hh.T + bias_hh, 3, axis=1)
    r, z = _sigmoid(xi_r + hh_r), _sigmoid(xi_z + hh_z)
    n = np.tanh(xi_n + r * hh_n)
    h = n + z * (h_prev - n)                          # (1 - z) n + z h_prev
    return h, GRUCache(x, h_prev, r, z, n, hh_n, weight_ih, weight_hh)


def _gru_cell_backward(grad_h, cache: GRUCache) -> CellGrads:
    x, h_prev, r, z, n, hh_n, weight_ih, weight_hh = cache
    d_n = grad_h * (1.0 - z) * (1.0 - n * n)
    d_r = d_n * hh_n * r * (1.0 - r)
    d_z = grad_h * (h_prev - n) * z * (1.0 - z)
    d_in = np.concatenate([d_r, d_z, d_n], axis=1)          # the input side sees d_n ...
    d_hh = np.concatenate([d_r, d_z, r * d_n], axis=1)      # ... the hidden side r ⊙ d_n
    return CellGrads(x=d_in @ weight_ih, h_prev=d_hh @ weight_hh + grad_h * z,
                     weight_ih=d_in.T @ x, weight_hh=d_hh.T @ h_prev,
                     bias_ih=d_in.sum(axis=0), bias_hh=d_hh.sum(axis=0))


# --------------------------------------------------------------------------- validation of the public cells
def _check_cell(name, gates, x, states, weight_ih, weight_hh, bias_ih, bias_hh):
    """The cell's arguments as float arrays of consistent shapes: ``(x, *states, W_ih, W_hh, b_ih, b_hh)``."""
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
    return (x, *arrays, weight_ih, weight_hh, *biases)


def _check_backward(cache, cache_type, forward_name, **grads):
    if not isinstance(cache, cache_type):
        raise TypeError(f"cache must be the {cache_type.__name__} returned by {forward_name}, "
                        f"got {type(cache).__name__}")
    out = [as_float_array(g, name) for name, g in grads.items()]
    for (name, _), g in zip(grads.items(), out):
        check_shape(g, cache.h_prev.shape, name)
    return out


# --------------------------------------------------------------------------- the public cells
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
    cache : RNNCache
        For :func:`rnn_cell_backward`.

    Unit 5, "Recurrent networks".
    """
    return _rnn_cell(*_check_cell("the RNN cell", 1, x, [("h_prev", h_prev)], weight_ih, weight_hh, bias_ih, bias_hh))


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
    cache : RNNCache

    Returns
    -------
    CellGrads
        Fields ``x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh``.
    """
    (grad_h,) = _check_backward(cache, RNNCache, "rnn_cell_forward", grad_h=grad_h)
    return _rnn_cell_backward(grad_h, cache)


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
    cache : LSTMCache
        For :func:`lstm_cell_backward`.

    Notes
    -----
    The additive path :math:`c = f \odot c_\text{prev} + \dots` lets the gradient flow
    back through time multiplied by :math:`f` only, which is why the LSTM suffers less
    from vanishing gradients than the plain RNN (Unit 5, "LSTM").
    """
    return _lstm_cell(*_check_cell("the LSTM cell", 4, x, [("h_prev", h_prev), ("c_prev", c_prev)],
                                   weight_ih, weight_hh, bias_ih, bias_hh))


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
    cache : LSTMCache

    Returns
    -------
    CellGrads
        Fields ``x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, c_prev``.
    """
    grad_h, grad_c = _check_backward(cache, LSTMCache, "lstm_cell_forward", grad_h=grad_h, grad_c=grad_c)
    return _lstm_cell_backward(grad_h, grad_c, cache)


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
    cache : GRUCache
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
    return _gru_cell(*_check_cell("the GRU cell", 3, x, [("h_prev", h_prev)], weight_ih, weight_hh, bias_ih, bias_hh))


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
    (grad_h,) = _check_backward(cache, GRUCache, "gru_cell_forward", grad_h=grad_h)
    return _gru_cell_backward(grad_h, cache)


# --------------------------------------------------------------------------- the sequence layers
class _Recurrent(Module):
    r"""What RNN, LSTM and GRU share: parameters, validation, and the loops over time.

    A subclass names its cell (``cell``, ``cell_backward``: the functions above, without
    validation), its number of gates and its states (``h``, or ``h`` and ``c``).
    """

    GATES = 1
    STATES = ("h",)
    cell = staticmethod(_rnn_cell)
    cell_backward = staticmethod(_rnn_cell_backward)

    def __init__(self, input_size: int, hidden_size: int, rng=None, dtype=np.float64):
        super().__init__()
        self.input_size = check_positive_int(input_size, "input_size")
        self.hidden_size = check_positive_int(hidden_size, "hidden_size")
        self.dtype = check_float_dtype(dtype)
        rng = as_rng(rng)
        D, H, G = self.input_size, self.hidden_size, self.GATES
        bound = 1.0 / np.sqrt(H)
        for name, shape in zip(PARAMS, ((G * H, D), (G * H, H), (G * H,), (G * H,))):
            self._add_param(name, rng.uniform(-bound, bound, shape), self.dtype)
        self.last_grad_norms: np.ndarray | None = None
        self.grad_h0: np.ndarray | None = None

    def forward(self, x, hx=None):
        """Run the cell over ``x`` (T, N, D); return ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``)."""
        x = self._check_x(x)
        state = self._initial_state(hx, x.shape[1])
        weights = [self.params[k] for k in PARAMS]
        output = np.empty(x.shape[:2] + (self.hidden_size,), self.dtype)
        caches = []
        for t in range(x.shape[0]):
            *state, cache = self.cell(x[t], *state, *weights)
            output[t] = state[0]
            caches.append(cache)
        self._cache = caches
        final = tuple(s[None] for s in state)
        return output, final if len(final) > 1 else final[0]

    def backward(self, grad_output, grad_h_n=None, grad_c_n=None):
        """Backpropagation through time; accumulates ``grads``, sets ``grad_h0`` (``grad_c0``), returns dL/dx."""
        caches = self._require_cache()
        T, (N, H) = len(caches), caches[0].h_prev.shape
        g = as_float_array(grad_output, "grad_output", dtype=self.dtype)
        check_shape(g, (T, N, H), "grad_output")
        dstate = self._final_state_grads(grad_h_n, grad_c_n, N)
        dx = np.empty((T, N, self.input_size), self.dtype)
        norms = np.empty(T)
        for t in reversed(range(T)):
            dstate[0] = dstate[0] + g[t]                 # from the output at t and from step t + 1
            norms[t] = np.linalg.norm(dstate[0])
            grads = self.cell_backward(*dstate, caches[t])
            for name in PARAMS:                           # shared weights: the steps' gradients add up
                self.grads[name] += getattr(grads, name)
            dx[t] = grads.x
            dstate = [grads.h_prev] + ([grads.c_prev] if len(self.STATES) > 1 else [])
        self.last_grad_norms = norms
        self.grad_h0 = dstate[0][None]
        if len(self.STATES) > 1:
            self.grad_c0 = dstate[1][None]
        return dx

    def __call__(self, x, hx=None):
        return self.forward(x, hx)

    # ----------------------------------------------------------------- validation
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

    def _initial_state(self, hx, N) -> list:
        if len(self.STATES) == 1:
            return [self._check_state(hx, "h0", N)]
        if hx is None:
            hx = (None, None)
        elif not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"hx must be None or a pair (h0, c0) of arrays of shape (1, N, H), "
                            f"got {type(hx).__name__}")
        return [self._check_state(s, f"{name}0", N) for s, name in zip(hx, self.STATES)]

    def _final_state_grads(self, grad_h_n, grad_c_n, N) -> list:
        if grad_c_n is not None and len(self.STATES) == 1:
            raise TypeError(f"grad_c_n is for the LSTM's cell state; {type(self).__name__} has none")
        grads = (grad_h_n, grad_c_n)[:len(self.STATES)]
        return [self._check_state(d, f"grad_{name}_n", N) for d, name in zip(grads, self.STATES)]

    # ----------------------------------------------------------------- torch
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

    def __repr__(self) -> str:
        dtype = "" if self.dtype is np.float64 else f", dtype={self.dtype.__name__}"
        return f"{type(self).__name__}({self.input_size}, {self.hidden_size}{dtype})"


class RNN(_Recurrent):
    r"""Elman RNN with tanh, one layer, as ``torch.nn.RNN(input_size, hidden_size)``.

    .. math:: h_t = \tanh(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh})

    The cell of :func:`rnn_cell_forward` at every step. Unit 5, "Recurrent networks" and
    "Vanishing and exploding gradients".

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

    Notes
    -----
    Shapes: ``weight_ih`` ``(H, D)``, ``weight_hh`` ``(H, H)``, biases ``(H,)``; input ``x``
    ``(T, N, D)``. ``forward(x, hx=None)`` returns ``(output, h_n)``: every :math:`h_t`,
    ``(T, N, H)``, and the last, ``(1, N, H)``; ``hx`` (``h0``, shape ``(1, N, H)``) defaults
    to zeros. ``backward(grad_output, grad_h_n=None)`` runs backpropagation through time,
    accumulates the parameter gradients into ``grads``, stores ``grad_h0`` and
    ``last_grad_norms`` (entry ``t``: the norm of :math:`\partial L / \partial h_{t+1}`, the
    quantity that vanishes or explodes over time) and returns the gradient of ``x``.
    """


class LSTM(_Recurrent):
    r"""Long short-term memory, one layer, as ``torch.nn.LSTM(input_size, hidden_size)``.

    The cell of :func:`lstm_cell_forward` at every step, gates ``i, f, g, o``. Unit 5, "LSTM".

    Parameters are those of :class:`RNN`; ``weight_ih`` is ``(4H, D)``, ``weight_hh``
    ``(4H, H)``, the biases ``(4H,)``. ``forward(x, hx=None)`` with ``hx = (h0, c0)``
    returns ``(output, (h_n, c_n))``; ``backward(grad_output, grad_h_n=None, grad_c_n=None)``
    stores ``grad_h0`` and ``grad_c0``; otherwise as :class:`RNN`.
    """

    GATES = 4
    STATES = ("h", "c")
    cell = staticmethod(_lstm_cell)
    cell_backward = staticmethod(_lstm_cell_backward)


class GRU(_Recurrent):
    r"""Gated recurrent unit, one layer, as ``torch.nn.GRU(input_size, hidden_size)``.

    The cell of :func:`gru_cell_forward` at every step, gates ``r, z, n``, with torch's
    :math:`n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn}))`. Unit 5, "GRU".

    Parameters are those of :class:`RNN`; ``weight_ih`` is ``(3H, D)``, ``weight_hh``
    ``(3H, H)``, the biases ``(3H,)``; ``forward`` and ``backward`` as :class:`RNN`.
    """

    GATES = 3
    cell = staticmethod(_gru_cell)
    cell_backward = staticmethod(_gru_cell_backward)
