r"""A 1-D GAN on a mixture of two Gaussians, and a speech pipeline on a generated signal (notebook 5.8).

- :func:`train_gan`: a generator :math:`G(z)` and a discriminator :math:`D(x)` (two small MLPs, in PyTorch)
  trained against each other on samples of a two-mode mixture, with snapshots of the generated
  distribution, so that *mode collapse* — the generator covering one mode, then hopping to the
  other — can be seen.

  .. math::
      L_D = -\mathbb E_x \log D(x) - \mathbb E_z \log(1 - D(G(z))), \qquad
      L_G = -\mathbb E_z \log D(G(z)) \quad\text{(the non-saturating loss)}

- :func:`synth_utterance` → :func:`spectrogram` → per-frame log-probabilities of the symbols
  (:func:`frame_log_probs`, a fixed template model) → :func:`ctc_log_likelihood` (the CTC forward
  recursion in NumPy) and :func:`greedy_ctc_decode`.
- The notebook's figures: :func:`plot_gan` (losses and generated distributions) and :func:`plot_ctc_frames`
  (waveform, spectrogram, frame probabilities).

The GAN training stays outside :func:`dlcourse.train.fit` (issue 14): it trains torch modules with
``torch.optim`` in float32, and ``fit`` / ``train_step`` train :mod:`dlcourse.layers` modules with
:mod:`dlcourse.optim`; rewriting it in NumPy would change every number the notebook prints. Each of its
iterations takes two :func:`~dlcourse.explore.unit5_common.torch_train_step` (the torch counterpart of
``train_step``), one per optimizer: the discriminator's, then the generator's.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._validate import as_float_array, check_positive_int
from ..activations import log_softmax
from .unit5_attention import seeded
from ..plotting import PALETTE, SEQUENTIAL, colorbar, legend_outside
from .session import once
from .unit5_common import moving_average, torch_threads, torch_train_step

# --------------------------------------------------------------------------- a 1-D GAN
MODES, MODE_STD = (-2.0, 2.0), 0.3


def mixture_samples(n: int, rng=None) -> np.ndarray:
    """``n`` samples of the equal mixture of N(-2, 0.3²) and N(2, 0.3²), shape ``(n,)``."""
    rng = np.random.default_rng(rng)
    return rng.choice(MODES, size=check_positive_int(n, "n")) + MODE_STD * rng.standard_normal(n)


class GANRun(NamedTuple):
    generator: object
    discriminator: object
    d_losses: np.ndarray      # (steps,)
    g_losses: np.ndarray      # (steps,)
    snapshot_steps: np.ndarray
    snapshots: np.ndarray     # (k, 2000): generated samples at each snapshot step


def train_gan(steps: int = 1200, batch_size: int = 128, lr: float = 2e-3, hidden: int = 16, rng=0,
              snapshot_every: int = 100, progress: bool = False) -> GANRun:
    """Alternate one discriminator step and one generator step (Adam, betas (0.5, 0.999)); float32."""
    import torch
    from .._progress import progress_bar

    nn = torch.nn
    rng, torch_seed = seeded(rng)
    with torch_threads(1):
        torch.manual_seed(torch_seed)
        G = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        D = nn.Sequential(nn.Linear(1, 2 * hidden), nn.LeakyReLU(0.2), nn.Linear(2 * hidden, 1))
        opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
        bce = nn.functional.binary_cross_entropy_with_logits
        ones, zeros = torch.ones(batch_size, 1), torch.zeros(batch_size, 1)
        z_fixed = torch.randn(2000, 1)
        d_losses, g_losses, shots, shot_steps = [], [], [], []
        for step in progress_bar(range(steps), "GAN", enabled=progress, mininterval=0.5):
            real = torch.tensor(mixture_samples(batch_size, rng), dtype=torch.float32)[:, None]
            fake = G(torch.randn(batch_size, 1))
            d_losses.append(torch_train_step(bce(D(real), ones) + bce(D(fake.detach()), zeros), opt_d))
            g_losses.append(torch_train_step(bce(D(fake), ones), opt_g))   # non-saturating: D calls fakes real
            if (step + 1) % snapshot_every == 0:
                with torch.no_grad():
                    shots.append(G(z_fixed)[:, 0].double().numpy())
                shot_steps.append(step + 1)
    return GANRun(G, D, np.array(d_losses), np.array(g_losses), np.array(shot_steps), np.array(shots))


def trained_gan(progress: bool = False) -> GANRun:
    return once("gan", lambda: train_gan(progress=progress))


def mode_share(samples) -> np.ndarray:
    """Fraction of samples nearer the right mode (+2) than the left one (-2), per row: 0.5 covers both."""
    return (np.asarray(samples) > 0).mean(axis=-1)


# --------------------------------------------------------------------------- speech
RATE = 8000                                    # samples per second
TONES = {"a": 400.0, "b": 700.0, "c": 1100.0}  # each "phoneme" is a tone
SYMBOLS = "-" + "".join(TONES)                 # "-" is CTC's blank, symbol 0
N_FFT, HOP = 256, 128                          # 32 ms windows, 16 ms apart


def synth_utterance(text: str, rng=0) -> np.ndarray:
    """A waveform at :data:`RATE` Hz: each letter a tone of 100-180 ms, separated by 30-70 ms of near-silence."""
    if not isinstance(text, str) or not text or set(text) - set(TONES):
        raise ValueError(f"text must be a non-empty string of the letters {''.join(TONES)!r}, got {text!r}")
    rng = np.random.default_rng(rng)
    parts = [np.zeros(int(RATE * rng.uniform(0.03, 0.07)))]
    for ch in text:
        n = int(RATE * rng.uniform(0.10, 0.18))
        t = np.arange(n) / RATE
        parts.append(np.sin(2 * np.pi * TONES[ch] * t) * np.hanning(n) ** 0.25)
        parts.append(np.zeros(int(RATE * rng.uniform(0.03, 0.07))))
    wave = np.concatenate(parts)
    return wave + 0.05 * rng.standard_normal(len(wave))


def spectrogram(wave, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    r"""Magnitudes of the short-time Fourier transform, ``(frames, n_fft // 2 + 1)``.

    Frame :math:`f` is the Hann-windowed slice ``wave[f·hop : f·hop + n_fft]``; its real FFT has
    :math:`n_\text{fft}/2 + 1` frequency bins, bin :math:`k` at :math:`k \cdot \text{RATE} / n_\text{fft}` Hz.
    Equal to ``torch.stft(wave, n_fft, hop, window=torch.hann_window(n_fft), center=False).abs().T``.
    """
    w = as_float_array(wave, "wave", ndim=1)
    if len(w) < n_fft:
        raise ValueError(f"wave must have at least n_fft = {n_fft} samples, got {len(w)}")
    frames = np.lib.stride_tricks.sliding_window_view(w, n_fft)[::hop]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)      # periodic Hann, as torch's default
    return np.abs(np.fft.rfft(frames * window, axis=1))


def frame_log_probs(spec, sharpness: float = 2.0) -> np.ndarray:
    r"""A fixed "acoustic model": log-probabilities ``(frames, 4)`` of blank, a, b, c for each frame.

    The score of a letter is the log energy in the frequency bins around its tone; the blank's score
    is a constant threshold, so quiet frames go to the blank. Scores times ``sharpness``, then a log-softmax.
    """
    spec = as_float_array(spec, "spec", ndim=2)
    freqs = np.arange(spec.shape[1]) * RATE / (2 * (spec.shape[1] - 1))
    scores = [np.full(len(spec), np.log(20.0))]
    for f in TONES.values():
        band = np.abs(freqs - f) < 60
        scores.append(np.log(spec[:, band].sum(axis=1) + 1e-6))
    return log_softmax(sharpness * np.stack(scores, axis=1), axis=1)


def collapse(path, blank: int = 0) -> list:
    """CTC's many-to-one map: merge repeated symbols, then drop blanks."""
    merged = [s for i, s in enumerate(path) if i == 0 or s != path[i - 1]]
    return [int(s) for s in merged if s != blank]


def greedy_ctc_decode(log_probs, blank: int = 0) -> list:
    """The most likely symbol of each frame, collapsed."""
    return collapse(list(np.argmax(log_probs, axis=1)), blank)


def ctc_log_likelihood(log_probs, target, blank: int = 0) -> float:
    r""":math:`\log P(\text{target} \mid \text{frames})`, summed over every frame path that collapses to the target.

    The forward (alpha) recursion over the target with blanks interleaved, :math:`\ell' = (-, y_1, -, y_2, \dots, -)`:

    .. math::
        \alpha_t(s) = \Big(\alpha_{t-1}(s) + \alpha_{t-1}(s-1) + [\ell'_s \ne - \wedge \ell'_s \ne \ell'_{s-2}]\,
        \alpha_{t-1}(s-2)\Big)\, p_t(\ell'_s)

    in log space; the result is :math:`\log(\alpha_T(|\ell'|) + \alpha_T(|\ell'| - 1))`. ``-inf`` when the
    target cannot fit (too many frames needed). ``torch.nn.CTCLoss(reduction="sum")`` returns its negative.
    """
    lp = as_float_array(log_probs, "log_probs", ndim=2)
    ext = [blank]
    for s in target:
        ext += [int(s), blank]
    S = len(ext)
    alpha = np.full(S, -np.inf)
    alpha[0] = lp[0, ext[0]]
    if S > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, len(lp)):
        prev = alpha.copy()
        shift1 = np.concatenate([[-np.inf], prev[:-1]])
        shift2 = np.concatenate([[-np.inf, -np.inf], prev[:-2]])
        skip = np.array([s >= 2 and ext[s] != blank and ext[s] != ext[s - 2] for s in range(S)])
        stacked = np.stack([prev, shift1, np.where(skip, shift2, -np.inf)])
        alpha = np.logaddexp.reduce(stacked, axis=0) + lp[t, ext]
    return float(np.logaddexp(alpha[-1], alpha[-2]) if S > 1 else alpha[-1])


