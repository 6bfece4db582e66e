r"""Capacity lab: polynomials of growing degree, or tanh networks of growing width, fitted again and again.

Every curve comes from ``n_repeats`` training sets of the same noisy sine problem
(:func:`dlcourse.regularization.sine_problem`). For each complexity we keep every fit's
predictions on a grid, and measure

* the training error (mean over fits of the MSE on their own training set),
* the validation error (mean over fits of the MSE on one fixed, independent noisy sample),
* bias², variance and noise, as in :func:`dlcourse.regularization.bias_variance_decomposition`:
  :math:`\text{bias}^2 + \text{variance} + \sigma^2` estimates the validation error.

The networks are 1-H-1 tanh MLPs trained by full-batch Adam on the squared error, all
``n_repeats`` of them at once (one batched set of weights per training set, :class:`WidthNets`),
by :func:`dlcourse.train.train_step` with a loss pair that scores every network on its own
training set (:func:`dlcourse.losses.mse` per network).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np
from matplotlib.collections import LineCollection

from .. import losses as L
from .._validate import as_seed
from ..optim import Adam
from ..plotting import PALETTE, View, legend_outside
from ..regularization import sine_problem
from ..train import train_step
from .threads import single_threaded

DEGREES = tuple(range(0, 13))
WIDTHS = (1, 2, 3, 4, 8, 16, 32)
N_TRAIN = (10, 20, 50, 200)
NOISE = (0.1, 0.3, 0.6)
THRESHOLD = 0.05        # where "high" bias² or variance starts, for the four quadrants
N_REPEATS = 30
X_GRID = np.linspace(0.0, 1.0, 100)
SHOWN_FITS = 20


class CapacityCurves(NamedTuple):
    family: str                 # "polynomial" or "network"
    complexities: np.ndarray    # degrees or widths
    train_error: np.ndarray     # (K,)
    val_error: np.ndarray       # (K,)
    bias2: np.ndarray           # (K,)
    variance: np.ndarray        # (K,)
    noise: float                # sigma^2
    predictions: np.ndarray     # (K, R, len(X_GRID)) every fit on the grid
    n_train: int
    noise_std: float
    example: tuple              # one training set (x, y), for the picture


def _draw_sets(n_train: int, noise_std: float, n_repeats: int, rng):
    """``n_repeats`` training sets (drawn in order from ``seed``, as bias_variance_decomposition does)
    and an independent validation sample of 500 points."""
    seed = as_seed(rng, "rng")
    problem = sine_problem(n_train, noise_std)
    rng = np.random.default_rng(seed)
    sets = [problem.sample(rng) for _ in range(n_repeats)]
    val_rng = np.random.default_rng(seed + 1000)
    x_val = val_rng.uniform(0, 1, 500)
    return problem, sets, (x_val, problem.f(x_val) + val_rng.normal(0, noise_std, 500))


def _summarize(family, complexities, per_k, problem, sets, val, n_train, noise_std) -> CapacityCurves:
    """``per_k``: for each complexity a tuple (train_pred (R, n), val_pred (R, 500), grid_pred (R, G))."""
    ys = np.stack([y for _, y in sets])
    truth = problem.f(X_GRID)
    tr = np.array([np.mean((p_tr - ys) ** 2) for p_tr, _, _ in per_k])
    va = np.array([np.mean((p_va - val[1]) ** 2) for _, p_va, _ in per_k])
    grids = np.stack([g for _, _, g in per_k])
    bias2 = np.mean((grids.mean(axis=1) - truth) ** 2, axis=1)
    variance = np.mean(grids.var(axis=1), axis=1)
    return CapacityCurves(family, np.array(complexities), tr, va, bias2, variance, noise_std ** 2, grids,
                          n_train, noise_std, sets[0])


def polynomial_fit_eval(x, y, degree: int, x_eval) -> np.ndarray:
    """Least-squares polynomial of ``degree`` fitted to ``(x, y)``, evaluated at ``x_eval``.

    The same computation as ``numpy.polynomial.Polynomial.fit(x, y, degree)(x_eval)`` (and so as
    :func:`dlcourse.regularization.polynomial_fit_predict`): x mapped to [-1, 1], scaled columns,
    ``lstsq``; written out so that one fit serves the training, validation and grid points.
    """
    lo, hi = x.min(), x.max()
    off, scale = (lo + hi) / 2, (hi - lo) / 2
    V = np.polynomial.polynomial.polyvander((x - off) / scale, degree)
    norms = np.sqrt((V * V).sum(axis=0))
    norms[norms == 0] = 1.0
    coef = np.linalg.lstsq(V / norms, y, rcond=len(x) * np.finfo(float).eps)[0] / norms
    return np.polynomial.polynomial.polyvander((x_eval - off) / scale, degree) @ coef


@lru_cache(maxsize=16)
@single_threaded
def polynomial_curves(n_train: int = 20, noise_std: float = 0.3, n_repeats: int = N_REPEATS,
                      rng=0) -> CapacityCurves:
    """Least-squares polynomials of every degree in ``DEGREES`` on the same training sets."""
    seed = as_seed(rng, "rng")
    problem, sets, val = _draw_sets(n_train, noise_std, n_repeats, seed)
    per_k = []
    for d in DEGREES:
        out = np.stack([polynomial_fit_eval(x, y, d, np.concatenate([x, val[0], X_GRID])) for x, y in sets])
        per_k.append((out[:, :n_train], out[:, n_train:n_train + len(val[0])], out[:, n_train + len(val[0]):]))
    return _summarize("polynomial", DEGREES, per_k, problem, sets, val, n_train, noise_std)


def _tanh_nets_forward(params, X):
    """Hidden activations (R, n, H) and outputs (R, n) of the networks of :func:`tanh_nets_loss_and_grads`."""
    W1, b1, W2, b2 = params
    H = np.tanh(X[:, :, None] * W1[:, None, :] + b1[:, None, :])
    return H, np.einsum("rnh,rh->rn", H, W2) + b2


def _tanh_nets_backward(params, X, H, g):
    """``[dW1, db1, dW2, db2]`` from ``g`` = dL/d(outputs), shape (R, n)."""
    W2 = params[2]
    gZ = g[:, :, None] * W2[:, None, :] * (1 - H * H)
    return [np.einsum("rnh,rn->rh", gZ, X), gZ.sum(1), np.einsum("rn,rnh->rh", g, H), g.sum(1, keepdims=True)]


def _per_net_mse_grad(out, Y):
    """dL/d(outputs) of every network's own mean squared error: :func:`dlcourse.losses.mse_grad` per element, / n."""
    return L.mse_grad(out, Y, reduction="none") / Y.shape[1]


