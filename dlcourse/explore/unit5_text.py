r"""Character-level text generation with an LSTM, and sampling with a temperature.

:func:`train_char_model` trains (in PyTorch) an embedding → LSTM → Linear network to
predict the next character of :func:`dlcourse.sequences.make_corpus` at every position.
:class:`CharSampler` copies it into NumPy (:class:`dlcourse.layers.LSTM`) and generates
text one character at a time, drawing each from

.. math:: p_i(\tau) = \frac{e^{z_i / \tau}}{\sum_j e^{z_j / \tau}}

where :math:`z` are the logits and :math:`\tau` the *temperature*: :math:`\tau \to 0` picks
the most likely character every time (repetitive), :math:`\tau = 1` samples the model's
own distribution, :math:`\tau > 1` flattens it towards uniform (misspellings).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import check_number
from ..activations import softmax
from ..layers.recurrent import LSTM, lstm_cell_forward
from ..plotting import PALETTE, View
from ..sequences import CharVocab, make_corpus
from .unit5_common import once, torch_threads

EMBED = 16
PROMPTS = ("the ", "a robot ", "my friend saw ", "the little girl ")


@lru_cache(maxsize=1)
def text_corpus():
    """``(text, vocab, words)``: the corpus (2,000 sentences), its :class:`CharVocab`, its set of words."""
    text = make_corpus(2000, seed=0)
    return text, CharVocab(text), frozenset(re.findall(r"[a-z]+", text))


def train_char_model(hidden: int = 64, steps: int = 250, seq_len: int = 64, batch_size: int = 32,
                     lr: float = 0.01, seed: int = 0, progress: bool = True):
    """Train embedding → LSTM → Linear on random windows of the corpus (next-character cross-entropy).

    Returns ``(modules, losses)`` with ``modules = (embedding, lstm, head)`` (torch, float32).
    """
    import torch
    from tqdm.auto import trange

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
        for _ in (bar := trange(steps, desc="character LSTM", disable=not progress, mininterval=0.5)):
            starts = rng.integers(0, len(ids) - seq_len - 1, batch_size)
            seq = ids[torch.tensor(starts[None, :] + np.arange(seq_len + 1)[:, None])]
            out, _ = lstm(emb(seq[:-1]))
            loss = torch.nn.functional.cross_entropy(head(out).reshape(-1, V), seq[1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            losses.append(loss.item())
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

    def sample(self, prompt: str = "the ", n_chars: int = 200, temperature: float = 1.0, seed: int = 0) -> str:
        """``prompt`` followed by ``n_chars`` sampled characters."""
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
    return once("valid words", lambda: np.array([valid_word_fraction(sampler.sample("the ", 300, t, seed=1)[4:])
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


def compute_generation(temperature: float = 1.0, prompt: str = "the ", seed: int = 0,
                       n_chars: int = 160) -> GenerationData:
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
        self.ax.bar(x, d.probs_1, color="#cccccc", width=0.8, label="τ = 1")
        self.bars = self.ax.bar(x, np.zeros(len(x)), color=PALETTE["blue"], width=0.45, label="τ chosen")
        self.ax.set_xticks(x, [_label(c) for c in d.chars], fontsize=7)
        self.ax.set_ylim(0, 1)
        self.ax.set_ylabel("probability of the next character")
        self.ax.legend(fontsize=7)
        self.title = self.ax.set_title(" ", fontsize=9)
        self.ax_v.semilogx(TEMPERATURES, d.valid_curve, "o-", color=PALETTE["green"])
        self.ax_v.set_xlabel("temperature τ")
        self.ax_v.set_ylabel("real words among those generated")
        self.ax_v.set_ylim(0, 1.05)
        self.marker = self.ax_v.axvline(d.temperature, color="k", ls="--", lw=1)

    def key(self, d: GenerationData):
        return d.prompt

    def update(self, d: GenerationData) -> list:
        for bar, p in zip(self.bars, d.probs):
            bar.set_height(p)
        self.title.set_text(f"after {d.prompt!r}, at τ = {d.temperature:g}")
        self.marker.set_xdata([d.temperature, d.temperature])
        return [*self.bars, self.title, self.marker]
