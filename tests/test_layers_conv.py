"""Tests for dlcourse.layers.conv and .pooling: Conv2d, MaxPool2d, AvgPool2d, Flatten (float64)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlcourse.checks import numerical_gradient, numerical_jacobian_vector
from dlcourse.layers.conv import Conv2d, col2im, conv_output_size, im2col
from dlcourse.layers.pooling import AvgPool2d, Flatten, MaxPool2d

pytestmark = pytest.mark.unit5

TOL = dict(rtol=1e-10, atol=1e-12)
FD_TOL = dict(rtol=1e-6, atol=1e-8)

# in_channels, out_channels, kernel_size, stride, padding, input shape (N, C, H, W)
CONV_CASES = [
    (1, 1, 3, 1, 0, (1, 1, 5, 5)),
    (3, 4, 3, 1, 1, (2, 3, 7, 9)),
    (2, 5, (2, 3), (2, 1), (0, 2), (2, 2, 8, 7)),
    (3, 2, 5, 3, 2, (3, 3, 11, 6)),
    (4, 3, 1, 1, 0, (2, 4, 4, 3)),
    (2, 3, 3, 2, 1, (2, 2, 6, 6)),
    (1, 2, (3, 1), 1, (1, 0), (1, 1, 4, 5)),
    (2, 2, 4, 1, 0, (1, 2, 4, 4)),       # kernel as large as the input: 1×1 output
]
CONV_IDS = [f"c{ci}to{co}_k{k}_s{s}_p{p}_{'x'.join(map(str, shape))}".replace(" ", "")
            for ci, co, k, s, p, shape in CONV_CASES]


def _conv_pair(torch, ci, co, k, s, p, bias=True, seed=0):
    torch.manual_seed(seed)
    tconv = torch.nn.Conv2d(ci, co, k, stride=s, padding=p, bias=bias)
    conv = Conv2d(ci, co, k, stride=s, padding=p, bias=bias, rng=seed + 100)
    conv.load_torch(tconv)
    return conv, tconv


def _torch_forward_backward(torch, module, x, g):
    xt = torch.tensor(x, requires_grad=True)
    yt = module(xt)
    yt.backward(torch.tensor(g))
    return yt.detach().numpy(), xt.grad.numpy()


# --------------------------------------------------------------------------- Conv2d vs torch
@pytest.mark.parametrize("ci, co, k, s, p, shape", CONV_CASES, ids=CONV_IDS)
def test_conv2d_matches_torch(torch, rng, ci, co, k, s, p, shape):
    conv, tconv = _conv_pair(torch, ci, co, k, s, p)
    x = rng.normal(size=shape)
    y = conv.forward(x)
    g = rng.normal(size=y.shape)
    yt, dxt = _torch_forward_backward(torch, tconv, x, g)
    dx = conv.backward(g)
    assert y.shape == yt.shape == (shape[0], co) + conv.output_size(*shape[2:])
    np.testing.assert_allclose(y, yt, **TOL)
    np.testing.assert_allclose(dx, dxt, **TOL)
    np.testing.assert_allclose(conv.grads["weight"], tconv.weight.grad.numpy(), **TOL)
    np.testing.assert_allclose(conv.grads["bias"], tconv.bias.grad.numpy(), **TOL)
    assert {n: tuple(v.shape) for n, v in tconv.named_parameters()} == {n: v.shape for n, v in conv.params.items()}


def test_conv2d_without_bias_matches_torch(torch, rng):
    conv, tconv = _conv_pair(torch, 2, 3, 3, 1, 1, bias=False)
    assert set(conv.params) == {"weight"}
    x = rng.normal(size=(2, 2, 5, 4))
    g = rng.normal(size=(2, 3, 5, 4))
    yt, dxt = _torch_forward_backward(torch, tconv, x, g)
    np.testing.assert_allclose(conv.forward(x), yt, **TOL)
    np.testing.assert_allclose(conv.backward(g), dxt, **TOL)
    np.testing.assert_allclose(conv.grads["weight"], tconv.weight.grad.numpy(), **TOL)


def test_conv2d_backward_accumulates_and_zero_grad_resets(rng):
    conv = Conv2d(2, 3, 3, padding=1, rng=0)
    x, g = rng.normal(size=(2, 2, 4, 4)), rng.normal(size=(2, 3, 4, 4))
    conv.forward(x)
    conv.backward(g)
    once = {k: v.copy() for k, v in conv.grads.items()}
    conv.backward(g)
    for k in once:
        np.testing.assert_allclose(conv.grads[k], 2 * once[k], **TOL)
    conv.zero_grad()
    assert all(not v.any() for v in conv.grads.values())


def test_conv2d_init_matches_torch_default_range():
    conv = Conv2d(4, 64, 3, rng=0)
    bound = 1 / np.sqrt(4 * 3 * 3)          # kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    for name in ("weight", "bias"):
        w = conv.params[name]
        assert np.all(np.abs(w) <= bound)
    w = conv.weight
    assert abs(w.max() - bound) < 0.02 and abs(w.min() + bound) < 0.02
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01
    np.testing.assert_array_equal(Conv2d(4, 64, 3, rng=0).weight, w)   # seeded: reproducible


def test_conv2d_load_torch_rejects_a_different_configuration(torch):
    with pytest.raises(ValueError, match="stride"):
        Conv2d(2, 3, 3, stride=1).load_torch(torch.nn.Conv2d(2, 3, 3, stride=2))
    with pytest.raises(ValueError, match="padding"):
        Conv2d(2, 3, 3).load_torch(torch.nn.Conv2d(2, 3, 3, padding=1))
    with pytest.raises(ValueError, match="no bias"):
        Conv2d(2, 3, 3, bias=False).load_torch(torch.nn.Conv2d(2, 3, 3))
    with pytest.raises(ValueError, match="shape"):
        Conv2d(2, 3, 3).load_torch(torch.nn.Conv2d(2, 4, 3))


# --------------------------------------------------------------------------- finite differences
def _output_with_param(layer, name, value, x):
    saved = layer.params[name].copy()
    layer.params[name][...] = value
    try:
        return layer.forward(x)
    finally:
        layer.params[name][...] = saved


@pytest.mark.parametrize("ci, co, k, s, p, shape", [
    (2, 3, 3, 1, 1, (2, 2, 4, 4)),
    (1, 2, (2, 3), (2, 1), (1, 0), (1, 1, 5, 4)),
], ids=["k3_p1", "k2x3_s2x1_p1x0"])
def test_conv2d_gradients_match_finite_differences(rng, ci, co, k, s, p, shape):
    conv = Conv2d(ci, co, k, stride=s, padding=p, rng=1)
    x = rng.normal(size=shape)
    g = rng.normal(size=conv.forward(x).shape)
    dx = conv.backward(g)
    np.testing.assert_allclose(dx, numerical_jacobian_vector(conv.forward, x, g), **FD_TOL)
    for name in conv.params:
        num = numerical_gradient(
            lambda w, name=name: np.sum(_output_with_param(conv, name, w, x) * g), conv.params[name])
        np.testing.assert_allclose(conv.grads[name], num, **FD_TOL, err_msg=name)


@settings(max_examples=30, deadline=None)
@given(N=st.integers(1, 2), C=st.integers(1, 3), H=st.integers(1, 7), W=st.integers(1, 7),
       kH=st.integers(1, 4), kW=st.integers(1, 4), s=st.integers(1, 3), p=st.integers(0, 2),
       seed=st.integers(0, 2**16))
def test_col2im_is_the_adjoint_of_im2col(N, C, H, W, kH, kW, s, p, seed):
    """<im2col(x), G> = <x, col2im(G)> for every x and G: col2im is im2col's transpose."""
    if kH > H + 2 * p or kW > W + 2 * p:
        return
    r = np.random.default_rng(seed)
    x = r.normal(size=(N, C, H, W))
    cols = im2col(x, (kH, kW), s, p)
    G = r.normal(size=cols.shape)
    np.testing.assert_allclose(np.sum(cols * G), np.sum(x * col2im(G, x.shape, (kH, kW), s, p)), rtol=1e-10)


