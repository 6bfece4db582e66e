r"""The optimizer race: several optimizers, one landscape, one start (Unit 3, "Optimizer race").

::

    from dlcourse.optim import SGD, Adam
    from dlcourse.explore.race import race
    result = race("rosenbrock", {"SGD": lambda p: SGD(p, lr=1e-3, momentum=0.9),
                                 "Adam": lambda p: Adam(p, lr=0.05)}, steps=500)
    result.trajectories["Adam"]     # (501, 2), to draw on the contour plot
    print(result.leaderboard)       # who settled within tol of the minimum first

A student's own optimizer (a subclass of :class:`~dlcourse.optim.Optimizer`) joins the
race the same way, and so do the second-order methods of :mod:`dlcourse.optim.second_order`,
given as the function itself or a ``functools.partial`` of it::

    from functools import partial
    from dlcourse.optim import bfgs, lbfgs, newton
    race("beale", {"Newton": newton, "BFGS": bfgs, "L-BFGS(5)": partial(lbfgs, history=5)})

One *step* of a second-order method is one iteration: a Newton step solves a linear system
with the Hessian, and a quasi-Newton step runs a line search that may evaluate the gradient
several times. ``RaceResult.evaluations`` counts the gradient evaluations, a fairer clock.
"""

from __future__ import annotations

import copy
import functools
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_finite, check_number, check_positive_int
from ..optim.optimizer import Optimizer
from ..optim.second_order import bfgs, conjugate_gradient, lbfgs, newton

SECOND_ORDER = (newton, conjugate_gradient, bfgs, lbfgs)

__all__ = ["race", "RaceResult", "LeaderboardRow", "Leaderboard"]


class LeaderboardRow(NamedTuple):
    """One optimizer's result: ``steps_to_tol`` is ``None`` if it did not end within ``tol``."""
    rank: int
    name: str
    steps_to_tol: int | None
    final_loss: float
    final_distance: float
    diverged: bool


class Leaderboard(list):
    """Rows of :class:`LeaderboardRow`, best first, shown as a table."""

    def __str__(self) -> str:
        lines = [f"{'rank':<5} {'optimizer':<16} {'steps to tol':>12} {'final loss':>12} {'distance':>10}  diverged"]
        for r in self:
            steps = "-" if r.steps_to_tol is None else str(r.steps_to_tol)
            lines.append(f"{r.rank:<5} {r.name:<16} {steps:>12} {r.final_loss:>12.4g} "
                         f"{r.final_distance:>10.3g}  {'yes' if r.diverged else 'no'}")
        return "\n".join(lines)

    __repr__ = __str__

    @classmethod
    def from_rows(cls, rows) -> "Leaderboard":
        """Rank :class:`LeaderboardRow` objects (from separate races on the same landscape) together."""
        return _rank([tuple(r)[1:] for r in rows])


class RaceResult(NamedTuple):
    """What :func:`race` returns.

    Attributes
    ----------
    trajectories : dict of str to numpy.ndarray, shape (steps + 1, 2)
        Each optimizer's iterates, the start first; NaN after a divergence.
    losses : dict of str to numpy.ndarray, shape (steps + 1,)
        The landscape's value along each trajectory.
    leaderboard : Leaderboard
        One :class:`LeaderboardRow` per optimizer, best first.
    evaluations : dict of str to numpy.ndarray of int, shape (steps + 1,)
        Gradient evaluations spent to reach each step: ``t`` for a first-order optimizer
        and for Newton (which also evaluates a Hessian per step), more for the line searches
        of conjugate gradient, BFGS and L-BFGS.
    """
    trajectories: dict
    losses: dict
    leaderboard: Leaderboard
    evaluations: dict


def _second_order(spec):
    """``(function, keywords)`` if ``spec`` is a second-order method or a partial of one, else ``None``."""
    if isinstance(spec, functools.partial) and spec.func in SECOND_ORDER:
        if spec.args:
            raise TypeError(f"a partial of {spec.func.__name__} may only fix keywords (e.g. "
                            f"partial(lbfgs, history=5)), got positional arguments {spec.args!r}")
        return spec.func, dict(spec.keywords)
    if any(spec is fn for fn in SECOND_ORDER):
        return spec, {}
    return None


