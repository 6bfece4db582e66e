"""Unit 5's self-checking exercises: the references agree with torch, stubs are "not attempted", plausible wrong
answers are caught with a message naming the output, expected and received values and the hint, and every
solution written in the Unit 5 notebooks passes its check.
"""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.unit5

import dlcourse.checks as checks  # noqa: E402
from dlcourse.checks import ERROR, NOT_ATTEMPTED, PASSED, WRONG, check, get_exercise, progress  # noqa: E402
from dlcourse.layers.recurrent import rnn_cell_backward, rnn_cell_forward  # noqa: E402
from exercise_support import SEEDS, assert_caught, assert_solutions_pass, notebook_solutions, solution_ids  # noqa: E402

UNIT5_IDS = [f"5.{i}" for i in range(1, 15)]


@pytest.fixture(autouse=True)
def fresh_progress(monkeypatch):
    monkeypatch.setattr(checks, "_LATEST", {})


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise 5.x: replace this line with your code")


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# -- plausible wrong answers ------------------------------------------------------------------------
def output_size_true_division(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) / stride + 1


def output_size_without_plus_one(n, kernel_size, stride, padding):
    return (n + 2 * padding - kernel_size) // stride


def output_size_padding_once(n, kernel_size, stride, padding):
    return (n + padding - kernel_size) // stride + 1