def test_im2col_columns_are_receptive_fields():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    cols = im2col(x, 2, stride=2)
    np.testing.assert_array_equal(cols.T, [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]])


def test_conv2d_hand_computed_edge_detector():
    """A [-1, 1] kernel on a step image responds only at the step."""
    conv = Conv2d(1, 1, (1, 2), bias=False)
    conv.params["weight"][...] = [[[[-1.0, 1.0]]]]
    x = np.array([[[[0, 0, 1, 1], [0, 0, 1, 1]]]], dtype=float)
    np.testing.assert_array_equal(conv.forward(x), [[[[0, 1, 0], [0, 1, 0]]]])


# --------------------------------------------------------------------------- output sizes
# n, kernel, stride, padding, expected
OUTPUT_SIZE_CASES = [
    (32, 3, 1, 1, 32),      # the walk-through: 3×3 filters with padding 1 keep 32×32
    (32, 2, 2, 0, 16),      # then a 2×2 max-pool halves it
    (32, 5, 1, 0, 28),      # LeNet-5 C1
    (28, 2, 2, 0, 14),      # LeNet-5 S2
    (227, 11, 4, 0, 55),    # AlexNet conv1
    (224, 7, 2, 3, 112),    # ResNet conv1
    (7, 3, 2, 0, 3),
    (8, 3, 2, 0, 3),        # floor: the last column is dropped
    (5, 5, 1, 0, 1),
    (1, 3, 1, 1, 1),
]