def _rebind(name: str, template: Optimizer, param: np.ndarray) -> Optimizer:
    """A copy of ``template`` (its class and hyperparameters, fresh state) bound to ``[param]``.

    The race moves one point, so the template must have one parameter group: with several, which
    group's hyperparameters the point should get is not defined (it used to be the first, silently).
    """
    if len(template.param_groups) != 1:
        raise ValueError(f"optimizers[{name!r}] is an optimizer with {len(template.param_groups)} parameter groups; "
                         f"the race moves one point, so give it one group (or a function params -> optimizer)")
    new = copy.copy(template)
    hyper = {key: copy.deepcopy(value) for key, value in template.param_groups[0].items() if key != "params"}
    new.__dict__.update(param_groups=[], params=[], state=[], _active=None)
    new.add_param_group({"params": [param], **hyper})
    return new


def _make_optimizer(name: str, spec, param: np.ndarray) -> Optimizer:
    """An optimizer bound to ``[param]`` from a class, a factory or a template instance."""
    if isinstance(spec, Optimizer):
        return _rebind(name, spec, param)
    if callable(spec):
        opt = spec([param])
        if not hasattr(opt, "step"):
            raise TypeError(f"optimizers[{name!r}] must return an optimizer when called with [param], "
                            f"got {type(opt).__name__}")
        return opt
    raise TypeError(f"optimizers[{name!r}] must be an Optimizer, an Optimizer class or a function "
                    f"params -> Optimizer (e.g. lambda p: SGD(p, lr=0.01)), got {type(spec).__name__}")


def _run(landscape, opt: Optimizer, param: np.ndarray, steps: int, bound: float) -> tuple[np.ndarray, bool]:
    """Step ``opt`` ``steps`` times on ``landscape``; NaN rows after a divergence."""
    path = np.full((steps + 1, param.size), np.nan)
    path[0] = param
    grad = landscape._grad_point  # x0 was checked once; skip the per-call validation
    if type(opt).step is Optimizer.step:  # the gradients are well-formed: skip step's checks too
        step = opt._step
    else:
        step = opt.step
    for t in range(1, steps + 1):
        step([grad(param)])
        x, y = float(param[0]), float(param[1])
        if not (abs(x) <= bound and abs(y) <= bound):  # also catches NaN
            return path, True
        path[t] = param
    return path, False


