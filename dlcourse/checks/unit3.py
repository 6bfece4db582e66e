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
from .exercise import BadReturn, Exercise, skeleton
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


def _nesterov_note(case, problem):
    v = case.get("v")
    if v is not None and np.any(np.asarray(v) != 0):
        return "Here v is not zero (the first test case starts from v = 0), so the look-ahead point is not theta."
    return None


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


# The hint levels of each exercise (Exercise.hints): the idea, the formula, a skeleton with blanks.
_HINTS = {
    "3.1": (
        r"On $f(w) = \tfrac12 w^\top H w$, gradient descent acts on each eigenvector of $H$ separately: along it, "
        r"every step multiplies the component by the same number. The run diverges as soon as that number's size "
        r"exceeds 1 along some direction. Which direction fails first?",
        r"Along an eigenvector with eigenvalue $\lambda$, $w \leftarrow (1 - \eta\lambda)\,w$. Every direction is "
        r"stable if $|1 - \eta\lambda| < 1$ for all $\lambda$, that is $\eta < 2/\lambda$ for each: the largest "
        r"eigenvalue binds. `np.linalg.eigvalsh` returns the eigenvalues of a symmetric matrix. The diagonal of $H$ "
        r"is not enough when $H$ is not diagonal.",
        skeleton("""
            eigenvalues = np.linalg.____(H)
            return ____ / ____
        """),
    ),
    "3.2": (
        r"Momentum keeps a running direction $v$: each step it keeps a fraction of the old direction, adds the new "
        r"gradient, and moves against the result. In PyTorch's convention the learning rate is applied when "
        r"moving, not stored in $v$.",
        r"$v' = \mu v + g$, then $w' = w - \eta v'$: the step uses the *new* buffer. At the first step $v = 0$, so "
        r"the first step is a plain gradient step. Return new arrays $(w', v')$; do not change `w` or `v` in place.",
        skeleton("""
            v_new = ____ * v + ____
            w_new = w - ____
            return w_new, v_new
        """),
    ),
    "3.3": (
        r"Nesterov's momentum looks before it steps: the momentum part of the step will be taken anyway, so "
        r"evaluate the gradient where that part lands, not where you stand.",
        r"$v' = \gamma v + \eta\,\nabla L(\theta - \gamma v)$ and $\theta' = \theta - v'$. Here $v$ includes the "
        r"learning rate (unlike Exercise 3.2). `grad_fn(point)` returns $\nabla L$ at `point`: call it once, at "
        r"the look-ahead point.",
        skeleton("""
            lookahead = ____ - ____ * v
            v_new = momentum * v + ____ * grad_fn(____)
            return ____, v_new
        """),
    ),
    "3.4": (
        r"RMSprop divides each coordinate's step by a running estimate of that coordinate's gradient size: steep "
        r"coordinates take small steps, flat ones larger steps. Update the running average of $g^2$ first, then "
        r"step with it.",
        r"$s' = \alpha s + (1 - \alpha)\,g^2$, then $w' = w - \eta\,g/(\sqrt{s'} + \epsilon)$, with $\epsilon$ "
        r"outside the root as in PyTorch. $\sqrt{s' + \epsilon}$ is a different rule, and the check tells the two "
        r"apart.",
        skeleton("""
            square_avg_new = ____ * square_avg + ____ * grad ** 2
            w_new = w - lr * grad / (____ + ____)
            return w_new, square_avg_new
        """),
    ),
    "3.5": (
        r"Newton's method jumps to the minimum of the local quadratic model "
        r"$f(x + d) \approx f(x) + g^\top d + \tfrac12 d^\top H d$. Find the step $d$ where the model's gradient "
        r"vanishes.",
        r"$g + H d = 0$ gives $d = -H^{-1} g$, so $x' = x - H^{-1} g$. Do not form $H^{-1}$: solve the linear "
        r"system $H u = g$ instead. `np.linalg.solve(A, b)` returns the $u$ with $A u = b$, cheaper and more "
        r"accurate than an inverse.",
        skeleton("""
            d = np.linalg.solve(____, ____)      # the u with H u = g
            return x ____ d
        """),
    ),
    "3.6": (
        r"Adam keeps two running averages per parameter — of the gradient (momentum) and of its square (as "
        r"RMSprop) — and corrects both for starting at zero. `update(self, param, grad, state)` is called once per "
        r"parameter at every step, with that parameter's own dict `state`: keep the averages there between calls, "
        r"and change `param` in place.",
        r"With $t$ the step count (1 at the first step): $m \leftarrow \beta_1 m + (1 - \beta_1) g$, "
        r"$v \leftarrow \beta_2 v + (1 - \beta_2) g^2$, $\hat m = m/(1 - \beta_1^t)$, $\hat v = v/(1 - \beta_2^t)$, "
        r"$\theta \leftarrow \theta - \eta\,\hat m/(\sqrt{\hat v} + \epsilon)$. `self.lr`, `self.betas` and "
        r"`self.eps` hold the hyperparameters. `param -= ...` changes the array; `param = ...` would only rebind "
        r"the name.",
        skeleton("""
            if ____:                                  # the first call for this parameter
                state.update(step=____, exp_avg=____, exp_avg_sq=____)
            beta1, beta2 = ____
            state["step"] ____
            t = ____
            state["exp_avg"] = ____
            state["exp_avg_sq"] = ____
            m_hat = ____
            v_hat = ____
            param -= ____
        """),
    ),
    "3.7": (
        r"The rate falls like $1/t$: at epoch 0 it is `lr0`, and it has halved once `decay_rate * epoch` reaches 1. "
        r"Write one expression that works for a single epoch and for an array of epochs.",
        r"$\alpha_t = \alpha_0/(1 + k\,t)$. NumPy arithmetic works element by element, so the same expression "
        r"serves both cases once `epoch` is an array (`np.asarray` turns a list into one).",
        skeleton("""
            epoch = np.asarray(____, dtype=float)
            return ____ / (____)
        """),
    ),
    "3.8": (
        r"Treat all the gradient arrays as one long vector. If its length exceeds `max_norm`, shrink every array "
        r"by the same factor so that the total length becomes `max_norm`; never stretch a short one. The direction "
        r"does not change.",
        r"$\|g\| = \sqrt{\sum_k\sum_i g_{k,i}^2}$ over all the arrays $k$; the scale is "
        r"$\min\bigl(1,\ M/(\|g\| + 10^{-6})\bigr)$ with $M$ = `max_norm` (PyTorch adds $10^{-6}$). Return the "
        r"scaled list and $\|g\|$ *before* clipping, as a float.",
        skeleton("""
            total_norm = float(np.sqrt(sum(____ for g in grads)))
            scale = min(____, ____)
            return [____ for g in grads], total_norm
        """),
    ),
    "3.9": (
        r"A moving average started at 0 is pulled towards 0 at first: after one value it holds only $(1 - \beta)$ "
        r"of it. Divide each average by the weight it has collected so far.",
        r"$a_0 = 0$, $a_t = \beta a_{t-1} + (1 - \beta)\,x_t$, and the output is $a_t/(1 - \beta^t)$ for "
        r"$t = 1, 2, \dots$ — so the first output equals the first value exactly. One output per input value.",
        skeleton("""
            out, avg = ____, 0.0                     # one output per value
            for t, x in ____:                        # t = 1, 2, ... and each value
                avg = ____
                out[t - 1] = ____
            return ____
        """),
    ),
}