@pytest.mark.parametrize("n, k, s, p, expected", OUTPUT_SIZE_CASES)
def test_conv_output_size_table(torch, n, k, s, p, expected):
    assert conv_output_size(n, k, s, p) == expected
    out = torch.nn.functional.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, k, k), stride=s, padding=p)
    assert out.shape[-1] == expected


def test_walkthrough_32x32x3_conv12_pool2():
    """32×32×3 → 12 filters 3×3, padding 1 → 32×32×12 → 2×2 max-pool → 16×16×12 (Unit 5)."""
    x = np.random.default_rng(0).normal(size=(1, 3, 32, 32))
    conv, pool, flat = Conv2d(3, 12, 3, padding=1, rng=0), MaxPool2d(2), Flatten()
    y = conv.forward(x)
    assert y.shape == (1, 12, 32, 32) and conv.output_size(32, 32) == (32, 32)
    z = pool.forward(y)
    assert z.shape == (1, 12, 16, 16) and pool.output_size(32, 32) == (16, 16)
    assert flat.forward(z).shape == (1, 16 * 16 * 12)
    assert sum(p.size for p in conv.parameters()) == 12 * 3 * 3 * 3 + 12 == 336


@pytest.mark.parametrize("args, exc, match", [
    ((2, 3, 1, 0), ValueError, "larger than the padded input"),
    ((2, 5, 1, 1), ValueError, r"2 \+ 2\*1 = 4"),
    ((5, 0, 1, 0), ValueError, "kernel_size must be >= 1"),
    ((5, 3, 0, 0), ValueError, "stride must be >= 1"),
    ((5, 3, 1, -1), ValueError, "padding must be >= 0"),
    ((5, 2.0, 1, 0), TypeError, "kernel_size must be an integer"),
])
def test_conv_output_size_rejects_bad_arguments(args, exc, match):
    with pytest.raises(exc, match=match):
        conv_output_size(*args)


