"""Layout and drawing of a :class:`~dlcourse.graph.Value` graph with matplotlib only."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.patches import FancyBboxPatch

from .graph import Value, topological_order
from .plotting import PALETTE, figure_png

MAX_NODES = 60


def layout(root: Value) -> dict[int, tuple[float, float]]:
    """Place each node: x is its depth (longest path from a leaf), y spreads each column."""
    order = topological_order(root)
    if len(order) > MAX_NODES:
        raise ValueError(f"draw shows graphs of at most {MAX_NODES} nodes, this one has {len(order)}; "
                         "draw a smaller expression (one neuron, one loss term)")
    depth: dict[int, int] = {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(c)] for c in node._prev), default=-1)
    columns: dict[int, list[Value]] = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    pos: dict[int, tuple[float, float]] = {}
    for d in sorted(columns, reverse=True):  # parents first, children follow their parent's height
        col = columns[d]
        parent_y = {}
        for node in col:
            ys = [pos[id(p)][1] for p in order if node in p._prev and id(p) in pos]
            parent_y[id(node)] = sum(ys) / len(ys) if ys else 0.0
        col.sort(key=lambda n: parent_y[id(n)])
        n = len(col)
        for i, node in enumerate(col):
            pos[id(node)] = (float(d), (i - (n - 1) / 2) * 1.25 + 0.3 * parent_y[id(node)])
    return pos


def node_text(node: Value, grad_known: bool) -> str:
    name = node.label or (node._op and f"[{node._op}]") or "const"
    op = f"  ({node._op})" if node._op and node.label else ""
    grad = f"{node.grad:.4g}" if grad_known else "?"
    return f"{name}{op}\ndata {node.data:.4g}\ngrad {grad}"


def node_face(node: Value, highlighted: bool) -> str:
    return PALETTE["orange"] if highlighted else (PALETTE["sky"] if not node._prev else "#f2f2f2")


def draw_on(ax, root: Value, highlight=None, show_grad=True) -> list:
    """Draw the graph on ``ax``; return ``(patch, text)`` per node in topological order."""
    pos = layout(root)
    order = topological_order(root)
    for node in order:
        x1, y1 = pos[id(node)]
        for child in node._prev:
            x0, y0 = pos[id(child)]
            ax.annotate("", xy=(x1 - 0.36, y1), xytext=(x0 + 0.36, y0),
                        arrowprops=dict(arrowstyle="-|>", color="#777777", lw=1))
    boxes = []
    for node in order:
        x, y = pos[id(node)]
        known = show_grad is True or (isinstance(show_grad, (set, frozenset)) and id(node) in show_grad)
        is_hl = highlight is not None and node is highlight
        patch = ax.add_patch(FancyBboxPatch((x - 0.36, y - 0.42), 0.72, 0.84, boxstyle="round,pad=0.02",
                                            fc=node_face(node, is_hl), ec="#333333", lw=1.6 if is_hl else 0.8))
        text = ax.text(x, y, node_text(node, known), ha="center", va="center", fontsize=9, family="monospace")
        boxes.append((patch, text))
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_axis_off()
    ax.set_title("computational graph: inputs on the left, output on the right", fontsize=9)
    return boxes


def draw_graph(root: Value, highlight=None, show_grad=True, ax=None) -> Figure:
    if ax is None:
        pos = layout(root)
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        width = 2.2 * (max(xs) - min(xs) + 1) + 0.5
        height = 1.1 * (max(ys) - min(ys) + 1) + 0.4
        fig = Figure(figsize=(min(width, 12), min(max(height, 2.2), 8)), dpi=80)
        ax = fig.add_subplot()
    draw_on(ax, root, highlight=highlight, show_grad=show_grad)
    return ax.figure


class Drawing:
    """A drawn graph: shows itself as a PNG in Jupyter; ``.figure`` is the matplotlib figure."""

    def __init__(self, figure):
        self.figure = figure

    def _repr_png_(self) -> bytes:
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
    return Drawing(draw_graph(root, highlight=highlight, show_grad=show_grad))
