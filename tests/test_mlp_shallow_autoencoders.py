"""dlcourse.mlp, dlcourse.shallow and dlcourse.autoencoders (Unit 1): against NumPy, torch and
scikit-learn, plus convergence properties and bad input."""

import numpy as np
import pytest

pytestmark = pytest.mark.unit1

from dlcourse import shallow  # noqa: E402
from dlcourse.autoencoders import (make_autoencoder, pca, principal_angles, reconstruction_error,  # noqa: E402
                                   train_autoencoder, train_linear_autoencoder)
from dlcourse.data import load_digits, make_blobs, make_xor  # noqa: E402
from dlcourse.graph import Value  # noqa: E402
from dlcourse.layers import Activation, Linear  # noqa: E402
from dlcourse.mlp import (ScalarMLP, ScalarNeuron, Trainer, make_mlp, scalar_training_step,  # noqa: E402
                          softmax_cross_entropy)

XOR_X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
XOR_Y = np.array([0, 1, 1, 0])


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def load_scalar_into_array_mlp(scalar: ScalarMLP, activation: str):
    """A make_mlp network with the ScalarMLP's weights."""
    sizes = [len(scalar.layers[0][0].w)] + [len(layer) for layer in scalar.layers]
    model = make_mlp(sizes[0], sizes[1:-1], sizes[-1], activation=activation)
    linears = [m for m in model.layers if isinstance(m, Linear)]
    for lin, layer in zip(linears, scalar.layers):
        lin.params["weight"][...] = [[w.data for w in n.w] for n in layer]
        lin.params["bias"][...] = [n.b.data for n in layer]
    return model


# -- mlp --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid", "linear"])
@pytest.mark.parametrize("fused", [True, False])
def test_scalar_mlp_forward_equals_the_array_mlp(rng, activation, fused):
    scalar = ScalarMLP(3, [4, 5], 2, activation=activation, rng=1, fused=fused)
    model = load_scalar_into_array_mlp(scalar, activation)
    X = rng.normal(size=(6, 3))
    ours = np.array([[o.data for o in scalar([Value(v) for v in row])] for row in X])
    np.testing.assert_allclose(ours, model.forward(X), rtol=1e-12, atol=1e-14)
    # a single output is a Value, not a list
    one = ScalarMLP(3, [4], 1, activation=activation, rng=1)
    assert isinstance(one([1.0, 2.0, 3.0]), Value)


def test_fused_and_unfused_neurons_give_identical_gradients(rng):
    X = rng.normal(size=(5, 3))
    grads, outs = [], []
    for fused in (True, False):
        model = ScalarMLP(3, [4, 4], 1, activation="tanh", rng=7, fused=fused)
        loss = Value.sum(model(list(row)) ** 2 for row in X)
        loss.backward()
        outs.append(loss.data)
        grads.append([p.grad for p in model.parameters()])
    assert outs[0] == pytest.approx(outs[1], rel=1e-14)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12, atol=1e-15)
    # the fused neuron has one node for the weighted sum, the unfused one a node per product and sum
    from dlcourse.graph import topological_order

    ops = {}
    for fused in (True, False):
        out = ScalarNeuron(3, rng=0, fused=fused)([1.0, 2.0, 3.0])
        ops[fused] = [n._op for n in topological_order(out) if n._prev]
    assert sorted(ops[True]) == sorted(["·", "+", "tanh"])
    assert sorted(ops[False]) == sorted(["*"] * 3 + ["+"] * 3 + ["tanh"])


def test_scalar_mlp_gradients_match_torch(torch, rng):
    scalar = ScalarMLP(2, [3], 1, activation="tanh", rng=3)
    X = rng.normal(size=(4, 2))
    y = rng.normal(size=4)
    net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    model = load_scalar_into_array_mlp(scalar, "tanh")
    with torch.no_grad():
        for tl, lin in ((net[0], model.layers[0]), (net[2], model.layers[2])):
            tl.weight.copy_(torch.tensor(lin.weight))
            tl.bias.copy_(torch.tensor(lin.bias))
    loss_t = ((net(torch.tensor(X))[:, 0] - torch.tensor(y)) ** 2).mean()
    loss_t.backward()
    loss = scalar_training_step(scalar, X, y, lr=0.0)  # lr = 0: gradients only
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    layer1, layer2 = scalar.layers
    np.testing.assert_allclose([[w.grad for w in n.w] for n in layer1], net[0].weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose([n.b.grad for n in layer1], net[0].bias.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose([w.grad for w in layer2[0].w], net[2].weight.grad.numpy()[0], rtol=1e-10)


def test_scalar_training_step_lowers_the_loss():
    d = make_xor(24, noise=0.1, rng=0)
    model = ScalarMLP(2, [6], 1, activation="tanh", rng=0)
    y = 2.0 * d.y - 1.0
    losses = [scalar_training_step(model, d.X, y, lr=0.1) for _ in range(25)]
    assert losses[-1] < 0.9 * losses[0]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))
    with pytest.raises(ValueError, match="same number of rows"):
        scalar_training_step(model, d.X, y[:-1])
    with pytest.raises(ValueError, match="X must be 2-D"):
        scalar_training_step(model, d.X[0], y[:1])