register(
    Exercise("3.1", "max_stable_lr", "the largest stable learning rate on a quadratic", _max_stable_lr_reference,
             _hessian_cases, hints=_HINTS["3.1"]),
    Exercise("3.2", "momentum_step", "one SGD step with momentum (torch's convention)", _momentum_reference,
             _step_cases, hints=_HINTS["3.2"],
             outputs=("w_new", "v_new")),
    Exercise("3.3", "nesterov_step", "one Nesterov step, looking ahead", _nesterov_reference, _nesterov_cases,
             _run_nesterov, hints=_HINTS["3.3"], diagnose=_nesterov_note,
             outputs=("theta_new", "v_new")),
    Exercise("3.4", "rmsprop_step", "one RMSprop step (torch's convention)", _rmsprop_reference, _rmsprop_cases,
             hints=_HINTS["3.4"],
             outputs=("w_new", "square_avg_new")),
    Exercise("3.6", "MyAdam", "your own Adam, step by step", Adam, _adam_cases, _run_adam,
             hints=_HINTS["3.6"]),
    Exercise("3.5", "newton_step", "one Newton step", _newton_reference, _newton_cases,
             hints=_HINTS["3.5"]),
    Exercise("3.7", "inverse_time_decay", "inverse-time learning-rate decay",
             lambda lr0, decay_rate, epoch: _inverse_time_decay(lr0, decay_rate, epoch), _decay_cases,
             hints=_HINTS["3.7"]),
    Exercise("3.8", "clip_by_norm", "clipping gradients by their total norm", _clip_reference, _clip_cases,
             _run_clip, hints=_HINTS["3.8"]),
    Exercise("3.9", "ema_smooth", "a bias-corrected moving average", lambda values, beta: ema(values, beta),
             _ema_cases,
             hints=_HINTS["3.9"]),
)

__all__ = ["QuadraticGradient", "Listed"]
