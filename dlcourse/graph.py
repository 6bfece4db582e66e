r"""A scalar computational-graph engine with reverse-mode autodiff (Unit 1).

Every :class:`Value` is a node of a graph. An operation makes a new node that
remembers its inputs (``children``) and its *local gradients*
:math:`\partial\,\text{out} / \partial\,\text{child}`. ``backward()`` walks the
graph from the root in reverse topological order and applies the chain rule at
every node:

.. math:: \text{child.grad} \mathrel{+}= \frac{\partial\,\text{out}}{\partial\,\text{child}} \cdot \text{out.grad}

The ``+=`` is what sums the gradients of a value that is used more than once
(fan-out, shared weights).

Semantics of ``backward()`` (the same as PyTorch's for leaves):

* the root's gradient is seeded with 1;
* interior nodes (results of operations) get fresh gradients on every call;
* leaves (values you created) *accumulate*: calling ``backward()`` twice
  doubles their ``.grad``. Call :func:`zero_grad` (or set ``.grad = 0``)
  between training steps.

Unit 1, "Computational graphs" and "Backpropagation".
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Iterator, NamedTuple

__all__ = ["Value", "topological_order", "zero_grad", "backward_steps", "BackwardStep", "draw", "Drawing"]


class Value:
    """A scalar node of a computational graph.

    Parameters
    ----------
    data : float
        The value of the node.
    label : str, optional
        A name shown in drawings (``"x"``, ``"w1"``).
    children : tuple of Value, optional
        The inputs of the operation that made this node (empty for a leaf).
    op : str, optional
        The operation's symbol (``"+"``, ``"*"``, ``"tanh"``).
    local_grads : tuple of float, optional
        :math:`\\partial\\,\\text{self} / \\partial\\,\\text{child}` for each child.
    """

    __slots__ = ("data", "grad", "label", "_prev", "_op", "_local")

    def __init__(self, data, label: str = "", children: tuple = (), op: str = "",
                 local_grads: tuple = ()):
        if isinstance(data, Value):
            raise TypeError("data must be a number, got a Value; use the Value itself instead")
        if isinstance(data, bool) or not isinstance(data, numbers.Real):
            raise TypeError(f"data must be a real number, got {type(data).__name__} {data!r}")
        if len(local_grads) != len(children):
            raise ValueError(f"local_grads must have one entry per child: "
                             f"{len(children)} children, got {len(local_grads)} local gradients")
        self.data = float(data)
        self.grad = 0.0
        self.label = label
        self._prev = tuple(children)
        self._op = op
        self._local = tuple(float(g) for g in local_grads)

    @classmethod
    def _node(cls, data: float, children: tuple, op: str, local_grads: tuple) -> Value:
        """Make an operation's output without re-validating (the operation already did)."""
        out = cls.__new__(cls)
        out.data, out.grad, out.label = data, 0.0, ""
        out._prev, out._op, out._local = children, op, local_grads
        return out

    # -- the primitive operations ------------------------------------------------
    def __add__(self, other) -> Value:
        other = other if type(other) is Value else _as_value(other)
        return Value._node(self.data + other.data, (self, other), "+", (1.0, 1.0))

    def __mul__(self, other) -> Value:
        other = other if type(other) is Value else _as_value(other)
        return Value._node(self.data * other.data, (self, other), "*", (other.data, self.data))

    def __pow__(self, k) -> Value:
        if isinstance(k, Value) or isinstance(k, bool) or not isinstance(k, numbers.Real):
            raise TypeError(f"exponent must be a number (int or float), got {type(k).__name__}")
        if self.data == 0 and k < 1:
            raise ValueError(f"0 ** {k} has no finite derivative; the base must be non-zero")
        if self.data < 0 and not float(k).is_integer():
            raise ValueError(f"a negative base ({self.data}) needs an integer exponent, got {k}")
        return Value(self.data ** k, children=(self,), op=f"**{k:g}",
                     local_grads=(k * self.data ** (k - 1),))

    def exp(self) -> Value:
        if self.data > 709:
            raise ValueError(f"exp({self.data}) overflows float64; inputs must be <= 709")
        e = math.exp(self.data)
        return Value(e, children=(self,), op="exp", local_grads=(e,))

    def log(self) -> Value:
        if self.data <= 0:
            raise ValueError(f"log needs a positive input, got {self.data}")
        return Value(math.log(self.data), children=(self,), op="log", local_grads=(1.0 / self.data,))

    def tanh(self) -> Value:
        t = math.tanh(self.data)
        return Value(t, children=(self,), op="tanh", local_grads=(1.0 - t * t,))

    def sigmoid(self) -> Value:
        s = _sigmoid(self.data)
        return Value(s, children=(self,), op="σ", local_grads=(s * (1.0 - s),))

    def relu(self) -> Value:
        return Value(max(self.data, 0.0), children=(self,), op="ReLU",
                     local_grads=(1.0 if self.data > 0 else 0.0,))

    @staticmethod
    def sum(values: Iterable) -> Value:
        """One node for :math:`\\sum_i v_i` (every local gradient is 1)."""
        vals = tuple(_as_value(v) for v in values)
        if not vals:
            raise ValueError("Value.sum needs at least one value, got none")
        return Value(math.fsum(v.data for v in vals), children=vals, op="Σ", local_grads=(1.0,) * len(vals))

    @staticmethod
    def dot(ws: Iterable, xs: Iterable) -> Value:
        """One node for :math:`\\sum_i w_i x_i`: local gradients are the x's (for w) and the w's (for x)."""
        ws = tuple(_as_value(w) for w in ws)
        xs = tuple(_as_value(x) for x in xs)
        if len(ws) != len(xs) or not ws:
            raise ValueError(f"Value.dot needs two equally long, non-empty lists, got {len(ws)} and {len(xs)}")
        data = math.fsum(w.data * x.data for w, x in zip(ws, xs))
        return Value(data, children=ws + xs, op="·", local_grads=tuple(x.data for x in xs) + tuple(w.data for w in ws))

    # -- derived operations, written from the primitives -------------------------
    def __neg__(self) -> Value:
        return self * -1

    def __sub__(self, other) -> Value:
        return self + (-_as_value(other))

    def __truediv__(self, other) -> Value:
        return self * _as_value(other) ** -1

    def __radd__(self, other) -> Value:
        return self + other

    def __rmul__(self, other) -> Value:
        return self * other

    def __rsub__(self, other) -> Value:
        return _as_value(other) - self

    def __rtruediv__(self, other) -> Value:
        return _as_value(other) * self ** -1

    # -- backpropagation ---------------------------------------------------------
    def backward(self) -> None:
        """Fill ``.grad`` of every node this one depends on (see the module's semantics)."""
        order = topological_order(self)
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad += 1.0  # interior roots were just reset to 0; a leaf root accumulates
        for node in reversed(order):
            g = node.grad
            for child, local in zip(node._prev, node._local):
                child.grad += local * g

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"