def _per_net_mse(out, Y) -> float:
    """The sum over the networks of each one's :func:`dlcourse.losses.mse` on its own training set."""
    return float(np.mean(L.mse(out, Y, reduction="none"), axis=1).sum())


class WidthNets:
    r"""``R`` 1-H-1 tanh networks, network ``r`` fed its own inputs ``X[r]``, as a model of
    :func:`dlcourse.train.train_step` (``forward`` keeps what ``backward`` needs).

    Parameters ``[W1, b1, W2, b2]`` of shapes (R, H), (R, H), (R, H), (R, 1), drawn per network:
    input weights :math:`\mathcal N(0, 2^2)` and biases :math:`U(-2, 2)`, so that the tanh units'
    kinks spread over the inputs in [-1, 1]; output weights :math:`\mathcal N(0, 1/H)`.
    """

    def __init__(self, n_nets: int, width: int, rng=0):
        rng = np.random.default_rng(as_seed(rng, "rng"))
        self.params = [rng.normal(0, 2.0, (n_nets, width)), rng.uniform(-2, 2, (n_nets, width)),
                       rng.normal(0, 1 / np.sqrt(width), (n_nets, width)), np.zeros((n_nets, 1))]
        self.grads = [np.zeros_like(p) for p in self.params]
        self.training, self._cache = True, None

    def forward(self, X: np.ndarray) -> np.ndarray:
        """Outputs (R, n) for inputs (R, n)."""
        H, out = _tanh_nets_forward(self.params, X)
        self._cache = (X, H) if self.training else None
        return out

    def backward(self, grad_out: np.ndarray) -> None:
        if self._cache is None:
            raise RuntimeError("WidthNets.backward called without a forward in train() mode")
        self.grads = _tanh_nets_backward(self.params, *self._cache, grad_out)

    def parameters(self) -> list[np.ndarray]:
        return self.params

    def gradients(self) -> list[np.ndarray]:
        return self.grads

    def zero_grad(self) -> None:
        for g in self.grads:
            g[...] = 0.0

    def train(self, mode: bool = True) -> WidthNets:
        self.training = bool(mode)
        return self

    def eval(self) -> WidthNets:
        return self.train(False)


