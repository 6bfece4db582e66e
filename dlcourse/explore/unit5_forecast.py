r"""Time-series forecasting: an echo-state network, an LSTM, and the forecast-horizon explorer.

Two series: :func:`dlcourse.sequences.multi_sine` (periods 25 and 9 steps, a little noise),
which is quasi-periodic and easy to continue, and :func:`dlcourse.sequences.mackey_glass`,
which is chaotic, so that small errors grow with the horizon. Both models learn
one-step-ahead prediction, :math:`\hat s_{t+1} = f(s_1, \dots, s_t)`, and
forecast further by feeding their own predictions back in (autoregressive roll-out), so
their errors compound with the horizon.

- :class:`EchoStateNetwork` (Jaeger, 2001): a fixed random recurrent *reservoir*
  :math:`x_t = \tanh(W_\text{in} [1; u_t] + W x_{t-1})`, scaled to spectral radius
  :math:`\rho < 1`; only the linear read-out :math:`y_t = W_\text{out} [1; u_t; x_t]` is
  trained, by ridge regression — one linear solve, no backpropagation through time.
- :func:`train_forecast_lstm`: a torch LSTM trained on windows with BPTT, copied into
  :class:`dlcourse.layers.LSTM` for the roll-out.

The LSTM training of :func:`train_forecast_lstm` stays outside :func:`dlcourse.train.fit` (issue 14): it
trains torch modules with ``torch.optim`` in float32, and ``fit`` / ``train_step`` train :mod:`dlcourse.layers`
modules with :mod:`dlcourse.optim`; rewriting it in NumPy would change every number the notebook prints. Each
of its steps is :func:`~dlcourse.explore.unit5_common.torch_train_step`, the torch counterpart of ``train_step``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, as_seed, check_number, check_positive_int
from ..layers.recurrent import LSTM, lstm_cell_forward
from ..plotting import PALETTE, View, legend_outside
from ..sequences import mackey_glass, multi_sine
from .session import once
from .unit5_common import torch_threads, torch_train_step

N_STEPS, N_TRAIN = 1400, 900
MAX_HORIZON = 100
SERIES = ("two sines", "Mackey-Glass")


@lru_cache(maxsize=2)
def forecast_series(series: str = "two sines") -> np.ndarray:
    """:data:`N_STEPS` values of ``series``; the first :data:`N_TRAIN` are for training."""
    if series == "two sines":
        return multi_sine(N_STEPS, periods=(25.0, 9.0), noise=0.03, rng=0)
    if series == "Mackey-Glass":
        return mackey_glass(N_STEPS, rng=0)
    raise ValueError(f"series must be one of {SERIES}, got {series!r}")


class EchoStateNetwork:
    r"""An echo-state network for a scalar series (reservoir computing).

    .. math::
        x_t = (1 - a)\, x_{t-1} + a \tanh\!\big(W_\text{in} [1; u_t] + W x_{t-1}\big), \qquad
        y_t = W_\text{out} [1; u_t; x_t]

    Parameters
    ----------
    n_reservoir : int
        Number of reservoir units.
    spectral_radius : float
        Largest absolute eigenvalue of :math:`W` (below 1 the reservoir forgets its
        initial state: the *echo-state property*).
    input_scale : float
        :math:`W_\text{in}` is uniform in ``[-input_scale, input_scale]``.
    leak : float
        Leak rate :math:`a \in (0, 1]`.
    ridge : float
        Ridge penalty :math:`\lambda` of the read-out.
    density : float
        Fraction of non-zero entries of :math:`W` (a sparse random reservoir).
    rng : int or numpy.random.Generator

    Notes
    -----
    Only :math:`W_\text{out}` is learned: :math:`W_\text{out} = Y^\top Z (Z^\top Z + \lambda I)^{-1}`
    with :math:`Z` the stacked :math:`[1; u_t; x_t]` after a wash-out period. Unit 5,
    "Echo-state networks".
    """

    def __init__(self, n_reservoir: int = 200, spectral_radius: float = 0.9, input_scale: float = 0.5,
                 leak: float = 1.0, ridge: float = 1e-6, density: float = 0.1, rng=0):
        seed = as_seed(rng, "rng")
        self.n = check_positive_int(n_reservoir, "n_reservoir")
        self.spectral_radius = check_number(spectral_radius, "spectral_radius", low=0.0, low_open=True)
        self.leak = check_number(leak, "leak", low=0.0, high=1.0, low_open=True)
        self.ridge = check_number(ridge, "ridge", low=0.0)
        rng = np.random.default_rng(seed)
        W = rng.uniform(-1, 1, (self.n, self.n)) * (rng.random((self.n, self.n)) < density)
        self.W = W * (self.spectral_radius / np.max(np.abs(np.linalg.eigvals(W))))
        self.W_in = rng.uniform(-input_scale, input_scale, (self.n, 2))
        self.W_out = None

    def _step(self, x, u):
        pre = self.W_in @ np.array([1.0, u]) + self.W @ x
        return (1 - self.leak) * x + self.leak * np.tanh(pre)

    def states(self, u, x0=None) -> np.ndarray:
        """Reservoir states for the input series ``u`` (T,), shape (T, n_reservoir)."""
        u = as_float_array(u, "u", ndim=1)
        x = np.zeros(self.n) if x0 is None else x0
        out = np.empty((len(u), self.n))
        for t, u_t in enumerate(u):
            x = out[t] = self._step(x, u_t)
        return out

    def fit(self, u, y, washout: int = 50) -> "EchoStateNetwork":
        """Ridge-regress ``y`` (T,) on ``[1; u_t; x_t]``, ignoring the first ``washout`` steps."""
        u, y = as_float_array(u, "u", ndim=1), as_float_array(y, "y", ndim=1)
        if len(u) != len(y) or len(u) <= washout:
            raise ValueError(f"u and y must have the same length, longer than washout={washout}; "
                             f"got {len(u)} and {len(y)}")
        Z = np.column_stack([np.ones(len(u)), u, self.states(u)])[washout:]
        A = Z.T @ Z + self.ridge * np.eye(Z.shape[1])
        self.W_out = np.linalg.solve(A, Z.T @ y[washout:])
        return self

    def _readout(self, u_t, x):
        if self.W_out is None:
            raise RuntimeError("call fit(u, y) before predicting")
        return self.W_out[0] + self.W_out[1] * u_t + self.W_out[2:] @ x

    def forecast(self, history, horizon: int) -> np.ndarray:
        """Warm up on ``history``, then predict ``horizon`` values, each fed back as the next input."""
        history = as_float_array(history, "history", ndim=1)
        x = self.states(history)[-1]
        u, out = history[-1], np.empty(check_positive_int(horizon, "horizon"))
        for k in range(horizon):
            out[k] = self._readout(u, x)
            u = out[k]
            x = self._step(x, u)
        return out


@lru_cache(maxsize=2)
def trained_esn(series: str = "two sines") -> EchoStateNetwork:
    """An ESN fitted to predict the next value on the training part of :func:`forecast_series`."""
    s = forecast_series(series)[:N_TRAIN]
    return EchoStateNetwork().fit(s[:-1], s[1:])


FORECAST_STEPS = {"two sines": 150, "Mackey-Glass": 300}   # training steps of the LSTM for each series


def train_forecast_lstm(series: str = "two sines", hidden: int = 32, steps: int | None = None, window: int = 40,
                        batch_size: int = 32, lr: float = 0.01, rng=0, progress: bool = True):
    """A torch LSTM + Linear trained to predict the next value at every step of random training windows.

    The loss ignores the first 10 steps of each window (the state is still warming up).
    ``steps`` defaults to :data:`FORECAST_STEPS` of the series. Returns the model and its training losses.
    """
    seed = as_seed(rng, "rng")
    import torch
    from .._progress import progress_bar

    s = forecast_series(series)[:N_TRAIN]
    steps = FORECAST_STEPS[series] if steps is None else steps
    rng = np.random.default_rng(seed)
    with torch_threads(1):
        torch.manual_seed(seed)
        lstm, head = torch.nn.LSTM(1, hidden).float(), torch.nn.Linear(hidden, 1).float()
        opt = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=lr)
        losses = []
        for _ in progress_bar(range(steps), f"LSTM on {series}", enabled=progress, mininterval=0.5):
            starts = rng.integers(0, len(s) - window - 1, batch_size)
            idx = starts[None, :] + np.arange(window + 1)[:, None]
            seq = torch.tensor(s[idx], dtype=torch.float32)[:, :, None]        # (window + 1, N, 1)
            out, _ = lstm(seq[:-1])
            losses.append(torch_train_step(torch.mean((head(out)[10:] - seq[1:][10:]) ** 2), opt))
    return lstm.eval(), head.eval(), np.array(losses)


class LSTMForecaster:
    """A trained torch LSTM + Linear head as a :class:`dlcourse.layers.LSTM`, forecasting by roll-out."""

    def __init__(self, lstm, head):
        self.layer = LSTM(1, lstm.hidden_size)
        self.layer.load_torch(lstm)
        self.w = head.weight.detach().double().numpy()[0]
        self.b = float(head.bias.detach().double()[0])

    def forecast(self, history, horizon: int) -> np.ndarray:
        history = as_float_array(history, "history", ndim=1)
        out, (h, c) = self.layer.forward(history[:, None, None])
        h, c = h[0], c[0]
        p = self.layer.params
        preds = np.empty(horizon)
        for k in range(horizon):
            preds[k] = self.w @ h[0] + self.b
            h, c, _ = lstm_cell_forward(np.array([[preds[k]]]), h, c, p["weight_ih"], p["weight_hh"],
                                        p["bias_ih"], p["bias_hh"])
        return preds


def trained_forecasters(series: str = "two sines", progress: bool = False) -> dict:
    """``{"ESN": ..., "LSTM": ...}`` for ``series``, trained once per session."""
    def make():
        lstm, head, _ = train_forecast_lstm(series, progress=progress)
        return {"ESN": trained_esn(series), "LSTM": LSTMForecaster(lstm, head)}

    return once(("forecasters", series), make)


def persistence(history, horizon: int) -> np.ndarray:
    """The naive forecast: the last value, repeated."""
    return np.full(horizon, float(np.asarray(history)[-1]))


HISTORY = 200          # values a forecast sees before its origin
ORIGINS = np.arange(N_TRAIN + HISTORY - 150, N_STEPS - MAX_HORIZON, 10)


def rmse_by_horizon(series: str = "two sines") -> dict:
    """Root-mean-square error at horizons 1..100, averaged over forecasts from every origin in :data:`ORIGINS`."""
    return once(("forecast rmse", series), lambda: _rmse_by_horizon(series))


def _rmse_by_horizon(series) -> dict:
    s = forecast_series(series)
    models = trained_forecasters(series)
    errors = {name: [] for name in ("ESN", "LSTM", "last value")}
    for o in ORIGINS:
        truth = s[o:o + MAX_HORIZON]
        for name in errors:
            f = persistence if name == "last value" else models[name].forecast
            errors[name].append(f(s[o - HISTORY:o], MAX_HORIZON) - truth)
    return {name: np.sqrt(np.mean(np.square(e), axis=0)) for name, e in errors.items()}


class ForecastData(NamedTuple):
    series: str
    origin: int
    horizon: int
    t_past: np.ndarray
    past: np.ndarray
    t_future: np.ndarray
    truth: np.ndarray
    forecasts: dict        # name -> (horizon,)
    rmse: dict             # name -> (MAX_HORIZON,)


def compute_forecast(series: str = "two sines", origin: int = 0, horizon: int = 20) -> ForecastData:
    """Forecasts of ``horizon`` steps from test origin number ``origin`` (an index into :data:`ORIGINS`)."""
    s = forecast_series(series)
    o = int(ORIGINS[int(origin) % len(ORIGINS)])
    horizon = int(np.clip(horizon, 1, MAX_HORIZON))
    models = trained_forecasters(series)
    hist = s[o - HISTORY:o]
    forecasts = {"ESN": models["ESN"].forecast(hist, horizon), "LSTM": models["LSTM"].forecast(hist, horizon),
                 "last value": persistence(hist, horizon)}
    return ForecastData(series, o, horizon, np.arange(o - 60, o), s[o - 60:o], np.arange(o, o + horizon),
                        s[o:o + horizon], forecasts, rmse_by_horizon(series))


FORECAST_COLOURS = {"ESN": PALETTE["green"], "LSTM": PALETTE["blue"], "last value": PALETTE["orange"]}


class ForecastView(View):
    """Left: the last 60 values, the truth and each model's roll-out; right: RMSE against horizon."""

    def setup(self, fig, d: ForecastData) -> None:
        self.ax, self.ax_e = fig.subplots(1, 2, width_ratios=[1.8, 1])
        self.past, = self.ax.plot([], [], color="k", lw=1.5, label="history")
        self.truth, = self.ax.plot([], [], color="#999999", lw=4, alpha=0.5, label="what happened")
        self.lines = {n: self.ax.plot([], [], color=c, lw=1.5, label=n)[0] for n, c in FORECAST_COLOURS.items()}
        self.ax.set_ylim(-1.4, 1.4)
        self.ax.set_xlim(-60, MAX_HORIZON)
        self.ax.axvline(0, color="#999999", lw=0.8)
        self.ax.set_xlabel("steps from the forecast origin")
        legend_outside(self.ax, "right")
        self.title = self.ax.set_title(" ", fontsize=9)
        self.errors = {n: self.ax_e.semilogy([], [], color=c, label=n)[0] for n, c in FORECAST_COLOURS.items()}
        self.ax_e.set_xlim(1, MAX_HORIZON)
        self.ax_e.set_xlabel("horizon (steps ahead)")
        self.ax_e.set_ylabel(f"RMSE over {len(ORIGINS)} forecasts")
        self.ax_e.set_ylim(1e-4, 2)
        self.marker = self.ax_e.axvline(d.horizon, color="k", ls="--", lw=1)
        self.ax_e.set_title("errors compound with the horizon", fontsize=9)

    def update(self, d: ForecastData) -> list:
        self.past.set_data(d.t_past - d.origin, d.past)
        self.truth.set_data(d.t_future - d.origin, d.truth)
        for name, line in self.lines.items():
            line.set_data(d.t_future - d.origin, d.forecasts[name])
        h = np.arange(1, MAX_HORIZON + 1)
        for name, line in self.errors.items():
            line.set_data(h, d.rmse[name])
        self.marker.set_xdata([d.horizon, d.horizon])
        self.title.set_text(f"{d.series}: forecasting {d.horizon} steps from t = {d.origin}")
        return [self.past, self.truth, *self.lines.values(), *self.errors.values(), self.marker, self.title]


def describe_forecast(d: ForecastData) -> str:
    k = d.horizon - 1
    return "RMSE at this horizon, over all test forecasts: " + ", ".join(
        f"{n} {d.rmse[n][k]:.3f}" for n in FORECAST_COLOURS) + "."
