r"""Second-order and quasi-Newton methods (Unit 3, "Beyond gradient descent: second-order methods").

Each function minimises :math:`f: \mathbb{R}^n \to \mathbb{R}` from ``x0`` and returns the
array of iterates, shape ``(k + 1, n)`` with ``k <= steps`` and first row ``x0``, ready
to draw on a contour plot::

    from dlcourse.landscapes import rosenbrock as r
    path = bfgs(r.value, r.grad, r.start, steps=100)

A run stops early, with fewer rows (never repeated ones), when the gradient norm falls
below ``tol`` (1e-12) or when the line search can no longer decrease :math:`f` (round-off).

The line searches, which :func:`conjugate_gradient`, :func:`bfgs` and :func:`lbfgs`
share, find a step satisfying the strong Wolfe conditions
(Nocedal and Wright, *Numerical Optimization*, Algorithms 3.5 and 3.6):

.. math::
    f(x + \alpha d) \le f(x) + c_1 \alpha \nabla f(x)^\top d, \qquad
    |\nabla f(x + \alpha d)^\top d| \le c_2 |\nabla f(x)^\top d|.

Conjugate gradient asks for :math:`c_2 = 10^{-10}`, i.e. an (almost) exact line search,
which its theory needs; the quasi-Newton methods take the usual :math:`c_2 = 0.9`.
Interpolation uses secants on the slope :math:`\phi'(\alpha) = \nabla f(x+\alpha d)^\top d`,
exact for a quadratic, so that on a positive-definite quadratic conjugate gradient
reaches the minimum in :math:`n` steps (up to round-off).
"""

from __future__ import annotations

import functools
from collections import deque
from typing import Callable, NamedTuple

import numpy as np

from .._validate import as_float_array, check_finite, check_number, check_positive_int

__all__ = ["newton", "conjugate_gradient", "bfgs", "lbfgs"]


# Differences of f below this fraction of |f| are treated as round-off: there the line
# searches follow the slope, which stays accurate (Hager and Zhang's approximate Wolfe idea).
_F_NOISE = 1e-12


class _Trial(NamedTuple):
    """A point on the search line: step ``a``, point ``x``, value ``f``, gradient ``g``, slope ``dphi``."""
    a: float
    x: np.ndarray
    f: float
    g: np.ndarray
    dphi: float


def _check_problem(f, grad, x0, steps, tol):
    for fn, name in [(f, "f"), (grad, "grad")]:
        if not callable(fn):
            raise TypeError(f"{name} must be a function of x, got {type(fn).__name__}")
    x0 = as_float_array(x0, "x0", ndim=1).copy()
    check_finite(x0, "x0")
    steps = check_positive_int(steps, "steps", minimum=0)
    tol = check_number(tol, "tol", low=0.0)
    return x0, steps, tol


def _done(fx: float, g: np.ndarray, tol: float) -> bool:
    """Stop: converged (gradient norm below ``tol``) or broken (a value is no longer finite)."""
    norm = float(np.linalg.norm(g))
    return not (np.isfinite(fx) and np.isfinite(norm) and norm >= tol)


