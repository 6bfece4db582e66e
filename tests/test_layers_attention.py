"""Tests for attention, MultiheadAttention, LayerNorm, Embedding, positional encodings and
TransformerEncoderLayer against torch (float64) and central finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.checks import numerical_gradient, numerical_jacobian_vector
from dlcourse.layers import (Embedding, LayerNorm, MultiheadAttention, TransformerEncoderLayer, attention_backward,
                             attention_forward, causal_mask, scaled_dot_product_attention,
                             sinusoidal_positional_encoding)

pytestmark = pytest.mark.unit5

TOL = dict(rtol=1e-10, atol=1e-12)
FD_TOL = dict(rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- scaled dot-product attention
# batch shape, L, S, E, Ev, mask kind
SDPA_CASES = [((), 3, 4, 2, 5, None), ((2,), 4, 4, 3, 3, "causal"), ((2, 3), 3, 5, 4, 2, "bool"),
              ((1,), 5, 3, 2, 2, "float"), ((2,), 4, 6, 3, 2, "causal_rect")]


def _mask(kind, L, S, rng):
    if kind == "bool":
        m = rng.random((L, S)) < 0.6
        m[:, 0] = True                       # every query sees at least one key
        return m
    if kind == "float":
        return rng.normal(size=(L, S))
    return None


@pytest.mark.parametrize("batch, L, S, E, Ev, kind", SDPA_CASES)
def test_attention_matches_torch_sdpa(torch, rng, batch, L, S, E, Ev, kind):
    q, k, v = rng.normal(size=batch + (L, E)), rng.normal(size=batch + (S, E)), rng.normal(size=batch + (S, Ev))
    mask, causal = _mask(kind, L, S, rng), kind in ("causal", "causal_rect")
    g = rng.normal(size=batch + (L, Ev))
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out_t = torch.nn.functional.scaled_dot_product_attention(
        qt, kt, vt, attn_mask=None if mask is None else torch.tensor(mask), is_causal=causal)
    (out_t * torch.tensor(g)).sum().backward()
    out, cache = attention_forward(q, k, v, mask, is_causal=causal)
    grads = attention_backward(g, cache)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v, mask, is_causal=causal), out, **TOL)
    for mine, theirs in zip(grads, (qt, kt, vt)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), **TOL)
    np.testing.assert_allclose(cache.weights.sum(axis=-1), 1.0, **TOL)


def test_attention_scale_argument_matches_torch(torch, rng):
    q, k, v = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    expected = torch.nn.functional.scaled_dot_product_attention(*map(torch.tensor, (q, k, v)), scale=0.3)
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v, scale=0.3), expected.numpy(), **TOL)


@pytest.mark.parametrize("kind", [None, "causal", "bool"])
def test_attention_gradients_match_finite_differences(rng, kind):
    L = S = 4
    inputs = dict(query=rng.normal(size=(2, L, 3)), key=rng.normal(size=(2, S, 3)), value=rng.normal(size=(2, S, 2)))
    mask, causal = _mask(kind, L, S, rng), kind == "causal"
    g = rng.normal(size=(2, L, 2))
    _, cache = attention_forward(**inputs, attn_mask=mask, is_causal=causal)
    grads = attention_backward(g, cache)
    for name in inputs:
        def f(x, name=name):
            return np.sum(attention_forward(**{**inputs, name: x}, attn_mask=mask, is_causal=causal)[0] * g)
        np.testing.assert_allclose(getattr(grads, name), numerical_gradient(f, inputs[name]), **FD_TOL, err_msg=name)


def test_attention_dropout_gradients_match_finite_differences(rng):
    q, k, v = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    g = rng.normal(size=(3, 2))
    _, cache = attention_forward(q, k, v, dropout_p=0.4, rng=7)
    assert cache.keep is not None and not cache.keep.all()
    grads = attention_backward(g, cache)
    f = lambda x: np.sum(attention_forward(x, k, v, dropout_p=0.4, rng=7)[0] * g)   # noqa: E731 (same mask)
    np.testing.assert_allclose(grads.query, numerical_gradient(f, q), **FD_TOL)


def test_attention_hand_computed():
    """Two keys with equal scores: the output is the mean of the values; a causal first query sees only key 0."""
    q = np.array([[0.0, 0.0], [1.0, 0.0]])
    k = np.array([[1.0, 0.0], [1.0, 0.0]])
    v = np.array([[2.0], [4.0]])
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v), [[3.0], [3.0]], **TOL)
    np.testing.assert_allclose(scaled_dot_product_attention(q, k, v, is_causal=True), [[2.0], [3.0]], **TOL)
    assert causal_mask(2, 3).tolist() == [[True, False, False], [True, True, False]]


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from([1e-8, 1.0, 1e4]), seed=st.integers(0, 2**16))
def test_attention_output_is_a_convex_combination_of_values(scale, seed):
    """Huge scores do not overflow: each output lies between the smallest and largest value."""
    r = np.random.default_rng(seed)
    q, k, v = r.normal(size=(3, 4)) * scale, r.normal(size=(5, 4)), r.normal(size=(5, 2))
    out, cache = attention_forward(q, k, v)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(cache.weights))
    assert np.all(out <= v.max(axis=0) + 1e-12) and np.all(out >= v.min(axis=0) - 1e-12)


def test_attention_rejects_bad_input(rng):
    q, k, v = rng.normal(size=(3, 2)), rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    with pytest.raises(ValueError, match="query and key must have the same feature size"):
        attention_forward(q, rng.normal(size=(4, 3)), v)
    with pytest.raises(ValueError, match="key and value must have the same length S"):
        attention_forward(q, k, v[:3])
    with pytest.raises(ValueError, match=r"attn_mask must broadcast to \(\.\.\., L, S\) = \(\.\.\., 3, 4\)"):
        attention_forward(q, k, v, attn_mask=np.ones((4, 3), bool))
    with pytest.raises(ValueError, match="not both"):
        attention_forward(q, k, v, attn_mask=np.ones((3, 4), bool), is_causal=True)
    blocked = np.ones((3, 4), bool)
    blocked[1] = False
    with pytest.raises(ValueError, match=r"blocks every key for the query at index \(1,\)"):
        attention_forward(q, k, v, attn_mask=blocked)
    with pytest.raises(TypeError, match="query must be an array of numbers"):
        attention_forward("abc", k, v)
    with pytest.raises(TypeError, match="cache must be the AttentionCache"):
        attention_backward(np.zeros((3, 3)), None)
    _, cache = attention_forward(q, k, v)
    with pytest.raises(ValueError, match=r"grad_output must have the output's shape \(3, 3\)"):
        attention_backward(np.zeros((3, 2)), cache)


# --------------------------------------------------------------------------- MultiheadAttention
# E, heads, L, S, N, batch_first, bias, masks
MHA_CASES = [(4, 1, 3, 3, 2, False, True, ""), (6, 2, 4, 5, 3, True, True, "pad"),
             (8, 4, 5, 5, 2, False, True, "causal"), (6, 3, 3, 4, 2, True, False, "pad+float"),
             (4, 2, 4, 4, 3, False, True, "bool3d"), (4, 2, 3, 3, None, False, True, "")]


def _mha_masks(kind, N, h, L, S, rng, torch):
    """Our arguments and torch's (the same arrays)."""
    kw = {}
    if "pad" in kind:
        pad = np.zeros((N, S), bool)
        pad[0, -2:] = True
        kw["key_padding_mask"] = pad
    if kind == "causal":
        kw["attn_mask"] = ~causal_mask(L, S)
    if "float" in kind:
        kw["attn_mask"] = rng.normal(size=(L, S))
    if kind == "bool3d":
        m = rng.random((N * h, L, S)) < 0.3
        m[..., 0] = False
        kw["attn_mask"] = m
    return kw, {k: torch.tensor(v) for k, v in kw.items()}


