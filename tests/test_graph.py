"""Tests for dlcourse.graph: the scalar autodiff engine against torch autograd (float64)."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.graph import BackwardStep, Value, backward_steps, draw, topological_order, zero_grad

pytestmark = pytest.mark.unit1

TOL = dict(rtol=1e-10, atol=1e-10)


# -- helpers ---------------------------------------------------------------------------
def _torch_leaves(torch, values):
    return [torch.tensor(float(v), dtype=torch.float64, requires_grad=True) for v in values]


def _torch_grad(t):
    return 0.0 if t.grad is None else float(t.grad)


def _assert_parity(torch, build, values):
    """Build the same expression from Values and from torch leaves; compare data and leaf grads."""
    vs = [Value(v, label=f"x{i}") for i, v in enumerate(values)]
    ts = _torch_leaves(torch, values)
    out_v, out_t = build(*vs), build(*ts)
    out_v.backward()
    out_t.backward()
    np.testing.assert_allclose(out_v.data, float(out_t.detach()), **TOL)
    np.testing.assert_allclose([v.grad for v in vs], [_torch_grad(t) for t in ts], **TOL)
    return vs


# -- random expression trees -------------------------------------------------------------
BINARY = ["+", "-", "*", "/"]
UNARY = ["pow", "exp", "log", "tanh", "sigmoid", "relu", "neg", "radd", "rsub", "rmul", "rtruediv"]
EXPONENTS = [2, 3, -1, -2, 0.5, 1.5]


def _apply(op, a, b=None, c=None):
    """One operation, written so that it works on a Value and on a torch tensor alike."""
    table = {
        "+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
        "pow": lambda: a ** c, "exp": lambda: a.exp(), "log": lambda: a.log(), "tanh": lambda: a.tanh(),
        "sigmoid": lambda: a.sigmoid(), "relu": lambda: a.relu(), "neg": lambda: -a,
        "radd": lambda: c + a, "rsub": lambda: c - a, "rmul": lambda: c * a, "rtruediv": lambda: c / a,
    }
    return table[op]()


def _valid(op, a, b, c):
    """Keep every operation well defined and every number moderate (data-dependent, same for both)."""
    if abs(a) > 1e3 or (b is not None and abs(b) > 1e3):
        return False
    if op == "/":
        return abs(b) > 0.05
    if op == "rtruediv":
        return abs(a) > 0.05
    if op == "pow":
        if c < 0 and abs(a) < 0.05:
            return False
        return float(c).is_integer() or a > 0.05
    if op == "log":
        return a > 0.05
    if op == "exp":
        return a < 20
    if op == "relu":
        return abs(a) > 1e-6  # away from the kink
    return True


def _random_expression(seed, n_leaves=4, n_ops=16):
    """A random DAG: every operand is drawn from all nodes so far (fan-out and reused nodes happen)."""
    r = random.Random(seed)
    values = [r.uniform(0.2, 2.0) for _ in range(n_leaves)]
    plan, data = [], list(values)
    while len(plan) < n_ops:
        op = r.choice(BINARY + UNARY)
        i, j = r.randrange(len(data)), r.randrange(len(data))
        c = r.choice(EXPONENTS) if op == "pow" else round(r.uniform(-3, 3), 2) or 1.0
        a, b = data[i], (data[j] if op in BINARY else None)
        if not _valid(op, a, b, c):
            op, c = "tanh", None
        plan.append((op, i, j, c))
        data.append(_apply(op, Value(a), None if b is None else Value(b), c).data)

    def build(*leaves):
        nodes = list(leaves)
        for op, i, j, c in plan:
            nodes.append(_apply(op, nodes[i], nodes[j] if op in BINARY else None, c))
        # the root depends on the last few nodes, so most of the DAG is reached
        return nodes[-1] + nodes[-2] * nodes[-3] + nodes[-4]

    return build, values


@pytest.mark.parametrize("seed", range(50))
def test_random_expression_matches_torch(torch, seed):
    build, values = _random_expression(seed)
    _assert_parity(torch, build, values)


# -- hand-picked expressions (fan-out, shared weights, reused intermediates) -------------
def _neuron_pair(x1, x2, w, b):
    # the weight w is shared by two neurons; both feed the output
    h1 = (w * x1 + b).tanh()
    h2 = (w * x2 - b).sigmoid()
    return h1 * h2 + w * w


def _reused_intermediate(x, y):
    a = x * y          # used three times below
    b = a + x
    c = a * b
    return c.tanh() + a.exp() - a / y


EXPRESSIONS = [
    ("fan_out_square_plus_x", lambda x: x * x + x, [1.5]),
    ("same_node_three_times", lambda x: x * x * x, [-0.7]),
    ("shared_weight_two_neurons", _neuron_pair, [0.5, -1.2, 0.8, 0.1]),
    ("reused_intermediate", _reused_intermediate, [0.6, 1.3]),
    ("reflected_ops", lambda x: 2 * x + (1 - x) * (3 / x) - 0.5 / (x ** 2), [0.9]),
    ("sub_and_neg", lambda x, y: -(x - y) - (y - 2.0) + x.relu(), [1.1, 2.5]),
    ("div_chain", lambda x, y: x / y / (x + y), [3.0, -0.4]),
    ("pow_fractional", lambda x: x ** 0.5 + x ** -1.5 + x ** 1, [2.3]),
    ("log_exp_roundtrip", lambda x: x.exp().log() * x, [0.7]),
    ("sigmoid_tanh_relu", lambda x, y: (x * y).sigmoid() + (x - y).tanh() + (y - x).relu(), [0.3, -0.9]),
    ("relu_negative_side", lambda x: (x * 3).relu() + x, [-0.4]),
    ("extreme_sigmoid", lambda x: (x * 1000).sigmoid() + (x * -1000).sigmoid(), [1.0]),
    ("mse_of_neuron", lambda w, b, x, y: ((w * x + b).tanh() - y) ** 2, [0.4, -0.2, 1.5, 0.3]),
]


@pytest.mark.parametrize("name, build, values", EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expression_matches_torch(torch, name, build, values):
    _assert_parity(torch, build, values)


def test_fan_out_gradient_is_summed():
    x = Value(3.0)
    y = x * x + x
    y.backward()
    assert y.data == 12.0
    assert x.grad == 7.0  # 2x + 1: three uses of x summed


def test_sum_and_dot_match_torch(torch):
    vals = [0.5, -1.0, 2.0, 0.25, 1.5, -0.75]

    def build(a, b, c, d, e, f):
        if isinstance(a, Value):
            return Value.sum([a, b * c, 2.0]) * Value.dot([a, b, c], [d, e, f]) + Value.dot([a, a], [a, b])
        return (a + b * c + 2.0) * (a * d + b * e + c * f) + (a * a + a * b)

    _assert_parity(torch, build, vals)


# -- the lecture notes' worked example ---------------------------------------------------
def test_notes_worked_example_q_equals_x_plus_y_times_z():
    x, y, z = Value(2.0, "x"), Value(3.0, "y"), Value(-4.0, "z")
    q = x + y
    f = q * z
    f.backward()
    assert (q.data, f.data) == (5.0, -20.0)
    assert (x.grad, y.grad, z.grad, q.grad, f.grad) == (-4.0, -4.0, 5.0, -4.0, 1.0)


# -- backward semantics (module docstring) -----------------------------------------------
def _small_graph():
    x, w, b = Value(0.5, "x"), Value(-1.5, "w"), Value(0.25, "b")
    h = w * x + b
    out = h.tanh() * x
    return (x, w, b), h, out


def test_backward_twice_doubles_leaves_but_recomputes_interior():
    leaves, h, out = _small_graph()
    out.backward()
    first_leaves, first_h = [v.grad for v in leaves], h.grad
    out.backward()
    np.testing.assert_allclose([v.grad for v in leaves], [2 * g for g in first_leaves], rtol=1e-15)
    assert h.grad == first_h
    assert out.grad == 1.0


def test_zero_grad_resets_graph_and_list():
    leaves, h, out = _small_graph()
    out.backward()
    zero_grad(list(leaves[:2]))
    assert [v.grad for v in leaves[:2]] == [0.0, 0.0] and leaves[2].grad != 0.0
    zero_grad(out)
    assert all(n.grad == 0.0 for n in topological_order(out))
    out.backward()
    fresh = _small_graph()
    fresh[2].backward()
    assert [v.grad for v in leaves] == [v.grad for v in fresh[0]]


def test_backward_on_a_leaf_root_accumulates():
    x = Value(4.0)
    x.backward()
    assert x.grad == 1.0
    x.backward()
    assert x.grad == 2.0


def test_backward_on_an_interior_root_reseeds_it():
    x = Value(2.0)
    y = x * 3
    y.backward()
    y.backward()
    assert y.grad == 1.0 and x.grad == 6.0


def test_backward_from_interior_node_leaves_the_rest_alone():
    x = Value(2.0)
    a = x * x
    out = a + 1
    a.backward()
    assert x.grad == 4.0 and out.grad == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_backward_steps_match_backward(seed):
    build, values = _random_expression(seed)
    ref_leaves = [Value(v) for v in values]
    build(*ref_leaves).backward()

    leaves = [Value(v) for v in values]
    root = build(*leaves)
    root.backward()  # stale gradients: backward_steps must start from scratch
    steps = list(backward_steps(root))
    assert all(isinstance(s, BackwardStep) for s in steps)
    assert [v.grad for v in leaves] == [v.grad for v in ref_leaves]

    order = topological_order(root)
    assert [s.node for s in steps] == [n for n in reversed(order) if n._prev]
    position = {id(s.node): k for k, s in enumerate(steps)}
    for k, step in enumerate(steps):
        assert step.upstream == step.node.grad  # complete when its turn comes
        assert step.children == step.node._prev
        np.testing.assert_allclose(step.contributions, [g * step.upstream for g in step.local_grads], rtol=0)
        assert all(position[id(c)] > k for c in step.children if c._prev)


def test_backward_steps_worked_example():
    x, y, z = Value(2.0), Value(3.0), Value(-4.0)
    q = x + y
    f = q * z
    steps = list(backward_steps(f))
    assert [s.node for s in steps] == [f, q]
    assert steps[0].contributions == (-4.0, 5.0) and steps[0].upstream == 1.0
    assert steps[1].contributions == (-4.0, -4.0) and steps[1].upstream == -4.0


def test_topological_order_children_first_each_node_once():
    build, values = _random_expression(7)
    root = build(*[Value(v) for v in values])
    order = topological_order(root)
    assert order[-1] is root
    assert len({id(n) for n in order}) == len(order)
    seen = set()
    for node in order:
        assert all(id(c) in seen for c in node._prev)
        seen.add(id(node))


def test_topological_order_diamond():
    x = Value(1.0, "x")
    a, b = x * 2, x + 1
    out = a * b
    order = topological_order(out)
    assert len(order) == 6  # x, two constants, a, b, out
    assert order.index(x) < order.index(a) and order.index(x) < order.index(b)
    assert order[-1] is out


@pytest.mark.parametrize("depth", [5000, 20000])
def test_deep_chain_has_no_recursion_error(depth):
    x = Value(0.5)
    y = x
    for _ in range(depth):
        y = y + 1.0
    z = y * x
    z.backward()
    assert len(topological_order(z)) == 2 * depth + 2
    assert z.data == pytest.approx((depth + 0.5) * 0.5)
    assert x.grad == pytest.approx(depth + 1.0)  # y' = 1 times x, plus y
    assert sum(1 for _ in backward_steps(z)) == depth + 1


# -- drawing -------------------------------------------------------------------------------
def test_draw_returns_a_figure_with_one_box_per_node():
    from matplotlib.figure import Figure

    leaves, h, out = _small_graph()
    out.backward()
    drawing = draw(out, highlight=h, show_grad={id(out)})
    assert drawing._repr_png_().startswith(b"\x89PNG")  # shows as a picture in Jupyter
    fig = drawing.figure
    assert isinstance(fig, Figure)
    texts = [t.get_text() for t in fig.axes[0].texts if t.get_text()]  # arrows are empty texts
    n_nodes = len(topological_order(out))
    assert len(texts) == n_nodes
    assert sum("grad ?" in t for t in texts) == n_nodes - 1
    assert any(t.startswith("w") for t in texts)


def test_draw_refuses_huge_graphs():
    x = Value(1.0)
    for _ in range(100):
        x = x + 1
    with pytest.raises(ValueError, match="at most"):
        draw(x)


# -- hypothesis properties -----------------------------------------------------------------
finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(a=finite, b=finite)
def test_product_rule_property(a, b):
    x, y = Value(a), Value(b)
    (x * y + x).backward()
    assert x.grad == b + 1.0 and y.grad == a


@settings(max_examples=100, deadline=None)
@given(a=st.floats(-1e6, 1e6, allow_nan=False))
def test_value_sigmoid_tanh_bounded_and_consistent(a):
    s, t = Value(a).sigmoid(), Value(a).tanh()
    assert 0.0 <= s.data <= 1.0 and -1.0 <= t.data <= 1.0
    assert math.isfinite(s._local[0]) and math.isfinite(t._local[0])
    assert t.data == pytest.approx(2 * Value(2 * a).sigmoid().data - 1, abs=1e-12)


# -- bad input -----------------------------------------------------------------------------
BAD_INPUT = [
    ("str_data", lambda: Value("a"), TypeError, "data must be a real number"),
    ("none_data", lambda: Value(None), TypeError, "data"),
    ("bool_data", lambda: Value(True), TypeError, "data"),
    ("value_data", lambda: Value(Value(1.0)), TypeError, "data"),
    ("add_str", lambda: Value(2) + "x", TypeError, "str"),
    ("radd_str", lambda: "x" + Value(2), TypeError, "str"),
    ("mul_list", lambda: Value(2) * [1], TypeError, "list"),
    ("pow_value", lambda: Value(2) ** Value(2), TypeError, "exponent"),
    ("pow_str", lambda: Value(2) ** "2", TypeError, "exponent"),
    ("zero_pow_negative", lambda: Value(0) ** -1, ValueError, "non-zero"),
    ("zero_pow_half", lambda: Value(0.0) ** 0.5, ValueError, "non-zero"),
    ("negative_pow_fraction", lambda: Value(-1.0) ** 0.5, ValueError, "integer exponent"),
    ("divide_by_zero", lambda: Value(1.0) / 0, ValueError, "non-zero"),
    ("rdivide_by_zero", lambda: 1.0 / Value(0.0), ValueError, "non-zero"),
    ("log_negative", lambda: Value(-1).log(), ValueError, "positive"),
    ("log_zero", lambda: Value(0).log(), ValueError, "positive"),
    ("exp_overflow", lambda: Value(1000.0).exp(), ValueError, "overflow"),
    ("sum_empty", lambda: Value.sum([]), ValueError, "at least one"),
    ("dot_lengths", lambda: Value.dot([1.0], [1.0, 2.0]), ValueError, "equally long"),
    ("topo_non_value", lambda: topological_order(3.0), TypeError, "root must be a Value"),
    ("children_mismatch", lambda: Value(1.0, children=(Value(1.0),)), ValueError, "local_grads"),
]


@pytest.mark.parametrize("name, call, exc, match", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_raises(name, call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_accepts_numpy_scalars_and_ints():
    v = Value(np.float64(1.5)) + np.int64(2) + 1
    assert isinstance(v.data, float) and v.data == 4.5
    assert "data=4.5" in repr(v)
