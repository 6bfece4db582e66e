r"""Attention and Transformers: explorers, a translator that learns alignment, a tiny GPT, and model sizes.

- :func:`compute_attention_explorer` — one query, four keys and four values in the plane:
  the scores :math:`q \cdot k_j / \sqrt{d}`, the softmax weights and the output (a weighted
  average of the values), computed with :func:`dlcourse.layers.attention_forward`.
- :func:`compute_mask_explorer` — which keys each query may see under a causal and a padding
  mask, and the weights that result (values = the identity matrix, so the output *is* the
  weight matrix).
- :func:`train_seq2seq` — a GRU encoder–decoder, with or without dot-product attention, trained
  (in PyTorch) to reverse sequences of symbols: reversing needs the first output to know the
  last input, the hardest case for a decoder that sees one summary vector.
- :func:`train_char_transformer` — a decoder-only Transformer (pre-norm encoder layers with a
  causal mask) that predicts the next character of :func:`dlcourse.sequences.make_corpus`;
  :class:`TransformerSampler` copies it into :mod:`dlcourse.layers` and samples with a temperature.
- :func:`transformer_parameters` and :func:`vit_patches` — BERT, GPT-2 and ViT sizes from their
  configurations, by formula.
- The notebook's figures, one function each: :func:`plot_head_weights`, :func:`plot_positional_encoding`,
  :func:`plot_reversal_training` and :func:`plot_alignment`.

The seq2seq and character-Transformer trainings stay outside :func:`dlcourse.train.fit` (issue 14): they train
torch modules with ``torch.optim`` in float32, and ``fit`` / ``train_step`` train :mod:`dlcourse.layers`
modules with :mod:`dlcourse.optim`; rewriting them in NumPy would change every number the notebook prints.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from .._validate import as_rng, check_number, check_positive_int
from ..activations import softmax
from ..layers import (Embedding, LayerNorm, Linear, TransformerEncoderLayer, attention_forward, causal_mask,
                      sinusoidal_positional_encoding)
from ..plotting import (CYCLE, DIVERGING, PALETTE, SEQUENTIAL, View, colorbar, diverging_note, legend_outside,
                        picture)
from ..sequences import CharVocab, make_corpus
from .session import once
from .unit5_common import moving_average, torch_threads

FONT = 9
# --------------------------------------------------------------------------- attention explorer
KEY_NAMES = ("A", "B", "C", "D")
FIXED_KEYS = np.array([[np.cos(a), np.sin(a)] for a in np.radians([150.0, 220.0, 320.0])]) * 1.5
VALUES = np.array([[0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [1.0, 0.0]])   # one value per key, as points
KEY_COLOURS = CYCLE[:4]


class ExplorerData(NamedTuple):
    query: np.ndarray    # (2,)
    keys: np.ndarray     # (4, 2)
    values: np.ndarray   # (4, 2)
    scores: np.ndarray   # (4,) q·k/√2
    weights: np.ndarray  # (4,)
    output: np.ndarray   # (2,)


def compute_attention_explorer(query_x: float = 1.0, query_y: float = 0.5, key_angle: float = 60.0,
                               key_length: float = 1.5) -> ExplorerData:
    """One query against key A (angle in degrees, length) and three fixed keys B, C, D; d = 2."""
    query = np.array([check_number(query_x, "query_x"), check_number(query_y, "query_y")])
    a = np.radians(check_number(key_angle, "key_angle"))
    keys = np.vstack([check_number(key_length, "key_length", low=0.0) * np.array([np.cos(a), np.sin(a)]),
                      FIXED_KEYS])
    out, cache = attention_forward(query[None], keys, VALUES)
    return ExplorerData(query, keys, VALUES, keys @ query / np.sqrt(2.0), cache.weights[0], out[0])


def describe_attention_explorer(d: ExplorerData) -> str:
    best = int(np.argmax(d.weights))
    return (f"Scores q·k/√2 = [{', '.join(f'{s:.2f}' for s in d.scores)}]; key {KEY_NAMES[best]} gets "
            f"{d.weights[best]:.0%} of the weight; output = ({d.output[0]:.2f}, {d.output[1]:.2f}).")


def _arrow(ax, vec, colour, lw=2.0):
    return ax.annotate("", xy=tuple(vec), xytext=(0, 0),
                       arrowprops=dict(arrowstyle="-|>", color=colour, lw=lw, shrinkA=0, shrinkB=0))


class AttentionExplorerView(View):
    """Left: the query and the keys; middle: the softmax weights; right: the values and the output."""

    def setup(self, fig, d: ExplorerData) -> None:
        self.ax_k, self.ax_w, self.ax_v = fig.subplots(1, 3, width_ratios=[1, 1.1, 1])
        for ax, title in ((self.ax_k, "query q (black) and keys"), (self.ax_v, "values and output ★")):
            ax.set_xlim(-2.2, 2.2)
            ax.set_ylim(-2.2, 2.2)
            ax.set_aspect("equal")
            ax.axhline(0, color="0.85", lw=0.8)
            ax.axvline(0, color="0.85", lw=0.8)
            ax.set_title(title, fontsize=FONT)
            ax.tick_params(labelsize=FONT)
        for j in range(1, 4):
            _arrow(self.ax_k, d.keys[j], KEY_COLOURS[j])
            self.ax_k.text(*(d.keys[j] * 1.15), KEY_NAMES[j], color=KEY_COLOURS[j], fontsize=FONT + 1,
                           ha="center", va="center")
        for j, v in enumerate(d.values):
            self.ax_v.plot(*v, "o", ms=10, color=KEY_COLOURS[j])
            self.ax_v.text(*(v * 1.35), f"v{KEY_NAMES[j]}", color=KEY_COLOURS[j], fontsize=FONT, ha="center",
                           va="center")
        self.ax_v.plot(*np.vstack([d.values, d.values[:1]]).T, ":", color="0.6", lw=1)
        self.bars = self.ax_w.bar(KEY_NAMES, np.zeros(4), color=KEY_COLOURS)
        self.ax_w.set_ylim(0, 1.12)
        self.ax_w.set_ylabel("weight = softmax(score)", fontsize=FONT)
        self.ax_w.set_xlabel("key", fontsize=FONT)
        self.ax_w.tick_params(labelsize=FONT)
        self.labels = [self.ax_w.text(j, 0, "", ha="center", va="bottom", fontsize=FONT) for j in range(4)]
        self.title = self.ax_w.set_title(" ", fontsize=FONT)
        self.star, = self.ax_v.plot([], [], "*", ms=16, color="black")

    def update(self, d: ExplorerData) -> list:
        arrows = [_arrow(self.ax_k, d.query, "black", 2.5), _arrow(self.ax_k, d.keys[0], KEY_COLOURS[0])]
        arrows.append(self.ax_k.text(*(d.keys[0] * 1.15 if np.linalg.norm(d.keys[0]) > 0.2 else (0.2, 0.2)), "A",
                                     color=KEY_COLOURS[0], fontsize=FONT + 1, ha="center", va="center"))
        for bar, label, w, s in zip(self.bars, self.labels, d.weights, d.scores):
            bar.set_height(w)
            label.set_position((bar.get_x() + bar.get_width() / 2, w + 0.01))
            label.set_text(f"{w:.2f}\n(s={s:.1f})")
        self.title.set_text(f"weights sum to {d.weights.sum():.2f}")
        self.star.set_data([d.output[0]], [d.output[1]])
        return self._swap("arrows", arrows) + list(self.bars) + self.labels + [self.title, self.star]


# --------------------------------------------------------------------------- mask explorer
MAX_T = 12
_MASK_RNG = np.random.default_rng(5)
_MASK_Q, _MASK_K = _MASK_RNG.normal(size=(2, MAX_T, 4)) * 1.2


class MaskData(NamedTuple):
    T: int
    n_pad: int
    causal: bool
    query: int
    allowed: np.ndarray   # (T, T) bool: may query i see key j?
    weights: np.ndarray   # (T, T)


def mask_matrix(T: int, n_pad: int = 0, causal: bool = False) -> np.ndarray:
    """``(T, T)`` booleans, True where query ``i`` may attend to key ``j``: not a padded key, and ``j <= i`` if causal."""
    T = check_positive_int(T, "T")
    if not 0 <= n_pad < T:
        raise ValueError(f"n_pad must be in [0, T) = [0, {T}) (at least one real token), got {n_pad}")
    allowed = causal_mask(T) if causal else np.ones((T, T), bool)
    allowed[:, T - n_pad:] = False        # a padded query attends to the real tokens (its output is unused)
    return allowed


def compute_mask_explorer(T: int = 8, n_pad: int = 2, causal: bool = True, query: int = 5) -> MaskData:
    """Attention weights of fixed random queries and keys under the masks; ``query`` is the row to read."""
    T = check_positive_int(T, "T")
    if T > MAX_T:
        raise ValueError(f"T must be at most {MAX_T}, got {T}")
    allowed = mask_matrix(T, n_pad, causal)
    _, cache = attention_forward(_MASK_Q[:T], _MASK_K[:T], np.eye(T), attn_mask=allowed)
    return MaskData(T, n_pad, bool(causal), min(int(query), T - 1), allowed, cache.weights)


def describe_mask_explorer(d: MaskData) -> str:
    seen = np.flatnonzero(d.allowed[d.query])
    return (f"Query {d.query} may attend to keys {', '.join(map(str, seen))}; masked scores become −∞ before "
            f"the softmax, so their weights are exactly 0 and each row still sums to 1.")


class MaskView(View):
    """Left: the mask; middle: the weights with a colour bar; right: one query's row.

    The grids are always ``MAX_T × MAX_T`` (positions past ``T`` are shaded), so that changing ``T``
    repaints only the images and bars instead of the whole figure.
    """

    def setup(self, fig, d: MaskData) -> None:
        import matplotlib
        from matplotlib.patches import Rectangle

        self.ax_m, self.ax_w, self.ax_r = fig.subplots(1, 3, width_ratios=[1, 1.2, 1.1],
                                                       gridspec_kw=dict(wspace=0.5))
        cells = np.zeros((MAX_T, MAX_T))
        # a two-valued mask explained by its title (white = may attend): no colour bar needed
        self.img_m = picture(self.ax_m.imshow(cells, cmap="Greys_r", vmin=0, vmax=1))
        self.img_w = self.ax_w.imshow(cells, cmap=matplotlib.colormaps["viridis"].with_extremes(bad="0.9"),
                                      vmin=0, vmax=1)
        cbar = fig.colorbar(self.img_w, ax=self.ax_w, fraction=0.046, pad=0.04)
        cbar.ax.tick_params(labelsize=FONT)
        cbar.ax.set_title("weight", fontsize=FONT)
        for ax, title in ((self.ax_m, "mask: white = may attend"), (self.ax_w, "softmax(scores + mask)")):
            ax.set_title(title, fontsize=FONT)
            ax.set_xlabel("key position j", fontsize=FONT)
            ax.set_ylabel("query position i", fontsize=FONT)
            ax.set_xticks(range(0, MAX_T, 2))
            ax.set_yticks(range(0, MAX_T, 2))
            ax.tick_params(labelsize=FONT)
        self.bars = self.ax_r.bar(range(MAX_T), np.zeros(MAX_T), color=PALETTE["blue"])
        self.ax_r.set_ylim(0, 1.05)
        self.ax_r.set_xticks(range(0, MAX_T, 2))
        self.ax_r.set_xlabel("key position j", fontsize=FONT)
        self.ax_r.tick_params(labelsize=FONT)
        self.t_r = self.ax_r.set_title(" ", fontsize=FONT)
        self.rows = [ax.add_patch(Rectangle((-0.5, -0.5), MAX_T, 1, fill=False, ec=PALETTE["vermillion"], lw=2))
                     for ax in (self.ax_m, self.ax_w)]

    def update(self, d: MaskData) -> list:
        T = d.T
        shown = np.full((MAX_T, MAX_T), 0.6)          # grey: not part of this sequence
        shown[:T, :T] = d.allowed
        self.img_m.set_data(shown)
        weights = np.full((MAX_T, MAX_T), np.nan)
        weights[:T, :T] = d.weights
        self.img_w.set_data(weights)
        for j, bar in enumerate(self.bars):
            bar.set_height(d.weights[d.query, j] if j < T else 0.0)
        for r in self.rows:
            r.set_y(d.query - 0.5)
            r.set_width(T)
        self.t_r.set_text(f"row of query {d.query} (sums to {d.weights[d.query].sum():.2f})")
        return [self.img_m, self.img_w, *self.bars, *self.rows, self.t_r]


# --------------------------------------------------------------------------- seq2seq on reversal
def seeded(rng):
    """``(numpy Generator, torch seed)`` from ``rng`` (None, an int seed or a Generator): an int seeds both the same way."""
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng)), int(rng)
    gen = as_rng(rng)
    return gen, int(gen.integers(2**31))


SEQ_LEN, SYMBOLS = 10, 8     # sequences of 10 symbols 1..8; 0 is the decoder's <start>


def reversal_data(n: int, length: int = SEQ_LEN, symbols: int = SYMBOLS, rng=None):
    """``(source, target)``, integer arrays ``(n, length)`` of symbols ``1..symbols``; target = source reversed."""
    n, length, symbols = (check_positive_int(v, k) for v, k in ((n, "n"), (length, "length"), (symbols, "symbols")))
    src = np.random.default_rng(rng).integers(1, symbols + 1, (n, length))
    return src, src[:, ::-1].copy()


@lru_cache(maxsize=1)
def _seq2seq_class():
    import torch
    nn = torch.nn

    class Seq2Seq(nn.Module):
        """Bidirectional GRU encoder, GRU decoder started from the encoder's final state, optional attention.

        With attention, each decoder state :math:`s_t` is a query over the encoder states
        :math:`h_j` (keys and values): :math:`c_t = \\sum_j \\mathrm{softmax}_j(s_t \\cdot h_j/\\sqrt{H})\\, h_j`,
        and the next symbol is read from :math:`[s_t; c_t]` (Luong et al., 2015).
        """

        def __init__(self, attention: bool, hidden: int = 48, embed: int = 16, symbols: int = SYMBOLS):
            super().__init__()
            self.attention, self.hidden = attention, hidden
            self.src_embed, self.tgt_embed = nn.Embedding(symbols + 1, embed), nn.Embedding(symbols + 1, embed)
            self.encoder = nn.GRU(embed, hidden // 2, batch_first=True, bidirectional=True)
            self.decoder = nn.GRU(embed, hidden, batch_first=True)
            self.out = nn.Linear(2 * hidden if attention else hidden, symbols + 1)

        def encode(self, src):
            enc, h = self.encoder(self.src_embed(src))
            return enc, torch.cat([h[0], h[1]], dim=-1)[None]

        def step(self, tokens, state, enc):
            """Decoder states for ``tokens`` (N, t), the next state, the scores and the attention weights."""
            dec, state = self.decoder(self.tgt_embed(tokens), state)
            if not self.attention:
                return self.out(dec), state, None
            weights = torch.softmax(dec @ enc.transpose(1, 2) / self.hidden ** 0.5, dim=-1)
            return self.out(torch.cat([dec, weights @ enc], dim=-1)), state, weights

        def forward(self, src, tgt_in):
            enc, state = self.encode(src)
            logits, _, weights = self.step(tgt_in, state, enc)
            return logits, weights

    return Seq2Seq


def train_seq2seq(attention: bool, steps: int = 300, batch_size: int = 64, lr: float = 1e-2, rng=0,
                  progress: bool = False):
    """Train a :class:`Seq2Seq` with teacher forcing on fresh reversal batches; ``(model, losses)`` (float32).

    Each step is :func:`~dlcourse.explore.unit5_common.torch_train_step`.
    """
    import torch
    from .._progress import progress_bar
    from .unit5_common import torch_train_step

    rng, torch_seed = seeded(rng)
    with torch_threads(1):
        torch.manual_seed(torch_seed)
        model = _seq2seq_class()(bool(attention))
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        losses = []
        label = "with attention" if attention else "without attention"
        for _ in progress_bar(range(steps), f"seq2seq {label}", enabled=progress, mininterval=0.5):
            src, tgt = (torch.tensor(a) for a in reversal_data(batch_size, rng=rng))
            tgt_in = torch.cat([torch.zeros(batch_size, 1, dtype=torch.long), tgt[:, :-1]], dim=1)
            logits, _ = model(src, tgt_in)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, SYMBOLS + 1), tgt.reshape(-1))
            losses.append(torch_train_step(loss, opt))
    return model.eval(), np.array(losses)


def greedy_decode(model, src):
    """Feed back the most likely symbol at each step; ``(predictions (N, T), weights (N, T, T) or None, states)``.

    ``states`` holds the encoder states and the decoder states (the keys and queries of the attention).
    """
    import torch

    src = torch.as_tensor(np.asarray(src))
    N, T = src.shape
    with torch_threads(1), torch.no_grad():
        enc, state = model.encode(src)
        token = torch.zeros(N, 1, dtype=torch.long)
        preds, weights, queries = [], [], []
        for _ in range(T):
            dec, _ = model.decoder(model.tgt_embed(token), state)
            logits, state, w = model.step(token, state, enc)
            token = logits.argmax(dim=-1)
            preds.append(token)
            queries.append(dec)
            if w is not None:
                weights.append(w)
    states = (enc.double().numpy(), torch.cat(queries, 1).double().numpy())
    return (torch.cat(preds, 1).numpy(), torch.cat(weights, 1).double().numpy() if weights else None, states)


def trained_seq2seq(attention: bool, progress: bool = False):
    """:func:`train_seq2seq` with its defaults, once per session: ``(model, losses)``."""
    return once(("seq2seq", bool(attention)), lambda: train_seq2seq(attention, progress=progress))


def reversal_accuracy(model, n: int = 500, rng=99):
    """``(symbol accuracy, sequence accuracy, per-position accuracy (T,))`` of greedy decoding on fresh data."""
    src, tgt = reversal_data(n, rng=rng)
    pred, _, _ = greedy_decode(model, src)
    right = pred == tgt
    return float(right.mean()), float(right.all(axis=1).mean()), right.mean(axis=0)


# --------------------------------------------------------------------------- a tiny GPT on characters
CHAR_GPT = dict(d_model=32, nhead=4, num_layers=2, context=32)


@lru_cache(maxsize=1)
def char_corpus():
    """``(text, vocab)``: the 2,000 generated sentences of :func:`dlcourse.sequences.make_corpus`."""
    text = make_corpus(2000, rng=0)
    return text, CharVocab(text)


def train_char_transformer(steps: int = 200, batch_size: int = 64, lr: float = 1e-2, rng=0,
                           progress: bool = False):
    """Train embedding + sinusoidal positions → pre-norm encoder layers with a causal mask → LayerNorm → Linear.

    Returns ``(modules, losses)`` with ``modules = (embedding, [layers], final norm, head)`` (torch, float32).
    Each step is :func:`~dlcourse.explore.unit5_common.torch_train_step`.
    """
    import torch
    from .._progress import progress_bar
    from .unit5_common import torch_train_step

    text, vocab = char_corpus()
    ids = torch.tensor(vocab.encode(text))
    V, d, ctx = len(vocab), CHAR_GPT["d_model"], CHAR_GPT["context"]
    rng, torch_seed = seeded(rng)
    with torch_threads(1):
        torch.manual_seed(torch_seed)
        emb = torch.nn.Embedding(V, d)
        layers = torch.nn.ModuleList([torch.nn.TransformerEncoderLayer(d, CHAR_GPT["nhead"], 4 * d, dropout=0.0,
                                                                       norm_first=True)
                                      for _ in range(CHAR_GPT["num_layers"])])
        norm, head = torch.nn.LayerNorm(d), torch.nn.Linear(d, V)
        pe = torch.tensor(sinusoidal_positional_encoding(ctx, d), dtype=torch.float32)[:, None]
        mask = torch.tensor(~causal_mask(ctx))
        params = [p for m in (emb, layers, norm, head) for p in m.parameters()]
        opt = torch.optim.Adam(params, lr=lr)
        losses = []
        for _ in progress_bar(range(steps), "character Transformer", enabled=progress, mininterval=0.5):
            starts = rng.integers(0, len(ids) - ctx - 1, batch_size)
            seq = ids[torch.tensor(starts[None, :] + np.arange(ctx + 1)[:, None])]      # (ctx + 1, N)
            x = emb(seq[:-1]) + pe
            for layer in layers:
                x = layer(x, src_mask=mask, is_causal=True)
            loss = torch.nn.functional.cross_entropy(head(norm(x)).reshape(-1, V), seq[1:].reshape(-1))
            losses.append(torch_train_step(loss, opt))
    return (emb, list(layers), norm, head), np.array(losses)


class TransformerSampler:
    """The trained character Transformer in NumPy (:mod:`dlcourse.layers`): next-character logits and sampling."""

    def __init__(self, modules, vocab: CharVocab):
        emb, layers, norm, head = modules
        d = CHAR_GPT["d_model"]
        self.vocab = vocab
        self.embedding = Embedding(len(vocab), d)
        self.layers = [TransformerEncoderLayer(d, CHAR_GPT["nhead"], 4 * d, dropout=0.0, norm_first=True).eval()
                       for _ in layers]
        self.norm, self.head = LayerNorm(d), Linear(d, len(vocab))
        for mine, theirs in zip([self.embedding, *self.layers, self.norm, self.head], [emb, *layers, norm, head]):
            mine.load_torch(theirs)
        self.pe = sinusoidal_positional_encoding(CHAR_GPT["context"], d)

    def logits(self, ids) -> np.ndarray:
        """Logits of the next character after each position of ``ids`` (the last ``context`` ones), ``(T, V)``."""
        ids = np.asarray(ids)[-CHAR_GPT["context"]:]
        x = (self.embedding(ids) + self.pe[:len(ids)])[:, None]          # (T, 1, d)
        for layer in self.layers:
            x = layer(x, is_causal=True)
        return self.head(self.norm(x[:, 0]))

    def sample(self, prompt: str = "the ", n_chars: int = 100, temperature: float = 1.0, rng=0) -> str:
        r"""``prompt`` followed by ``n_chars`` characters drawn from :math:`\mathrm{softmax}(z/\tau)`."""
        temperature = check_number(temperature, "temperature", low=0.0, low_open=True)
        rng = as_rng(rng)
        ids = list(self.vocab.encode(prompt))
        for _ in range(n_chars):
            p = softmax(self.logits(ids)[-1] / temperature)
            ids.append(int(min(np.searchsorted(np.cumsum(p), rng.random() * p.sum()), len(p) - 1)))
        return self.vocab.decode(ids)


def trained_char_transformer(progress: bool = False) -> TransformerSampler:
    """:func:`train_char_transformer` with its defaults, once per session, as a :class:`TransformerSampler`."""
    def make():
        modules, losses = train_char_transformer(progress=progress)
        sampler = TransformerSampler(modules, char_corpus()[1])
        sampler.modules, sampler.losses = modules, losses
        return sampler

    return once("char transformer", make)


# --------------------------------------------------------------------------- sizes from configurations
CONFIGS = {  # name: (layers, d_model, d_ff, vocabulary, positions), as published
    "BERT-base": (12, 768, 3072, 30522, 512),
    "BERT-large": (24, 1024, 4096, 30522, 512),
    "GPT-2 (small)": (12, 768, 3072, 50257, 1024),
    "GPT-2 XL": (48, 1600, 6400, 50257, 1024),
    "GPT-3": (96, 12288, 49152, 50257, 2048),
}


def encoder_layer_parameters(d_model: int, d_ff: int) -> dict:
    """Parameters of one Transformer layer: attention 4(d² + d), feed-forward 2·d·d_ff + d_ff + d, two norms 4d."""
    d, f = check_positive_int(d_model, "d_model"), check_positive_int(d_ff, "d_ff")
    return {"attention": 4 * (d * d + d), "feed-forward": 2 * d * f + f + d, "layer norms": 4 * d}


def transformer_parameters(name: str) -> dict:
    """The parameters of a model of :data:`CONFIGS`, by part: embeddings, layers, and BERT's or GPT's extras.

    BERT adds two token-type embeddings, an embedding LayerNorm and a pooler (d² + d); GPT-2 a final
    LayerNorm, and its output layer reuses the token embedding (no extra weights).
    """
    if name not in CONFIGS:
        raise ValueError(f"name must be one of {list(CONFIGS)}, got {name!r}")
    n, d, f, vocab, positions = CONFIGS[name]
    parts = {"token embedding": vocab * d, "position embedding": positions * d,
             "layers": n * sum(encoder_layer_parameters(d, f).values())}
    if name.startswith("BERT"):
        parts |= {"token types + embedding norm": 2 * d + 2 * d, "pooler": d * d + d}
    else:
        parts |= {"final norm": 2 * d}
    return parts


class Patches(NamedTuple):
    per_side: int
    tokens: int          # patches + the class token
    patch_values: int    # numbers in one flattened patch
    embedding_params: int
    attention_pairs: int


def vit_patches(image_size: int = 224, patch_size: int = 16, channels: int = 3, d_model: int = 768) -> Patches:
    """ViT's arithmetic: (image/patch)² patches, one token each plus a class token, each patch a vector of p²·C."""
    image_size, patch_size = check_positive_int(image_size, "image_size"), check_positive_int(patch_size, "patch_size")
    if image_size % patch_size:
        raise ValueError(f"patch_size must divide image_size, got {patch_size} and {image_size}")
    side = image_size // patch_size
    values = patch_size * patch_size * check_positive_int(channels, "channels")
    tokens = side * side + 1
    return Patches(side, tokens, values, values * d_model + d_model, tokens * tokens)


