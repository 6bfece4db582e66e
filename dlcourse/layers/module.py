"""The interface every layer shares (Units 1, 4 and 5).

A layer holds ``params`` and ``grads``, two dicts keyed with PyTorch's parameter
names (``weight``, ``bias``, ...) and holding arrays of PyTorch's shapes.
``forward(x)`` computes the output and keeps what the backward pass needs;
``backward(grad_out)`` returns the gradient with respect to the input and
*accumulates* the parameter gradients into ``grads`` (as ``loss.backward()``
does in PyTorch; call ``zero_grad()`` between steps).
"""

from __future__ import annotations

import numpy as np


class Module:
    """Base class: parameters, gradients, train/eval mode, and weights copied from torch."""

    def __init__(self):
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.training = True
        self._cache = None

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError

    def _add_param(self, name: str, value: np.ndarray, dtype=np.float64) -> None:
        self.params[name] = np.asarray(value, dtype=dtype)
        self.grads[name] = np.zeros_like(self.params[name])

    def parameters(self) -> list[np.ndarray]:
        """The parameter arrays, in a fixed order (what an optimizer updates in place)."""
        return list(self.params.values())

    def gradients(self) -> list[np.ndarray]:
        """The gradient arrays, in the same order as :meth:`parameters`."""
        return [self.grads[k] for k in self.params]

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g[...] = 0.0

    def train(self, mode: bool = True):
        self.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def _require_cache(self):
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward; "
                               "run forward(x) first (backward uses what forward saved)")
        return self._cache

    def torch_name(self, name: str) -> str:
        """The name of parameter ``name`` in the matching torch module."""
        return name

    def load_torch(self, module) -> None:
        """Copy the parameters of a torch module with the same names and shapes."""
        sources = {}
        for name, value in self.params.items():
            tname = self.torch_name(name)
            src = getattr(module, tname, None)
            if src is None:  # torch sets a missing bias to None (``bias=False``)
                raise ValueError(f"the torch module {type(module).__name__} has no parameter {tname!r}")
            src = src.detach().cpu().double().numpy()
            if src.shape != value.shape:
                raise ValueError(f"parameter {name!r} must have shape {value.shape}, "
                                 f"the torch module's {tname!r} has {src.shape}")
            sources[name] = src
        for name, src in sources.items():  # copy only once every parameter matched
            self.params[name][...] = src

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"


class Sequential(Module):
    """Layers applied one after another; ``backward`` runs them in reverse."""

    def __init__(self, *layers: Module):
        super().__init__()
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"layer {i} must be a dlcourse Module, got {type(layer).__name__}")
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def load_torch(self, module) -> None:
        """Copy the weights of a ``torch.nn.Sequential`` whose layers match these one to one."""
        subs = list(module) if hasattr(module, "__iter__") else None
        if subs is None or len(subs) != len(self.layers):
            got = f"{len(subs)} layers" if subs is not None else type(module).__name__
            raise ValueError(f"module must be a torch Sequential with {len(self.layers)} layers, got {got}")
        for layer, sub in zip(self.layers, subs):
            layer.load_torch(sub)

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def gradients(self):
        return [g for layer in self.layers for g in layer.gradients()]

    def zero_grad(self):
        for layer in self.layers:
            layer.zero_grad()

    def train(self, mode: bool = True):
        self.training = bool(mode)
        for layer in self.layers:
            layer.train(mode)
        return self

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)"
