r"""Two-dimensional test functions for the optimizer race (Unit 3, "Optimizer race").

Each landscape is an object with

- ``value(x)`` for ``x`` of shape ``(..., 2)``, or ``value(X, Y)`` for two broadcastable
  arrays (a grid for a contour plot), returning one number per point;
- ``grad(x)`` of shape ``(..., 2)`` and ``hess(x)`` of shape ``(..., 2, 2)``;
- ``formula(x, y)``: the same function written with ``+ - * **`` only, so that it also
  runs on torch tensors (``torch.autograd`` then checks our derivatives);
- ``name``, a default ``start`` point, a plotting box ``xlim``/``ylim``, the known
  ``minima`` (an array of shape ``(k, 2)``) and ``min_value``.

They are registered by name in :data:`LANDSCAPES`::

    from dlcourse.landscapes import LANDSCAPES, rosenbrock
    X, Y, Z = rosenbrock.grid(200)          # for plt.contour(X, Y, Z)
    rosenbrock.grad(np.array([-1.2, 1.0]))  # array([-215.6,  -88. ])

:func:`noisy` wraps a landscape so that its gradient carries seeded Gaussian noise, as a
mini-batch gradient does.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, as_rng, as_seed, check_number

__all__ = ["Landscape", "Rosenbrock", "Beale", "Himmelblau", "Saddle", "IllConditionedBowl",
           "Booth", "Matyas", "NoisyLandscape", "noisy",
           "rosenbrock", "beale", "himmelblau", "saddle", "ill_conditioned_bowl", "booth", "matyas",
           "LANDSCAPES", "get_landscape"]


class Landscape:
    r"""Base class: a smooth :math:`f: \mathbb{R}^2 \to \mathbb{R}` with its gradient and Hessian.

    Subclasses define ``formula(x, y)``, ``_grad_xy(x, y) -> (f_x, f_y)`` and
    ``_hess_xy(x, y) -> (f_xx, f_xy, f_yy)``, elementwise in ``x`` and ``y``, and set
    the class attributes below.

    Attributes
    ----------
    name : str
    start : numpy.ndarray, shape (2,)
        A default starting point for the race.
    xlim, ylim : (float, float)
        A box that shows the interesting part of the function.
    minima : numpy.ndarray, shape (k, 2)
        The known global minima (empty when the function is unbounded below).
    min_value : float
        The smallest value (``-inf`` when unbounded below).
    """

    name = "landscape"
    start = (0.0, 0.0)
    xlim = (-1.0, 1.0)
    ylim = (-1.0, 1.0)
    minima = np.zeros((0, 2))
    min_value = -np.inf

    def formula(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _grad_xy(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def _hess_xy(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def __init__(self):
        self.start = np.array(self.start, dtype=np.float64)
        self.minima = np.array(self.minima, dtype=np.float64).reshape(-1, 2)

    @staticmethod
    def _points(x) -> np.ndarray:
        x = as_float_array(x, "x")
        if x.ndim == 0 or x.shape[-1] != 2:
            raise ValueError(f"x must have shape (..., 2) (points of the plane), got {x.shape}; "
                             "for a grid call value(X, Y)")
        return x

    def value(self, x, y=None):
        r""":math:`f` at points ``x`` of shape ``(..., 2)``, or at ``(X, Y)`` broadcast together.

        Returns a float for a single point, else an array of the points' batch shape.
        """
        if y is not None:
            X, Y = np.broadcast_arrays(as_float_array(x, "X"), as_float_array(y, "Y"))
            return np.asarray(self.formula(X, Y), dtype=np.float64)
        x = self._points(x)
        if x.shape == (2,):  # NumPy scalars: overflow gives inf (and a warning), not an exception
            return float(self.formula(x[0], x[1]))
        return np.asarray(self.formula(x[..., 0], x[..., 1]), dtype=np.float64)

    __call__ = value

    def grad(self, x) -> np.ndarray:
        r""":math:`\nabla f` at ``x`` of shape ``(..., 2)``; the result has the same shape."""
        x = self._points(x)
        if x.shape == (2,):
            return self._grad_point(x)
        gx, gy = self._grad_xy(x[..., 0], x[..., 1])
        return np.stack(np.broadcast_arrays(gx, gy), axis=-1).astype(np.float64)

    def _grad_point(self, x: np.ndarray) -> np.ndarray:
        """The gradient at one point of shape (2,), unchecked: Python floats, no temporaries (the race)."""
        gx, gy = self._grad_xy(float(x[0]), float(x[1]))
        return np.array([gx, gy])

    def hess(self, x) -> np.ndarray:
        r""":math:`\nabla^2 f` at ``x`` of shape ``(..., 2)``; the result has shape ``(..., 2, 2)``."""
        x = self._points(x)
        hxx, hxy, hyy = np.broadcast_arrays(*self._hess_xy(x[..., 0], x[..., 1]), x[..., 0])[:3]
        return np.stack([np.stack([hxx, hxy], -1), np.stack([hxy, hyy], -1)], -2).astype(np.float64)

    def grid(self, n: int = 200, xlim=None, ylim=None):
        """``X, Y, Z`` on an ``n`` by ``n`` grid over the box, ready for ``plt.contour(X, Y, Z)``."""
        xlim = self.xlim if xlim is None else xlim
        ylim = self.ylim if ylim is None else ylim
        X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
        return X, Y, self.value(X, Y)

    def distance_to_minimum(self, x) -> np.ndarray:
        """Distance from ``x`` (shape ``(..., 2)``) to the nearest known minimum (``inf`` if none)."""
        x = self._points(x)
        if len(self.minima) == 0:
            return np.full(x.shape[:-1], np.inf)
        return np.min(np.linalg.norm(x[..., None, :] - self.minima, axis=-1), axis=-1)

    def __repr__(self) -> str:
        return f"<landscape {self.name!r}: start {self.start.tolist()}, minima {self.minima.tolist()}>"


class Rosenbrock(Landscape):
    r"""The banana valley :math:`f(x, y) = (a - x)^2 + b\,(y - x^2)^2`, minimum at :math:`(a, a^2)`.

    A curved, flat-bottomed valley: finding it is easy, following it to the minimum is
    slow for gradient descent (the Hessian at the minimum has condition number about 2500
    for :math:`a = 1, b = 100`). Rosenbrock (1960), The Computer Journal 3(3).
    """

    name = "rosenbrock"
    start = (-1.2, 1.0)
    xlim, ylim = (-2.0, 2.0), (-1.0, 3.0)
    min_value = 0.0

    def __init__(self, a: float = 1.0, b: float = 100.0):
        self.a = check_number(a, "a")
        self.b = check_number(b, "b", low=0.0)
        self.minima = [(self.a, self.a ** 2)]
        super().__init__()

    def formula(self, x, y):
        return (self.a - x) ** 2 + self.b * (y - x ** 2) ** 2

    def _grad_xy(self, x, y):
        return -2 * (self.a - x) - 4 * self.b * x * (y - x * x), 2 * self.b * (y - x * x)

    def _hess_xy(self, x, y):
        return 2 - 4 * self.b * y + 12 * self.b * x * x, -4 * self.b * x, 2 * self.b + 0 * x


class Beale(Landscape):
    r"""Beale's function :math:`\sum_{i=1}^{3} (c_i - x + x y^i)^2`, :math:`c = (1.5, 2.25, 2.625)`.

    Flat plateaus and sharp ridges; the minimum is at :math:`(3, 1/2)`.
    """

    name = "beale"
    start = (1.0, 1.5)
    xlim, ylim = (-4.5, 4.5), (-4.5, 4.5)
    minima = [(3.0, 0.5)]
    min_value = 0.0

    def formula(self, x, y):
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2

    @staticmethod
    def _terms(x, y):
        """Residuals :math:`u_i` and their first derivatives :math:`\\partial_x u_i, \\partial_y u_i`."""
        y2 = y * y  # products, not powers: a Python float overflows to inf only through *
        u = (1.5 - x + x * y, 2.25 - x + x * y2, 2.625 - x + x * y2 * y)
        ux = (y - 1, y2 - 1, y2 * y - 1)
        uy = (x, 2 * x * y, 3 * x * y2)
        return u, ux, uy

    def _grad_xy(self, x, y):
        u, ux, uy = self._terms(x, y)
        return 2 * sum(a * b for a, b in zip(u, ux)), 2 * sum(a * b for a, b in zip(u, uy))

    def _hess_xy(self, x, y):
        u, ux, uy = self._terms(x, y)
        uxy = (1, 2 * y, 3 * y * y)
        uyy = (0, 2 * x, 6 * x * y)
        hxx = 2 * sum(a * a for a in ux)
        hxy = 2 * sum(a * b + c * d for a, b, c, d in zip(ux, uy, u, uxy))
        hyy = 2 * sum(a * a + c * d for a, c, d in zip(uy, u, uyy))
        return hxx, hxy, hyy


class Himmelblau(Landscape):
    r"""Himmelblau's function :math:`(x^2 + y - 11)^2 + (x + y^2 - 7)^2`: four minima, all of value 0.

    Which minimum an optimizer reaches depends on where it starts and how it moves; a
    local maximum sits at about :math:`(-0.271, -0.923)`.
    """

    name = "himmelblau"
    start = (0.0, 0.0)
    xlim, ylim = (-5.0, 5.0), (-5.0, 5.0)
    minima = [(3.0, 2.0), (-2.805118086952745, 3.131312518250573),
              (-3.779310253377747, -3.2831859912861696), (3.5844283403304917, -1.8481265269644036)]
    min_value = 0.0

    def formula(self, x, y):
        return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2

    def _grad_xy(self, x, y):
        u, v = x * x + y - 11, x + y * y - 7
        return 4 * x * u + 2 * v, 2 * u + 4 * y * v

    def _hess_xy(self, x, y):
        u, v = x * x + y - 11, x + y * y - 7
        return 4 * u + 8 * x * x + 2, 4 * x + 4 * y, 4 * v + 8 * y * y + 2


class Saddle(Landscape):
    r"""The saddle :math:`f(x, y) = x^2 - y^2`: a stationary point at the origin that is no minimum.

    Started near the :math:`x` axis, gradient descent first heads for the origin, then
    escapes along :math:`y`; :math:`f` is unbounded below, so there is no minimum
    (``minima`` is empty, ``min_value`` is ``-inf``). Newton's method jumps straight to
    the saddle: it seeks stationary points, not minima.
    """

    name = "saddle"
    start = (1.0, 1e-3)
    xlim, ylim = (-1.5, 1.5), (-1.5, 1.5)
    stationary_point = np.zeros(2)

    def formula(self, x, y):
        return x ** 2 - y ** 2

    def _grad_xy(self, x, y):
        return 2 * x, -2 * y

    def _hess_xy(self, x, y):
        return 2 + 0 * x, 0 * x, -2 + 0 * x


class IllConditionedBowl(Landscape):
    r"""A quadratic bowl :math:`f(z) = \tfrac12 z^\top H z` whose Hessian has condition number :math:`\kappa`.

    .. math:: H = R_\varphi \begin{pmatrix} 1 & 0 \\ 0 & \kappa \end{pmatrix} R_\varphi^\top

    with :math:`R_\varphi` the rotation by ``angle`` :math:`\varphi` (radians). Gradient
    descent is stable for :math:`\text{lr} < 2/\kappa` and then needs about :math:`\kappa`
    steps: it zig-zags across the valley. Rotating the bowl (``angle=np.pi/4``) takes away
    the advantage per-coordinate methods (Adagrad, RMSprop, Adam) have on an axis-aligned one.

    Parameters
    ----------
    condition_number : float
        :math:`\kappa \ge 1` (default 10).
    angle : float
        Rotation :math:`\varphi` of the bowl's axes (default 0: axis-aligned).
    """

    name = "ill_conditioned_bowl"
    start = (-4.0, 2.0)
    xlim, ylim = (-5.0, 5.0), (-3.0, 3.0)
    minima = [(0.0, 0.0)]
    min_value = 0.0

    def __init__(self, condition_number: float = 10.0, angle: float = 0.0):
        self.condition_number = check_number(condition_number, "condition_number", low=1.0)
        self.angle = check_number(angle, "angle")
        c, s = np.cos(self.angle), np.sin(self.angle)
        R = np.array([[c, -s], [s, c]])
        self.H = R @ np.diag([1.0, self.condition_number]) @ R.T
        self._h = (float(self.H[0, 0]), float(self.H[0, 1]), float(self.H[1, 1]))
        super().__init__()

    def formula(self, x, y):
        hxx, hxy, hyy = self._h
        return 0.5 * (hxx * x ** 2 + 2 * hxy * x * y + hyy * y ** 2)

    def _grad_xy(self, x, y):
        hxx, hxy, hyy = self._h
        return hxx * x + hxy * y, hxy * x + hyy * y

    def _hess_xy(self, x, y):
        return tuple(h + 0 * x for h in self._h)


class Booth(Landscape):
    r"""Booth's function :math:`(x + 2y - 7)^2 + (2x + y - 5)^2`, a tilted bowl with minimum :math:`(1, 3)`."""

    name = "booth"
    start = (-5.0, -5.0)
    xlim, ylim = (-10.0, 10.0), (-10.0, 10.0)
    minima = [(1.0, 3.0)]
    min_value = 0.0

    def formula(self, x, y):
        return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2

    def _grad_xy(self, x, y):
        return 10 * x + 8 * y - 34, 8 * x + 10 * y - 38

    def _hess_xy(self, x, y):
        return 10 + 0 * x, 8 + 0 * x, 10 + 0 * x