def patchify(images, patch_size: int) -> np.ndarray:
    """Cut ``(N, C, H, W)`` images into ``(N, H/p · W/p, C·p·p)`` flattened patches, row by row (as ViT)."""
    x = np.asarray(images, dtype=np.float64)
    p = check_positive_int(patch_size, "patch_size")
    if x.ndim != 4 or x.shape[2] % p or x.shape[3] % p:
        raise ValueError(f"images must be (N, C, H, W) with H and W multiples of patch_size={p}, got {x.shape}")
    N, C, H, W = x.shape
    return x.reshape(N, C, H // p, p, W // p, p).transpose(0, 2, 4, 1, 3, 5).reshape(N, (H // p) * (W // p), C * p * p)


# --------------------------------------------------------------------------- notebook 5.7's figures
def plot_head_weights(fig, per_head) -> None:
    """The attention weights ``per_head`` ``(h, L, S)`` of each head of one sequence, and their average (what
    ``nn.MultiheadAttention`` returns by default), on one colour scale (Unit 5, 5.7, Multi-head attention)."""
    per_head = np.asarray(per_head)
    panels = [*per_head, per_head.mean(axis=0)]
    titles = [f"head {k + 1}" for k in range(len(per_head))] + ["average (what need_weights returns)"]
    top = max(w.max() for w in panels)
    axes = fig.subplots(1, len(panels))
    for ax, w, title in zip(axes, panels, titles):
        im = ax.imshow(w, cmap=SEQUENTIAL, vmin=0, vmax=top)
        ax.set_title(title)
        ax.set_xlabel("key position")
    axes[0].set_ylabel("query position")
    colorbar(list(axes), im, label="attention weight", fraction=0.02)


def plot_positional_encoding(fig, pe, origins=(0, 20)) -> None:
    """Left: the encoding ``pe`` ``(positions, d)`` as a heatmap; right: the dot product of every position's
    encoding with that of each position in ``origins``, against the offset (Unit 5, 5.7, positional encodings)."""
    pe = np.asarray(pe)
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1.3, 1])
    im = ax1.imshow(pe.T, cmap=DIVERGING, vmin=-1, vmax=1, aspect="auto")
    colorbar(ax1, im, label="encoding value")
    ax1.set_xlabel("position t")
    ax1.set_ylabel("column (2i: sine, 2i + 1: cosine)")
    ax1.set_title(f"sinusoidal encoding, d = {pe.shape[1]} ({diverging_note()})", fontsize=FONT)
    for t0 in origins:
        ax2.plot(np.arange(len(pe)) - t0, pe @ pe[t0], label=f"$PE_t \\cdot PE_{{{t0}}}$")
    ax2.set_xlabel("offset t − t₀")
    ax2.set_ylabel("dot product")
    ax2.set_title("similarity depends only on the offset", fontsize=FONT)
    fig.subplots_adjust(wspace=0.35)
    legend_outside(ax2, "right")