def tanh_nets_loss_and_grads(params, X, Y):
    r"""Mean squared error of ``R`` batched 1-H-1 tanh networks and its gradients.

    ``params = [W1, b1, W2, b2]`` with shapes (R, H), (R, H), (R, H), (R, 1); network ``r`` maps
    :math:`x \mapsto \sum_h W_{2,rh} \tanh(W_{1,rh} x + b_{1,rh}) + b_{2,r}` and is scored on
    ``(X[r], Y[r])``, each of shape (n,), by :func:`dlcourse.losses.mse` (its mean over its own
    ``n`` points). Returns ``(losses (R,), [dW1, db1, dW2, db2])``.
    """
    H, out = _tanh_nets_forward(params, X)
    grads = _tanh_nets_backward(params, X, H, _per_net_mse_grad(out, Y))
    return np.mean(L.mse(out, Y, reduction="none"), axis=1), grads


def train_tanh_nets(X, Y, width: int, steps: int = 1000, lr: float = 0.02, rng=0) -> Callable:
    r"""Train ``R`` independent 1-``width``-1 tanh networks at once, network ``r`` on ``(X[r], Y[r])``.

    Full-batch Adam (torch's defaults apart from ``lr``) on each network's own mean squared error,
    :func:`dlcourse.train.train_step` on a :class:`WidthNets`; inputs should lie in about [-1, 1].
    Returns ``predict(x) -> (R, len(x))``.
    """
    R, n = X.shape
    model = WidthNets(R, width, rng=rng)
    opt = Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        train_step(model, X, Y, (_per_net_mse, _per_net_mse_grad), opt)
    model.eval()

    def predict(x):
        x = np.asarray(x, dtype=np.float64)
        return model.forward(np.broadcast_to(x, (R, x.shape[-1])) if x.ndim == 1 else x)

    predict.params = model.params
    return predict


# Trained in this session by the widget's Run button (seconds each), read by its compute: module-level on purpose,
# like functools.lru_cache, so that a notebook's training cell and the widget share one run.
_NETWORK_CACHE: dict = {}


@single_threaded
def network_curves(n_train: int = 20, noise_std: float = 0.3, n_repeats: int = N_REPEATS, rng=0,
                   progress: Callable[[int, int], None] | None = None, steps: int = 1000) -> CapacityCurves:
    """Tanh networks of every width in ``WIDTHS`` (cached per setting; ``progress(done, total)`` per width)."""
    seed = as_seed(rng, "rng")
    key = (n_train, noise_std, n_repeats, seed, steps)
    if key not in _NETWORK_CACHE:
        problem, sets, val = _draw_sets(n_train, noise_std, n_repeats, seed)
        X = np.stack([x for x, _ in sets])
        Y = np.stack([y for _, y in sets])
        per_k = []
        for i, w in enumerate(WIDTHS):
            predict = train_tanh_nets(2 * X - 1, Y, w, steps=steps, rng=seed + i)
            per_k.append((predict(2 * X - 1), predict(2 * val[0] - 1), predict(2 * X_GRID - 1)))
            if progress is not None:
                progress(i + 1, len(WIDTHS))
        _NETWORK_CACHE[key] = _summarize("network", WIDTHS, per_k, problem, sets, val, n_train, noise_std)
    return _NETWORK_CACHE[key]


def cached_network_curves(n_train: int, noise_std: float, n_repeats: int = N_REPEATS, rng=0,
                          steps: int = 1000) -> CapacityCurves | None:
    """The network curves for this setting if they were trained already, else None."""
    seed = as_seed(rng, "rng")
    return _NETWORK_CACHE.get((n_train, noise_std, n_repeats, seed, steps))


