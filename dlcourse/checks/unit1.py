"""Unit 1's exercises: what the student writes, the reference, fresh random test cases."""

from __future__ import annotations

import numpy as np

from .. import activations
from ..graph import Value
from ..layers import Linear, ReLU, Sequential
from ..shallow import perceptron_update
from .exercise import BadReturn, Exercise, _copy, as_outputs, skeleton
from .registry import register


# -- 1.4 and 1.5: operations of the scalar engine ---------------------------------
# The adapters build the loss node above ``out`` themselves (a Value with its local gradients) rather than with
# ``*`` and ``+``: they must work where the engine's own product is absent (the grader removes it for 1.4).
def _run_binary_op(fn, case):
    """Build out = fn(a, b) (or fn(a, a) for fan-out), backpropagate from c * out so the upstream grad is not 1."""
    a, b = Value(case["a"], "a"), Value(case["b"], "b")
    out = fn(a, a) if case["fan_out"] else fn(a, b)
    if not isinstance(out, Value):
        raise BadReturn(f"must return a Value, got {type(out).__name__}")
    c = case["c"]
    Value(c * out.data, children=(out,), op="c·out", local_grads=(c,)).backward()
    return {"out.data": out.data, "a.grad": a.grad, "b.grad": b.grad}


def _run_unary_op(fn, case):
    """Build out = fn(a), backpropagate from c * out + out (out used twice: its gradients must add up)."""
    a = Value(case["a"], "a")
    out = fn(a)
    if not isinstance(out, Value):
        raise BadReturn(f"must return a Value, got {type(out).__name__}")
    c = case["c"]
    Value(c * out.data + out.data, children=(out, out), op="c·out + out", local_grads=(c, 1.0)).backward()
    return {"out.data": out.data, "a.grad": a.grad}


def _binary_cases(rng):
    return [{"a": float(rng.normal(0, 2)), "b": float(rng.normal(0, 2)), "c": float(rng.normal(0, 2)),
             "fan_out": i >= 4} for i in range(6)]


def _unary_cases(rng):
    return [{"a": float(rng.normal(0, 1.5)), "c": float(rng.normal(0, 2))} for _ in range(6)]


def _mul_reference(a, b):
    return a * b


def _tanh_reference(a):
    return a.tanh()


# -- 1.1 to 1.3, 1.6, 1.7: NumPy functions -----------------------------------------------------
def _sigmoid_cases(rng):
    return [{"x": rng.normal(0, 3, (5,))}, {"x": rng.normal(0, 3, (3, 4))},
            {"x": np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])}]


def _run_without_overflow(fn, case):
    """Run with NumPy's overflow and invalid-value warnings turned into errors."""
    with np.errstate(over="raise", invalid="raise"):
        return fn(x=case["x"].copy())


def _linear_backward_reference(x, weight, grad_out):
    return grad_out @ weight, grad_out.T @ x, grad_out.sum(axis=0)


def _linear_cases(rng):
    cases = []
    for n, d, m in [(4, 3, 2), (1, 5, 3), (7, 2, 4)]:
        cases.append({"x": rng.normal(size=(n, d)), "weight": rng.normal(size=(m, d)),
                      "grad_out": rng.normal(size=(n, m))})
    return cases


def _softmax_xent_grad_reference(logits, labels):
    p = activations.softmax(logits)
    p[np.arange(len(labels)), labels] -= 1.0
    return p / len(labels)


def _xent_cases(rng):
    cases = []
    for n, c, scale in [(4, 3, 1.0), (6, 5, 3.0), (3, 4, 500.0)]:
        cases.append({"logits": rng.normal(0, scale, (n, c)), "labels": rng.integers(0, c, n)})
    cases[-1]["logits"][0, 0] = 1000.0  # exp(1000) overflows unless the row maximum is subtracted
    return cases


def _perceptron_cases(rng):
    cases = []
    for _ in range(6):
        d = int(rng.integers(2, 5))
        cases.append({"w": rng.normal(size=d), "b": float(rng.normal()), "x": rng.normal(size=d),
                      "y": int(rng.choice([-1, 1])), "lr": float(rng.uniform(0.1, 1.0))})
    # Always cover a misclassified point, a correctly classified one and the boundary
    # y (w @ x + b) = 0 (the start of training, w = 0 and b = 0), which must update.
    for case, sign in ((cases[0], -1), (cases[1], 1)):
        margin = case["w"] @ case["x"] + case["b"]
        case["y"] = sign * (1 if margin >= 0 else -1)
    cases[-1]["w"], cases[-1]["b"] = np.zeros_like(cases[-1]["w"]), 0.0
    return cases


