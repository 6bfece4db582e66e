"""Unit 3's exercises: what the student writes, the reference, fresh random test cases.

The references are :mod:`dlcourse.optim` and :mod:`dlcourse.optim.schedules` (themselves
tested against ``torch.optim``), or one line of NumPy where the exercise is the formula.
"""

from __future__ import annotations

import numpy as np

from ..optim import Adam
from ..optim.clip import clip_grad_norm
from ..optim.schedules import inverse_time_decay as _inverse_time_decay
from ..optim.tuning import ema
from .exercise import BadReturn, Exercise
from .registry import register


class Listed:
    """Several arrays or shapes as one case entry, shown by its repr in a message (not as a ragged array)."""

    def __init__(self, items, what: str):
        self.items, self.what = list(items), what

    def __iter__(self):
        return iter(self.items)

    def __repr__(self):
        if self.what == "shapes":
            return ", ".join(str(tuple(s)) for s in self.items)
        return f"{len(self.items)} arrays of shapes " + ", ".join(str(a.shape) for a in self.items)


def _spd(rng, n: int, scale: float = 1.0) -> np.ndarray:
    """A random symmetric positive-definite matrix, not diagonal."""
    A = rng.normal(size=(n, n))
    return scale * (A @ A.T + 0.5 * np.eye(n))


# -- 3.1: the largest stable learning rate ---------------------------------------------
def _max_stable_lr_reference(H):
    return 2.0 / np.linalg.eigvalsh(H).max()


def _hessian_cases(rng):
    cases = [{"H": _spd(rng, n, scale)} for n, scale in [(2, 1.0), (3, 0.1), (5, 10.0)]]
    cases.append({"H": np.diag([1.0, 100.0])})  # the lecture's ill-conditioned bowl
    return cases


# -- 3.2: a momentum step (torch's convention) -----------------------------------------
def _momentum_reference(w, v, grad, lr, momentum):
    v = momentum * v + grad
    return w - lr * v, v


def _step_cases(rng, extra=None):
    cases = []
    for shape, first in [((3,), True), ((3,), False), ((2, 4), False), ((5,), False)]:
        case = {"w": rng.normal(size=shape), "v": np.zeros(shape) if first else rng.normal(size=shape),
                "grad": rng.normal(size=shape), "lr": float(rng.uniform(0.01, 0.5)),
                "momentum": float(rng.uniform(0.5, 0.95))}
        cases.append(case | (extra(rng, shape) if extra else {}))
    return cases


# -- 3.3: a Nesterov step, the lecture notes' look-ahead form ---------------------------
class QuadraticGradient:
    r"""The gradient :math:`A\theta - b` of :math:`\tfrac12\theta^\top A\theta - b^\top\theta`, as a function of θ."""

    def __init__(self, A, b):
        self.A, self.b = A, b

    def __call__(self, theta):
        return self.A @ np.asarray(theta, dtype=float) - self.b

    def __repr__(self):
        return f"∇f of a {len(self.b)}-dimensional quadratic"


def _nesterov_reference(theta, v, grad_fn, lr, momentum):
    v = momentum * v + lr * grad_fn(theta - momentum * v)
    return theta - v, v


def _nesterov_cases(rng):
    """Plain data: the quadratic's ``A`` and ``b``; the adapter builds ``grad_fn`` from them."""
    cases = []
    for n, first in [(2, True), (2, False), (3, False), (4, False)]:
        theta, v = rng.normal(size=n), np.zeros(n) if first else rng.normal(size=n)
        cases.append({"theta": theta, "v": v, "A": _spd(rng, n), "b": rng.normal(size=n),
                      "lr": float(rng.uniform(0.01, 0.2)), "momentum": float(rng.uniform(0.5, 0.95))})
    return cases


def _run_nesterov(fn, case):
    """``fn(theta, v, grad_fn, lr, momentum)`` with ``grad_fn`` the gradient of the case's quadratic."""
    return fn(theta=case["theta"].copy(), v=case["v"].copy(), grad_fn=QuadraticGradient(case["A"], case["b"]),
              lr=case["lr"], momentum=case["momentum"])


# -- 3.4: an RMSprop step (torch's convention) -----------------------------------------
def _rmsprop_reference(w, square_avg, grad, lr, alpha, eps):
    square_avg = alpha * square_avg + (1 - alpha) * grad ** 2
    return w - lr * grad / (np.sqrt(square_avg) + eps), square_avg