def test_scalar_mlp_bad_input():
    with pytest.raises(ValueError, match="nin must be >= 1"):
        ScalarMLP(0, [2], 1)
    with pytest.raises(ValueError, match="hidden size must be >= 1"):
        ScalarMLP(2, [0], 1)
    with pytest.raises(TypeError, match="nout must be an integer"):
        ScalarMLP(2, [2], 1.5)
    with pytest.raises(ValueError, match="activation must be one of"):
        ScalarMLP(2, [2], 1, activation="swish")


def test_make_mlp_structure():
    model = make_mlp(4, [8, 6], 3, activation="tanh", rng=0)
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds == ["Linear", "Activation", "Linear", "Activation", "Linear"]
    assert [m.weight.shape for m in model.layers if isinstance(m, Linear)] == [(8, 4), (6, 8), (3, 6)]
    assert all(m.name == "tanh" for m in model.layers if isinstance(m, Activation))
    assert model.forward(np.zeros((5, 4))).shape == (5, 3)
    np.testing.assert_array_equal(make_mlp(4, [8], 3, rng=5).layers[0].weight, make_mlp(4, [8], 3, rng=5).layers[0].weight)


def test_softmax_cross_entropy_matches_torch(torch, rng):
    logits = rng.normal(size=(5, 4))
    labels = rng.integers(0, 4, 5)
    t = torch.tensor(logits, requires_grad=True)
    loss_t = torch.nn.functional.cross_entropy(t, torch.tensor(labels))
    loss_t.backward()
    loss, grad = softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("X, y", [(XOR_X, XOR_Y), tuple(make_xor(200, noise=0.1, rng=0))], ids=["4 points", "200 points"])
def test_trainer_reaches_100_percent_on_xor(X, y):
    model = make_mlp(2, [8], 2, activation="tanh", rng=0)
    trainer = Trainer(model, X, y, lr=0.5)
    assert trainer.accuracy() < 1.0
    last = trainer.train(500)
    assert trainer.accuracy() == 1.0
    assert len(trainer.losses) == 500 and last == trainer.losses[-1] < 0.05 < trainer.losses[0]


def test_a_linear_network_cannot_learn_xor():
    trainer = Trainer(make_mlp(2, [8], 2, activation="linear", rng=0), XOR_X, XOR_Y, lr=0.5)
    trainer.train(500)
    assert trainer.accuracy() <= 0.75


def test_trainer_mini_batches_and_bad_input():
    d = make_xor(64, rng=1)
    t = Trainer(make_mlp(2, [8], 2, activation="tanh", rng=0), d.X, d.y, lr=0.5, batch_size=16, rng=0)
    t.train(300)
    assert len(t.losses) == 300 and t.accuracy() > 0.9
    assert t.accuracy(d.X[:8], d.y[:8]) in {k / 8 for k in range(9)}
    with pytest.raises(ValueError, match="lr must be in"):
        Trainer(make_mlp(2, [2], 2), d.X, d.y, lr=0.0)
    with pytest.raises(ValueError, match="X must be 2-D"):
        Trainer(make_mlp(2, [2], 2), d.X[0], d.y)
    with pytest.raises(ValueError, match="steps must be >= 1"):
        t.train(0)


# -- shallow ----------------------------------------------------------------------------------------
def _line_data(rng, n=60, noise=0.05):
    X = rng.normal(size=(n, 2))
    y = X @ np.array([1.5, -2.0]) + 0.5 + noise * rng.normal(size=n)
    return X, y


def test_least_squares_matches_lstsq(rng):
    X = rng.normal(size=(40, 3))
    y = rng.normal(size=40)
    w, b = shallow.least_squares(X, y)
    theta = np.linalg.lstsq(np.c_[X, np.ones(40)], y, rcond=None)[0]
    np.testing.assert_allclose(np.r_[w, b], theta, rtol=1e-10)
    assert isinstance(b, float) and w.shape == (3,)