def _mha_pair(torch, E, h, batch_first, bias, seed=0):
    torch.manual_seed(seed)
    tm = torch.nn.MultiheadAttention(E, h, bias=bias, batch_first=batch_first)
    with torch.no_grad():                      # torch starts the biases at zero: make them matter
        for name, p in tm.named_parameters():
            if "bias" in name:
                p.normal_()
    m = MultiheadAttention(E, h, bias=bias, batch_first=batch_first, rng=1)
    m.load_torch(tm)
    return m, tm


@pytest.mark.parametrize("E, h, L, S, N, batch_first, bias, kind", MHA_CASES)
@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_matches_torch(torch, rng, E, h, L, S, N, batch_first, bias, kind, average):
    m, tm = _mha_pair(torch, E, h, batch_first, bias)
    shape = (lambda T: (T, E)) if N is None else (lambda T: (N, T, E) if batch_first else (T, N, E))
    q, k, v = rng.normal(size=shape(L)), rng.normal(size=shape(S)), rng.normal(size=shape(S))
    kw, kw_t = _mha_masks(kind, N or 1, h, L, S, rng, torch)
    g = rng.normal(size=shape(L))
    qt, kt, vt = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    out_t, w_t = tm(qt, kt, vt, average_attn_weights=average, **kw_t)
    (out_t * torch.tensor(g)).sum().backward()
    out, w = m(q, k, v, average_attn_weights=average, **kw)
    grads = m.backward(g)
    np.testing.assert_allclose(out, out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(w, w_t.detach().numpy(), **TOL)
    for mine, theirs in zip(grads, (qt, kt, vt)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), **TOL)
    for name, p in tm.named_parameters():
        np.testing.assert_allclose(m.grads[name], p.grad.numpy(), **TOL, err_msg=name)