def _as_value(x) -> Value:
    if isinstance(x, Value):
        return x
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"can only combine a Value with a Value or a real number, got {type(x).__name__}")
    return Value(x)


def _sigmoid(x: float) -> float:
    # Two branches so that exp never overflows (x = -1000 would give exp(1000)).
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def topological_order(root: Value) -> list[Value]:
    """Every node ``root`` depends on, each after all of its children (root last).

    Iterative depth-first search, so deep graphs do not hit Python's recursion limit.
    """
    if not isinstance(root, Value):
        raise TypeError(f"root must be a Value, got {type(root).__name__}")
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for child in reversed(node._prev):
            if id(child) not in visited:
                stack.append((child, False))
    return order


def zero_grad(root_or_values) -> None:
    """Set ``.grad = 0`` on every node of a graph (a Value) or on a list of Values."""
    nodes = topological_order(root_or_values) if isinstance(root_or_values, Value) else root_or_values
    for node in nodes:
        node.grad = 0.0


class BackwardStep(NamedTuple):
    """One node's turn in the backward pass: its upstream gradient and what it sends to each child."""

    node: Value
    upstream: float
    children: tuple
    local_grads: tuple
    contributions: tuple
    totals: tuple = ()  # each child's gradient right after its contribution was added


def backward_steps(root: Value) -> Iterator[BackwardStep]:
    """Run ``root.backward()`` one node at a time, yielding each chain-rule step.

    After the last step every ``.grad`` equals what ``root.backward()`` would give
    on fresh leaves. Used by the graph explorer's "step backward" control.
    """
    order = topological_order(root)
    for node in order:
        node.grad = 0.0
    root.grad = 1.0
    for node in reversed(order):
        if not node._prev:
            continue
        contributions = tuple(local * node.grad for local in node._local)
        totals = []
        for child, c in zip(node._prev, contributions):
            child.grad += c
            totals.append(child.grad)
        yield BackwardStep(node, node.grad, node._prev, node._local, contributions, tuple(totals))


class Drawing:
    """A drawn graph: shows itself as a PNG in Jupyter; ``.figure`` is the matplotlib figure."""

    def __init__(self, figure):
        self.figure = figure

    def _repr_png_(self) -> bytes:
        from .plotting import figure_png

        return figure_png(self.figure, dpi=80)

    def _repr_mimebundle_(self, include=None, exclude=None):
        """Jupyter's picture: twice the pixels of the size it is shown at (sharp on HiDPI screens)."""
        import base64

        from .plotting import static_image

        png, size = static_image(self.figure)
        return {"image/png": base64.b64encode(png).decode("ascii")}, {"image/png": size}

    def savefig(self, *args, **kwargs) -> None:
        self.figure.savefig(*args, **kwargs)


def draw(root: Value, highlight: Value | None = None, show_grad: bool | set = True) -> Drawing:
    """Draw the graph of ``root`` with matplotlib only (no Graphviz needed).

    Each box shows a node's label and operation, its value and its gradient.
    ``highlight`` marks one node; ``show_grad`` may be a set of node ids whose
    gradients are already known (the others show ``?``).
    """
    from .graph_drawing import draw_graph

    return Drawing(draw_graph(root, highlight=highlight, show_grad=show_grad))