def test_slope_intercept_is_one_input_least_squares(rng):
    x = rng.normal(size=30)
    y = 3.0 * x - 1.0 + 0.1 * rng.normal(size=30)
    m, c = shallow.slope_intercept(x, y)
    w, b = shallow.least_squares(x[:, None], y)
    assert m == pytest.approx(w[0], rel=1e-10) and c == pytest.approx(b, rel=1e-10)
    assert shallow.slope_intercept([0, 1, 2], [1, 3, 5]) == pytest.approx((2.0, 1.0))


def test_least_squares_bad_input(rng):
    with pytest.raises(ValueError, match="same number of rows"):
        shallow.least_squares(rng.normal(size=(4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="X must be 2-D"):
        shallow.least_squares(np.ones(4), np.ones(4))
    with pytest.raises(ValueError, match="same length"):
        shallow.slope_intercept([1, 2], [1, 2, 3])
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        shallow.slope_intercept("abc", [1, 2, 3])


def test_perceptron_converges_on_separable_data():
    d = make_blobs(100, std=0.3, rng=0)
    y = 2 * d.y - 1
    run = shallow.train_perceptron(d.X, y, epochs=20)
    assert run.errors[-1] == 0 and len(run.errors) == 20
    assert np.all(y * (d.X @ run.w + run.b) > 0)


def test_perceptron_never_converges_on_xor():
    run = shallow.train_perceptron(XOR_X, 2 * XOR_Y - 1, epochs=50)
    assert min(run.errors) > 0
    assert np.any((2 * XOR_Y - 1) * (XOR_X @ run.w + run.b) <= 0)


def test_perceptron_update_cases():
    w, x = np.array([1.0, -1.0]), np.array([2.0, 1.0])
    new_w, new_b = shallow.perceptron_update(w, 0.5, x, 1)  # margin 1.5 > 0: unchanged copy
    np.testing.assert_array_equal(new_w, w)
    assert new_w is not w
    assert new_b == 0.5
    new_w, new_b = shallow.perceptron_update(w, 0.5, x, -1, lr=0.5)  # misclassified
    np.testing.assert_allclose(new_w, [0.0, -1.5])
    assert new_b == 0.0
    np.testing.assert_array_equal(w, [1.0, -1.0])  # not modified
    new_w, new_b = shallow.perceptron_update(np.zeros(2), 0.0, x, 1)  # on the boundary: update
    np.testing.assert_allclose(new_w, x)
    assert new_b == 1.0
    with pytest.raises(ValueError, match="y must be -1 or \\+1, got 0"):
        shallow.perceptron_update(w, 0.0, x, 0)


def test_delta_rule_converges_to_least_squares(rng):
    X, y = _line_data(rng)
    w_ls, b_ls = shallow.least_squares(X, y)
    w, b = np.zeros(2), 0.0
    for _ in range(300):
        for xi, yi in zip(X, y):
            w, b = shallow.delta_rule_update(w, b, xi, yi, lr=0.01)
    np.testing.assert_allclose(w, w_ls, atol=0.02)
    assert b == pytest.approx(b_ls, abs=0.02)
    # one update by hand: error 1 - 0 = 1
    w1, b1 = shallow.delta_rule_update(np.zeros(2), 0.0, np.array([1.0, 2.0]), 1.0, lr=0.1)
    np.testing.assert_allclose(w1, [0.1, 0.2])
    assert b1 == pytest.approx(0.1)


@pytest.fixture(scope="module")
def overlapping_blobs():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(-0.5, 1, (100, 2)), rng.normal(0.5, 1, (100, 2))])
    return X, np.r_[np.zeros(100), np.ones(100)]


def test_logistic_regression_matches_sklearn(overlapping_blobs):
    from sklearn.linear_model import LogisticRegression

    X, y = overlapping_blobs
    w, b, losses = shallow.logistic_regression(X, y, lr=0.5, epochs=500)
    assert len(losses) == 500
    assert np.all(np.diff(losses) <= 1e-12) and losses[-1] < losses[0]
    assert losses[0] == pytest.approx(np.log(2))
    sk = LogisticRegression(C=np.inf).fit(X, y)  # no penalty (penalty=None is deprecated in 1.8)
    coef = sk.coef_[0]
    assert w @ coef / np.linalg.norm(w) / np.linalg.norm(coef) > 0.999
    np.testing.assert_allclose(w, coef, rtol=0.02)
    assert b == pytest.approx(sk.intercept_[0], abs=0.01)