def test_multihead_self_attention_causal_flag_and_no_weights(torch, rng):
    m, tm = _mha_pair(torch, 6, 2, True, True)
    x = rng.normal(size=(2, 5, 6))
    out, w = m(x, x, x, is_causal=True, need_weights=False)
    expected, _ = tm(*(torch.tensor(x),) * 3, attn_mask=torch.tensor(~causal_mask(5)), is_causal=True)
    assert w is None
    np.testing.assert_allclose(out, expected.detach().numpy(), **TOL)


def test_multihead_attention_gradients_match_finite_differences(rng):
    m = MultiheadAttention(4, 2, batch_first=True, rng=0)
    for name in ("in_proj_bias", "out_proj.bias"):
        m.params[name][...] = rng.normal(size=m.params[name].shape)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 4, 4)), rng.normal(size=(2, 4, 4))
    pad = np.array([[False, False, False, True], [False] * 4])
    g = rng.normal(size=(2, 3, 4))

    def run(q=q, k=k, v=v):
        return m(q, k, v, key_padding_mask=pad)[0]

    run()
    dq, dk, dv = m.backward(g)
    np.testing.assert_allclose(dq, numerical_jacobian_vector(lambda z: run(q=z), q, g), **FD_TOL)
    np.testing.assert_allclose(dk, numerical_jacobian_vector(lambda z: run(k=z), k, g), **FD_TOL)
    np.testing.assert_allclose(dv, numerical_jacobian_vector(lambda z: run(v=z), v, g), **FD_TOL)
    assert np.allclose(dk[0, 3], 0) and np.allclose(dv[0, 3], 0)      # a padded key gets no gradient
    _check_param_grads_fd(m, lambda: run(), g)


def _check_param_grads_fd(layer, run, g):
    for name, p in layer.params.items():
        saved = p.copy()

        def f(w, p=p, saved=saved):
            p[...] = w
            try:
                return np.sum(run() * g)
            finally:
                p[...] = saved
        np.testing.assert_allclose(layer.grads[name], numerical_gradient(f, saved), **FD_TOL, err_msg=name)