def plot_reversal_training(fig, runs: dict, window: int = 10) -> None:
    """Left: each run's training loss (``window``-step means); right: the fraction of symbols right at each output
    position. ``runs`` maps a label to ``(losses (steps,), per_position (SEQ_LEN,))`` (Unit 5, 5.7, reversal)."""
    ax1, ax2 = fig.subplots(1, 2)
    for label, (losses, per_position) in runs.items():
        ax1.plot(*moving_average(losses, window), label=label)
        ax2.plot(np.arange(1, len(per_position) + 1), per_position, "o-", label=label)
    ax1.set_xlabel("training step")
    ax1.set_ylabel(f"cross-entropy ({window}-step mean)")
    ax2.set_xlabel("output position (1 = the last input symbol)")
    ax2.set_ylabel("symbols right")
    ax2.set_ylim(0, 1.05)
    ax2.set_xticks(np.arange(1, len(per_position) + 1))
    fig.subplots_adjust(wspace=0.3)
    legend_outside(ax2, "right")


def plot_alignment(ax, weights, source, predicted) -> None:
    """The attention ``weights`` ``(T_out, T_in)`` of one decoded sequence: which ``source`` symbol each
    ``predicted`` symbol looked at (Unit 5, 5.7, reversal with attention)."""
    im = ax.imshow(weights, cmap=SEQUENTIAL, vmin=0, vmax=1)
    colorbar(ax, im, label="attention weight")
    ax.set_xticks(range(len(source)), [str(s) for s in source])
    ax.set_yticks(range(len(predicted)), [str(p) for p in predicted])
    ax.set_xlabel(f"source symbol (input position 1 → {len(source)})")
    ax.set_ylabel("predicted symbol (output step)")
    ax.set_title("where each output looked")