# --------------------------------------------------------------------------- notebook 5.8's figures
def plot_gan(fig, run: GANRun, real, window: int = 25) -> None:
    r"""Left: both losses of ``run`` (``window``-step means) beside their values at equilibrium,
    :math:`L_D = 2 \log 2` and :math:`L_G = \log 2`; right: the ``real`` samples' histogram and the generated
    ones at the first, middle and last snapshot (Unit 5, 5.8, mode collapse)."""
    ax1, ax2 = fig.subplots(1, 2)
    for losses, label in ((run.d_losses, "discriminator $L_D$"), (run.g_losses, "generator $L_G$")):
        ax1.plot(*moving_average(losses, window), label=label)
    for level, label in ((2 * np.log(2), r"$2\,\log 2$ and $\log 2$ (equilibrium)"), (np.log(2), None)):
        ax1.axhline(level, color="0.5", ls=":", lw=1, label=label)
    ax1.set_xlabel("step")
    ax1.set_ylabel(f"loss ({window}-step mean)")
    bins = np.linspace(-4, 4, 81)
    ax2.hist(real, bins=bins, density=True, color="0.8", label="real data")
    for k in (0, len(run.snapshot_steps) // 2, -1):
        ax2.hist(run.snapshots[k], bins=bins, density=True, histtype="step", lw=1.5,
                 label=f"generated, step {run.snapshot_steps[k]}")
    ax2.set_xlabel("x")
    ax2.set_ylabel("density")
    fig.subplots_adjust(wspace=0.3)
    for ax in (ax1, ax2):
        legend_outside(ax, "below", ncol=2)


def plot_ctc_frames(fig, wave, spec, log_probs, max_hz: float = 1600.0) -> None:
    """Top: the ``wave`` form; middle: its ``spec`` trogram ``(frames, bins)`` up to ``max_hz``; bottom: each
    frame's symbol probabilities ``exp(log_probs)`` ``(frames, symbols)``, blank first (Unit 5, 5.8, CTC)."""
    axes = fig.subplots(3, 1, height_ratios=[1, 1.4, 1], gridspec_kw=dict(hspace=0.5))
    axes[0].plot(np.arange(len(wave)) / RATE, wave, lw=0.5, color=PALETTE["blue"])
    axes[0].set_xlim(0, len(wave) / RATE)
    axes[0].set_xlabel("time (s)")
    axes[0].set_ylabel("waveform")
    im = axes[1].imshow(np.log1p(np.asarray(spec).T), origin="lower", aspect="auto", cmap="magma",
                        extent=(-0.5, len(spec) - 0.5, 0, RATE / 2))
    axes[1].set_ylim(0, max_hz)
    axes[1].set_ylabel("frequency (Hz)")
    colorbar(axes[1], im, label="log(1 + magnitude)", fraction=0.03)
    im = axes[2].imshow(np.exp(np.asarray(log_probs).T), aspect="auto", cmap=SEQUENTIAL, vmin=0, vmax=1)
    axes[2].set_yticks(range(len(SYMBOLS)), ["blank", *SYMBOLS[1:]])
    axes[2].set_xlabel("frame")
    colorbar(axes[2], im, label="probability", fraction=0.03)
