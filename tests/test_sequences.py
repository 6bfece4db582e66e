"""Tests for dlcourse.sequences: the generated sequence data sets of Unit 5."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.sequences import (ADDING_BASELINE_MSE, NEGATIVE_WORDS, POSITIVE_WORDS, CharVocab, mackey_glass,
                                make_adding_problem, make_corpus, make_sentiment, multi_sine, sliding_windows,
                                time_major)

pytestmark = pytest.mark.unit5


# --------------------------------------------------------------------------- multi_sine and windows
def test_multi_sine_is_a_sum_of_sines_with_the_given_periods():
    s = multi_sine(500, periods=(20.0,), amplitudes=(2.0,), rng=3)
    assert s.shape == (500,)
    np.testing.assert_allclose(s[20:], s[:-20], atol=1e-12)       # period 20
    assert np.max(np.abs(s)) == pytest.approx(2.0, abs=0.05)
    two = multi_sine(1000, periods=(25.0, 9.0), rng=0)
    assert np.max(np.abs(two)) <= 1.0 + 1e-12                       # default amplitudes 1/2 each
    spectrum = np.abs(np.fft.rfft(two))
    peaks = sorted(np.argsort(spectrum)[-2:])
    assert [1000 / p for p in peaks] == pytest.approx([25.0, 9.0], rel=0.02)


def test_multi_sine_is_reproducible_and_noise_has_the_right_scale():
    a, b = multi_sine(300, noise=0.1, rng=1), multi_sine(300, noise=0.1, rng=1)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, multi_sine(300, noise=0.1, rng=2))
    clean = multi_sine(20000, periods=(30.0,), rng=5)
    noisy = multi_sine(20000, periods=(30.0,), noise=0.2, rng=5)
    # same phases (drawn first), so the difference is the noise
    assert np.std(noisy - clean) == pytest.approx(0.2, rel=0.05)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_steps=0), ValueError, "n_steps must be >= 1"),
    (dict(periods=()), ValueError, "non-empty list of positive"),
    (dict(periods=(5.0, -1.0)), ValueError, "positive numbers"),
    (dict(periods=(5.0, 3.0), amplitudes=(1.0,)), ValueError, "one entry per period"),
    (dict(noise=-0.1), ValueError, "noise must be in"),
    (dict(n_steps=2.5), TypeError, "n_steps must be an integer"),
])
def test_multi_sine_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        multi_sine(**kwargs)


def test_sliding_windows_by_hand():
    w = sliding_windows(np.arange(10.0), window=3, horizon=2, stride=2)
    np.testing.assert_array_equal(w.X, [[0, 1, 2], [2, 3, 4], [4, 5, 6]])
    np.testing.assert_array_equal(w.y, [[3, 4], [5, 6], [7, 8]])


@given(T=st.integers(2, 60), window=st.integers(1, 20), horizon=st.integers(1, 5), stride=st.integers(1, 4))
@settings(max_examples=50, deadline=None)
def test_sliding_windows_property(T, window, horizon, stride):
    s = np.random.default_rng(T).normal(size=T)
    if window + horizon > T:
        with pytest.raises(ValueError, match="fewer than window"):
            sliding_windows(s, window, horizon, stride)
        return
    w = sliding_windows(s, window, horizon, stride)
    n = (T - window - horizon) // stride + 1
    assert w.X.shape == (n, window) and w.y.shape == (n, horizon)
    for i in range(n):
        t = i * stride
        np.testing.assert_array_equal(w.X[i], s[t:t + window])
        np.testing.assert_array_equal(w.y[i], s[t + window:t + window + horizon])


def test_time_major():
    X = np.arange(24.0).reshape(4, 6)
    out = time_major(X)
    assert out.shape == (6, 4, 1) and out[2, 3, 0] == X[3, 2]
    assert time_major(np.zeros((4, 6, 3))).shape == (6, 4, 3)
    with pytest.raises(ValueError, match="must be 2-D or 3-D"):
        time_major(np.zeros(5))


# --------------------------------------------------------------------------- adding problem
def test_adding_problem_structure():
    d = make_adding_problem(500, seq_len=30, rng=0)
    assert d.X.shape == (30, 500, 2) and d.y.shape == (500,) and d.positions.shape == (500, 2)
    assert np.all(d.X[:, :, 1].sum(axis=0) == 2)                      # exactly two markers
    assert np.all(d.positions[:, 0] < 15) and np.all(d.positions[:, 1] >= 15)
    cols = np.arange(500)
    np.testing.assert_allclose(d.y, d.X[d.positions[:, 0], cols, 0] + d.X[d.positions[:, 1], cols, 0])
    np.testing.assert_array_equal(np.flatnonzero(d.X[:, 7, 1]), d.positions[7])
    assert 0 <= d.X[:, :, 0].min() and d.X[:, :, 0].max() < 1


def test_adding_problem_baseline_is_one_sixth():
    d = make_adding_problem(200000, seq_len=4, rng=1)
    assert ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert np.mean((d.y - 1.0) ** 2) == pytest.approx(ADDING_BASELINE_MSE, rel=0.01)
    assert np.mean(d.y) == pytest.approx(1.0, abs=0.01)


def test_adding_problem_is_reproducible_and_validates():
    a, b = make_adding_problem(10, 8, rng=4), make_adding_problem(10, 8, rng=4)
    np.testing.assert_array_equal(a.X, b.X)
    rng = np.random.default_rng(0)
    assert not np.array_equal(make_adding_problem(10, 8, rng=rng).X, make_adding_problem(10, 8, rng=rng).X)
    with pytest.raises(ValueError, match="seq_len must be >= 2"):
        make_adding_problem(10, 1)
    with pytest.raises(TypeError, match="rng must be None"):
        make_adding_problem(10, 5, rng="x")


# --------------------------------------------------------------------------- text
def test_corpus_and_vocab_round_trip():
    text = make_corpus(300, rng=0)
    lines = text.splitlines()
    assert len(lines) == 300 and all(line.endswith(".") for line in lines)
    assert text == make_corpus(300, rng=0) and text != make_corpus(300, rng=1)
    vocab = CharVocab(text)
    assert vocab.chars == sorted(set(text)) and len(vocab) == len(set(text))
    assert vocab.decode(vocab.encode(text)) == text
    assert "\n" in vocab.chars and " " in vocab.chars
    assert repr(vocab).startswith(f"CharVocab({len(vocab)} characters")


def test_vocab_bad_input():
    vocab = CharVocab("abc")
    with pytest.raises(ValueError, match=r"outside the vocabulary: \['z'\]"):
        vocab.encode("abz")
    with pytest.raises(ValueError, match="ids must be in"):
        vocab.decode([0, 3])
    with pytest.raises(TypeError, match="non-empty string"):
        CharVocab("")
    assert vocab.decode([]) == ""


def _rule(sentence: str) -> int:
    """The labelling rule, written independently: the last clause decides; "not" flips it."""
    clause = sentence.split(" but ")[-1].split()
    positive = clause[-1] in POSITIVE_WORDS
    assert positive or clause[-1] in NEGATIVE_WORDS
    return int(positive != ("not" in clause))


def test_sentiment_labels_follow_the_rule():
    d = make_sentiment(3000, rng=0)
    assert len(d.sentences) == 3000 and d.labels.shape == (3000,)
    assert [_rule(s) for s in d.sentences] == d.labels.tolist()
    assert 0.4 < d.labels.mean() < 0.6
    has_not = np.array([" not " in s for s in d.sentences])
    has_but = np.array([" but " in s for s in d.sentences])
    assert 0.15 < has_not.mean() < 0.6 and 0.2 < has_but.mean() < 0.5


def test_sentiment_tokens_are_left_padded_word_ids():
    d = make_sentiment(200, rng=1)
    assert d.vocab[0] == "<pad>" and d.vocab[1:] == sorted(d.vocab[1:])
    for sentence, row in zip(d.sentences, d.tokens):
        words = [d.vocab[i] for i in row if i]
        assert " ".join(words) == sentence
        n = len(words)
        assert np.all(row[:len(row) - n] == 0) and np.all(row[len(row) - n:] > 0)


# --------------------------------------------------------------------------- Mackey-Glass
def test_mackey_glass_is_bounded_reproducible_and_chaotic():
    s = mackey_glass(800, rng=0)
    assert s.shape == (800,) and np.all(np.isfinite(s))
    assert -1.5 < s.min() < -0.5 and 0.5 < s.max() < 1.5                  # scaled to about [-1, 1]
    np.testing.assert_array_equal(s, mackey_glass(800, rng=0))
    # sensitive dependence: two nearby starts end up far apart
    a, b = mackey_glass(1500, washout=0, rng=0), mackey_glass(1500, washout=0, rng=1)
    assert np.abs(a[:5] - b[:5]).max() < 0.1 and np.abs(a[-300:] - b[-300:]).max() > 1.0


def test_mackey_glass_without_delay_feedback_decays():
    # with beta = 0 the equation is dx/dt = -gamma x: exponential decay from the initial history
    s = mackey_glass(50, beta=0.0, washout=0, sample_every=1.0, rng=0)
    x = s * 0.4 + 0.9
    np.testing.assert_allclose(x[1:] / x[:-1], (1 - 0.1 * 0.1) ** 10, rtol=1e-12)


@pytest.mark.parametrize("kwargs, match", [(dict(sample_every=0.25), "multiple of dt"), (dict(tau=0.0), "tau must be"),
                                           (dict(n_steps=0), "n_steps must be >= 1")])
def test_mackey_glass_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mackey_glass(**kwargs)