def test_multihead_attention_init_and_names(torch):
    m = MultiheadAttention(8, 2, rng=0)
    tm = torch.nn.MultiheadAttention(8, 2)
    assert {k: v.shape for k, v in m.params.items()} == {k: tuple(v.shape) for k, v in tm.named_parameters()}
    assert np.abs(m.params["in_proj_weight"]).max() <= np.sqrt(6 / 32)
    assert np.all(m.params["in_proj_bias"] == 0) and np.all(m.params["out_proj.bias"] == 0)
    m.forward(np.ones((2, 1, 8)), np.ones((2, 1, 8)), np.ones((2, 1, 8)))
    m.backward(np.ones((2, 1, 8)))
    once = [g.copy() for g in m.gradients()]
    m.backward(np.ones((2, 1, 8)))                        # accumulates, as torch's .grad
    for a, b in zip(m.gradients(), once):
        np.testing.assert_allclose(a, 2 * b, **TOL)


def test_multihead_attention_rejects_bad_input(torch):
    with pytest.raises(ValueError, match="embed_dim must be divisible by num_heads, got embed_dim=6 and num_heads=4"):
        MultiheadAttention(6, 4)
    m = MultiheadAttention(4, 2)
    x = np.zeros((3, 2, 4))
    with pytest.raises(ValueError, match=r"query must have shape \(L, N, E\) with E = 4 \(batch_first=False\)"):
        m(np.zeros((3, 2, 5)), x, x)
    with pytest.raises(ValueError, match=r"key_padding_mask must have shape \(N, S\) = \(2, 3\), got \(3, 2\)"):
        m(x, x, x, key_padding_mask=np.zeros((3, 2), bool))
    with pytest.raises(ValueError, match=r"a 3-D attn_mask must have shape \(N\*num_heads, L, S\) = \(4, 3, 3\)"):
        m(x, x, x, attn_mask=np.zeros((2, 3, 3), bool))
    with pytest.raises(ValueError, match="key and value must have the same shape"):
        m(x, x, np.zeros((4, 2, 4)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        MultiheadAttention(4, 2).backward(x)
    m(x, x, x)
    with pytest.raises(ValueError, match=r"grad_output must have the output's shape \(3, 2, 4\)"):
        m.backward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="kdim = vdim = embed_dim"):
        m.load_torch(torch.nn.MultiheadAttention(4, 2, kdim=3, vdim=3))
    with pytest.raises(ValueError, match="no parameter 'in_proj_bias'"):
        m.load_torch(torch.nn.MultiheadAttention(4, 2, bias=False))


# --------------------------------------------------------------------------- LayerNorm
@pytest.mark.parametrize("shape, normalized, affine, bias", [((3, 5), 5, True, True), ((2, 3, 4), (3, 4), True, True),
                                                             ((4, 6), 6, False, True), ((2, 2, 3), 3, True, False)])
def test_layernorm_matches_torch(torch, rng, shape, normalized, affine, bias):
    tl = torch.nn.LayerNorm(normalized, elementwise_affine=affine, bias=bias)
    layer = LayerNorm(normalized, elementwise_affine=affine, bias=bias)
    if affine:
        with torch.no_grad():
            for p in tl.parameters():
                p.normal_()
        layer.load_torch(tl)
    x, g = rng.normal(size=shape) * 3 + 1, rng.normal(size=shape)
    xt = torch.tensor(x, requires_grad=True)
    out_t = tl(xt)
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(layer(x), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), **TOL)
    for name, p in tl.named_parameters():
        np.testing.assert_allclose(layer.grads[name], p.grad.numpy(), **TOL, err_msg=name)


def test_layernorm_gradients_match_finite_differences(rng):
    layer = LayerNorm(4)
    layer.params["weight"][...] = rng.normal(size=4)
    layer.params["bias"][...] = rng.normal(size=4)
    x, g = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    layer(x)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, numerical_jacobian_vector(lambda z: layer(z), x, g), **FD_TOL)
    _check_param_grads_fd(layer, lambda: layer(x), g)