def _perceptron_case_note(case, problem):
    """Say what is special about a perceptron test case: which branch it takes, or that an input was changed."""
    if "after the call" in problem:
        return "Your function changed an array it was given: build new arrays instead of updating w in place."
    margin = case["y"] * (float(np.dot(case["w"], case["x"])) + case["b"])
    if margin == 0:
        return ("This point lies exactly on the boundary, y (w·x + b) = 0, as at the start of training when w = 0 "
                "and b = 0. Does your function treat it as a mistake?")
    if margin < 0:
        return (f"Here y (w·x + b) = {margin:.4g} < 0: the point is misclassified, so the boundary must move "
                "towards it.")
    return f"Here y (w·x + b) = {margin:.4g} > 0: the point is classified correctly."


def _run_perceptron(fn, case):
    """``fn(**case)`` on copies; the inputs after the call are outputs too (they must not change)."""
    w, x = case["w"].copy(), case["x"].copy()
    out = as_outputs(fn(w=w, b=case["b"], x=x, y=case["y"], lr=case["lr"]))
    out = {{"output 0": "new w", "output 1": "new b"}.get(k, k): v for k, v in out.items()}
    return out | {"w (input) after the call": w, "x (input) after the call": x}



# -- 1.8: saliency of a one-hidden-layer ReLU network -----------------------------------------------------------
def _saliency_reference(x, weight1, bias1, weight2, output):
    """The backward pass of ``Sequential(Linear, ReLU, Linear)`` seeded with the one-hot vector of ``output``
    (what :func:`dlcourse.explore.saliency.saliency` does for any network)."""
    (H, D), C = weight1.shape, weight2.shape[0]
    net = Sequential(Linear(D, H), ReLU(), Linear(H, C))
    net[0].params["weight"][...], net[0].params["bias"][...] = weight1, bias1
    net[2].params["weight"][...], net[2].params["bias"][...] = weight2, 0.0
    logits = net.forward(x[None, :])
    seed = np.zeros_like(logits)
    seed[0, output] = 1.0
    return net.backward(seed)[0]


def _saliency_cases(rng):
    cases = []
    for D, H, C in [(5, 4, 3), (8, 6, 10), (3, 7, 2), (64, 32, 10)]:   # D != H catches a missing transpose
        cases.append({"x": rng.normal(size=D), "weight1": rng.normal(0, 1 / np.sqrt(D), (H, D)),
                      "bias1": rng.normal(0, 0.5, H), "weight2": rng.normal(size=(C, H)),
                      "output": int(rng.integers(0, C))})
    return cases


def _saliency_note(case, problem):
    active = int(np.sum(case["weight1"] @ case["x"] + case["bias1"] > 0))
    return f"On this case {active} of the {len(case['bias1'])} hidden units are active (pre-activation > 0)."


def _run_saliency(fn, case):
    return {"saliency": fn(**{k: _copy(v) for k, v in case.items()})}

