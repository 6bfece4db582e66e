r"""Many small networks trained side by side in one set of NumPy arrays (for Unit 2's labs).

A lab compares the *same* network trained under different losses (or label-noise levels,
or margins). Instead of a Python loop over the models, every parameter carries a leading
batch axis :math:`B`, so one matrix product trains all of them at once: this is what keeps
the labs fast enough to run live or to precompute in a second or two.

The network is ``in → hidden (tanh) → out``; every model starts from the same weights, so
that the only difference between two models is what they were trained on and with. All
parameters live in one flat array (and all gradients in another), so that one
:class:`dlcourse.optim.Adam` over ``[nets.flat]`` steps every model at once.

:meth:`TanhNets.as_model` gives the networks the model interface of
:func:`dlcourse.train.train_step` (``forward(x) -> outputs``, ``backward(grad_out)``,
``parameters() -> [flat]``, ``gradients() -> [flat_grad]``, ``zero_grad()``, ``train()``,
``eval()``), so that the labs train them through the course's one training step, with a loss
pair ``(loss(out, target), loss_grad(out, target))`` over the outputs of all ``B`` models,
shape (B, N, K).
"""

from __future__ import annotations

import numpy as np

from .._validate import as_rng


class TanhNets:
    """``B`` one-hidden-layer tanh networks: ``W1`` (B, D, H), ``b1`` (B, 1, H), ``W2`` (B, H, K), ``b2`` (B, 1, K).

    Weights are stored (in, out), the transpose of ``torch.nn.Linear.weight``, so that a
    batch of inputs ``(N, D)`` maps to ``X @ W1``. ``grads`` has the same four views into
    ``flat_grad``.
    """

    NAMES = ("W1", "b1", "W2", "b2")

    def __init__(self, n_models: int, n_in: int, n_hidden: int, n_out: int, rng=0):
        shapes = [(n_models, n_in, n_hidden), (n_models, 1, n_hidden), (n_models, n_hidden, n_out),
                  (n_models, 1, n_out)]
        sizes = [int(np.prod(s)) for s in shapes]
        self.flat, self.flat_grad = np.zeros(sum(sizes)), np.zeros(sum(sizes))
        offsets = np.cumsum([0] + sizes)
        self.params = {n: self.flat[a:b].reshape(s) for n, a, b, s in zip(self.NAMES, offsets, offsets[1:], shapes)}
        self.grads = {n: self.flat_grad[a:b].reshape(s)
                      for n, a, b, s in zip(self.NAMES, offsets, offsets[1:], shapes)}
        rng = as_rng(rng)  # Glorot-like scale; the same start for every model
        self.params["W1"][:] = rng.normal(0.0, np.sqrt(1.0 / n_in), (n_in, n_hidden))
        self.params["W2"][:] = rng.normal(0.0, np.sqrt(1.0 / n_hidden), (n_hidden, n_out))

    def as_model(self) -> TanhNetsModel:
        """These networks with the model interface of :func:`dlcourse.train.train_step` (sharing the weights)."""
        return TanhNetsModel(self)

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hidden activations (B, N, H) and outputs (B, N, K) for inputs (N, D) or (B, N, D)."""
        p = self.params
        h = X @ p["W1"]
        h += p["b1"]
        np.tanh(h, out=h)                    # in place: these arrays are the bulk of the work
        out = h @ p["W2"]
        out += p["b2"]
        return h, out

    def backward(self, X: np.ndarray, h: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
        """Fill ``grads`` (and ``flat_grad``) from ``grad_out`` = dL/d(outputs), shape (B, N, K)."""
        p, g = self.params, self.grads
        np.matmul(h.transpose(0, 2, 1), grad_out, out=g["W2"])
        np.sum(grad_out, axis=1, keepdims=True, out=g["b2"])
        grad_a = grad_out @ p["W2"].transpose(0, 2, 1)
        slope = h * h
        np.subtract(1.0, slope, out=slope)   # tanh' = 1 - h²
        grad_a *= slope
        np.matmul(X.T if X.ndim == 2 else X.transpose(0, 2, 1), grad_a, out=g["W1"])
        np.sum(grad_a, axis=1, keepdims=True, out=g["b1"])
        return self.flat_grad


class TanhNetsModel:
    """:class:`TanhNets` as a model of :func:`dlcourse.train.train_step`: ``forward`` keeps what ``backward`` needs.

    ``parameters()`` is ``[nets.flat]`` and ``gradients()`` is ``[nets.flat_grad]``, so an
    optimizer built on ``model.parameters()`` steps every network at once.
    """

    def __init__(self, nets: TanhNets):
        self.nets = nets
        self.training = True
        self._cache = None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Outputs (B, N, K) for inputs (N, D) or (B, N, D); in ``train()`` mode, keeps ``X`` and the hidden layer."""
        h, out = self.nets.forward(X)
        self._cache = (X, h) if self.training else None
        return out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Fill the gradients from ``grad_out`` = dL/d(outputs), shape (B, N, K); returns ``flat_grad``."""
        if self._cache is None:
            raise RuntimeError("TanhNetsModel.backward called without a forward in train() mode; "
                               "run forward(X) first (backward uses what forward saved)")
        X, h = self._cache
        return self.nets.backward(X, h, grad_out)

    def parameters(self) -> list[np.ndarray]:
        return [self.nets.flat]

    def gradients(self) -> list[np.ndarray]:
        return [self.nets.flat_grad]

    def zero_grad(self) -> None:
        self.nets.flat_grad[...] = 0.0

    def train(self, mode: bool = True) -> TanhNetsModel:
        self.training = bool(mode)
        return self

    def eval(self) -> TanhNetsModel:
        return self.train(False)