class Matyas(Landscape):
    r"""Matyas' function :math:`0.26(x^2 + y^2) - 0.48xy`: a flat diagonal valley (condition number 25)."""

    name = "matyas"
    start = (-8.0, -6.0)
    xlim, ylim = (-10.0, 10.0), (-10.0, 10.0)
    minima = [(0.0, 0.0)]
    min_value = 0.0

    def formula(self, x, y):
        return 0.26 * (x ** 2 + y ** 2) - 0.48 * x * y

    def _grad_xy(self, x, y):
        return 0.52 * x - 0.48 * y, 0.52 * y - 0.48 * x

    def _hess_xy(self, x, y):
        return 0.52 + 0 * x, -0.48 + 0 * x, 0.52 + 0 * x


class NoisyLandscape(Landscape):
    r"""A landscape whose gradient carries Gaussian noise, as a mini-batch gradient does.

    .. math:: \tilde\nabla f(x) = \nabla f(x) + \sigma \xi, \qquad \xi \sim \mathcal{N}(0, I)

    ``value`` and ``hess`` are the base landscape's, noise-free. The noise comes from a
    generator seeded from ``rng``; :meth:`reset` restarts it, so that every optimizer in a
    race sees the same noise sequence.

    Parameters
    ----------
    base : Landscape
    sigma : float
        Standard deviation :math:`\sigma \ge 0` of the noise on each coordinate.
    rng : None, int or numpy.random.Generator
        The noise's seed (a Generator gives one int seed drawn from it, see ``_validate.as_seed``).
    """

    def __init__(self, base: Landscape, sigma: float = 1.0, rng=0):
        seed = as_seed(rng, "rng")
        if not isinstance(base, Landscape):
            raise TypeError(f"base must be a Landscape (e.g. dlcourse.landscapes.rosenbrock), "
                            f"got {type(base).__name__}")
        self.base = base
        self.sigma = check_number(sigma, "sigma", low=0.0)
        self.seed = seed
        self.name = f"noisy_{base.name}"
        self.start, self.minima = base.start.copy(), base.minima.copy()
        self.xlim, self.ylim, self.min_value = base.xlim, base.ylim, base.min_value
        self.reset()

    def reset(self, rng=None) -> None:
        """Restart the noise generator (from ``rng``, or the constructor's seed)."""
        self._rng = as_rng(self.seed if rng is None else as_seed(rng, "rng"))

    def formula(self, x, y):
        return self.base.formula(x, y)

    def _grad_xy(self, x, y):
        return self.base._grad_xy(x, y)

    def _hess_xy(self, x, y):
        return self.base._hess_xy(x, y)

    def grad(self, x) -> np.ndarray:
        g = self.base.grad(x)
        return g + self.sigma * self._rng.standard_normal(g.shape)

    def _grad_point(self, x: np.ndarray) -> np.ndarray:
        return self.base._grad_point(x) + self.sigma * self._rng.standard_normal(2)


def noisy(landscape: Landscape, sigma: float = 1.0, rng=0) -> NoisyLandscape:
    """``landscape`` with Gaussian noise of standard deviation ``sigma`` on its gradient (seeded)."""
    seed = as_seed(rng, "rng")
    return NoisyLandscape(landscape, sigma=sigma, rng=seed)


rosenbrock = Rosenbrock()
beale = Beale()
himmelblau = Himmelblau()
saddle = Saddle()
ill_conditioned_bowl = IllConditionedBowl()
booth = Booth()
matyas = Matyas()

LANDSCAPES: dict[str, Landscape] = {
    f.name: f for f in [rosenbrock, beale, himmelblau, saddle, ill_conditioned_bowl, booth, matyas]
}


def get_landscape(name: str) -> Landscape:
    """The landscape registered as ``name`` in :data:`LANDSCAPES`."""
    if name not in LANDSCAPES:
        raise ValueError(f"unknown landscape {name!r}; choose one of {sorted(LANDSCAPES)}")
    return LANDSCAPES[name]