def quadrant(bias2: float, variance: float, threshold: float = THRESHOLD) -> str:
    """Name the bias–variance quadrant of a model: high/low bias² and high/low variance."""
    b = "high bias" if bias2 > threshold else "low bias"
    v = "high variance" if variance > threshold else "low variance"
    verdict = {("high bias", "low variance"): "underfits", ("low bias", "high variance"): "overfits",
               ("low bias", "low variance"): "fits well", ("high bias", "high variance"): "worst of both"}
    return f"{b}, {v}: {verdict[(b, v)]}"


class CapacityData(NamedTuple):
    curves: CapacityCurves
    index: int                 # position of the chosen complexity in curves.complexities
    requested: tuple           # (family, n_train, noise_std) asked for by the controls
    pending: bool              # True when the curves shown are not the requested ones (press Run)

    @property
    def label(self) -> str:
        c = self.curves
        name = "degree" if c.family == "polynomial" else "width"
        return f"{name} {c.complexities[self.index]}"


def compute_capacity(family: str = "polynomial", degree: int = 3, width: int = 4, n_train: int = 20,
                     noise: float = 0.3) -> CapacityData:
    """The capacity lab's state. Networks are only looked up: train them with :func:`network_curves`."""
    requested = (family, n_train, noise)
    if family == "polynomial":
        return CapacityData(polynomial_curves(n_train, noise), DEGREES.index(degree), requested, False)
    if family != "network":
        raise ValueError(f"family must be 'polynomial' or 'network', got {family!r}")
    curves = cached_network_curves(n_train, noise)
    if curves is not None:
        return CapacityData(curves, WIDTHS.index(width), requested, False)
    if _NETWORK_CACHE:                      # other networks were trained: show those until Run
        return CapacityData(next(iter(_NETWORK_CACHE.values())), WIDTHS.index(width), requested, True)
    # no network trained yet: keep showing the polynomials (training starts only on Run)
    return CapacityData(polynomial_curves(n_train, noise), DEGREES.index(degree), requested, True)


def describe_capacity(d: CapacityData) -> str:
    c, i = d.curves, d.index
    text = (f"{d.label}: training error {c.train_error[i]:.3f}, validation error {c.val_error[i]:.3f} ≈ "
            f"bias² {c.bias2[i]:.3f} + variance {c.variance[i]:.3f} + noise {c.noise:.3f} — "
            f"{quadrant(c.bias2[i], c.variance[i])}.")
    if d.pending:
        fam, n, s = d.requested
        shown = "networks" if c.family == "network" else "polynomials"
        text = (f"<b>Showing {shown} for n = {c.n_train}, σ = {c.noise_std}; press Run to train networks for "
                f"n = {n}, σ = {s}.</b> " + text)
    return text


LIMIT = (1e-4, 10.0)


def _clip(v):
    return np.clip(v, *LIMIT)