# --------------------------------------------------------------------------- pooling
# kernel_size, stride, input shape
POOL_CASES = [
    (2, None, (2, 3, 8, 8)),
    (2, None, (1, 2, 7, 5)),          # odd sizes: the last row / column is dropped
    (3, 2, (2, 2, 7, 8)),             # overlapping windows
    ((2, 3), (1, 2), (1, 3, 6, 7)),
    (3, 1, (1, 1, 5, 5)),
    (1, None, (2, 1, 3, 3)),
]
POOL_IDS = [f"k{k}_s{s}_{'x'.join(map(str, shape))}".replace(" ", "") for k, s, shape in POOL_CASES]
POOLS = [(MaxPool2d, "MaxPool2d"), (AvgPool2d, "AvgPool2d")]


@pytest.mark.parametrize("cls, tname", POOLS, ids=[t for _, t in POOLS])
@pytest.mark.parametrize("k, s, shape", POOL_CASES, ids=POOL_IDS)
def test_pooling_matches_torch(torch, rng, cls, tname, k, s, shape):
    pool, tpool = cls(k, s), getattr(torch.nn, tname)(k, s)
    x = rng.normal(size=shape)
    y = pool.forward(x)
    g = rng.normal(size=y.shape)
    yt, dxt = _torch_forward_backward(torch, tpool, x, g)
    np.testing.assert_allclose(y, yt, **TOL)
    np.testing.assert_allclose(pool.backward(g), dxt, **TOL)
    assert pool.params == {} and pool.output_size(*shape[2:]) == y.shape[2:]


@pytest.mark.parametrize("k, s", [(2, None), (3, 1), (2, 1)])
def test_maxpool_ties_go_to_the_first_maximum_like_torch(torch, k, s):
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1:3, 1:3] = 1.0                      # a plateau shared by several windows
    pool, tpool = MaxPool2d(k, s), torch.nn.MaxPool2d(k, s)
    g = np.arange(1.0, 1.0 + pool.forward(x).size).reshape(pool.forward(x).shape)
    _, dxt = _torch_forward_backward(torch, tpool, x, g)
    np.testing.assert_array_equal(pool.backward(g), dxt)


def test_maxpool_hand_computed():
    x = np.array([[[[1, 2, 5, 0], [3, 4, 1, 1], [0, 0, 2, 2], [9, 0, 2, 7]]]], dtype=float)
    pool = MaxPool2d(2)
    np.testing.assert_array_equal(pool.forward(x), [[[[4, 5], [9, 7]]]])
    dx = pool.backward(np.array([[[[10, 20], [30, 40]]]], dtype=float))
    np.testing.assert_array_equal(dx, [[[[0, 0, 20, 0], [0, 10, 0, 0], [0, 0, 0, 0], [30, 0, 0, 40]]]])
    np.testing.assert_array_equal(AvgPool2d(2).forward(x), [[[[2.5, 1.75], [2.25, 3.25]]]])


@pytest.mark.parametrize("cls", [MaxPool2d, AvgPool2d])
@pytest.mark.parametrize("k, s", [(2, None), (3, 2)])
def test_pooling_gradients_match_finite_differences(rng, cls, k, s):
    # distinct values at least 0.01 apart, so that no max changes under a 1e-5 step
    x = rng.permutation(2 * 2 * 5 * 6).reshape(2, 2, 5, 6) * 0.01
    pool = cls(k, s)
    g = rng.normal(size=pool.forward(x).shape)
    np.testing.assert_allclose(pool.backward(g), numerical_jacobian_vector(pool.forward, x, g), **FD_TOL)


@settings(max_examples=40, deadline=None)
@given(H=st.integers(3, 9), W=st.integers(3, 9), k=st.integers(1, 3), s=st.integers(1, 3),
       scale=st.sampled_from([1e-3, 1.0, 1e6]), seed=st.integers(0, 2**16))