def _run_second_order(landscape, fn, kwargs: dict, x0: np.ndarray, steps: int, bound: float,
                      budget: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Iterates of a second-order method padded to ``steps + 1`` rows, the gradient evaluations, divergence.

    The run stops once it has spent ``budget`` gradient evaluations (line searches on a
    noisy landscape can spend dozens per step), or once it leaves the box of ``bound``.
    """
    calls = [0]
    evals = [1 if fn is not newton else 0]  # the line-search methods start with the gradient at x0

    def grad(x):
        calls[0] += 1
        return landscape.grad(x)

    def record(x):  # stop at the budget, or once the run has diverged
        evals.append(calls[0])
        return calls[0] >= budget or not bool(np.all(np.abs(x) <= bound))

    args = (landscape.value, grad, landscape.hess) if fn is newton else (landscape.value, grad)
    iterates = fn(*args, x0, steps, callback=record, **kwargs)
    k = len(iterates)
    path = np.vstack([iterates, np.repeat(iterates[-1:], steps + 1 - k, axis=0)])
    evals = np.concatenate([evals[:k], np.full(steps + 1 - k, evals[k - 1])]).astype(int)
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.abs(path) <= bound).all(axis=1))
    if bad.size:
        path[bad[0]:] = np.nan
        evals[bad[0]:] = evals[bad[0] - 1]
    return path, evals, bool(bad.size)


def _steps_to_tol(gap: np.ndarray, tol: float) -> int | None:
    """The first step from which the gap stays within ``tol`` to the end (``None`` if it never settles)."""
    with np.errstate(invalid="ignore"):
        outside = np.flatnonzero(~(gap <= tol))
    if outside.size == 0:
        return 0
    return int(outside[-1]) + 1 if outside[-1] + 1 < len(gap) else None


def _rank(rows: list[tuple]) -> Leaderboard:
    def key(r):
        name, steps, loss, dist, diverged = r
        return (diverged, steps is None, steps if steps is not None else 0,
                loss if np.isfinite(loss) else np.inf)
    ordered = sorted(rows, key=key)
    return Leaderboard(LeaderboardRow(i + 1, *r) for i, r in enumerate(ordered))


def race(landscape, optimizers: dict, x0=None, steps: int = 500, tol: float = 1e-6,
         divergence_bound: float = 1e6, max_evaluations: int | None = None) -> RaceResult:
    r"""Run every optimizer from the same start on ``landscape`` and rank them.

    Parameters
    ----------
    landscape : Landscape or str
        A landscape of :mod:`dlcourse.landscapes`, or its name in ``LANDSCAPES``.
    optimizers : dict of str to Optimizer class, factory, Optimizer or second-order method
        How to build each racer: an :class:`Optimizer` subclass (its defaults are used), a
        function ``params -> Optimizer`` such as ``lambda p: Adam(p, lr=0.1)``, an
        optimizer instance, used as a template (same class and hyperparameters, fresh
        state, bound to the race's point), or one of :func:`newton`,
        :func:`conjugate_gradient`, :func:`bfgs`, :func:`lbfgs` (or a ``functools.partial``
        of one fixing keywords, such as ``partial(lbfgs, history=5)``).
    x0 : array of shape (2,), optional
        Start (default ``landscape.start``).
    steps : int
        Number of steps per optimizer.
    tol : float
        An optimizer has *arrived* at the first step from which :math:`f(x_t) - f^* \le` ``tol``
        holds until the last step (a racer that only passes through the tolerance has not arrived).
    divergence_bound : float
        A run stops, flagged as diverged, once a coordinate leaves
        :math:`[-\text{bound}, \text{bound}]` or becomes NaN.
    max_evaluations : int, optional
        A second-order method stops once it has spent this many gradient evaluations
        (default ``2 * steps``; a first-order optimizer spends exactly one per step).

    Returns
    -------
    RaceResult
        ``trajectories`` (each ``(steps + 1, 2)``), ``losses`` (each ``(steps + 1,)``),
        ``evaluations`` (each ``(steps + 1,)``) and the ``leaderboard``, rows of rank, name,
        steps_to_tol, final_loss and final_distance (to the nearest known minimum, both at
        the last finite point) and diverged, ranked by: not diverged, then fewest steps to
        ``tol``, then lowest final loss.

    Notes
    -----
    A noisy landscape (:func:`dlcourse.landscapes.noisy`) is reset before each optimizer,
    so that all of them see the same noise. The loop is plain Python over tiny arrays:
    six optimizers times 500 steps take a few tens of milliseconds. A second-order method
    that stops early (converged, or its line search can make no more progress) stays at its
    last iterate for the remaining steps.
    """
    from ..landscapes import Landscape, get_landscape

    if isinstance(landscape, str):
        landscape = get_landscape(landscape)
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a Landscape or the name of one, got {type(landscape).__name__}")
    if not isinstance(optimizers, dict) or not optimizers:
        raise TypeError("optimizers must be a non-empty dict {name: optimizer class, factory or instance}, "
                        f"got {optimizers!r}")
    x0 = landscape.start if x0 is None else as_float_array(x0, "x0", ndim=1)
    if x0.shape != (2,):
        raise ValueError(f"x0 must be a point of the plane, shape (2,), got {x0.shape}")
    check_finite(x0, "x0")
    steps = check_positive_int(steps, "steps", minimum=0)
    tol = check_number(tol, "tol", low=0.0)
    bound = check_number(divergence_bound, "divergence_bound", low=0.0, low_open=True)
    budget = 2 * steps if max_evaluations is None else check_positive_int(max_evaluations, "max_evaluations")

    trajectories, losses, evaluations, rows = {}, {}, {}, []
    for name, spec in optimizers.items():
        if hasattr(landscape, "reset"):
            landscape.reset()
        param = np.array(x0, dtype=np.float64)
        method = _second_order(spec)
        if method is None:
            path, diverged = _run(landscape, _make_optimizer(name, spec, param), param, steps, bound)
            evaluations[name] = np.arange(steps + 1)
        else:
            path, evaluations[name], diverged = _run_second_order(landscape, *method, param, steps, bound, budget)
        with np.errstate(over="ignore", invalid="ignore"):
            loss = landscape.value(path)
        last = path[~np.isnan(path[:, 0])][-1]
        trajectories[name], losses[name] = path, loss
        rows.append((name, _steps_to_tol(loss - landscape.min_value, tol),
                     float(landscape.value(last)), float(landscape.distance_to_minimum(last)), diverged))
    return RaceResult(trajectories, losses, _rank(rows), evaluations)