def _quiet(method):
    """Run ``method`` without overflow warnings: a run on an unbounded function stops by itself."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with np.errstate(over="ignore", invalid="ignore"):
            return method(*args, **kwargs)
    return wrapper


def _gradient(grad, x) -> np.ndarray:
    g = np.asarray(grad(x), dtype=np.float64)
    if g.shape != x.shape:
        raise ValueError(f"grad(x) must have the shape of x, {x.shape}, got {g.shape}")
    return g


def _point(f, grad, x, d, a) -> _Trial:
    xa = x + a * d
    ga = _gradient(grad, xa)
    return _Trial(a, xa, float(f(xa)), ga, float(ga @ d))


def _interpolate(lo: _Trial, hi: _Trial) -> float:
    """A step between ``lo`` and ``hi``: a secant on the slope if it changes sign, else a quadratic fit."""
    h = hi.a - lo.a
    if np.isfinite(hi.dphi) and lo.dphi * hi.dphi < 0:
        a = lo.a - lo.dphi * h / (hi.dphi - lo.dphi)
    elif np.isfinite(hi.f):
        curvature = (hi.f - lo.f - lo.dphi * h) / (h * h)
        a = lo.a - lo.dphi / (2 * curvature) if curvature > 0 else lo.a + h / 2
    else:
        a = lo.a + h / 2
    low, high = sorted((lo.a + 0.01 * h, lo.a + 0.99 * h))
    return float(min(max(a, low), high)) if np.isfinite(a) else lo.a + h / 2


def _zoom(point, lo: _Trial, hi: _Trial, f0: float, dphi0: float, c1: float, c2: float) -> _Trial:
    """Shrink the bracket [lo, hi] (Nocedal and Wright, Algorithm 3.6); ``lo`` is the best point so far."""
    noise = _F_NOISE * abs(f0)
    for _ in range(60):
        cur = point(_interpolate(lo, hi))
        if not np.isfinite(cur.f) or cur.f > f0 + c1 * cur.a * dphi0 + noise or cur.f > lo.f + noise:
            hi = cur
        else:
            if abs(cur.dphi) <= -c2 * dphi0:
                return cur
            if cur.dphi * (hi.a - lo.a) >= 0:
                hi = lo
            lo = cur
        if abs(hi.a - lo.a) <= 1e-15 * max(abs(lo.a), abs(hi.a)):
            break
    return lo


def _line_search(f, grad, x, fx, g, d, alpha0: float, c1: float = 1e-4, c2: float = 0.9) -> _Trial:
    """A step along ``d`` satisfying the strong Wolfe conditions (Algorithm 3.5); step 0 if none is found."""
    def point(a):
        return _point(f, grad, x, d, a)

    dphi0, noise = float(g @ d), _F_NOISE * abs(fx)
    prev = start = _Trial(0.0, x, fx, g, dphi0)
    a = alpha0
    for i in range(60):
        cur = point(a)
        if not np.isfinite(cur.f) or cur.f > fx + c1 * a * dphi0 + noise or (i > 0 and cur.f > prev.f + noise):
            return _zoom(point, prev, cur, fx, dphi0, c1, c2)
        if abs(cur.dphi) <= -c2 * dphi0:
            return cur
        if cur.dphi >= 0:
            return _zoom(point, cur, prev, fx, dphi0, c1, c2)
        prev, a = cur, 2.0 * a
    return prev if prev.f < start.f else start


@_quiet
def newton(f: Callable, grad: Callable, hess: Callable, x0, steps: int, tol: float = 1e-12,
           callback: Callable | None = None) -> np.ndarray:
    r"""Newton's method: jump to the minimum of the local quadratic model.

    Unit 3, "Newton's method".

    .. math:: x \leftarrow x - \nabla^2 f(x)^{-1} \nabla f(x)

    Parameters
    ----------
    f, grad, hess : callable
        :math:`f(x)` (a float), :math:`\nabla f(x)` (shape ``(n,)``) and
        :math:`\nabla^2 f(x)` (shape ``(n, n)``). ``f`` is only used to stop a run whose
        value is no longer finite.
    x0 : array, shape (n,)
        Starting point.
    steps : int
        Largest number of steps.
    tol : float
        Stop when :math:`\|\nabla f(x)\| <` ``tol``.
    callback : callable, optional
        Called with each new iterate; the run stops after an iterate for which it returns True.

    Returns
    -------
    numpy.ndarray, shape (k + 1, n)
        The iterates, ``x0`` first.

    Notes
    -----
    On a quadratic with positive-definite Hessian one step lands on the minimum. Newton
    seeks *stationary* points: where the Hessian is indefinite (a saddle) it steps towards
    the saddle, and where it is singular the step uses the pseudo-inverse (least squares).
    Each step solves an :math:`n \times n` system, :math:`O(n^3)`: out of reach for a
    network with millions of weights, hence quasi-Newton methods.
    """
    x, steps, tol = _check_problem(f, grad, x0, steps, tol)
    if not callable(hess):
        raise TypeError(f"hess must be a function of x, got {type(hess).__name__}")
    path = [x]
    for _ in range(steps):
        g = _gradient(grad, x)
        if _done(float(f(x)), g, tol):
            break
        H = np.asarray(hess(x), dtype=np.float64)
        if H.shape != (x.size, x.size):
            raise ValueError(f"hess(x) must have shape {(x.size, x.size)}, got {H.shape}")
        try:
            x = x - np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            x = x - np.linalg.lstsq(H, g, rcond=None)[0]
        path.append(x)
        if callback is not None and callback(x):
            break
    return np.array(path)


@_quiet
def conjugate_gradient(f: Callable, grad: Callable, x0, steps: int, tol: float = 1e-12,
                       callback: Callable | None = None) -> np.ndarray:
    r"""Nonlinear conjugate gradient (Polak–Ribière+, with Powell's restarts).

    Unit 3, "Conjugate gradient".

    .. math::
        \begin{aligned}
        &d_0 \leftarrow -g_0 \\
        &\alpha_k \leftarrow \arg\min_\alpha f(x_k + \alpha d_k) \quad \text{(line search)} \\
        &x_{k+1} \leftarrow x_k + \alpha_k d_k \\
        &\beta_{k+1} \leftarrow \max\!\Bigl(0, \frac{g_{k+1}^\top (g_{k+1} - g_k)}{g_k^\top g_k}\Bigr) \\
        &d_{k+1} \leftarrow -g_{k+1} + \beta_{k+1} d_k
        \end{aligned}

    Parameters
    ----------
    f, grad : callable
        :math:`f(x)` and :math:`\nabla f(x)`.
    x0 : array, shape (n,)
    steps : int
        Largest number of steps (line searches).
    tol : float
        Stop when :math:`\|\nabla f(x)\| <` ``tol``.
    callback : callable, optional
        Called with each new iterate; the run stops after an iterate for which it returns True.

    Returns
    -------
    numpy.ndarray, shape (k + 1, n)

    Notes
    -----
    Each direction is conjugate to the previous ones with respect to the Hessian
    (:math:`d_i^\top H d_j = 0`), so on an :math:`n`-dimensional positive-definite
    quadratic, with exact line searches, the minimum is reached in at most :math:`n` steps,
    without ever forming :math:`H`. The line search here is nearly exact (see the module
    docstring). The "+" (:math:`\beta \ge 0`) and the restarts make the method robust on
    non-quadratic functions: the direction restarts from :math:`-g` when successive
    gradients are far from orthogonal, :math:`|g_{k+1}^\top g_k| \ge 0.1\,\|g_{k+1}\|^2`
    (Nocedal and Wright, eq. 5.52), which on a quadratic they are not. In floating point,
    conjugacy is gradually lost: with a condition number of :math:`10^4` the minimum takes
    about :math:`1.5n` steps instead of :math:`n`, as for linear CG.
    """
    x, steps, tol = _check_problem(f, grad, x0, steps, tol)
    fx, g = float(f(x)), _gradient(grad, x)
    path, d, alpha, slope = [x], -g, None, None
    for k in range(steps):
        if _done(fx, g, tol):
            break
        if g @ d >= 0:  # not a descent direction (only through round-off): restart
            d = -g
        alpha0 = 1.0 / np.linalg.norm(g) if alpha is None else alpha * slope / float(g @ d)
        t = _line_search(f, grad, x, fx, g, d, alpha0, c2=1e-10)
        if t.a == 0.0 or not t.f <= fx + _F_NOISE * abs(fx):
            break
        beta = max(0.0, float(t.g @ (t.g - g)) / float(g @ g))
        if abs(float(t.g @ g)) >= 0.1 * float(t.g @ t.g):  # gradients far from orthogonal
            beta = 0.0  # Powell's restart
        alpha, slope = t.a, float(g @ d)
        x, fx, g, d = t.x, t.f, t.g, -t.g + beta * d
        path.append(x)
        if callback is not None and callback(x):
            break
    return np.array(path)


def _bfgs_update(H: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""The BFGS update of the inverse Hessian, :math:`(I - \rho s y^\top) H (I - \rho y s^\top) + \rho s s^\top`."""
    rho = 1.0 / float(s @ y)
    V = np.eye(s.size) - rho * np.outer(s, y)
    return V @ H @ V.T + rho * np.outer(s, s)


@_quiet
def bfgs(f: Callable, grad: Callable, x0, steps: int, tol: float = 1e-12,
         callback: Callable | None = None) -> np.ndarray:
    r"""BFGS: a quasi-Newton method that learns the inverse Hessian from gradient differences.

    Unit 3, "Quasi-Newton methods".

    .. math::
        \begin{aligned}
        &d \leftarrow -H g, \quad x' \leftarrow x + \alpha d
            \quad \text{(Wolfe line search, } \alpha = 1 \text{ first)} \\
        &s \leftarrow x' - x, \quad y \leftarrow g' - g, \quad \rho \leftarrow 1 / (y^\top s) \\
        &H \leftarrow (I - \rho s y^\top) H (I - \rho y s^\top) + \rho s s^\top
        \end{aligned}

    Parameters
    ----------
    f, grad : callable
        :math:`f(x)` and :math:`\nabla f(x)`.
    x0 : array, shape (n,)
    steps : int
        Largest number of steps.
    tol : float
        Stop when :math:`\|\nabla f(x)\| <` ``tol``.
    callback : callable, optional
        Called with each new iterate; the run stops after an iterate for which it returns True.

    Returns
    -------
    numpy.ndarray, shape (k + 1, n)

    Notes
    -----
    :math:`H` starts as the identity, rescaled by :math:`s^\top y / y^\top y` after the
    first step (Nocedal and Wright, eq. 6.20). The update keeps :math:`H` positive
    definite whenever :math:`s^\top y > 0`, which the Wolfe conditions guarantee; a pair
    with :math:`s^\top y \le 0` (possible only through round-off) is skipped. Storing
    :math:`H` costs :math:`O(n^2)` memory; :func:`lbfgs` keeps only the last few pairs.
    """
    x, steps, tol = _check_problem(f, grad, x0, steps, tol)
    fx, g = float(f(x)), _gradient(grad, x)
    H, path = np.eye(x.size), [x]
    for k in range(steps):
        if _done(fx, g, tol):
            break
        d = -H @ g
        if g @ d >= 0:
            H, d = np.eye(x.size), -g
        t = _line_search(f, grad, x, fx, g, d, 1.0 if k else min(1.0, 1.0 / np.linalg.norm(g)))
        if t.a == 0.0 or not t.f <= fx + _F_NOISE * abs(fx):
            break
        s, y = t.x - x, t.g - g
        if s @ y > 0:
            if k == 0:
                H = (float(s @ y) / float(y @ y)) * H
            H = _bfgs_update(H, s, y)
        x, fx, g = t.x, t.f, t.g
        path.append(x)
        if callback is not None and callback(x):
            break
    return np.array(path)


def _two_loop(g: np.ndarray, pairs) -> np.ndarray:
    r"""L-BFGS's two-loop recursion: :math:`H g` from the stored pairs :math:`(s_i, y_i)`."""
    q, alphas = g.copy(), []
    for s, y in reversed(pairs):
        a = float(s @ q) / float(s @ y)
        q -= a * y
        alphas.append(a)
    if pairs:
        s, y = pairs[-1]
        q *= float(s @ y) / float(y @ y)
    for (s, y), a in zip(pairs, reversed(alphas)):
        b = float(y @ q) / float(s @ y)
        q += (a - b) * s
    return q


@_quiet
def lbfgs(f: Callable, grad: Callable, x0, steps: int, history: int = 10, tol: float = 1e-12,
          callback: Callable | None = None) -> np.ndarray:
    r"""L-BFGS: BFGS that keeps only the last ``history`` pairs :math:`(s, y)`.

    Unit 3, "Quasi-Newton methods".

    The direction :math:`d = -H g` is computed by the two-loop recursion from the stored
    pairs, starting from :math:`H_0 = \frac{s^\top y}{y^\top y} I` (the latest pair), in
    :math:`O(mn)` time and memory for :math:`m` = ``history``; then a Wolfe line search
    tries :math:`\alpha = 1` first, as in :func:`bfgs`.

    Parameters
    ----------
    f, grad : callable
        :math:`f(x)` and :math:`\nabla f(x)`.
    x0 : array, shape (n,)
    steps : int
        Largest number of steps.
    history : int
        Number :math:`m \ge 1` of pairs kept (default 10; ``torch.optim.LBFGS``'s
        ``history_size`` defaults to 100).
    tol : float
        Stop when :math:`\|\nabla f(x)\| <` ``tol``.
    callback : callable, optional
        Called with each new iterate; the run stops after an iterate for which it returns True.

    Returns
    -------
    numpy.ndarray, shape (k + 1, n)

    Notes
    -----
    ``torch.optim.LBFGS`` implements the same recursion, but its line search is optional
    (``line_search_fn="strong_wolfe"``) and it takes several inner iterations per
    ``step(closure)``.

    References
    ----------
    Liu and Nocedal (1989), "On the limited memory BFGS method for large scale
    optimization", Mathematical Programming 45.
    """
    x, steps, tol = _check_problem(f, grad, x0, steps, tol)
    history = check_positive_int(history, "history")
    fx, g = float(f(x)), _gradient(grad, x)
    pairs, path = deque(maxlen=history), [x]
    for k in range(steps):
        if _done(fx, g, tol):
            break
        d = -_two_loop(g, pairs)
        if g @ d >= 0:
            pairs.clear()
            d = -g
        t = _line_search(f, grad, x, fx, g, d, 1.0 if pairs else min(1.0, 1.0 / np.linalg.norm(g)))
        if t.a == 0.0 or not t.f <= fx + _F_NOISE * abs(fx):
            break
        s, y = t.x - x, t.g - g
        if s @ y > 0:
            pairs.append((s, y))
        x, fx, g = t.x, t.f, t.g
        path.append(x)
        if callback is not None and callback(x):
            break
    return np.array(path)
