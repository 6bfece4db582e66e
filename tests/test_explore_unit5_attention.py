"""Notebook 5.7's logic and widgets: the attention and mask explorers (headless), the reversal seq2seq, the
character Transformer copied into dlcourse.layers, and the model sizes computed from configurations.

Trainings here are a few steps (shapes, copies and equalities); the claims about fully trained models are checked
by the notebook (nbval) and by the ``slow`` test at the end.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.unit5

from dlcourse.explore import unit5_architectures as arch  # noqa: E402
from dlcourse.explore import unit5_attention as att  # noqa: E402
from dlcourse.explore import session  # noqa: E402
from dlcourse.explore import unit5_common as common  # noqa: E402
from dlcourse.layers import attention_forward, sinusoidal_positional_encoding  # noqa: E402
from dlcourse.widgets import unit5 as widgets  # noqa: E402
from test_widgets_unit5 import PNG, changed  # noqa: E402, F401  (the unit's widget-test helpers, once)
from test_explore_unit5_detection import colorbars, data_axes, draw, figure_problems  # noqa: E402


# -- attention explorer --------------------------------------------------------------------------------
def test_attention_explorer_weights_and_output():
    d = att.compute_attention_explorer(1.0, 0.5, 60.0, 1.5)
    np.testing.assert_allclose(d.scores, d.keys @ d.query / np.sqrt(2))
    np.testing.assert_allclose(d.weights, np.exp(d.scores) / np.exp(d.scores).sum())
    np.testing.assert_allclose(d.output, d.weights @ d.values)
    # a long query pointing at key A puts (almost) all the weight on A: the output is A's value
    d = att.compute_attention_explorer(20 * np.cos(np.radians(60)), 20 * np.sin(np.radians(60)), 60.0, 2.0)
    assert d.weights[0] > 0.999 and np.allclose(d.output, att.VALUES[0], atol=1e-3)
    # a zero query weighs every key equally: the output is the mean of the values
    d = att.compute_attention_explorer(0.0, 0.0)
    np.testing.assert_allclose(d.weights, 0.25)
    assert "key" in att.describe_attention_explorer(d)
    with pytest.raises(ValueError, match="key_length must be in"):
        att.compute_attention_explorer(key_length=-1.0)


def test_attention_explorer_widget():
    demo = widgets.make_attention_explorer()
    assert demo.png.startswith(PNG)
    assert changed(demo, "query_x", -1.5).query[0] == -1.5
    assert changed(demo, "key_angle", 180.0).keys[0][0] < 0
    assert "output" in demo.caption.value


# -- mask explorer -------------------------------------------------------------------------------------
def test_mask_matrix_causal_and_padding():
    m = att.mask_matrix(4, n_pad=1, causal=True)
    assert m.tolist() == [[True, False, False, False], [True, True, False, False], [True, True, True, False],
                          [True, True, True, False]]   # a padded query attends to the real tokens
    assert att.mask_matrix(3).all()
    assert att.mask_matrix(1).tolist() == [[True]]
    with pytest.raises(ValueError, match=r"n_pad must be in \[0, T\) = \[0, 3\)"):
        att.mask_matrix(3, n_pad=3)


@pytest.mark.parametrize("causal", [False, True])
def test_mask_explorer_blocks_exactly(causal):
    d = att.compute_mask_explorer(T=7, n_pad=2, causal=causal, query=6)
    np.testing.assert_allclose(d.weights.sum(axis=1), 1.0)
    assert np.all(d.weights[~d.allowed] == 0) and np.all(d.weights[d.allowed] > 0)
    assert d.weights[0, 0] == (1.0 if causal else d.weights[0, 0])
    with pytest.raises(ValueError, match="T must be at most 12"):
        att.compute_mask_explorer(T=13)


def test_mask_explorer_widget_keeps_its_figure_when_T_changes():
    demo = widgets.make_mask_explorer()
    redraws = demo.renderer.full_redraws
    assert changed(demo, "T", 12).T == 12
    assert changed(demo, "query", 11).query == 11
    assert changed(demo, "T", 4).query == 3              # the query is clamped to the sequence
    d = changed(demo, "causal", False)
    assert d.allowed[0, 1] and not d.allowed[:, 2:].any()    # 2 padded keys of 4, no causal mask
    assert demo.renderer.full_redraws == redraws          # only the moving artists were repainted
    assert "Query" in demo.caption.value


def test_new_benchmark_cases_are_listed():
    assert {"unit5 attention explorer", "unit5 mask explorer"} <= set(widgets.BENCHMARK_CASES)


# -- seq2seq -------------------------------------------------------------------------------------------
def test_reversal_data():
    src, tgt = att.reversal_data(5, rng=0)
    assert src.shape == tgt.shape == (5, att.SEQ_LEN)
    assert np.array_equal(tgt, src[:, ::-1]) and src.min() >= 1 and src.max() <= att.SYMBOLS


def test_seq2seq_decodes_and_its_weights_are_numpy_attention():
    model, losses = att.train_seq2seq(True, steps=3)
    assert losses.shape == (3,)
    src, _ = att.reversal_data(4, rng=1)
    pred, weights, (enc, dec) = att.greedy_decode(model, src)
    assert pred.shape == (4, att.SEQ_LEN) and weights.shape == (4, att.SEQ_LEN, att.SEQ_LEN)
    np.testing.assert_allclose(attention_forward(dec, enc, enc)[1].weights, weights, atol=1e-5)
    plain, _ = att.train_seq2seq(False, steps=2)
    assert att.greedy_decode(plain, src)[1] is None
    sym, seq, per_position = att.reversal_accuracy(plain, n=20)
    assert 0 <= seq <= sym <= 1 and per_position.shape == (att.SEQ_LEN,)


# -- the character Transformer -------------------------------------------------------------------------
def test_char_transformer_copy_equals_torch(torch):
    modules, losses = att.train_char_transformer(steps=2, batch_size=4)
    sampler = att.TransformerSampler(modules, att.char_corpus()[1])
    emb, layers, norm, head = modules
    ids = sampler.vocab.encode("a robot watched")
    with torch.no_grad():
        x = (emb(torch.tensor(ids)) + torch.tensor(sampler.pe[:len(ids)], dtype=torch.float32))[:, None]
        for layer in layers:
            x = layer(x, src_mask=torch.tensor(~att.causal_mask(len(ids))), is_causal=True)
        expected = head(norm(x[:, 0])).double().numpy()
    np.testing.assert_allclose(sampler.logits(ids), expected, atol=1e-4)
    text = sampler.sample("the ", 10, temperature=0.7, rng=0)
    assert text.startswith("the ") and len(text) == 14
    assert sampler.sample("the ", 10, temperature=0.7, rng=0) == text
    assert sampler.sample("the ", 10, temperature=0.7, rng=np.random.default_rng(0)) == text
    with pytest.raises(ValueError, match="temperature must be in"):
        sampler.sample(temperature=0.0)


def test_trained_models_are_cached_per_session(monkeypatch):
    calls = []
    monkeypatch.setattr(att, "train_seq2seq", lambda attention, progress=False: calls.append(attention) or "m")
    session.forget(("seq2seq", True))
    assert att.trained_seq2seq(True) == att.trained_seq2seq(True) == "m"
    assert calls == [True]
    session.forget(("seq2seq", True))


# -- sizes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["BERT-base", "GPT-2 (small)", "GPT-2 XL"])
def test_parameter_formula_equals_torch_modules(name):
    assert sum(att.transformer_parameters(name).values()) == arch.count_parameters(arch.transformer(name))


@pytest.mark.parametrize("d, d_ff", [(16, 64), (1024, 4096)])
def test_encoder_layer_formula_equals_torch(torch, d, d_ff):
    layer = torch.nn.TransformerEncoderLayer(d, 8, d_ff, device="meta")
    assert sum(att.encoder_layer_parameters(d, d_ff).values()) == sum(p.numel() for p in layer.parameters())


def test_published_sizes():
    total = {n: sum(att.transformer_parameters(n).values()) for n in att.CONFIGS}
    assert round(total["BERT-base"] / 1e6) == 109 and round(total["BERT-large"] / 1e6) == 335
    assert round(total["GPT-3"] / 1e9, 1) == 174.6
    with pytest.raises(ValueError, match="name must be one of"):
        att.transformer_parameters("GPT-5")


def test_vit_patches_and_patchify_equal_a_strided_convolution(torch, rng):
    p = att.vit_patches()
    assert (p.per_side, p.tokens, p.patch_values, p.embedding_params) == (14, 197, 768, 590_592)
    assert att.vit_patches(384, 16).tokens == 577
    images = rng.normal(size=(2, 3, 8, 12))
    patches = att.patchify(images, 4)
    assert patches.shape == (2, 6, 48)
    conv = torch.nn.Conv2d(3, 5, 4, stride=4, bias=False)
    expected = conv(torch.tensor(images)).flatten(2).transpose(1, 2).detach().numpy()   # (N, tokens, 5)
    np.testing.assert_allclose(patches @ conv.weight.detach().numpy().reshape(5, -1).T, expected, atol=1e-12)
    with pytest.raises(ValueError, match="multiples of patch_size=5"):
        att.patchify(images, 5)
    with pytest.raises(ValueError, match="patch_size must divide image_size"):
        att.vit_patches(224, 15)


# -- the trained models' claims (seconds each) ---------------------------------------------------------
@pytest.mark.slow
def test_attention_beats_the_summary_vector_on_reversal():
    plain, _ = att.train_seq2seq(False)
    attentive, _ = att.train_seq2seq(True)
    (sym_p, seq_p, _), (sym_a, seq_a, _) = att.reversal_accuracy(plain), att.reversal_accuracy(attentive)
    assert sym_a > 0.85 and sym_a - sym_p > 0.2 and seq_a > 5 * seq_p


def test_seeded_accepts_an_int_or_a_generator():
    gen, seed = att.seeded(3)
    assert seed == 3 and gen.integers(100) == np.random.default_rng(3).integers(100)
    g = np.random.default_rng(0)
    gen, seed = att.seeded(g)
    assert gen is g and 0 <= seed < 2**31
    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy.random.Generator"):
        att.seeded("zero")


# -- notebook 5.7's figures ----------------------------------------------------------------------------
# Drawn on a fresh Agg figure in the course style and read back (helpers shared with 5.8's figure tests).
def test_plot_head_weights_one_panel_per_head_and_their_average_on_one_scale(rng):
    # fails if the average is taken over the wrong axis, a head is missing, or each panel gets its own scale
    per_head = rng.dirichlet(np.ones(5), size=(3, 4))                   # (h, L, S): rows sum to 1
    fig, _ = draw(att.plot_head_weights, per_head, size=(12, 3.2))
    axes = data_axes(fig)
    assert [ax.get_title() for ax in axes] == ["head 1", "head 2", "head 3", "average (what need_weights returns)"]
    for ax, expected in zip(axes, [*per_head, per_head.mean(axis=0)]):
        np.testing.assert_allclose(ax.images[0].get_array(), expected)
        assert ax.images[0].get_clim() == (0, per_head.max())
    assert len(colorbars(fig)) == 1 and not figure_problems(fig)


def test_plot_positional_encoding_heatmap_and_offset_curves():
    # fails if the heatmap is not (columns x positions), or a curve is not PE_t . PE_t0 against t - t0
    pe = sinusoidal_positional_encoding(64, 32)
    fig, _ = draw(att.plot_positional_encoding, pe, origins=(0, 20), size=(10, 3.4))
    heat, curves = data_axes(fig)
    np.testing.assert_allclose(heat.images[0].get_array(), pe.T)
    assert "d = 32" in heat.get_title() and "positive" in heat.get_title()
    for line, t0 in zip(curves.lines, (0, 20)):
        np.testing.assert_allclose(line.get_xdata(), np.arange(64) - t0)
        np.testing.assert_allclose(line.get_ydata(), pe @ pe[t0])
    assert len(curves.lines) == 2 and len(colorbars(fig)) == 1 and not figure_problems(fig)


def test_plot_reversal_training_curves_and_accuracy_by_position():
    # fails if a run's curve is not its moving average, or the positions do not start at 1
    runs = {"without attention": (np.linspace(2, 1, 40), np.linspace(1, 0.3, att.SEQ_LEN)),
            "with attention": (np.linspace(2, 0.1, 40), np.linspace(1, 0.8, att.SEQ_LEN))}
    fig, _ = draw(att.plot_reversal_training, runs, window=10, size=(10, 3.2))
    losses, positions = data_axes(fig)
    for k, (curve, per_position) in enumerate(runs.values()):
        steps, means = common.moving_average(curve, 10)
        np.testing.assert_allclose(losses.lines[k].get_xdata(), steps)
        np.testing.assert_allclose(losses.lines[k].get_ydata(), means)
        np.testing.assert_allclose(positions.lines[k].get_xdata(), np.arange(1, att.SEQ_LEN + 1))
        np.testing.assert_allclose(positions.lines[k].get_ydata(), per_position)
    assert [t.get_text() for t in positions.get_legend().get_texts()] == list(runs) and not figure_problems(fig)


def test_plot_alignment_labels_rows_and_columns_with_the_symbols():
    # fails if the source and predicted symbols are swapped between the axes, or the weights are transposed
    weights = np.eye(4)[::-1] * 0.7 + 0.075
    fig, _ = draw(att.plot_alignment, weights, [3, 1, 4, 1], [1, 4, 1, 2], size=(5.2, 4.2), axes=True)
    ax = data_axes(fig)[0]
    np.testing.assert_allclose(ax.images[0].get_array(), weights)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["3", "1", "4", "1"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["1", "4", "1", "2"]
    assert len(colorbars(fig)) == 1 and not figure_problems(fig)
