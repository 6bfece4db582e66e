r"""Text: character-level generation with an LSTM (and a temperature), sentence sentiment with an RNN.

:func:`train_char_model` trains (in PyTorch) an embedding → LSTM → Linear network to
predict the next character of :func:`dlcourse.sequences.make_corpus` at every position.
:class:`CharSampler` copies it into NumPy (:class:`dlcourse.layers.LSTM`) and generates
text one character at a time, drawing each from

.. math:: p_i(\tau) = \frac{e^{z_i / \tau}}{\sum_j e^{z_j / \tau}}

where :math:`z` are the logits and :math:`\tau` the *temperature*: :math:`\tau \to 0` picks
the most likely character every time (repetitive), :math:`\tau = 1` samples the model's
own distribution, :math:`\tau > 1` flattens it towards uniform (misspellings).

:class:`SentimentRNN` is a many-to-one RNN built from :mod:`dlcourse.layers` and trained
with :func:`dlcourse.train.fit`; :func:`word_attributions` explains a prediction word by
word (gradient × input), and :func:`bag_of_words_accuracy` is the order-blind baseline.

The character LSTM of :func:`train_char_model` stays outside :func:`dlcourse.train.fit` (issue 14): it trains
torch modules with ``torch.optim`` in float32, and ``fit`` / ``train_step`` train :mod:`dlcourse.layers`
modules with :mod:`dlcourse.optim`; rewriting it in NumPy would change every number the notebook prints. Each
of its steps is :func:`~dlcourse.explore.unit5_common.torch_train_step`, the torch counterpart of ``train_step``.
``model.zero_grad()`` here clears the gradients of a backward pass used as a measurement (the input gradient
of :func:`word_attributions`); nothing is updated, so it is not a training loop and does not go through
:func:`dlcourse.train.train_step`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_seed, check_number
from ..activations import softmax
from ..layers import Linear, Sequential
from ..layers.recurrent import LSTM, RNN, lstm_cell_forward
from ..plotting import PALETTE, View
from ..sequences import CharVocab, make_corpus, make_sentiment
from .session import once
from .unit5_common import torch_threads, torch_train_step

EMBED = 16
PROMPTS = ("the ", "a robot ", "my friend saw ", "the little girl ")


@lru_cache(maxsize=1)
def text_corpus():
    """``(text, vocab, words)``: the corpus (2,000 sentences), its :class:`CharVocab`, its set of words."""
    text = make_corpus(2000, rng=0)
    return text, CharVocab(text), frozenset(re.findall(r"[a-z]+", text))


def train_char_model(hidden: int = 64, steps: int = 200, seq_len: int = 64, batch_size: int = 32,
                     lr: float = 0.01, rng=0, progress: bool = True):
    """Train embedding → LSTM → Linear on random windows of the corpus (next-character cross-entropy).

    Returns ``(modules, losses)`` with ``modules = (embedding, lstm, head)`` (torch, float32).
    """
    seed = as_seed(rng, "rng")
    import torch
    from .._progress import progress_bar

    text, vocab, _ = text_corpus()
    ids = torch.tensor(vocab.encode(text))
    V = len(vocab)
    rng = np.random.default_rng(seed)
    with torch_threads(1):
        torch.manual_seed(seed)
        emb, lstm, head = torch.nn.Embedding(V, EMBED), torch.nn.LSTM(EMBED, hidden), torch.nn.Linear(hidden, V)
        modules = (emb.float(), lstm.float(), head.float())
        params = [p for m in modules for p in m.parameters()]
        opt = torch.optim.Adam(params, lr=lr)
        losses = []
        for _ in (bar := progress_bar(range(steps), "character LSTM", enabled=progress, mininterval=0.5)):
            starts = rng.integers(0, len(ids) - seq_len - 1, batch_size)
            seq = ids[torch.tensor(starts[None, :] + np.arange(seq_len + 1)[:, None])]
            out, _ = lstm(emb(seq[:-1]))
            loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), seq[1:].reshape(-1))
            losses.append(torch_train_step(loss, opt, clip_grad_norm=1.0))
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
    return tuple(m.eval() for m in modules), np.array(losses)


class CharSampler:
    """A trained character model in NumPy: warm up on a prompt, then sample with a temperature."""

    def __init__(self, modules, vocab: CharVocab):
        emb, lstm, head = modules
        self.vocab = vocab
        self.E = emb.weight.detach().double().numpy()
        self.layer = LSTM(EMBED, lstm.hidden_size)
        self.layer.load_torch(lstm)
        self.W = head.weight.detach().double().numpy()
        self.b = head.bias.detach().double().numpy()

    def _warm_up(self, prompt: str):
        ids = self.vocab.encode(prompt)
        _, (h, c) = self.layer.forward(self.E[ids][:, None, :])
        return h[0], c[0]

    def _step(self, char_id, h, c):
        p = self.layer.params
        h, c, _ = lstm_cell_forward(self.E[char_id][None], h, c, p["weight_ih"], p["weight_hh"],
                                    p["bias_ih"], p["bias_hh"])
        return h, c

    def logits(self, prompt: str) -> np.ndarray:
        """The logits of the character after ``prompt``, shape (V,)."""
        h, _ = self._warm_up(prompt)
        return h[0] @ self.W.T + self.b

    def sample(self, prompt: str = "the ", n_chars: int = 200, temperature: float = 1.0, rng=0) -> str:
        """``prompt`` followed by ``n_chars`` sampled characters."""
        seed = as_seed(rng, "rng")
        temperature = check_number(temperature, "temperature", low=0.0, low_open=True)
        rng = np.random.default_rng(seed)
        h, c = self._warm_up(prompt)
        out = []
        for _ in range(n_chars):
            p = softmax((h[0] @ self.W.T + self.b) / temperature)
            k = int(np.searchsorted(np.cumsum(p), rng.random() * p.sum()))
            k = min(k, len(p) - 1)
            out.append(k)
            h, c = self._step(k, h, c)
        return prompt + self.vocab.decode(out)


def trained_sampler(progress: bool = False) -> CharSampler:
    """:func:`train_char_model` with its defaults, trained once per session, as a :class:`CharSampler`.

    Its training losses are ``trained_sampler().losses``.
    """
    def make():
        modules, losses = train_char_model(progress=progress)
        sampler = CharSampler(modules, text_corpus()[1])
        sampler.losses = losses
        return sampler

    return once("char sampler", make)


def valid_word_fraction(text: str) -> float:
    """Fraction of the generated words that are words of the corpus."""
    words = text_corpus()[2]
    found = re.findall(r"[a-z]+", text)
    return float(np.mean([w in words for w in found])) if found else 0.0


TEMPERATURES = np.array([0.1, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0])


def valid_words_by_temperature() -> np.ndarray:
    """:func:`valid_word_fraction` of 300 characters sampled at each of :data:`TEMPERATURES`."""
    sampler = trained_sampler()
    return once("valid words", lambda: np.array([valid_word_fraction(sampler.sample("the ", 300, t, rng=1)[4:])
                                                  for t in TEMPERATURES]))


class GenerationData(NamedTuple):
    prompt: str
    temperature: float
    text: str
    chars: list
    probs: np.ndarray        # next-character distribution after the prompt at this temperature
    probs_1: np.ndarray      # ... at temperature 1
    valid: float
    valid_curve: np.ndarray


def compute_generation(temperature: float = 1.0, prompt: str = "the ", rng=0,
                       n_chars: int = 160) -> GenerationData:
    seed = as_seed(rng, "rng")
    sampler = trained_sampler()
    z = sampler.logits(prompt)
    text = sampler.sample(prompt, n_chars, temperature, seed)
    return GenerationData(prompt, temperature, text, sampler.vocab.chars, softmax(z / temperature), softmax(z),
                          valid_word_fraction(text[len(prompt):]), valid_words_by_temperature())


def describe_generation(d: GenerationData) -> str:
    body = d.text[len(d.prompt):].replace("&", "&amp;").replace("<", "&lt;").replace("\n", " ⏎ ")
    return (f"<tt><b>{d.prompt}</b>{body}</tt><br>τ = {d.temperature:g}: "
            f"{d.valid:.0%} of the generated words are real words of the corpus.")


def _label(c: str) -> str:
    return {"\n": "⏎", " ": "␣"}.get(c, c)


class GenerationView(View):
    """The next-character distribution after the prompt (at τ and at 1), and valid words against τ."""

    def setup(self, fig, d: GenerationData) -> None:
        self.ax, self.ax_v = fig.subplots(1, 2, width_ratios=[2, 1])
        x = np.arange(len(d.chars))
        self.ghost = self.ax.bar(x, np.zeros(len(x)), color="#cccccc", width=0.8, label="τ = 1")
        self.bars = self.ax.bar(x, np.zeros(len(x)), color=PALETTE["blue"], width=0.45, label="τ chosen")
        self.ax.set_xticks(x, [_label(c) for c in d.chars], fontsize=9)
        self.ax.set_ylim(0, 1)
        self.ax.set_ylabel("probability of the next character")
        self.ax.legend(fontsize=9)
        self.title = self.ax.set_title(" ", fontsize=9)
        self.ax_v.semilogx(TEMPERATURES, d.valid_curve, "o-", color=PALETTE["green"])
        self.ax_v.set_xlabel("temperature τ")
        self.ax_v.set_ylabel("real words among those generated")
        self.ax_v.set_ylim(0, 1.05)
        self.marker = self.ax_v.axvline(d.temperature, color="k", ls="--", lw=1)

    def update(self, d: GenerationData) -> list:
        for ghost, bar, p, p1 in zip(self.ghost, self.bars, d.probs, d.probs_1):
            ghost.set_height(p1)
            bar.set_height(p)
        self.title.set_text(f"after {d.prompt!r}, at τ = {d.temperature:g}")
        self.marker.set_xdata([d.temperature, d.temperature])
        return [*self.ghost, *self.bars, self.title, self.marker]


# --------------------------------------------------------------------------- sentence-level sentiment
class SentimentRNN(Sequential):
    r"""Many-to-one classifier: one-hot words → :class:`dlcourse.layers.RNN` → Linear on the last state.

    ``forward(tokens)`` takes word ids of shape ``(N, T)`` (0 is padding, encoded as a zero
    vector) and returns ``(N, 2)`` logits (negative, positive); ``backward`` runs BPTT and
    returns the gradient with respect to the one-hot inputs, ``(T, N, V)``.
    """

    def __init__(self, vocab_size: int, hidden: int = 24, rng=0):
        rng = np.random.default_rng(rng)
        self.vocab_size = vocab_size
        self.rnn, self.head = RNN(vocab_size, hidden, rng=rng), Linear(hidden, 2, rng=rng)
        super().__init__(self.rnn, self.head)   # parameters, gradients, zero_grad and train of both layers

    def one_hot(self, tokens) -> np.ndarray:
        tokens = np.asarray(tokens).astype(np.int64)
        x = np.zeros(tokens.T.shape + (self.vocab_size,))
        t, n = np.nonzero(tokens.T)
        x[t, n, tokens.T[t, n]] = 1.0
        return x

    def forward(self, tokens):
        out, _ = self.rnn.forward(self.one_hot(tokens))
        self._T = out.shape[0]
        return self.head.forward(out[-1])

    def backward(self, grad_out):
        g_last = self.head.backward(grad_out)
        g = np.zeros((self._T,) + g_last.shape)
        g[-1] = g_last
        return self.rnn.backward(g)


@lru_cache(maxsize=2)
def sentiment_split(n_samples: int = 2000, rng=0):
    """:func:`dlcourse.sequences.make_sentiment` split 75 / 25: ``data, train_idx, test_idx``."""
    seed = as_seed(rng, "rng")
    data = make_sentiment(n_samples, rng=seed)
    order = np.random.default_rng(seed).permutation(n_samples)
    n_test = n_samples // 4
    return data, order[n_test:], order[:n_test]


def train_sentiment_rnn(epochs: int = 12, hidden: int = 24, lr: float = 0.01, rng=0,
                        progress: bool = True):
    """Train :class:`SentimentRNN` with :func:`dlcourse.train.fit` (Adam, gradient clipping at 1)."""
    seed = as_seed(rng, "rng")
    from threadpoolctl import threadpool_limits

    from ..train import fit

    data, tr, te = sentiment_split()
    model = SentimentRNN(len(data.vocab), hidden, rng=seed)
    with threadpool_limits(1):
        history = fit(model, data.tokens[tr], data.labels[tr], epochs=epochs, batch_size=32, lr=lr, rng=seed,
                      X_val=data.tokens[te], y_val=data.labels[te], progress=progress, clip_grad_norm=1.0)
    return model, history


def bag_of_words_accuracy() -> float:
    """Test accuracy of a logistic regression on word counts (it ignores word order)."""
    from sklearn.linear_model import LogisticRegression

    data, tr, te = sentiment_split()
    counts = np.zeros((len(data.tokens), len(data.vocab)))
    rows, cols = np.nonzero(data.tokens)
    np.add.at(counts, (rows, data.tokens[rows, cols]), 1.0)
    clf = LogisticRegression(max_iter=2000).fit(counts[tr][:, 1:], data.labels[tr])
    return float(clf.score(counts[te][:, 1:], data.labels[te]))


def word_attributions(model: SentimentRNN, sentence: str, vocab: list) -> tuple[list, np.ndarray, float]:
    r"""Gradient × input of the score difference :math:`z_\text{pos} - z_\text{neg}` for each word.

    With one-hot inputs, gradient × input of word :math:`t` is the gradient at that word's
    own id: how much the positive-minus-negative score would change per unit of that word.
    Returns ``(words, attributions, probability of positive)``.
    """
    index = {w: i for i, w in enumerate(vocab)}
    words = sentence.split()
    unknown = [w for w in words if w not in index]
    if unknown:
        raise ValueError(f"words not in the vocabulary: {unknown}; use words from sentences of make_sentiment")
    tokens = np.array([[index[w] for w in words]])
    logits = model.forward(tokens)
    dx = model.backward(np.array([[-1.0, 1.0]]))
    model.zero_grad()
    attributions = dx[np.arange(len(words)), 0, tokens[0]]
    return words, attributions, float(softmax(logits)[0, 1])


def trained_sentiment(progress: bool = False):
    """:func:`train_sentiment_rnn` with its defaults, once per session: ``(model, history)``."""
    return once("sentiment rnn", lambda: train_sentiment_rnn(progress=progress))


EXAMPLES = ("the plot was not bad", "the acting was great but the ending was dull", "the film was very good",
            "the music was not good but the cast was charming", "the story was dull")
MAX_WORDS = 14


class SentimentData(NamedTuple):
    sentence: str
    words: list
    attributions: np.ndarray
    p_positive: float
    error: str


def compute_sentiment(sentence: str = EXAMPLES[0]) -> SentimentData:
    """The trained RNN's P(positive) for ``sentence`` and each word's attribution (or the reason it cannot)."""
    model, _ = trained_sentiment()
    vocab = sentiment_split()[0].vocab
    words = sentence.lower().split()[:MAX_WORDS]
    if not words:
        return SentimentData(sentence, [], np.zeros(0), float("nan"), "type a sentence")
    try:
        words, attr, p = word_attributions(model, " ".join(words), vocab)
    except ValueError as exc:
        return SentimentData(sentence, [], np.zeros(0), float("nan"), str(exc).split(";")[0])
    return SentimentData(sentence, words, attr, p, "")


class SentimentView(View):
    """One bar per word: how much it pushes the score towards positive (up) or negative (down)."""

    def setup(self, fig, d: SentimentData) -> None:
        fig.subplots_adjust(bottom=0.25)
        self.ax = fig.subplots()
        x = np.arange(MAX_WORDS)
        self.bars = self.ax.bar(x, np.zeros(MAX_WORDS), color="#bbbbbb")
        self.words = [self.ax.text(i, -8.6, "", rotation=30, ha="right", va="top", fontsize=9, clip_on=False)
                      for i in x]
        self.ax.axhline(0, color="k", lw=0.8)
        self.ax.set_xlim(-0.6, MAX_WORDS - 0.4)
        self.ax.set_ylim(-8, 8)
        self.ax.set_xticks([])
        self.ax.set_ylabel("gradient × input of $z_{pos} - z_{neg}$")
        self.title = self.ax.set_title(" ", fontsize=9)

    def update(self, d: SentimentData) -> list:
        for i, (bar, label) in enumerate(zip(self.bars, self.words)):
            a = d.attributions[i] if i < len(d.words) else 0.0
            bar.set_height(float(np.clip(a, -8, 8)))
            bar.set_color(PALETTE["blue"] if a > 0 else PALETTE["vermillion"])
            label.set_text(d.words[i] if i < len(d.words) else "")
        self.title.set_text(d.error or f"P(positive) = {d.p_positive:.3f}: blue words push towards positive, "
                                       "red towards negative")
        return [*self.bars, *self.words, self.title]