def _rmsprop_cases(rng):
    cases = []
    for shape, first, eps in [((3,), True, 1e-8), ((4,), False, 1e-8), ((2, 3), False, 0.1), ((5,), False, 1e-3)]:
        cases.append({"w": rng.normal(size=shape),
                      "square_avg": np.zeros(shape) if first else rng.uniform(0.01, 2.0, shape),
                      "grad": rng.normal(size=shape), "lr": float(rng.uniform(0.001, 0.1)),
                      "alpha": float(rng.uniform(0.8, 0.99)), "eps": eps})
    return cases


# -- 3.6: your own Adam, step by step against dlcourse.optim.Adam ------------------------
ADAM_STEPS = 12


def _adam_cases(rng):
    cases = []
    for shapes, lr, betas, eps in [([(3,)], 0.1, (0.9, 0.999), 1e-8), ([(2, 3), (3,)], 0.01, (0.8, 0.99), 1e-8),
                                   ([(4,)], 0.05, (0.5, 0.9), 0.1), ([(2,), (2, 2)], 0.2, (0.95, 0.999), 1e-3)]:
        n = sum(int(np.prod(s)) for s in shapes)
        cases.append({"shapes": shapes, "start": rng.normal(size=n), "A": _spd(rng, n, 0.5),
                      "b": rng.normal(size=n), "lr": lr, "betas": betas, "eps": eps})
    return cases


def _run_adam(cls, case):
    """Build ``cls(params, lr=, betas=, eps=)`` and take ADAM_STEPS steps on a quadratic; record every step."""
    shapes = [tuple(int(d) for d in s) for s in case["shapes"]]
    sizes = [int(np.prod(s)) for s in shapes]
    chunks = np.split(case["start"].copy(), np.cumsum(sizes)[:-1])
    params = [c.reshape(s).copy() for c, s in zip(chunks, shapes)]
    opt = cls(params, lr=case["lr"], betas=tuple(case["betas"]), eps=case["eps"])
    if not callable(getattr(opt, "step", None)):
        raise TypeError(f"{type(opt).__name__} has no step(grads) method")
    out = {}
    for k in range(1, ADAM_STEPS + 1):
        flat = np.concatenate([p.ravel() for p in params])
        g = case["A"] @ flat - case["b"]
        opt.step([gi.reshape(s) for gi, s in zip(np.split(g, np.cumsum(sizes)[:-1]), shapes)])
        for i, p in enumerate(params):
            out[f"params[{i}] after step {k}"] = p.copy()
    return out


# -- 3.5: a Newton step ----------------------------------------------------------------------
def _newton_reference(x, grad, hess):
    return x - np.linalg.solve(hess, grad)


def _newton_cases(rng):
    cases = [{"x": rng.normal(size=n), "grad": rng.normal(size=n), "hess": _spd(rng, n, s)}
             for n, s in [(2, 1.0), (3, 5.0), (5, 0.2)]]
    cases.append({"x": np.array([1.0, 1e-3]), "grad": np.array([2.0, -2e-3]),
                  "hess": np.array([[2.0, 0.0], [0.0, -2.0]])})  # the saddle x^2 - y^2: Newton jumps onto it
    return cases


# -- 3.7: inverse-time decay -------------------------------------------------------------------
def _decay_cases(rng):
    return [{"lr0": 0.2, "decay_rate": 1.0, "epoch": np.arange(5)},  # the lecture notes' table
            {"lr0": float(rng.uniform(0.01, 1.0)), "decay_rate": float(rng.uniform(0.05, 2.0)), "epoch": 0},
            {"lr0": float(rng.uniform(0.01, 1.0)), "decay_rate": float(rng.uniform(0.05, 2.0)),
             "epoch": int(rng.integers(1, 50))},
            {"lr0": float(rng.uniform(0.01, 1.0)), "decay_rate": 0.0, "epoch": np.arange(0, 30, 7)}]


# -- 3.8: clipping by the total norm ---------------------------------------------------------
def _clip_reference(grads, max_norm):
    grads = [g.copy() for g in grads]
    total = clip_grad_norm(grads, max_norm)
    return grads, total


def _clip_cases(rng):
    cases = []
    for shapes, scale, max_norm in [([(3,), (2, 2)], 5.0, 1.0), ([(4,)], 0.1, 1.0), ([(2, 3), (3,), (1,)], 3.0, 2.5),
                                    ([(5,)], 0.0, 1.0)]:
        cases.append({"grads": [scale * rng.normal(size=s) for s in shapes], "max_norm": max_norm})
    return cases


