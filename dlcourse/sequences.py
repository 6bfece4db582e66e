r"""Sequence data generated offline (Unit 5, "Recurrent networks" and "Applications").

Nothing here downloads anything: every data set is generated from a seed.

- :func:`multi_sine` and :func:`mackey_glass`: a sum of sines and a chaotic series, and
  :func:`sliding_windows`, which cuts a series into (history window → next values) pairs
  for time-series forecasting.
- :func:`make_adding_problem`: Hochreiter & Schmidhuber's adding problem, the standard
  test of long-range memory: a recurrent network must remember two marked numbers
  across ``seq_len`` steps and output their sum.
- :func:`make_corpus` and :class:`CharVocab`: a small English corpus from a grammar
  (for character-level text generation).
- :func:`make_sentiment`: short reviews with negation and "but", labelled positive or
  negative (for sentence-level sentiment classification).

Sequence arrays are *time first*, ``(T, N, D)``, as ``torch.nn.RNN`` and
:mod:`dlcourse.layers.recurrent` expect; :func:`time_major` converts ``(N, T)`` windows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, as_rng, check_number, check_positive_int

__all__ = ["multi_sine", "mackey_glass", "sliding_windows", "time_major", "make_adding_problem", "ADDING_BASELINE_MSE",
           "AddingProblem", "make_corpus", "CharVocab", "make_sentiment", "SentimentData", "Windows",
           "POSITIVE_WORDS", "NEGATIVE_WORDS"]


# --------------------------------------------------------------------------- forecasting
def multi_sine(n_steps: int = 1000, periods=(25.0, 9.0), amplitudes=None, noise: float = 0.0,
               rng=0) -> np.ndarray:
    r"""A sum of sines sampled at integer times, plus optional Gaussian noise.

    .. math:: s_t = \sum_k a_k \sin(2\pi t / P_k + \varphi_k) + \epsilon_t,
              \qquad \epsilon_t \sim \mathcal N(0, \text{noise}^2)

    Parameters
    ----------
    n_steps : int
        Length of the series.
    periods : sequence of float
        Periods :math:`P_k` in steps (each > 0); two incommensurate periods make a
        signal that does not simply repeat.
    amplitudes : sequence of float, optional
        :math:`a_k`; default ``1 / len(periods)`` each, so that :math:`|s_t| \le 1` without noise.
    noise : float
        Standard deviation of the added noise (>= 0).
    rng : None, int or numpy.random.Generator
        Draws the phases :math:`\varphi_k` and the noise.

    Returns
    -------
    ndarray, shape (n_steps,)
    """
    n = check_positive_int(n_steps, "n_steps")
    periods = as_float_array(periods, "periods", ndim=1)
    if len(periods) == 0 or np.any(periods <= 0):
        raise ValueError(f"periods must be a non-empty list of positive numbers, got {periods.tolist()}")
    amps = np.full(len(periods), 1.0 / len(periods)) if amplitudes is None else as_float_array(amplitudes,
                                                                                             "amplitudes", ndim=1)
    if amps.shape != periods.shape:
        raise ValueError(f"amplitudes must have one entry per period ({len(periods)}), got {len(amps)}")
    noise = check_number(noise, "noise", low=0.0)
    rng = as_rng(rng)
    phases = rng.uniform(0, 2 * np.pi, len(periods))
    t = np.arange(n)[:, None]
    series = (amps * np.sin(2 * np.pi * t / periods + phases)).sum(axis=1)
    return series + noise * rng.standard_normal(n) if noise else series


def mackey_glass(n_steps: int = 1000, tau: float = 17.0, beta: float = 0.2, gamma: float = 0.1, power: float = 10.0,
                 dt: float = 0.1, sample_every: float = 1.0, washout: int = 500, rng=0) -> np.ndarray:
    r"""The Mackey–Glass delay equation, a chaotic series (the classic benchmark of echo-state networks).

    .. math:: \frac{dx}{dt} = \beta \frac{x(t - \tau)}{1 + x(t - \tau)^{n}} - \gamma\, x(t)

    integrated with Euler steps of ``dt``, sampled every ``sample_every`` time units after
    ``washout`` samples, and scaled to roughly ``[-1, 1]`` (``x - 0.9`` over ``0.4``). With
    :math:`\tau = 17` the dynamics are chaotic: nearby trajectories separate exponentially,
    so forecast errors grow with the horizon.

    Parameters
    ----------
    n_steps : int
        Number of samples returned.
    tau, beta, gamma, power : float
        Delay :math:`\tau`, :math:`\beta`, :math:`\gamma` and the exponent :math:`n`.
    dt, sample_every : float
        Integration step and sampling interval (``sample_every`` a multiple of ``dt``).
    washout : int
        Samples discarded at the start (the transient).
    rng : None, int or numpy.random.Generator
        Draws the initial history, :math:`x = 1.2 + \mathcal U(-0.1, 0.1)`.

    Returns
    -------
    ndarray, shape (n_steps,)
    """
    n = check_positive_int(n_steps, "n_steps")
    washout = check_positive_int(washout, "washout", minimum=0)
    for name, value in (("tau", tau), ("dt", dt), ("sample_every", sample_every)):
        check_number(value, name, low=0.0, low_open=True)
    every = int(round(sample_every / dt))
    if every < 1 or not np.isclose(every * dt, sample_every):
        raise ValueError(f"sample_every must be a multiple of dt={dt}, got {sample_every}")
    lag = int(round(tau / dt))
    rng = as_rng(rng)
    total = (n + washout) * every
    x = np.empty(lag + total + 1)
    x[:lag + 1] = 1.2 + rng.uniform(-0.1, 0.1)
    for t in range(lag, lag + total):
        delayed = x[t - lag]
        x[t + 1] = x[t] + dt * (beta * delayed / (1.0 + delayed ** power) - gamma * x[t])
    samples = x[lag + 1::every][washout:washout + n]
    return (samples - 0.9) / 0.4


class Windows(NamedTuple):
    X: np.ndarray   # (N, window): the history
    y: np.ndarray   # (N, horizon): the values that follow


def sliding_windows(series, window: int, horizon: int = 1, stride: int = 1) -> Windows:
    r"""Cut a series into (history, future) pairs.

    Pair ``i`` starts at ``t = i * stride``: ``X[i] = series[t : t + window]`` and
    ``y[i] = series[t + window : t + window + horizon]``.

    Parameters
    ----------
    series : array, shape (T,)
    window : int
        Length of each history (the input sequence of a many-to-one RNN).
    horizon : int
        Number of future values to predict.
    stride : int
        Step between consecutive windows.

    Returns
    -------
    Windows
        ``X`` of shape ``(N, window)`` and ``y`` of shape ``(N, horizon)`` with
        ``N = (T - window - horizon) // stride + 1``.
    """
    s = as_float_array(series, "series", ndim=1)
    window = check_positive_int(window, "window")
    horizon = check_positive_int(horizon, "horizon")
    stride = check_positive_int(stride, "stride")
    if window + horizon > len(s):
        raise ValueError(f"the series has {len(s)} values, fewer than window + horizon = {window + horizon}; "
                         "use a longer series or a shorter window")
    starts = np.arange(0, len(s) - window - horizon + 1, stride)
    idx = starts[:, None] + np.arange(window + horizon)
    pairs = s[idx]
    return Windows(pairs[:, :window], pairs[:, window:])


def time_major(X) -> np.ndarray:
    """``(N, T)`` or ``(N, T, D)`` samples as the ``(T, N, D)`` array recurrent layers take."""
    X = as_float_array(X, "X", ndim=(2, 3))
    if X.ndim == 2:
        X = X[:, :, None]
    return np.ascontiguousarray(X.transpose(1, 0, 2))


# --------------------------------------------------------------------------- adding problem
ADDING_BASELINE_MSE = 1.0 / 6.0
r"""Mean squared error of always predicting 1, the mean of the target.

