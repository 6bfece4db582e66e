r"""Softmax with a temperature, and a KL-divergence explorer with two editable distributions.

Temperature :math:`T` divides the logits before the softmax,
:math:`p_i = e^{z_i/T} / \sum_j e^{z_j/T}`: a high :math:`T` flattens the distribution
towards uniform, a low one sharpens it towards the arg-max (Unit 2, "Softmax and
cross-entropy").

For two distributions :math:`P` (the truth) and :math:`Q` (the model),

.. math:: H(P, Q) = -\sum_i p_i \log q_i = H(P) + D_{KL}(P \,\|\, Q),

so minimising the cross-entropy over :math:`Q` is minimising the KL divergence: the entropy
:math:`H(P)` does not depend on the model (Unit 2, "KL divergence").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import losses as L
from ..activations import softmax
from ..plotting import PALETTE, View, legend_outside

NOTES_LOGITS = (1.0, 3.0, 4.0, 7.0)
TEMPERATURES = np.logspace(-1, 1, 121)


def softmax_t(z, temperature: float) -> np.ndarray:
    """:func:`dlcourse.activations.softmax` of ``z / temperature`` along the last axis."""
    return softmax(np.asarray(z, dtype=np.float64) / temperature)


def entropy(p) -> float:
    """Shannon entropy in nats, with :math:`0 \\log 0 = 0`."""
    p = np.asarray(p, dtype=np.float64)
    nz = p > 0
    return float(-np.sum(p[nz] * np.log(p[nz])))


class SoftmaxData(NamedTuple):
    logits: np.ndarray
    temperature: float
    probs: np.ndarray
    entropy: float
    curves: np.ndarray      # (len(TEMPERATURES), C): each class's probability against T


def compute_softmax(z1: float = 1.0, z2: float = 3.0, z3: float = 4.0, z4: float = 7.0,
                    temperature: float = 1.0) -> SoftmaxData:
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    z = np.array([z1, z2, z3, z4], dtype=np.float64)
    p = softmax_t(z, temperature)
    curves = softmax_t(z[None, :], TEMPERATURES[:, None])
    return SoftmaxData(z, float(temperature), p, entropy(p), curves)


class SoftmaxView(View):
    """Left: the probabilities at this temperature; right: each probability against T (log axis)."""

    def setup(self, fig, d: SoftmaxData) -> None:
        self.ax1, self.ax2 = fig.subplots(1, 2)
        c = len(d.logits)
        colours = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion")]
        self.bars = self.ax1.bar(np.arange(c), np.zeros(c), color=colours)
        self.ax1.axhline(1.0 / c, color="#999999", ls="--", lw=1, label="uniform")
        self.ax1.set_ylim(0, 1.08)
        self.ax1.set_xticks(np.arange(c), [f"class {i + 1}" for i in range(c)])
        self.ax1.set_ylabel("softmax(z / T)")
        self.ax1.legend(fontsize=9, loc="upper left")
        self.labels = [self.ax1.text(i, 0, "", ha="center", va="bottom", fontsize=9) for i in range(c)]
        self.title1 = self.ax1.set_title(" ", fontsize=9)
        self.curves = [self.ax2.semilogx([], [], color=colours[i], lw=2, label=f"class {i + 1}")[0] for i in range(c)]
        self.ax2.set_xlim(TEMPERATURES[0], TEMPERATURES[-1])
        self.ax2.set_ylim(0, 1.02)
        self.ax2.set_xlabel("temperature T")
        self.ax2.set_ylabel("probability")
        legend_outside(self.ax2, "right")
        self.ax2.set_title("low T: arg-max; high T: uniform", fontsize=9)
        self.marker = self.ax2.axvline(d.temperature, color=PALETTE["black"], ls=":", lw=1)

    def update(self, d: SoftmaxData) -> list:
        for i, (bar, label) in enumerate(zip(self.bars, self.labels)):
            bar.set_height(d.probs[i])
            label.set_position((i, d.probs[i] + 0.01))
            label.set_text(f"{d.probs[i]:.3f}")
        for i, line in enumerate(self.curves):
            line.set_data(TEMPERATURES, d.curves[:, i])
        self.marker.set_xdata([d.temperature, d.temperature])
        z = ", ".join(f"{v:g}" for v in d.logits)
        self.title1.set_text(f"z = [{z}], T = {d.temperature:.3g}: entropy {d.entropy:.3f} nats")
        return [*self.bars, *self.labels, *self.curves, self.marker, self.title1]


# --------------------------------------------------------------------------- KL explorer
class KLData(NamedTuple):
    p: np.ndarray           # the true distribution P (normalised)
    q: np.ndarray           # the model's distribution Q (normalised)
    entropy_p: float        # H(P)
    cross_entropy: float    # H(P, Q)
    kl_pq: float            # D_KL(P || Q)
    kl_qp: float            # D_KL(Q || P)


def normalise(weights, name: str) -> np.ndarray:
    """Non-negative weights scaled to sum to 1; all zeros (every slider at 0) gives the uniform distribution."""
    w = np.asarray(weights, dtype=np.float64)
    if np.any(w < 0):
        raise ValueError(f"{name} must be non-negative weights, got {w.tolist()}")
    return w / w.sum() if w.sum() > 0 else np.full(len(w), 1.0 / len(w))


def compute_kl(p1: float = 0.7, p2: float = 0.2, p3: float = 0.1,
               q1: float = 0.6, q2: float = 0.3, q3: float = 0.1) -> KLData:
    """Both divergences, the entropy and the cross-entropy of two 3-class distributions.

    The sliders hold weights; each distribution is the weights divided by their sum.
    """
    p, q = normalise([p1, p2, p3], "P"), normalise([q1, q2, q3], "Q")
    kl_pq = L.kl_divergence(q[None], p[None])
    kl_qp = L.kl_divergence(p[None], q[None])
    return KLData(p, q, entropy(p), entropy(p) + kl_pq, kl_pq, kl_qp)


class KLView(View):
    """Left: P and Q side by side; right: H(P), H(P, Q) and the two divergences."""

    def setup(self, fig, d: KLData) -> None:
        self.ax1, self.ax2 = fig.subplots(1, 2)
        idx = np.arange(3)
        self.pbars = self.ax1.bar(idx - 0.2, np.zeros(3), width=0.4, color=PALETTE["blue"], label="P (true)")
        self.qbars = self.ax1.bar(idx + 0.2, np.zeros(3), width=0.4, color=PALETTE["orange"], label="Q (model)")
        self.ax1.set_xticks(idx, ["class 1", "class 2", "class 3"])
        self.ax1.set_ylim(0, 1.05)
        self.ax1.legend(fontsize=9)
        self.ax1.set_title("two distributions", fontsize=9)
        names = ["H(P)", "H(P, Q)", "KL(P‖Q)", "KL(Q‖P)"]
        colours = [PALETTE["sky"], PALETTE["purple"], PALETTE["vermillion"], PALETTE["green"]]
        self.sbars = self.ax2.bar(np.arange(4), np.zeros(4), color=colours)
        self.ax2.set_xticks(np.arange(4), names)
        self.ax2.set_ylim(0, 5)
        self.ax2.set_ylabel("nats")
        self.values = [self.ax2.text(i, 0, "", ha="center", va="bottom", fontsize=9) for i in range(4)]
        self.title2 = self.ax2.set_title(" ", fontsize=9)

    def update(self, d: KLData) -> list:
        for bar, v in zip(self.pbars, d.p):
            bar.set_height(v)
        for bar, v in zip(self.qbars, d.q):
            bar.set_height(v)
        stats = [d.entropy_p, d.cross_entropy, d.kl_pq, d.kl_qp]
        for i, (bar, text, v) in enumerate(zip(self.sbars, self.values, stats)):
            bar.set_height(min(v, 4.8))
            text.set_position((i, min(v, 4.8) + 0.05))
            text.set_text(f"{v:.4f}")
        self.title2.set_text("H(P, Q) = H(P) + KL(P‖Q); KL is not symmetric")
        return [*self.pbars, *self.qbars, *self.sbars, *self.values, self.title2]


def describe_kl(d: KLData) -> str:
    fmt = lambda v: "[" + ", ".join(f"{x:.3f}" for x in v) + "]"  # noqa: E731
    text = (f"P = {fmt(d.p)}, Q = {fmt(d.q)}: KL(P‖Q) = {d.kl_pq:.4f}, KL(Q‖P) = {d.kl_qp:.4f}, "
            f"H(P, Q) − H(P) = {d.cross_entropy - d.entropy_p:.4f} nats.")
    for a, b, name in ((d.p, d.q, "KL(P‖Q)"), (d.q, d.p, "KL(Q‖P)")):
        if np.any((b == 0) & (a > 0)):
            text += (f" {name} is infinite in theory: one distribution gives 0 to a class the other thinks "
                     "possible (log 0 is clamped at −100 here).")
    return text