class CapacityView(View):
    """Repeated fits (left), errors against complexity (middle), the bias–variance quadrant map (right).

    The axes are drawn once; every curve, tick label and title is an artist updated in place, so
    that changing the family or the data (n, σ) redraws as fast as moving the complexity.
    """

    SERIES = (("train_error", "blue", "training error", "-"), ("val_error", "orange", "validation error", "-"),
              ("bias2", "green", "bias²", "--"), ("variance", "purple", "variance", "--"))

    def setup(self, fig, d: CapacityData) -> None:
        c = d.curves
        fig.subplots_adjust(left=0.05, right=0.99, bottom=0.17, top=0.86, wspace=0.32)
        self.ax1, self.ax2, self.ax3 = ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[1.1, 1.1, 1])
        ax1.plot(X_GRID, np.sin(2 * np.pi * X_GRID), color="k", ls="--", lw=1.2, label="truth f(x)", zorder=4)
        self.points = ax1.scatter([], [], s=10, color=PALETTE["black"], zorder=5, label="one training set")
        self.fits = LineCollection([], colors=PALETTE["sky"], linewidths=0.6, alpha=0.6, label="fits")
        ax1.add_collection(self.fits)
        self.mean, = ax1.plot([], [], color=PALETTE["vermillion"], lw=2, label="mean fit", zorder=6)
        ax1.set_xlim(0, 1)
        ax1.set_ylim(-2, 2)
        ax1.set_xlabel("x")
        legend_outside(ax1, "below", ncol=2)
        self.t1 = ax1.set_title(" ", fontsize=9)
        positions = np.arange(max(len(DEGREES), len(WIDTHS)))
        self.series = [ax2.plot([], [], color=PALETTE[colour], ls=ls, marker="o", ms=2.5, label=label)[0]
                       for _, colour, label, ls in self.SERIES]
        self.noise = ax2.axhline(c.noise, color="#888", lw=1, ls=":", label="noise σ²")
        ax2.set_yscale("log")
        ax2.set_ylim(*LIMIT)
        ax2.set_xlim(-0.5, len(positions) - 0.5)
        ax2.set_xticks(positions, [""] * len(positions))     # labels are texts updated with the family
        self.tick_labels = [ax2.text(x, -0.03, "", transform=ax2.get_xaxis_transform(), ha="center", va="top",
                                     fontsize=9) for x in positions]
        self.xlabel = ax2.text(0.5, -0.14, "", transform=ax2.transAxes, ha="center", va="top", fontsize=9)
        legend_outside(ax2, "below", gap=20, ncol=3)
        self.t2 = ax2.set_title(" ", fontsize=9)
        self.marker = ax2.axvline(0, color="k", lw=1)
        self.path, = ax3.plot([], [], color="#999", lw=1, marker="o", ms=2.5)
        ax3.axvline(THRESHOLD, color="#888", lw=0.8)
        ax3.axhline(THRESHOLD, color="#888", lw=0.8)
        for xx, yy, text in ((2e-4, 3.0, "low bias\nhigh variance"), (0.2, 3.0, "high bias\nhigh variance"),
                             (2e-4, 2e-4, "low bias\nlow variance"), (0.2, 2e-4, "high bias\nlow variance")):
            ax3.text(xx, yy, text, fontsize=9, color="#555", va="center")
        ax3.set_xscale("log")
        ax3.set_yscale("log")
        ax3.set_xlim(*LIMIT)
        ax3.set_ylim(*LIMIT)
        ax3.set_xlabel("bias²")
        ax3.set_ylabel("variance", labelpad=1)
        ax3.set_title("the four quadrants (grey: every complexity)", fontsize=9)
        self.point, = ax3.plot([], [], "o", color=PALETTE["vermillion"], ms=8)
        self.status = fig.suptitle(" ", fontsize=9, y=0.99)

    def update(self, d: CapacityData) -> list:
        c, i = d.curves, d.index
        k = np.arange(len(c.complexities))
        self.points.set_offsets(np.c_[c.example])
        self.fits.set_segments([np.c_[X_GRID, p] for p in np.clip(c.predictions[i][:SHOWN_FITS], -5, 5)])
        self.mean.set_data(X_GRID, c.predictions[i].mean(axis=0))
        self.t1.set_text(f"{d.label}: {quadrant(c.bias2[i], c.variance[i]).split(': ')[1]}")
        for line, (name, *_ ) in zip(self.series, self.SERIES):
            line.set_data(k, _clip(getattr(c, name)))
        for j, label in enumerate(self.tick_labels):
            label.set_text(str(c.complexities[j]) if j < len(k) else "")
        self.xlabel.set_text("polynomial degree" if c.family == "polynomial" else "hidden units (width)")
        self.noise.set_ydata([c.noise, c.noise])
        self.t2.set_text(f"{N_REPEATS} fits per point, n = {c.n_train}, σ = {c.noise_std}")
        self.marker.set_xdata([i, i])
        self.path.set_data(_clip(c.bias2), _clip(c.variance))
        self.point.set_data([_clip(c.bias2[i])], [_clip(c.variance[i])])
        self.status.set_text("older curves shown: press Run to train networks for these settings" if d.pending else " ")
        return [self.points, self.fits, self.mean, self.t1, *self.series, self.noise, self.t2, self.marker,
                self.path, self.point, self.status, *self.tick_labels, self.xlabel]