@settings(max_examples=30, deadline=None)
@given(scale=st.sampled_from([1e-3, 1.0, 1e6]), shift=st.sampled_from([0.0, 1e4]), seed=st.integers(0, 2**16))
def test_layernorm_output_has_zero_mean_unit_variance(scale, shift, seed):
    x = np.random.default_rng(seed).normal(size=(5, 16)) * scale + shift
    y = LayerNorm(16)(x)
    np.testing.assert_allclose(y.mean(axis=1), 0, atol=1e-7)
    assert np.all(np.isfinite(y)) and np.all(y.var(axis=1) <= 1.0 + 1e-9)


def test_layernorm_rejects_bad_input():
    with pytest.raises(ValueError, match=r"x must have shape \(\*, 4\) for LayerNorm\(\(4,\)\), got \(4, 3\)"):
        LayerNorm(4)(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="normalized_shape must be >= 1"):
        LayerNorm(0)
    with pytest.raises(ValueError, match="eps must be in"):
        LayerNorm(3, eps=0.0)


# --------------------------------------------------------------------------- Embedding and positions
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch(torch, rng, padding_idx):
    te = torch.nn.Embedding(6, 3, padding_idx=padding_idx)
    e = Embedding(6, 3, padding_idx=padding_idx, rng=0)
    assert padding_idx is None or np.all(e.params["weight"][padding_idx] == 0)
    e.load_torch(te)
    idx = np.array([[0, 2, 2], [5, 1, 2]])           # token 2 used three times: its gradients add up
    g = rng.normal(size=(2, 3, 3))
    out_t = te(torch.tensor(idx))
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(e(idx), out_t.detach().numpy(), **TOL)
    assert e.backward(g) is None
    np.testing.assert_allclose(e.grads["weight"], te.weight.grad.numpy(), **TOL)


def test_embedding_gradient_matches_finite_differences(rng):
    e = Embedding(4, 3, padding_idx=1, rng=0)
    idx, g = np.array([[0, 1], [3, 0]]), rng.normal(size=(2, 2, 3))
    e(idx)
    e.backward(g)
    saved = e.params["weight"].copy()

    def f(w):
        e.params["weight"][...] = w
        try:
            return np.sum(e(idx) * g)
        finally:
            e.params["weight"][...] = saved
    expected = numerical_gradient(f, saved)
    expected[1] = 0.0                          # the padding row gets no gradient, as in torch
    np.testing.assert_allclose(e.grads["weight"], expected, **FD_TOL)


def test_embedding_is_a_one_hot_product(rng):
    e = Embedding(5, 2, rng=0)
    idx = np.array([3, 0, 3])
    np.testing.assert_allclose(e(idx), np.eye(5)[idx] @ e.params["weight"], **TOL)


def test_embedding_rejects_bad_input():
    e = Embedding(4, 2)
    with pytest.raises(TypeError, match="indices must be an array of integers"):
        e(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"indices must be in \[0, 4\).*got 4"):
        e(np.array([1, 4]))
    with pytest.raises(ValueError, match="padding_idx must be an integer in"):
        Embedding(4, 2, padding_idx=4)


def test_sinusoidal_positional_encoding_formula_and_rotation():
    pe = sinusoidal_positional_encoding(50, 8)
    assert pe.shape == (50, 8)
    t, i = 7, 1
    assert pe[t, 2 * i] == pytest.approx(np.sin(t / 10000 ** (2 * i / 8)))
    assert pe[t, 2 * i + 1] == pytest.approx(np.cos(t / 10000 ** (2 * i / 8)))
    np.testing.assert_allclose(pe[0], [0, 1] * 4, **TOL)
    # PE[t + k] is PE[t] rotated by an angle that depends on k alone: equal dot products for equal offsets
    np.testing.assert_allclose(pe[3] @ pe[8], pe[20] @ pe[25], **TOL)
    assert sinusoidal_positional_encoding(3, 5).shape == (3, 5)
    with pytest.raises(ValueError, match="d_model must be >= 1"):
        sinusoidal_positional_encoding(3, 0)


