"""Autoencoder explorers: linear AE vs PCA, a deep AE's 2-D code, outliers by reconstruction error."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed
from ..autoencoders import make_autoencoder, pca, reconstruction_error, train_autoencoder, train_linear_autoencoder
from ..data import load_digits, train_test_split
from ..plotting import CYCLE, PALETTE, View, legend_outside, picture


@lru_cache(maxsize=1)
def digits_split(rng=0):
    seed = as_seed(rng, "rng")
    X, y = load_digits()
    return train_test_split(X, y, test_size=0.25, rng=seed)


@lru_cache(maxsize=1)
def linear_ae_run(epochs: int = 150):
    Xtr = digits_split()[0]
    return train_linear_autoencoder(Xtr, k=2, epochs=epochs, lr=0.5)


@lru_cache(maxsize=1)
def deep_autoencoder(epochs: int = 40):
    """A 64-32-2-32-64 tanh autoencoder trained on the training digits (cached)."""
    Xtr = digits_split()[0]
    enc, dec = make_autoencoder(64, [32], 2, activation="tanh", rng=0)
    losses = train_autoencoder(enc, dec, Xtr, epochs=epochs, lr=5e-3)
    return enc, dec, losses


def make_outlier_set(rng=0):
    """Test digits plus 20 noise images and 10 inverted digits (labels: 1 = injected outlier)."""
    seed = as_seed(rng, "rng")
    _, Xte, _, _ = digits_split()
    rng = np.random.default_rng(seed)
    noise = rng.uniform(0, 1, (20, 64))
    inverted = 1.0 - Xte[:10]
    X = np.vstack([Xte, noise, inverted])
    is_outlier = np.r_[np.zeros(len(Xte), int), np.ones(30, int)]
    return X, is_outlier


class LinearAEData(NamedTuple):
    epoch: int
    angles: np.ndarray
    losses: np.ndarray
    code_ae: np.ndarray
    code_pca: np.ndarray
    labels: np.ndarray


def compute_linear_ae(epoch: int = 150) -> LinearAEData:
    Xtr, Xte, ytr, yte = digits_split()
    run = linear_ae_run()
    pcs, mean = pca(Xtr, 2)
    e = max(1, min(epoch, len(run.angles)))
    return LinearAEData(e, run.angles, run.losses, (Xte - mean) @ run.encoder.T, (Xte - mean) @ pcs.T, yte)


class LinearAEView(View):
    """The angle to PCA's plane over training, and the two 2-D codes side by side."""

    def setup(self, fig, d: LinearAEData) -> None:
        ax1, ax2, ax3 = fig.subplots(1, 3)
        ax1.semilogy(np.arange(1, len(d.angles) + 1), d.angles, color=PALETTE["blue"])
        ax1.set_xlabel("epoch")
        ax1.set_ylabel("largest angle to PCA plane (°)")
        self.marker = ax1.axvline(d.epoch, color=PALETTE["vermillion"], ls="--")
        self.title = ax1.set_title(" ", fontsize=9)
        for ax, code, title in ((ax2, d.code_pca, "PCA: 2 principal components"),
                                (ax3, d.code_ae, "linear autoencoder code (final)")):
            for k in range(10):
                m = d.labels == k
                ax.scatter(code[m, 0], code[m, 1], s=6, color=CYCLE[k % 8], marker="os^"[k // 4], label=str(k))
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        legend_outside(ax3, "right", ncol=2, markerscale=2, title="digit", handletextpad=0.1, columnspacing=0.6)

    def update(self, d: LinearAEData) -> list:
        self.marker.set_xdata([d.epoch, d.epoch])
        self.title.set_text(f"angle at epoch {d.epoch}: {d.angles[d.epoch - 1]:.2f}°")
        return [self.marker, self.title]


class EmbeddingData(NamedTuple):
    code: np.ndarray
    labels: np.ndarray
    index: int
    original: np.ndarray
    reconstruction: np.ndarray


def compute_embedding(index: int = 0) -> EmbeddingData:
    _, Xte, _, yte = digits_split()
    enc, dec, _ = deep_autoencoder()
    code = enc.forward(Xte)
    i = index % len(Xte)
    return EmbeddingData(code, yte, i, Xte[i].reshape(8, 8), dec.forward(code[i:i + 1]).reshape(8, 8))


class EmbeddingView(View):
    """Every test digit's 2-D code, with one digit and its reconstruction picked out."""

    def setup(self, fig, d: EmbeddingData) -> None:
        ax1, ax2, ax3 = fig.subplots(1, 3, width_ratios=[2, 1, 1])
        for k in range(10):
            m = d.labels == k
            ax1.scatter(d.code[m, 0], d.code[m, 1], s=6, color=CYCLE[k % 8], marker="os^"[k // 4], label=str(k))
        legend_outside(ax1, "right", ncol=2, markerscale=2, title="digit", handletextpad=0.1, columnspacing=0.6)
        ax1.set_title("deep autoencoder: the 2-D code of each test digit", fontsize=9)
        self.ring = ax1.scatter([0], [0], s=120, facecolors="none", edgecolors="k", lw=2)
        self.original = picture(ax2.imshow(d.original, cmap="gray_r", vmin=0, vmax=1))
        ax2.set_title("input", fontsize=9)
        self.recon = picture(ax3.imshow(d.reconstruction, cmap="gray_r", vmin=0, vmax=1))
        ax3.set_title("reconstruction", fontsize=9)
        for ax in (ax2, ax3):
            ax.set_xticks([])
            ax.set_yticks([])

    def update(self, d: EmbeddingData) -> list:
        self.ring.set_offsets(d.code[d.index][None, :])
        self.original.set_data(d.original)
        self.recon.set_data(d.reconstruction)
        return [self.ring, self.original, self.recon]


class OutlierData(NamedTuple):
    errors: np.ndarray
    is_outlier: np.ndarray
    threshold: float
    flagged: np.ndarray
    precision: float
    recall: float
    top_images: np.ndarray


@lru_cache(maxsize=1)
def _outlier_errors():
    X, is_outlier = make_outlier_set()
    enc, dec, _ = deep_autoencoder()
    return X, is_outlier, reconstruction_error(enc, dec, X)


def compute_outliers(threshold: float = 0.3) -> OutlierData:
    X, is_outlier, err = _outlier_errors()
    flagged = err > threshold
    tp = int(np.sum(flagged & (is_outlier == 1)))
    precision = tp / max(1, int(flagged.sum()))
    recall = tp / int(is_outlier.sum())
    top = X[np.argsort(err)[::-1][:4]].reshape(-1, 8, 8)
    return OutlierData(err, is_outlier, threshold, flagged, precision, recall, top)


class OutlierView(View):
    """Histogram of reconstruction errors with the threshold, and the four worst reconstructions."""

    def setup(self, fig, d: OutlierData) -> None:
        gs = fig.add_gridspec(2, 4)
        ax = self.ax = fig.add_subplot(gs[:, :2])
        bins = np.logspace(np.log10(d.errors.min()), np.log10(d.errors.max()), 40)
        ax.hist(d.errors[d.is_outlier == 0], bins=bins, color=PALETTE["blue"], alpha=0.7, label="test digits")
        ax.hist(d.errors[d.is_outlier == 1], bins=bins, color=PALETTE["vermillion"], alpha=0.7,
                label="injected outliers")
        self.line = ax.axvline(d.threshold, color="k", ls="--", label="threshold")
        ax.set_xscale("log")
        ax.set_xlabel("reconstruction error")
        ax.legend(fontsize=9)
        self.title = ax.set_title(" ", fontsize=9)
        for i, img in enumerate(d.top_images):
            a = fig.add_subplot(gs[i // 2, 2 + i % 2])
            picture(a.imshow(img, cmap="gray_r", vmin=0, vmax=1))
            a.set_xticks([])
            a.set_yticks([])
            a.set_title(f"worst #{i + 1}", fontsize=9)

    def update(self, d: OutlierData) -> list:
        self.line.set_xdata([d.threshold, d.threshold])
        self.title.set_text(f"{int(d.flagged.sum())} flagged: precision {d.precision:.0%}, recall {d.recall:.0%}")
        return [self.line, self.title]