# The hint levels of each exercise (Exercise.hints): the idea, the formula, a skeleton with blanks.
_HINTS = {
    "1.1": (
        r"The perceptron learns only from its mistakes. A point is a mistake when it lies on the wrong side of the "
        r"boundary *or exactly on it*: then move the boundary towards the point. Otherwise return the parameters "
        r"unchanged, as new objects.",
        r"The margin is $m = y\,(\mathbf w\cdot\mathbf x + b)$. If $m \le 0$: $\mathbf w' = \mathbf w + \eta\,y\,"
        r"\mathbf x$ and $b' = b + \eta\,y$; otherwise $\mathbf w' = \mathbf w$, $b' = b$. At the start of training "
        r"$\mathbf w = 0$ and $b = 0$, so every margin is 0: that case must update, or nothing is ever learnt. "
        r"Build new arrays: `w += ...` would change the caller's `w`.",
        skeleton("""
            margin = ____ * (w @ x + ____)
            if margin ____ 0:                       # a mistake, or on the boundary
                return ____ + lr * y * ____, ____
            return ____, b                          # a copy of w, not w itself
        """),
    ),
    "1.2": (
        r"$\sigma(x) = 1/(1 + e^{-x})$ is safe for large positive $x$ but overflows at $x = -1000$, where "
        r"$e^{1000}$ is too large for a float. There is a second formula, equal in exact arithmetic, whose exponent "
        r"is never positive exactly where the first one's is: use each formula only where it is safe.",
        r"Multiply the numerator and the denominator by $e^{x}$: $\sigma(x) = e^{x}/(1 + e^{x})$, safe for "
        r"$x < 0$ (then $e^{x} < 1$). Keep $1/(1 + e^{-x})$ for $x \ge 0$. Each formula must only ever see its own "
        r"half of the array: `np.where(cond, a, b)` computes `a` and `b` on *every* element first, so it still "
        r"overflows. Select each half with a boolean mask instead. The check turns overflow warnings into errors and "
        r"tries $x = [-1000, -50, 0, 50, 1000]$.",
        skeleton("""
            out = ____                  # an empty float array shaped like x
            pos = ____                  # boolean mask: where is x >= 0?
            out[pos] = ____             # the formula that is safe for x >= 0, on x[pos] only
            e = np.exp(____)            # safe: only the negative entries of x
            out[~pos] = ____
            return ____
        """),
    ),
    "1.3": (
        r"Differentiate $\sigma(x) = (1 + e^{-x})^{-1}$ with the chain rule, then write the result in terms of "
        r"$\sigma(x)$ itself. No new exponential is needed: your overflow-safe `sigmoid` does the hard part.",
        r"$\sigma'(x) = \dfrac{e^{-x}}{(1 + e^{-x})^2} = \sigma(x)\,\bigl(1 - \sigma(x)\bigr)$. It is largest at "
        r"$x = 0$, where it equals $1/4$, and tends to 0 on both sides.",
        skeleton("""
            s = ____(x)
            return ____ * (____ - ____)
        """),
    ),
    "1.4": (
        r"A node stores its value and, for each child, a *local gradient*: how much the node's value moves per unit "
        r"move of that child. `backward()` multiplies the upstream gradient by each local gradient and adds the "
        r"product into the child's `.grad`. The check backpropagates from $c \cdot \text{out}$ and also calls "
        r"`mul(a, a)`.",
        r"$\partial(ab)/\partial a = b$ and $\partial(ab)/\partial b = a$: each factor's local gradient is the "
        r"*other* factor's value (a number, `.data`). For `mul(a, a)` the two contributions add up to $2a$; the "
        r"engine's `+=` does that, so do not treat that case separately.",
        skeleton("""
            return Value(____, children=____, op="*", local_grads=(____, ____))   # children: the tuple of both inputs
        """),
    ),
    "1.5": (
        r"As for `mul`: compute the value, and give the single child its local gradient "
        r"$\partial\tanh(a)/\partial a$, evaluated at `a.data`. The check backpropagates from "
        r"$c \cdot \text{out} + \text{out}$, so it expects `a.grad` $= (c + 1)$ times your local gradient.",
        r"$\dfrac{d}{da}\tanh a = 1 - \tanh^2 a$. Write it with the output $t = \tanh(a)$, which you compute anyway. "
        r"A frequent slip is $1 - a^2$: the derivative written with the input instead of the output.",
        skeleton("""
            t = math.____(a.data)
            return Value(____, children=____, op="tanh", local_grads=(____,))     # children: a tuple of one input
        """),
    ),
    "1.6": (
        r"Apply the chain rule to every element of $Y = XW^\top + b$, then write the sums as matrix products. Let "
        r"the shapes guide you: each gradient has the shape of the variable it belongs to.",
        r"With $G = \partial L/\partial Y$ of shape $(N, \text{out})$: $\partial L/\partial X = G\,W$, shape "
        r"$(N, \text{out})(\text{out}, \text{in}) = (N, \text{in})$; $\partial L/\partial W = G^\top X$, shape "
        r"$(\text{out}, N)(N, \text{in}) = (\text{out}, \text{in})$; $\partial L/\partial b = \sum_n G_n$, one sum "
        r"over the batch axis, shape $(\text{out},)$.",
        skeleton("""
            grad_x = ____ @ ____                      # (N, in)
            grad_weight = ____ @ ____                 # (out, in)
            grad_bias = grad_out.sum(axis=____)       # (out,)
            return ____, ____, ____
        """),
    ),
    "1.7": (
        r"For one example, the gradient of $-\log p_y$ with respect to the logits is *the predicted probabilities "
        r"minus the truth* (one-hot). The loss is a mean over $N$ rows, so each row's gradient is divided by $N$. "
        r"Compute the softmax safely (notebook 1.2): one test row holds a logit of 1000.",
        r"$\dfrac{\partial L}{\partial z_{ni}} = \dfrac{1}{N}\bigl(p_{ni} - [i = y_n]\bigr)$ with "
        r"$p_n = \operatorname{softmax}(z_n - \max_j z_{nj})$: subtracting the row's maximum leaves the softmax "
        r"unchanged and keeps every exponent $\le 0$. Shapes: `logits` and the result are $(N, C)$, `labels` is "
        r"$(N,)$.",
        skeleton("""
            z = logits - logits.max(axis=____, keepdims=____)
            p = np.exp(z) / ____                       # each row sums to 1
            p[np.arange(____), labels] -= ____         # subtract the one-hot truth
            return ____ / ____
        """),
    ),
    "1.8": (
        r"Backpropagation does not stop at the weights. Seed the backward pass with 1 at output $m$ and 0 at the "
        r"others, and carry it back through the second layer, the ReLU and the first layer, down to the input.",
        r"With $a = W_1 x + b_1$ and $o = W_2\,\mathrm{ReLU}(a) + b_2$: the gradient of $o_m$ with respect to "
        r"$\mathrm{ReLU}(a)$ is row $m$ of $W_2$, shape $(H,)$; the ReLU lets it through only where $a > 0$; the first "
        r"layer then gives $\partial o_m/\partial x = W_1^\top(\cdot)$, shape $(D, H)(H,) = (D,)$. The bias $b_2$ "
        r"plays no part.",
        skeleton("""
            pre = ____                          # the hidden pre-activation a, (H,)
            g = ____                            # d o_m / d ReLU(a): row m of weight2, (H,)
            g = g * (____)                      # the ReLU passes it only where a > 0
            return ____ @ ____                  # (D,)
        """),
    ),
}