def _run_clip(fn, case):
    grads = [g.copy() for g in case["grads"]]
    out = fn(grads=grads, max_norm=case["max_norm"])
    if not (isinstance(out, tuple) and len(out) == 2):
        raise BadReturn(f"must return a pair (clipped_grads, total_norm), got {type(out).__name__}")
    clipped, total = out
    if len(clipped) != len(grads):
        raise BadReturn(f"must return one clipped gradient per input, {len(grads)}, got {len(clipped)}")
    return {f"clipped grads[{i}]": np.asarray(g) for i, g in enumerate(clipped)} | {"total_norm": total}


# -- 3.9: a bias-corrected moving average (the LR range test's smoothing) ----------------------
def _ema_cases(rng):
    return [{"values": rng.normal(2.0, 0.5, size=n), "beta": beta}
            for n, beta in [(5, 0.9), (20, 0.98), (1, 0.5), (50, 0.0)]]


register(
    Exercise("3.1", "max_stable_lr", "the largest stable learning rate on a quadratic", _max_stable_lr_reference,
             _hessian_cases, hint="On f(w) = ½ wᵀHw gradient descent multiplies the component along each "
                                  "eigenvector by 1 − η·λ; it converges when every |1 − η·λ| < 1. Use "
                                  "np.linalg.eigvalsh(H) (H is symmetric) and the largest eigenvalue."),
    Exercise("3.2", "momentum_step", "one SGD step with momentum (torch's convention)", _momentum_reference,
             _step_cases, hint="v_new = momentum * v + grad, then w_new = w - lr * v_new. The learning rate "
                               "multiplies the buffer when it is applied; it is not stored in v.",
             outputs=("w_new", "v_new")),
    Exercise("3.3", "nesterov_step", "one Nesterov step, looking ahead", _nesterov_reference, _nesterov_cases,
             _run_nesterov,
             hint="Evaluate the gradient at the look-ahead point theta - momentum * v: "
                  "v_new = momentum * v + lr * grad_fn(theta - momentum * v), theta_new = theta - v_new.",
             outputs=("theta_new", "v_new")),
    Exercise("3.4", "rmsprop_step", "one RMSprop step (torch's convention)", _rmsprop_reference, _rmsprop_cases,
             hint="square_avg_new = alpha * square_avg + (1 - alpha) * grad**2, then "
                  "w_new = w - lr * grad / (np.sqrt(square_avg_new) + eps): eps goes outside the root.",
             outputs=("w_new", "square_avg_new")),
    Exercise("3.6", "MyAdam", "your own Adam, step by step", Adam, _adam_cases, _run_adam,
             hint="Per parameter keep m, v and the step count t in `state`. Each step: "
                  "m = β₁m + (1−β₁)g, v = β₂v + (1−β₂)g², m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ), "
                  "param -= lr·m̂/(√v̂ + eps). Both moments are corrected, each with its own β."),
    Exercise("3.5", "newton_step", "one Newton step", _newton_reference, _newton_cases,
             hint="x_new = x - H⁻¹ grad. Solve the linear system with np.linalg.solve(hess, grad) rather "
                  "than inverting the matrix."),
    Exercise("3.7", "inverse_time_decay", "inverse-time learning-rate decay",
             lambda lr0, decay_rate, epoch: _inverse_time_decay(lr0, decay_rate, epoch), _decay_cases,
             hint="lr0 / (1 + decay_rate * epoch), with the epoch counted from 0 (epoch 0 uses lr0). "
                  "Write it with NumPy operations so that an array of epochs works too."),
    Exercise("3.8", "clip_by_norm", "clipping gradients by their total norm", _clip_reference, _clip_cases,
             _run_clip, hint="total_norm = sqrt of the sum of every entry squared, over all the arrays "
                             "together. If it exceeds max_norm, multiply every array by "
                             "max_norm / (total_norm + 1e-6); otherwise leave them unchanged."),
    Exercise("3.9", "ema_smooth", "a bias-corrected moving average", lambda values, beta: ema(values, beta),
             _ema_cases,
             hint="avg = beta * avg + (1 - beta) * x starting from avg = 0; divide the t-th average "
                  "(t = 1, 2, ...) by 1 - beta**t, as Adam corrects its moments."),
)

__all__ = ["QuadraticGradient", "Listed"]