def test_pooling_properties(H, W, k, s, scale, seed):
    """max ≥ mean ≥ min of each window; max-pool routes each gradient to exactly one input."""
    x = np.random.default_rng(seed).normal(size=(2, 2, H, W)) * scale
    mx, avg = MaxPool2d(k, s), AvgPool2d(k, s)
    ym, ya = mx.forward(x), avg.forward(x)
    assert np.all(ym >= ya - 1e-12 * scale) and np.all(np.isfinite(ym))
    assert -MaxPool2d(k, s).forward(-x).max() <= ya.max() + 1e-12 * scale
    ones = np.ones_like(ym)
    assert mx.backward(ones).sum() == pytest.approx(ym.size)
    assert avg.backward(ones).sum() == pytest.approx(ya.size)


def test_flatten_round_trip(torch, rng):
    x = rng.normal(size=(3, 2, 4, 5))
    flat = Flatten()
    y = flat.forward(x)
    np.testing.assert_array_equal(y, torch.nn.Flatten()(torch.tensor(x)).numpy())
    np.testing.assert_array_equal(flat.backward(y), x)
    with pytest.raises(ValueError, match=r"grad_out must have the output's shape \(3, 40\)"):
        flat.backward(np.zeros((3, 41)))


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("make, x_shape, exc, match", [
    (lambda: Conv2d(3, 4, 3), (2, 2, 5, 5), ValueError, r"x must have shape \(N, 3, H, W\)"),
    (lambda: Conv2d(3, 4, 3), (3, 5, 5), ValueError, r"got \(3, 5, 5\)"),
    (lambda: Conv2d(1, 1, 5), (1, 1, 3, 8), ValueError, "too small for kernel 5×5"),
    (lambda: Conv2d(1, 1, 3, padding=1), (1, 1, 1, 0), ValueError, "n must be >= 1"),
    (lambda: MaxPool2d(2), (4, 4), ValueError, r"x must have shape \(N, C, H, W\)"),
    (lambda: MaxPool2d(3), (1, 1, 2, 5), ValueError, "too small for kernel 3×3"),
    (lambda: AvgPool2d(2), (1, 1, 4), ValueError, r"\(N, C, H, W\)"),
], ids=["channels", "ndim", "kernel_too_large", "empty", "pool_ndim", "pool_kernel_too_large", "avg_ndim"])
def test_forward_rejects_bad_input(make, x_shape, exc, match):
    with pytest.raises(exc, match=match):
        make().forward(np.zeros(x_shape))


@pytest.mark.parametrize("layer", [Conv2d(1, 1, 3), MaxPool2d(2), AvgPool2d(2), Flatten()],
                         ids=["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"])
def test_backward_before_forward_raises(layer):
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((1, 1, 2, 2)))


@pytest.mark.parametrize("layer", [Conv2d(1, 2, 3), MaxPool2d(2), AvgPool2d(2)],
                         ids=["Conv2d", "MaxPool2d", "AvgPool2d"])
def test_backward_rejects_wrong_grad_shape(layer):
    layer.forward(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="grad_out must have the output's shape"):
        layer.backward(np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(in_channels=0, out_channels=1, kernel_size=3), ValueError, "in_channels must be >= 1"),
    (dict(in_channels=1, out_channels=1, kernel_size=(3,)), TypeError, "pair of ints"),
    (dict(in_channels=1, out_channels=1, kernel_size=2.5), TypeError, "kernel_size must be an int"),
    (dict(in_channels=1, out_channels=1, kernel_size=3, stride=0), ValueError, r"stride\[0\] must be >= 1"),
    (dict(in_channels=1, out_channels=1, kernel_size=3, padding=(1, -1)), ValueError, r"padding\[1\] must be >= 0"),
    (dict(in_channels=1, out_channels=1, kernel_size=3, rng="seed"), TypeError, "rng must be"),
])
def test_conv2d_constructor_rejects_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        Conv2d(**kwargs)


def test_pool_constructor_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"kernel_size\[0\] must be >= 1"):
        MaxPool2d(0)
    with pytest.raises(TypeError, match="stride must be an int or a pair"):
        AvgPool2d(2, stride="2")
