"""Unit 1's exercises: what the student writes, the reference, fresh random test cases."""

from __future__ import annotations

import numpy as np

from .. import activations
from ..graph import Value
from ..shallow import perceptron_update
from .exercise import BadReturn, Exercise, as_outputs
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


def _run_perceptron(fn, case):
    """``fn(**case)`` on copies; the inputs after the call are outputs too (they must not change)."""
    w, x = case["w"].copy(), case["x"].copy()
    out = as_outputs(fn(w=w, b=case["b"], x=x, y=case["y"], lr=case["lr"]))
    out = {{"output 0": "new w", "output 1": "new b"}.get(k, k): v for k, v in out.items()}
    return out | {"w (input) after the call": w, "x (input) after the call": x}


register(
    Exercise("1.1", "perceptron_update", "one perceptron update", perceptron_update, _perceptron_cases,
             _run_perceptron, hint="Update only when y * (w @ x + b) <= 0 (a point exactly on the boundary counts as a mistake): "
                  "then return w + lr*y*x and b + lr*y as new values; do not modify the inputs."),
    Exercise("1.2", "sigmoid", "a sigmoid that never overflows", activations.sigmoid, _sigmoid_cases,
             _run_without_overflow, hint="For x < 0 use exp(x) / (1 + exp(x)); for x >= 0 use 1 / (1 + exp(-x)). "
                  "np.where evaluates both branches, so compute each on its own half of x. The check turns NumPy's "
                  "overflow warnings into errors and tries x = [-1000, -50, 0, 50, 1000].",
             forbidden=("dlcourse.activations.sigmoid", "dlcourse.graph._sigmoid")),
    Exercise("1.3", "sigmoid_prime", "the derivative of the sigmoid", activations.sigmoid_derivative,
             _sigmoid_cases, hint="sigma'(x) = sigma(x) * (1 - sigma(x)); reuse your sigmoid.",
             forbidden=("dlcourse.activations.sigmoid_derivative", "dlcourse.activations.sigmoid")),
    Exercise("1.4", "mul", "the product node of the engine", _mul_reference, _binary_cases, _run_binary_op,
             hint="The check builds out = mul(a, b) (and mul(a, a)), then backpropagates from c * out, so it "
                  "expects a.grad = c * b.data. Which local gradient does out have with respect to a? "
                  "And with respect to b?",
             forbidden=("dlcourse.graph.Value.__mul__", "dlcourse.graph.Value.__rmul__")),
    Exercise("1.5", "tanh", "the tanh node of the engine", _tanh_reference, _unary_cases, _run_unary_op,
             hint="The check backpropagates from c * out + out, so it expects a.grad = (c + 1) * (local gradient). "
                  "With t = math.tanh(a.data), what is d tanh / da?",
             forbidden=("dlcourse.graph.Value.tanh",)),
    Exercise("1.6", "linear_backward", "the backward pass of a linear layer", _linear_backward_reference,
             _linear_cases, hint="For y = x W^T + b and G = dL/dy: dL/dx = G W, dL/dW = G^T x, "
                                 "dL/db = G summed over the batch. Check each shape against the forward pass.",
             forbidden=("dlcourse.layers.linear.Linear.backward",), outputs=("grad_x", "grad_weight", "grad_bias")),
    Exercise("1.7", "softmax_cross_entropy_grad", "the gradient of softmax + cross-entropy",
             _softmax_xent_grad_reference, _xent_cases,
             hint="The gradient of the mean loss with respect to the logits is (softmax(logits) - onehot) / N. "
                  "Subtract the row maximum before exp so large logits do not overflow.",
             forbidden=("dlcourse.losses.cross_entropy_grad", "dlcourse.activations.softmax")),
)