def test_softmax_regression(overlapping_blobs):
    d = make_blobs(150, centers=((-2, 0), (2, 0), (0, 2.5)), std=0.5, rng=0)
    W, b, losses = shallow.softmax_regression(d.X, d.y, n_classes=3, lr=0.5, epochs=200)
    assert W.shape == (3, 2) and b.shape == (3,)
    assert losses[0] == pytest.approx(np.log(3)) and losses[-1] < 0.3 * losses[0]
    assert np.mean(np.argmax(d.X @ W.T + b, axis=1) == d.y) > 0.95
    # two classes from zero: W1 - W0 follows logistic regression with twice the learning rate
    X, y = overlapping_blobs
    W2, b2, l2 = shallow.softmax_regression(X, y.astype(int), 2, lr=0.25, epochs=100)
    w, bl, l1 = shallow.logistic_regression(X, y, lr=0.5, epochs=100)
    np.testing.assert_allclose(W2[1] - W2[0], w, rtol=1e-9)
    assert b2[1] - b2[0] == pytest.approx(bl, rel=1e-9)
    np.testing.assert_allclose(l2, l1, rtol=1e-9)


def test_hierarchical_softmax_cost():
    assert shallow.hierarchical_softmax_cost(1_000_000) == (1_000_000, 20)
    assert shallow.hierarchical_softmax_cost(2) == (2, 1)
    assert shallow.hierarchical_softmax_cost(1024) == (1024, 10)
    assert shallow.hierarchical_softmax_cost(1025) == (1025, 11)
    with pytest.raises(ValueError, match="vocab_size must be >= 2"):
        shallow.hierarchical_softmax_cost(1)
    with pytest.raises(TypeError, match="vocab_size must be an integer"):
        shallow.hierarchical_softmax_cost(10.0)


def test_shallow_training_bad_input(overlapping_blobs):
    X, y = overlapping_blobs
    with pytest.raises(ValueError, match="lr must be in"):
        shallow.logistic_regression(X, y, lr=0.0)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        shallow.logistic_regression(X, y, epochs=0)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        shallow.softmax_regression(X, y.astype(int), 2, epochs=0)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        shallow.train_perceptron(X, 2 * y - 1, epochs=0)
    with pytest.raises(ValueError, match="X must be 2-D"):
        shallow.train_perceptron(X[0], [1])


# -- autoencoders -----------------------------------------------------------------------------------
def test_pca_matches_sklearn(digits):
    from sklearn.decomposition import PCA

    X = digits.X
    pcs, mean = pca(X, 5)
    sk = PCA(n_components=5).fit(X)
    assert pcs.shape == (5, 64)
    np.testing.assert_allclose(mean, X.mean(axis=0))
    signs = np.sign(np.sum(pcs * sk.components_, axis=1))
    np.testing.assert_allclose(pcs * signs[:, None], sk.components_, atol=1e-8)
    np.testing.assert_allclose(pcs @ pcs.T, np.eye(5), atol=1e-12)
    with pytest.raises(ValueError, match="k must be >= 1"):
        pca(X, 0)


def test_reconstruction_error_and_a_small_autoencoder(digits):
    X = digits.X[:200]
    enc, dec = make_autoencoder(64, [16], 3, activation="tanh", rng=0)
    assert enc.forward(X).shape == (200, 3) and dec.forward(np.zeros((2, 3))).shape == (2, 64)
    err = reconstruction_error(enc, dec, X)
    assert err.shape == (200,) and np.all(err >= 0)
    np.testing.assert_allclose(err, np.mean((dec.forward(enc.forward(X)) - X) ** 2, axis=1))
    losses = train_autoencoder(enc, dec, X, epochs=8, lr=5e-3)
    assert losses.shape == (8,) and losses[-1] < losses[0]
    assert reconstruction_error(enc, dec, X).mean() < err.mean()


def test_linear_autoencoder_spans_the_pca_plane_of_random_data(rng):
    X = rng.normal(size=(300, 6)) * np.array([3.0, 2.0, 0.5, 0.3, 0.2, 0.1])
    run = train_linear_autoencoder(X, k=2, epochs=300, lr=0.05, rng=1)
    pcs, _ = pca(X, 2)
    assert run.angles[-1] < 1.0
    assert principal_angles(run.decoder, pcs.T).max() == pytest.approx(run.angles[-1])
    assert run.losses[-1] < run.losses[0]


def test_a_huge_learning_rate_is_reported(digits):
    with pytest.raises(ValueError, match=r"diverged .* lr=50.0; use a smaller lr"):
        train_linear_autoencoder(digits.X[:300], k=2, epochs=100, lr=50.0)
    with pytest.raises(ValueError, match="epochs must be >= 1"):
        train_linear_autoencoder(digits.X[:30], epochs=0)