# --------------------------------------------------------------------------- TransformerEncoderLayer
# d, heads, ff, norm_first, batch_first, activation, masks
TEL_CASES = [(8, 2, 16, False, False, "relu", ""), (8, 2, 16, True, False, "relu", "causal"),
             (6, 3, 10, False, True, "gelu", "pad"), (6, 1, 12, True, True, "gelu", "pad")]


@pytest.mark.parametrize("d, h, ff, norm_first, batch_first, act, kind", TEL_CASES)
def test_transformer_encoder_layer_matches_torch(torch, rng, d, h, ff, norm_first, batch_first, act, kind):
    torch.manual_seed(0)
    tl = torch.nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=act, batch_first=batch_first,
                                          norm_first=norm_first)
    with torch.no_grad():
        for name, p in tl.named_parameters():
            if "bias" in name or "norm" in name:
                p.normal_()
    layer = TransformerEncoderLayer(d, h, ff, dropout=0.0, activation=act, batch_first=batch_first,
                                    norm_first=norm_first, rng=0)
    layer.load_torch(tl)
    N, T = 3, 5
    x = rng.normal(size=(N, T, d) if batch_first else (T, N, d))
    g = rng.normal(size=x.shape)
    kw = {}
    if kind == "causal":
        kw = dict(src_mask=~causal_mask(T), is_causal=True)
    if kind == "pad":
        pad = np.zeros((N, T), bool)
        pad[1, -2:] = True
        kw = dict(src_key_padding_mask=pad)
    xt = torch.tensor(x, requires_grad=True)
    out_t = tl(xt, **{k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()})
    (out_t * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(layer(x, **kw), out_t.detach().numpy(), **TOL)
    np.testing.assert_allclose(layer.backward(g), xt.grad.numpy(), **TOL)
    assert set(layer.grads) == {n for n, _ in tl.named_parameters()}
    for name, p in tl.named_parameters():
        np.testing.assert_allclose(layer.grads[name], p.grad.numpy(), **TOL, err_msg=name)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_gradients_match_finite_differences(rng, norm_first):
    layer = TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=norm_first, rng=0)
    x, g = rng.normal(size=(3, 2, 4)), rng.normal(size=(3, 2, 4))
    layer(x, is_causal=True)
    dx = layer.backward(g)
    np.testing.assert_allclose(dx, numerical_jacobian_vector(lambda z: layer(z, is_causal=True), x, g), **FD_TOL)
    _check_param_grads_fd(layer, lambda: layer(x, is_causal=True), g)


def test_transformer_encoder_layer_params_are_the_sublayers_arrays():
    layer = TransformerEncoderLayer(4, 2, 6, rng=0)
    assert layer.params["linear1.weight"] is layer.linear1.params["weight"]
    assert layer.grads["self_attn.out_proj.bias"] is layer.self_attn.grads["out_proj.bias"]
    layer.eval()
    x = np.random.default_rng(0).normal(size=(3, 2, 4))
    np.testing.assert_allclose(layer(x), layer(x), **TOL)          # eval: no dropout, deterministic
    layer.train()
    assert not np.allclose(layer(x), layer(x))                     # train: dropout 0.1 draws new masks


def test_transformer_encoder_layer_rejects_bad_input(torch):
    with pytest.raises(ValueError, match="activation must be one of"):
        TransformerEncoderLayer(4, 2, activation="tanh")
    with pytest.raises(ValueError, match="norm_first=False, the torch layer norm_first=True"):
        TransformerEncoderLayer(4, 2, 8).load_torch(torch.nn.TransformerEncoderLayer(4, 2, 8, norm_first=True))
    layer = TransformerEncoderLayer(4, 2, 8)
    layer(np.zeros((3, 2, 4)))
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape \(3, 2, 4\)"):
        layer.backward(np.zeros((3, 4)))