def output_size_ceil(n, kernel_size, stride, padding):
    return -(-(n + 2 * padding - kernel_size) // stride) + 1


def _conv_loops(x, weight, bias, stride, padding, flip=False, use_bias=True, pad=True):
    N, C, H, W = x.shape
    C_out, _, kH, kW = weight.shape
    p = padding if pad else 0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    H_out, W_out = (H + 2 * p - kH) // stride + 1, (W + 2 * p - kW) // stride + 1
    w = weight[:, :, ::-1, ::-1] if flip else weight
    out = np.zeros((N, C_out, H_out, W_out))
    for i in range(H_out):
        for j in range(W_out):
            win = xp[:, :, i * stride:i * stride + kH, j * stride:j * stride + kW]
            out[:, :, i, j] = np.einsum("nckl,ockl->no", win, w) + (bias if use_bias else 0)
    return out


def conv_flips_the_kernel(x, weight, bias, stride=1, padding=0):
    return _conv_loops(x, weight, bias, stride, padding, flip=True)


def conv_without_bias(x, weight, bias, stride=1, padding=0):
    return _conv_loops(x, weight, bias, stride, padding, use_bias=False)


def conv_ignores_padding(x, weight, bias, stride=1, padding=0):
    return _conv_loops(x, weight, bias, stride, padding, pad=False)


def conv_ignores_stride(x, weight, bias, stride=1, padding=0):
    return _conv_loops(x, weight, bias, 1, padding)


def _pool_loops(x, grad_out, k, s, mode):
    dx = np.zeros_like(x)
    N, C, H_out, W_out = grad_out.shape
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    win = x[n, c, i * s:i * s + k, j * s:j * s + k]
                    g = grad_out[n, c, i, j]
                    if mode == "average":
                        dx[n, c, i * s:i * s + k, j * s:j * s + k] += g / (k * k)
                        continue
                    u, v = np.unravel_index(np.argmax(win), win.shape)
                    if mode == "overwrite":
                        dx[n, c, i * s + u, j * s + v] = g
                    else:
                        dx[n, c, i * s:i * s + k, j * s:j * s + k] += g   # to the whole window
    return dx


def maxpool_spreads_evenly(x, grad_out, kernel_size, stride):
    return _pool_loops(x, grad_out, kernel_size, stride, "average")


def maxpool_overwrites_overlaps(x, grad_out, kernel_size, stride):
    return _pool_loops(x, grad_out, kernel_size, stride, "overwrite")


def maxpool_to_the_whole_window(x, grad_out, kernel_size, stride):
    return _pool_loops(x, grad_out, kernel_size, stride, "window")


def rnn_without_bias_hh(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return np.tanh(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T)


def rnn_with_sigmoid(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return sigmoid(x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh)


def rnn_untransposed_weights(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return np.tanh(x @ weight_ih + bias_ih + h_prev @ weight_hh + bias_hh)


def rnn_backward_without_tanh_derivative(grad_h, x, h_prev, h, weight_ih, weight_hh):
    da = grad_h
    return da @ weight_ih, da @ weight_hh, da.T @ x, da.T @ h_prev, da.sum(axis=0)


def rnn_backward_one_minus_h(grad_h, x, h_prev, h, weight_ih, weight_hh):
    da = grad_h * (1 - h)
    return da @ weight_ih, da @ weight_hh, da.T @ x, da.T @ h_prev, da.sum(axis=0)


def rnn_backward_mean_bias(grad_h, x, h_prev, h, weight_ih, weight_hh):
    da = grad_h * (1 - h * h)
    return da @ weight_ih, da @ weight_hh, da.T @ x, da.T @ h_prev, da.mean(axis=0)


def rnn_backward_transposed_weight_grads(grad_h, x, h_prev, h, weight_ih, weight_hh):
    da = grad_h * (1 - h * h)
    return da @ weight_ih, da @ weight_hh, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, order="ifgo", tanh_c=True, input_gate=True):
    a = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh
    blocks = dict(zip(order, np.split(a, 4, axis=1)))
    i, f, o, g = sigmoid(blocks["i"]), sigmoid(blocks["f"]), sigmoid(blocks["o"]), np.tanh(blocks["g"])
    c = f * c_prev + (i * g if input_gate else g)
    return o * (np.tanh(c) if tanh_c else c), c


def lstm_keras_gate_order(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, order="ifog")


def lstm_without_tanh_of_c(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, tanh_c=False)


def lstm_without_input_gate(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return _lstm(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh, input_gate=False)


def _gru(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, notes_z=False, reset_first=False):
    H = h_prev.shape[1]
    gi = x @ weight_ih.T + bias_ih
    gh = h_prev @ weight_hh.T + bias_hh
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    if reset_first:
        n = np.tanh(gi[:, 2 * H:] + (r * h_prev) @ weight_hh[2 * H:].T + bias_hh[2 * H:])
    else:
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * h_prev + z * n if notes_z else (1 - z) * n + z * h_prev


def gru_notes_convention(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return _gru(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, notes_z=True)


def gru_reset_before_the_product(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh):
    return _gru(x, h_prev, weight_ih, weight_hh, bias_ih, bias_hh, reset_first=True)


# -- 5.8 parameters per layer
def _count(input_shape, layers, biases=True, pool_shrinks=True, padding_counts=True, traced=True):
    C, H, W = input_shape
    features, counts = C * H * W, []
    for layer in layers:
        n = 0
        if layer[0] == "conv":
            _, c_out, k, s, p = layer
            n = c_out * C * k * k + (c_out if biases else 0)
            p = p if padding_counts else 0
            C, H, W = c_out, (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        elif layer[0] == "maxpool" and pool_shrinks:
            H, W = H // layer[1], W // layer[1]
        elif layer[0] == "flatten" and traced:
            features = C * H * W
        elif layer[0] == "linear":
            n = features * layer[1] + (layer[1] if biases else 0)
            features = layer[1]
        counts.append(n)
    return counts


def params_without_biases(input_shape, layers):
    return _count(input_shape, layers, biases=False)


def params_pooling_keeps_the_size(input_shape, layers):
    return _count(input_shape, layers, pool_shrinks=False)


def params_padding_ignored(input_shape, layers):
    return _count(input_shape, layers, padding_counts=False)


def params_linear_sees_the_image(input_shape, layers):
    return _count(input_shape, layers, traced=False)


def params_total(input_shape, layers):
    return sum(_count(input_shape, layers))


# -- 5.9 receptive field
def rf_ignores_strides(kernel_sizes, strides):
    return 1 + sum(k - 1 for k in kernel_sizes)


def rf_sum_of_kernels(kernel_sizes, strides):
    return sum(kernel_sizes)


def rf_own_stride_counts(kernel_sizes, strides):
    size, jump = 1, 1
    for k, s in zip(kernel_sizes, strides):
        jump *= s
        size += (k - 1) * jump
    return size


def rf_product_of_kernels(kernel_sizes, strides):
    return int(np.prod(kernel_sizes))


# -- 5.10 CTC
def _ctc(probs, labels, skip_repeats=False, no_skip=False, end_on_blank_only=False, best_path=False):
    ext = [0]
    for label in labels:
        ext += [int(label), 0]
    combine = (lambda *v: max(v)) if best_path else (lambda *v: sum(v))
    alpha = np.zeros(len(ext))
    alpha[:2] = probs[0, ext[:2]]
    for t in range(1, len(probs)):
        prev = alpha.copy()
        for s in range(len(ext)):
            terms = [prev[s]] + ([prev[s - 1]] if s >= 1 else [])
            if s >= 2 and not no_skip and ext[s] != 0 and (skip_repeats or ext[s] != ext[s - 2]):
                terms.append(prev[s - 2])
            alpha[s] = combine(*terms) * probs[t, ext[s]]
    return float(alpha[-1] if end_on_blank_only else combine(alpha[-1], alpha[-2]))


def ctc_never_skips(probs, labels):
    return _ctc(probs, labels, no_skip=True)


def ctc_skips_between_repeats(probs, labels):
    return _ctc(probs, labels, skip_repeats=True)


def ctc_ends_on_the_blank(probs, labels):
    return _ctc(probs, labels, end_on_blank_only=True)


def ctc_best_path(probs, labels):
    return _ctc(probs, labels, best_path=True)


WRONG_ANSWERS = [
    ("5.8", params_without_biases, WRONG, "parameters per layer at index (0,)"),
    ("5.8", params_pooling_keeps_the_size, WRONG, "parameters per layer at index (7,)"),
    ("5.8", params_padding_ignored, WRONG, "parameters per layer at index (7,)"),
    ("5.8", params_linear_sees_the_image, WRONG, "parameters per layer at index (7,)"),
    ("5.8", params_total, WRONG, "one number where an array is expected"),
    ("5.9", rf_ignores_strides, WRONG, "receptive field is"),
    ("5.9", rf_sum_of_kernels, WRONG, "receptive field is 6, expected 5"),
    ("5.9", rf_own_stride_counts, WRONG, "receptive field is"),
    ("5.9", rf_product_of_kernels, WRONG, "receptive field is 9, expected 5"),
    ("5.10", ctc_never_skips, WRONG, "probability is"),
    ("5.10", ctc_skips_between_repeats, WRONG, "repeated neighbour(s) that need a blank between them"),
    ("5.10", ctc_ends_on_the_blank, WRONG, "probability is"),
    ("5.10", ctc_best_path, WRONG, "probability is"),
    ("5.1", output_size_true_division, WRONG, "size is"),
    ("5.1", output_size_without_plus_one, WRONG, "size is"),
    ("5.1", output_size_padding_once, WRONG, "size is"),
    ("5.1", output_size_ceil, WRONG, "size is"),
    ("5.2", conv_flips_the_kernel, WRONG, "out at index"),
    ("5.2", conv_without_bias, WRONG, "out at index"),
    ("5.2", conv_ignores_padding, WRONG, "out has shape"),
    ("5.2", conv_ignores_stride, WRONG, "out has shape"),
    ("5.3", maxpool_spreads_evenly, WRONG, "dx at index"),
    ("5.3", maxpool_overwrites_overlaps, WRONG, "dx at index"),
    ("5.3", maxpool_to_the_whole_window, WRONG, "dx at index"),
    ("5.4", rnn_without_bias_hh, WRONG, "h at index"),
    ("5.4", rnn_with_sigmoid, WRONG, "h at index"),
    ("5.4", rnn_untransposed_weights, ERROR, "ValueError: matmul"),
    ("5.5", rnn_backward_without_tanh_derivative, WRONG, "dx at index"),
    ("5.5", rnn_backward_one_minus_h, WRONG, "dx at index"),
    ("5.5", rnn_backward_mean_bias, WRONG, "dbias at index"),
    ("5.5", rnn_backward_transposed_weight_grads, WRONG, "dweight_ih has shape (2, 3), expected (3, 2)"),
    ("5.6", lstm_keras_gate_order, WRONG, "h at index"),
    ("5.6", lstm_without_tanh_of_c, WRONG, "h at index"),
    ("5.6", lstm_without_input_gate, WRONG, "h at index"),
    ("5.7", gru_notes_convention, WRONG, "h at index"),
    ("5.7", gru_reset_before_the_product, WRONG, "h at index"),
]

# -- references -------------------------------------------------------------------------------------


def test_the_references_agree_with_torch(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    t = torch.tensor
    for case in get_exercise("5.2").cases(rng):
        want = F.conv2d(t(case["x"]), t(case["weight"]), t(case["bias"]), stride=case["stride"],
                        padding=case["padding"]).numpy()
        np.testing.assert_allclose(get_exercise("5.2").reference(**case), want, rtol=1e-10, atol=1e-12)
    for case in get_exercise("5.3").cases(rng):
        x = t(case["x"], requires_grad=True)
        F.max_pool2d(x, case["kernel_size"], case["stride"]).backward(t(case["grad_out"]))
        np.testing.assert_allclose(get_exercise("5.3").reference(**case), x.grad.numpy(), rtol=1e-12)
    cells = {"5.4": torch.nn.RNNCell, "5.6": torch.nn.LSTMCell, "5.7": torch.nn.GRUCell}
    for ex_id, cls in cells.items():
        for case in get_exercise(ex_id).cases(rng):
            D, H = case["x"].shape[1], case["h_prev"].shape[1]
            cell = cls(D, H)
            with torch.no_grad():
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(cell, name).copy_(t(case[name]))
            state = (t(case["h_prev"]), t(case["c_prev"])) if ex_id == "5.6" else t(case["h_prev"])
            out = cell(t(case["x"]), state)
            got = get_exercise(ex_id).reference(**case)
            for a, b in zip(got if ex_id == "5.6" else (got,), out if ex_id == "5.6" else (out,)):
                np.testing.assert_allclose(a, b.detach().numpy(), rtol=1e-10, atol=1e-12)


def _torch_stack(torch, input_shape, layers):
    nn, modules, (C, H, W) = torch.nn, [], input_shape
    x = torch.zeros(1, C, H, W)
    for spec in layers:
        kind = spec[0]
        module = (nn.Conv2d(x.shape[1], spec[1], spec[2], stride=spec[3], padding=spec[4]) if kind == "conv" else
                  nn.MaxPool2d(spec[1]) if kind == "maxpool" else nn.Flatten() if kind == "flatten" else
                  nn.Linear(x.shape[1], spec[1]) if kind == "linear" else nn.ReLU())
        x = module(x)
        modules.append(module)
    return modules


def test_the_new_references_agree_with_torch(torch):
    rng = np.random.default_rng(0)
    for case in get_exercise("5.8").cases(rng):
        modules = _torch_stack(torch, case["input_shape"], case["layers"])
        assert get_exercise("5.8").reference(**case) == [sum(p.numel() for p in m.parameters()) for m in modules]
    for case in get_exercise("5.10").cases(rng):
        T, L = len(case["probs"]), len(case["labels"])
        loss = torch.nn.CTCLoss(blank=0, reduction="sum")(torch.tensor(np.log(case["probs"]))[:, None, :],
                                                         torch.tensor(case["labels"])[None],
                                                         torch.tensor([T]), torch.tensor([L]))
        assert get_exercise("5.10").reference(**case) == pytest.approx(float(torch.exp(-loss)), rel=1e-10, abs=1e-300)


def test_the_cnn_of_notebook_5_2_has_the_counts_torch_prints(torch):
    from dlcourse.explore.unit5_cnn import torch_cnn
    model = torch_cnn()
    want = [sum(p.numel() for p in m.parameters()) for m in model]
    from dlcourse.checks.unit5 import CNN_DIGITS
    assert get_exercise("5.8").reference((1, 8, 8), CNN_DIGITS) == want


def test_the_ctc_reference_counts_the_paths_of_notebook_5_6():
    import itertools

    def collapse(path):
        merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
        return [c for c in merged if c != 0]

    rng = np.random.default_rng(1)
    for T, K, labels in [(5, 3, [1, 2]), (4, 3, [1, 1]), (5, 4, [3, 3, 1]), (3, 3, [1, 1, 1])]:
        probs = rng.dirichlet(np.ones(K), size=T)
        brute = sum(np.prod(probs[np.arange(T), path]) for path in itertools.product(range(K), repeat=T)
                    if collapse(list(path)) == labels)
        assert get_exercise("5.10").reference(probs, np.array(labels)) == pytest.approx(brute, rel=1e-12, abs=1e-300)
    assert get_exercise("5.10").reference(np.full((5, 3), 1 / 3), np.array([1, 2])) * 3 ** 5 == pytest.approx(35)


def test_the_receptive_field_reference_matches_a_backward_pass_through_conv2d():
    """Backpropagate a one-hot gradient from one output unit through Conv2d layers of ones: the input pixels that
    receive gradient span the receptive field."""
    from dlcourse.layers import Conv2d
    ex = get_exercise("5.9")
    for case in ex.cases(np.random.default_rng(0)):
        field = ex.reference(**case)
        layers = []
        for k, s in zip(case["kernel_sizes"], case["strides"]):
            conv = Conv2d(1, 1, k, stride=s)
            conv.params["weight"][...] = 1.0
            layers.append(conv)
        h = np.ones((1, 1, 3 * field + 50, 3 * field + 50))
        for conv in layers:
            h = conv.forward(h)
        grad = np.zeros_like(h)
        grad[0, 0, 0, 0] = 1.0
        for conv in reversed(layers):
            grad = conv.backward(grad)
        rows, cols = np.nonzero(grad[0, 0])
        assert rows.max() - rows.min() + 1 == field == cols.max() - cols.min() + 1


def test_the_output_size_cases_make_the_floor_matter():
    for seed in range(5):
        cases = get_exercise("5.1").cases(np.random.default_rng(seed))
        assert sum((c["n"] + 2 * c["padding"] - c["kernel_size"]) % c["stride"] != 0 for c in cases) >= 7
    assert get_exercise("5.1").reference(32, 3, 1, 1) == 32 and get_exercise("5.1").reference(32, 2, 2, 0) == 16


def test_the_maxpool_cases_include_overlapping_windows():
    cases = get_exercise("5.3").cases(np.random.default_rng(0))
    assert any(c["stride"] < c["kernel_size"] for c in cases)


def test_the_rnn_backward_reference_matches_the_layer_cell():
    ex = get_exercise("5.5")
    rng = np.random.default_rng(3)
    for case in get_exercise("5.4").cases(rng):
        h, cache = rnn_cell_forward(**case)
        grad_h = rng.normal(size=h.shape)
        mine = ex.reference(grad_h, case["x"], case["h_prev"], h, case["weight_ih"], case["weight_hh"])
        theirs = rnn_cell_backward(grad_h, cache)
        for a, b in zip(mine, (theirs.x, theirs.h_prev, theirs.weight_ih, theirs.weight_hh, theirs.bias_ih)):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(theirs.bias_ih, theirs.bias_hh)


# -- stubs, errors -------------------------------------------------------------------------------------
@pytest.mark.parametrize("ex_id", UNIT5_IDS)
def test_a_stub_is_not_attempted(ex_id):
    result = check(ex_id, stub)
    assert result.status == NOT_ATTEMPTED and "not attempted" in result.message


def test_a_wrong_number_of_outputs_names_the_missing_one():
    def lstm_returns_h_only(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):
        return lstm_without_tanh_of_c(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh)[0]

    result = check("5.6", lstm_returns_h_only, rng=0)
    assert result.status == WRONG and "h is missing" in result.message


# -- wrong answers -----------------------------------------------------------------------------------
@pytest.mark.parametrize("ex_id, fn, status, fragment", WRONG_ANSWERS,
                         ids=[f"{e}-{f.__name__}" for e, f, _, _ in WRONG_ANSWERS])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_wrong_answer_is_caught_with_a_clear_message(ex_id, fn, status, fragment, seed):
    assert_caught(ex_id, fn, status, fragment, seed, abs_tol=1e-12)


def test_progress_lists_unit5():
    assert [r[0] for r in progress(5)] == UNIT5_IDS
    check("5.1", get_exercise("5.1").reference)
    check("5.2", conv_flips_the_kernel)
    statuses = {i: s for i, _, s in progress(5)}
    assert statuses["5.1"] == PASSED and statuses["5.2"] == WRONG and statuses["5.3"] == NOT_ATTEMPTED


# -- the instructor notebooks' solutions -------------------------------------------------------------
SOLUTIONS = notebook_solutions("05-cnn-rnn")


def test_every_unit5_exercise_has_one_solution_in_a_notebook():
    assert solution_ids(SOLUTIONS) == UNIT5_IDS


@pytest.mark.parametrize("notebook", sorted(SOLUTIONS))
def test_the_notebook_solutions_pass_their_checks(notebook):
    assert_solutions_pass(notebook, SOLUTIONS[notebook], {"np": np, "math": math})


# -- 5.11-5.13: attention, its backward pass, positional encodings (notebook 5.7) -------------------------
def _softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _T(m):
    return np.swapaxes(m, -1, -2)


def attention_without_scaling(query, key, value, mask):
    w = _softmax_rows(np.where(mask, query @ _T(key), -np.inf))
    return w @ value, w


def attention_scaled_by_d(query, key, value, mask):
    w = _softmax_rows(np.where(mask, query @ _T(key) / query.shape[-1], -np.inf))
    return w @ value, w


def attention_ignoring_the_mask(query, key, value, mask):
    w = _softmax_rows(query @ _T(key) / np.sqrt(query.shape[-1]))
    return w @ value, w


def attention_masking_after_the_softmax(query, key, value, mask):
    w = _softmax_rows(query @ _T(key) / np.sqrt(query.shape[-1])) * mask
    return w @ value, w


def attention_softmax_over_queries(query, key, value, mask):
    z = np.where(mask, query @ _T(key) / np.sqrt(query.shape[-1]), -1e9)
    e = np.exp(z - z.max(axis=-2, keepdims=True))
    w = e / e.sum(axis=-2, keepdims=True)
    return w @ value, w


def attention_with_the_mask_inverted(query, key, value, mask):
    with np.errstate(invalid="ignore"):
        w = _softmax_rows(np.where(~mask, query @ _T(key) / np.sqrt(query.shape[-1]), -np.inf))
    return w @ value, w


def _attention_backward(grad_output, query, key, value, scale=True, full_softmax=True, transpose_dz=True,
                        transpose_a=True):
    s = 1.0 / np.sqrt(query.shape[-1]) if scale else 1.0
    A = _softmax_rows(query @ _T(key) / np.sqrt(query.shape[-1]))
    grad_value = (_T(A) if transpose_a else A) @ grad_output
    dA = grad_output @ _T(value)
    dZ = A * (dA - (dA * A).sum(axis=-1, keepdims=True)) if full_softmax else A * (1 - A) * dA
    return dZ @ key * s, (_T(dZ) if transpose_dz else dZ) @ query * s, grad_value


def attention_backward_without_scale(grad_output, query, key, value):
    return _attention_backward(grad_output, query, key, value, scale=False)


def attention_backward_diagonal_softmax(grad_output, query, key, value):
    return _attention_backward(grad_output, query, key, value, full_softmax=False)


def attention_backward_untransposed_dz(grad_output, query, key, value):
    return _attention_backward(grad_output, query, key, value, transpose_dz=False)


def attention_backward_untransposed_weights(grad_output, query, key, value):
    return _attention_backward(grad_output, query, key, value, transpose_a=False)


def _encoding(max_len, d_model, exponent=2, swap=False, blocks=False, start=0):
    angles = np.arange(start, start + max_len)[:, None] / 10000 ** (exponent * np.arange(d_model // 2) / d_model)
    first, second = (np.cos, np.sin) if swap else (np.sin, np.cos)
    if blocks:
        return np.concatenate([first(angles), second(angles)], axis=1)
    pe = np.zeros((max_len, d_model))
    pe[:, 0::2], pe[:, 1::2] = first(angles), second(angles)
    return pe


def encoding_exponent_i_over_d(max_len, d_model):
    return _encoding(max_len, d_model, exponent=1)


def encoding_sine_and_cosine_swapped(max_len, d_model):
    return _encoding(max_len, d_model, swap=True)


def encoding_in_two_blocks(max_len, d_model):
    return _encoding(max_len, d_model, blocks=True)


def encoding_positions_from_one(max_len, d_model):
    return _encoding(max_len, d_model, start=1)


ATTENTION_WRONG_ANSWERS = [
    ("5.11", attention_without_scaling, WRONG, "output at index"),
    ("5.11", attention_scaled_by_d, WRONG, "output at index"),
    ("5.11", attention_ignoring_the_mask, WRONG, "output at index"),
    ("5.11", attention_masking_after_the_softmax, WRONG, "output at index"),
    ("5.11", attention_softmax_over_queries, WRONG, "output at index"),
    ("5.11", attention_with_the_mask_inverted, WRONG, "(not finite)"),
    ("5.12", attention_backward_without_scale, WRONG, "grad_query at index"),
    ("5.12", attention_backward_diagonal_softmax, WRONG, "grad_query at index"),
    ("5.12", attention_backward_untransposed_dz, WRONG, "grad_key at index"),
    ("5.12", attention_backward_untransposed_weights, WRONG, "grad_value"),
    ("5.13", encoding_exponent_i_over_d, WRONG, "output at index"),
    ("5.13", encoding_sine_and_cosine_swapped, WRONG, "output at index (0, 0) is 1, expected 0"),
    ("5.13", encoding_in_two_blocks, WRONG, "output at index"),
    ("5.13", encoding_positions_from_one, WRONG, "output at index (0, 0)"),
]


@pytest.mark.parametrize("ex_id, fn, status, fragment", ATTENTION_WRONG_ANSWERS,
                         ids=[f"{e}-{f.__name__}" for e, f, _, _ in ATTENTION_WRONG_ANSWERS])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_wrong_attention_answer_is_caught_with_a_clear_message(ex_id, fn, status, fragment, seed):
    assert_caught(ex_id, fn, status, fragment, seed, abs_tol=1e-12)


def test_the_attention_references_agree_with_torch(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(0)
    for case in get_exercise("5.11").cases(rng):
        q, k, v, m = (torch.tensor(case[n]) for n in ("query", "key", "value", "mask"))
        out, weights = get_exercise("5.11").reference(**case)
        np.testing.assert_allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=m).numpy(), rtol=1e-10)
        np.testing.assert_allclose(weights.sum(axis=-1), 1.0)
        assert np.all(weights[..., ~case["mask"]] == 0)
    for case in get_exercise("5.12").cases(rng):
        q, k, v = (torch.tensor(case[n], requires_grad=True) for n in ("query", "key", "value"))
        (F.scaled_dot_product_attention(q, k, v) * torch.tensor(case["grad_output"])).sum().backward()
        for mine, theirs in zip(get_exercise("5.12").reference(**case), (q, k, v)):
            np.testing.assert_allclose(mine, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_the_attention_cases_catch_transposes():
    """L != S and E != Ev in some case, batched and unbatched cases, a causal mask and a random one."""
    cases = get_exercise("5.11").cases(np.random.default_rng(0))
    assert any(c["query"].shape[-2] != c["key"].shape[-2] for c in cases)
    assert any(c["key"].shape[-1] != c["value"].shape[-1] for c in cases)
    assert {c["query"].ndim for c in cases} == {2, 3}
    assert all(c["mask"].any(axis=-1).all() for c in cases)          # no query is left without a key
    assert any(not c["mask"].all() and not np.array_equal(c["mask"], np.tril(c["mask"])) for c in cases)
    pe_cases = get_exercise("5.13").cases(np.random.default_rng(0))
    assert all(c["d_model"] % 2 == 0 for c in pe_cases)


# -- 5.14: non-maximum suppression (notebook 5.8) -------------------------------------------------------
def _pair_iou(a, b, over_min=False):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    area = lambda x: (x[2] - x[0]) * (x[3] - x[1])   # noqa: E731
    return w * h / (min(area(a), area(b)) if over_min else area(a) + area(b) - w * h)


def _nms(boxes, scores, iou_threshold, order=None, greedy=True, over_min=False):
    order = list(np.argsort(-scores)) if order is None else list(order)
    keep, seen = [], []
    for i in order:
        judges = keep if greedy else seen
        if all(_pair_iou(boxes[i], boxes[j], over_min) <= iou_threshold for j in judges):
            keep.append(i)
        seen.append(i)
    return np.array(keep)


def nms_in_index_order(boxes, scores, iou_threshold):
    return _nms(boxes, scores, iou_threshold, order=range(len(boxes)))


def nms_lowest_score_first(boxes, scores, iou_threshold):
    return _nms(boxes, scores, iou_threshold, order=np.argsort(scores))


def nms_suppressed_boxes_still_suppress(boxes, scores, iou_threshold):
    return _nms(boxes, scores, iou_threshold, greedy=False)


def nms_intersection_over_the_smaller_box(boxes, scores, iou_threshold):
    return _nms(boxes, scores, iou_threshold, over_min=True)


def nms_returns_the_boxes(boxes, scores, iou_threshold):
    return boxes[_nms(boxes, scores, iou_threshold)]


NMS_WRONG_ANSWERS = [
    ("5.14", nms_in_index_order, WRONG, "keep"),
    ("5.14", nms_lowest_score_first, WRONG, "keep"),
    ("5.14", nms_suppressed_boxes_still_suppress, WRONG, "keep"),
    ("5.14", nms_intersection_over_the_smaller_box, WRONG, "keep"),
    ("5.14", nms_returns_the_boxes, WRONG, "keep has shape"),
]


@pytest.mark.parametrize("ex_id, fn, status, fragment", NMS_WRONG_ANSWERS,
                         ids=[f"{e}-{f.__name__}" for e, f, _, _ in NMS_WRONG_ANSWERS])
@pytest.mark.parametrize("seed", SEEDS)
def test_a_wrong_nms_is_caught_with_a_clear_message(ex_id, fn, status, fragment, seed):
    assert_caught(ex_id, fn, status, fragment, seed, abs_tol=1e-12)


def test_the_nms_reference_is_the_greedy_one():
    ex = get_exercise("5.14")
    for case in ex.cases(np.random.default_rng(0)):
        np.testing.assert_array_equal(ex.reference(**case), _nms(**case))
        assert len(set(case["scores"])) == len(case["scores"])           # no ties: the order is defined