register(
    Exercise("1.1", "perceptron_update", "one perceptron update", perceptron_update, _perceptron_cases,
             _run_perceptron, hints=_HINTS["1.1"], diagnose=_perceptron_case_note),
    Exercise("1.2", "sigmoid", "a sigmoid that never overflows", activations.sigmoid, _sigmoid_cases,
             _run_without_overflow, hints=_HINTS["1.2"],
             forbidden=("dlcourse.activations.sigmoid", "dlcourse.graph._sigmoid")),
    Exercise("1.3", "sigmoid_prime", "the derivative of the sigmoid", activations.sigmoid_derivative,
             _sigmoid_cases, hints=_HINTS["1.3"],
             forbidden=("dlcourse.activations.sigmoid_derivative", "dlcourse.activations.sigmoid")),
    Exercise("1.4", "mul", "the product node of the engine", _mul_reference, _binary_cases, _run_binary_op,
             hints=_HINTS["1.4"],
             forbidden=("dlcourse.graph.Value.__mul__", "dlcourse.graph.Value.__rmul__")),
    Exercise("1.5", "tanh", "the tanh node of the engine", _tanh_reference, _unary_cases, _run_unary_op,
             hints=_HINTS["1.5"],
             forbidden=("dlcourse.graph.Value.tanh",)),
    Exercise("1.6", "linear_backward", "the backward pass of a linear layer", _linear_backward_reference,
             _linear_cases, hints=_HINTS["1.6"],
             forbidden=("dlcourse.layers.linear.Linear.backward",), outputs=("grad_x", "grad_weight", "grad_bias")),
    Exercise("1.7", "softmax_cross_entropy_grad", "the gradient of softmax + cross-entropy",
             _softmax_xent_grad_reference, _xent_cases,
             hints=_HINTS["1.7"],
             forbidden=("dlcourse.losses.cross_entropy_grad", "dlcourse.activations.softmax")),
    Exercise("1.8", "saliency_map", "the saliency of a one-hidden-layer network", _saliency_reference,
             _saliency_cases, _run_saliency, hints=_HINTS["1.8"], diagnose=_saliency_note,
             forbidden=("dlcourse.explore.saliency.saliency", "dlcourse.layers.linear.Linear.backward")),
)