The target is the sum of two independent :math:`\mathcal U(0, 1)` numbers, whose variance
is :math:`2 \cdot \tfrac{1}{12} = \tfrac16`; a model that has not learned to remember does
no better than this.
"""


class AddingProblem(NamedTuple):
    X: np.ndarray          # (T, N, 2): channel 0 the numbers, channel 1 the two markers
    y: np.ndarray          # (N,): the sum of the two marked numbers
    positions: np.ndarray  # (N, 2): where the markers are


def make_adding_problem(n_samples: int = 1000, seq_len: int = 50, rng=0) -> AddingProblem:
    r"""The adding problem (Hochreiter & Schmidhuber, 1997), time first.

    Each sequence has ``seq_len`` steps with two input channels: a number drawn from
    :math:`\mathcal U(0, 1)` and a marker, 1 at exactly two steps (one in the first half,
    one in the second half) and 0 elsewhere. The target is the sum of the two marked
    numbers. The first marker can be up to ``seq_len - 1`` steps before the end, so the
    network must carry it across that gap: a long-range memory task. Predicting the
    mean scores :data:`ADDING_BASELINE_MSE` (1/6).

    Parameters
    ----------
    n_samples : int
    seq_len : int
        :math:`T \ge 2`.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    AddingProblem
        ``X`` ``(T, N, 2)``, ``y`` ``(N,)``, ``positions`` ``(N, 2)``.

    Examples
    --------
    >>> data = make_adding_problem(4, seq_len=10, rng=0)
    >>> data.X.shape, data.y.shape
    ((10, 4, 2), (4,))
    >>> bool(np.all(data.X[:, :, 1].sum(axis=0) == 2))
    True
    """
    n = check_positive_int(n_samples, "n_samples")
    T = check_positive_int(seq_len, "seq_len", minimum=2)
    rng = as_rng(rng)
    X = np.zeros((T, n, 2))
    X[:, :, 0] = rng.uniform(0.0, 1.0, (T, n))
    first = rng.integers(0, T // 2, n)
    second = rng.integers(T // 2, T, n)
    cols = np.arange(n)
    X[first, cols, 1] = 1.0
    X[second, cols, 1] = 1.0
    y = X[first, cols, 0] + X[second, cols, 0]
    return AddingProblem(X, y, np.stack([first, second], axis=1))


# --------------------------------------------------------------------------- text
_SUBJECTS = ["the cat", "the dog", "a bird", "my friend", "the old man", "the little girl", "a robot",
             "the teacher", "the farmer", "a small fox", "the baker", "her brother"]
_VERBS = ["saw", "liked", "found", "chased", "painted", "visited", "followed", "heard", "carried", "watched"]
_OBJECTS = ["the red ball", "a small house", "the river", "an old book", "the blue car", "a tall tree",
            "the garden", "a yellow kite", "the green door", "a wooden boat", "the quiet lake"]
_ENDINGS = ["", "", " in the morning", " at night", " near the park", " after lunch", " every day",
            " in the rain", " with great care"]


def make_corpus(n_sentences: int = 2000, rng=0) -> str:
    """A small English corpus: ``n_sentences`` sentences from a grammar, one per line.

    Each sentence is *subject verb object [ending].*, for example
    ``"the old man painted a wooden boat near the park."`` There are 12 subjects,
    10 verbs, 11 objects and 9 endings (two of them empty), so a character-level model
    must learn the spelling of about 40 words and where they may go.

    Parameters
    ----------
    n_sentences : int
    rng : None, int or numpy.random.Generator

    Returns
    -------
    str
    """
    n = check_positive_int(n_sentences, "n_sentences")
    rng = as_rng(rng)
    parts = [rng.integers(0, len(words), n) for words in (_SUBJECTS, _VERBS, _OBJECTS, _ENDINGS)]
    lines = [f"{_SUBJECTS[a]} {_VERBS[b]} {_OBJECTS[c]}{_ENDINGS[d]}." for a, b, c, d in zip(*parts)]
    return "\n".join(lines) + "\n"


class CharVocab:
    """Characters ↔ integer ids, sorted so that the mapping is reproducible.

    Parameters
    ----------
    text : str
        Every character that may be encoded must appear in ``text``.

    Examples
    --------
    >>> vocab = CharVocab("hello")
    >>> vocab.chars, vocab.encode("hell").tolist(), vocab.decode([3, 2])
    (['e', 'h', 'l', 'o'], [1, 0, 2, 2], 'ol')
    """

    def __init__(self, text: str):
        if not isinstance(text, str) or not text:
            raise TypeError(f"text must be a non-empty string, got {type(text).__name__} {text!r:.40}")
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters, shape ``(len(text),)``."""
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"text contains characters outside the vocabulary: {unknown}; "
                             f"the vocabulary has {''.join(self.chars)!r}")
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids) -> str:
        """The string of the ids ``ids``."""
        ids = np.asarray(ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must be in [0, {len(self) - 1}], got range [{ids.min()}, {ids.max()}]")
        return "".join(self.chars[int(i)] for i in ids.ravel())

    def __repr__(self) -> str:
        return f"CharVocab({len(self)} characters: {''.join(self.chars)!r})"


POSITIVE_WORDS = ["good", "great", "wonderful", "fun", "charming", "brilliant"]
NEGATIVE_WORDS = ["bad", "boring", "awful", "dull", "weak", "terrible"]
_TOPICS = ["the film", "the plot", "the acting", "the music", "the ending", "the story", "the cast"]
_INTENSIFIERS = ["", "", "very ", "really ", "quite "]


class SentimentData(NamedTuple):
    sentences: list        # N strings
    labels: np.ndarray     # (N,) 1 = positive, 0 = negative
    tokens: np.ndarray     # (N, max_len) word ids, 0 = padding, left-padded
    vocab: list            # id -> word; vocab[0] == "<pad>"


def _clause(rng) -> tuple[str, int]:
    """One clause 'the plot was [not] [very] good' and its polarity (1 positive, 0 negative)."""
    positive = bool(rng.integers(0, 2))
    negated = rng.random() < 0.3
    adjective = rng.choice(POSITIVE_WORDS if positive else NEGATIVE_WORDS)
    intensity = "" if negated else rng.choice(_INTENSIFIERS)
    text = f"{rng.choice(_TOPICS)} was {'not ' if negated else ''}{intensity}{adjective}"
    return text, int(positive != negated)


def make_sentiment(n_samples: int = 2000, rng=0) -> SentimentData:
    """Short reviews labelled positive (1) or negative (0), with negation and "but".

    A review is one clause (``"the music was very good"``), a negated clause
    (``"the plot was not bad"``: positive) or two clauses joined by *but*, where the
    second clause decides the label (``"the acting was great but the ending was dull"``:
    negative). A bag of words cannot read "not" or "but"; an RNN reading in order can.

    Parameters
    ----------
    n_samples : int
    rng : None, int or numpy.random.Generator

    Returns
    -------
    SentimentData
        ``sentences``, ``labels`` ``(N,)``, ``tokens`` ``(N, max_len)`` (left-padded with 0),
        ``vocab`` (``vocab[0] == "<pad>"``, then the words in sorted order).
    """
    n = check_positive_int(n_samples, "n_samples")
    rng = as_rng(rng)
    sentences, labels = [], []
    for _ in range(n):
        first, label = _clause(rng)
        if rng.random() < 0.35:
            second, label = _clause(rng)
            first = f"{first} but {second}"
        sentences.append(first)
        labels.append(label)
    words = [s.split() for s in sentences]
    vocab = ["<pad>"] + sorted({w for ws in words for w in ws})
    index = {w: i for i, w in enumerate(vocab)}
    max_len = max(len(ws) for ws in words)
    tokens = np.zeros((n, max_len), dtype=np.int64)
    for i, ws in enumerate(words):
        tokens[i, max_len - len(ws):] = [index[w] for w in ws]
    return SentimentData(sentences, np.array(labels, dtype=np.int64), tokens, vocab)
