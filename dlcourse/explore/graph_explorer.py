"""Computational-graph explorer: preset expressions, their graphs, the backward pass step by step."""

from __future__ import annotations

from typing import NamedTuple

from ..graph import BackwardStep, Value, backward_steps, topological_order
from ..graph_drawing import draw_on, node_face, node_text
from ..plotting import View


def _add_mul(v):
    x, y, z = Value(v["x"], "x"), Value(v["y"], "y"), Value(v["z"], "z")
    q = x + y
    q.label = "q"
    f = q * z
    f.label = "f"
    return f


def _neuron(v):
    x1, x2 = Value(v["x1"], "x1"), Value(v["x2"], "x2")
    w1, w2, b = Value(v["w1"], "w1"), Value(v["w2"], "w2"), Value(v["b"], "b")
    z = w1 * x1 + w2 * x2 + b
    z.label = "z"
    a = z.sigmoid()
    a.label = "a"
    return a


def _squared_loss(v):
    w, x, b, y = Value(v["w"], "w"), Value(v["x"], "x"), Value(v["b"], "b"), Value(v["y"], "y")
    pred = w * x + b
    pred.label = "pred"
    loss = (pred - y) ** 2
    loss.label = "L"
    return loss


def _fan_out(v):
    x, w = Value(v["x"], "x"), Value(v["w"], "w")
    h = w * x
    h.label = "h"
    out = h * h + h.tanh()
    out.label = "out"
    return out


# name -> (builder, [(input, default, low, high)])
PRESETS = {
    "q = x + y, f = q·z": (_add_mul, [("x", 2.0, -5, 5), ("y", 3.0, -5, 5), ("z", -4.0, -5, 5)]),
    "sigmoid neuron a = σ(w1·x1 + w2·x2 + b)": (
        _neuron, [("x1", 1.0, -3, 3), ("x2", -2.0, -3, 3), ("w1", 0.5, -3, 3), ("w2", -1.0, -3, 3), ("b", 0.1, -3, 3)]),
    "squared loss L = (pred − y)², pred = w·x + b": (
        _squared_loss, [("w", 2.5, -5, 5), ("x", 5.0, -10, 10), ("b", 90.0, 80, 110), ("y", 100.0, 80, 120)]),
    "fan-out: out = h² + tanh(h), h = w·x": (_fan_out, [("x", 0.5, -2, 2), ("w", 1.5, -2, 2)]),
}


class GraphState(NamedTuple):
    root: Value
    n_steps: int
    step: int
    current: BackwardStep | None
    known: frozenset


def build_preset(preset: str, values: dict) -> Value:
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {list(PRESETS)}, got {preset!r}")
    builder, specs = PRESETS[preset]
    full = {name: values.get(name, default) for name, default, _, _ in specs}
    return builder(full)


def compute_graph_state(preset: str, values: dict, step: int) -> GraphState:
    """The graph of ``preset`` after ``step`` node-steps of the backward pass (0 = forward only)."""
    root = build_preset(preset, values)
    order = topological_order(root)
    n_steps = sum(1 for n in order if n._prev)
    step = max(0, min(int(step), n_steps))
    current, known = None, set()
    if step > 0:
        known.add(id(root))
        for i, s in enumerate(backward_steps(root)):
            known.update(id(c) for c in s.children)
            current = s
            if i + 1 == step:
                break
    else:
        for node in order:
            node.grad = 0.0
    return GraphState(root, n_steps, step, current, frozenset(known))


def explain_step(state: GraphState) -> str:
    """The chain-rule product of the current step, in words and numbers (HTML)."""
    if state.current is None:
        return (f"Forward pass done: output = {state.root.data:.4g}. Move <i>backward step</i> to start "
                f"the backward pass ({state.n_steps} operation nodes to visit).")
    s = state.current
    name = s.node.label or s.node._op
    lines = [f"Step {state.step} of {state.n_steps}: node <b>{name}</b> (operation {s.node._op}) has "
             f"upstream gradient {s.upstream:.4g}."]
    for child, local, contrib, total in zip(s.children, s.local_grads, s.contributions, s.totals):
        cname = child.label or child._op or "const"
        lines.append(f"&nbsp;&nbsp;to <b>{cname}</b>: local gradient {local:.4g} × upstream {s.upstream:.4g} "
                     f"= {contrib:.4g}, added to its grad, which is now {total:.4g}")
    return "<br>".join(lines)


class GraphView(View):
    """Arrows are drawn once per expression; boxes (colour, value, gradient) are redrawn each step."""

    def key(self, state: GraphState):
        return tuple((n._op, n.label) for n in topological_order(state.root))

    def setup(self, fig, state: GraphState) -> None:
        ax = fig.add_subplot()
        self.boxes = draw_on(ax, state.root)

    def update(self, state: GraphState) -> list:
        highlight = state.current.node if state.current else None
        artists = []
        for node, (patch, text) in zip(topological_order(state.root), self.boxes):
            patch.set_facecolor(node_face(node, node is highlight))
            patch.set_linewidth(1.6 if node is highlight else 0.8)
            text.set_text(node_text(node, id(node) in state.known))
            artists += [patch, text]
        return artists
