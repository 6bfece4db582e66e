"""Unit 2's batched labs train through dlcourse.train.train_step (issue 14), with the numbers of their former loops.

Each "equals the hand-written loop" test replays the loop the lab had before it used train_step (forward,
the lab's gradient, ``Adam.step`` on the flat parameters) and asks for bit-for-bit the same weights.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import losses as L
from dlcourse.activations import softmax
from dlcourse.explore import unit2_batched as bt
from dlcourse.explore import unit2_label_noise as noise
from dlcourse.explore import unit2_metric_learning as ml
from dlcourse.explore import unit2_outliers as out
from dlcourse.optim import Adam
from dlcourse.train import _check_model, train_step

pytestmark = pytest.mark.unit2


def test_tanh_nets_model_has_the_interface_train_step_checks():
    """Fails if TanhNetsModel lacks a method of the model interface, or if its parameters/gradients were
    copies rather than the networks' own flat arrays (an optimizer on them would then update nothing)."""
    nets = bt.TanhNets(3, 2, 4, 2, rng=0)
    model = nets.as_model()
    _check_model(model)
    assert model.parameters()[0] is nets.flat and model.gradients()[0] is nets.flat_grad
    nets.flat_grad[:] = 1.0
    model.zero_grad()
    assert not nets.flat_grad.any()


def test_tanh_nets_model_forward_keeps_what_backward_needs():
    """``backward(grad_out)`` equals ``nets.backward(X, h, grad_out)`` after ``forward(X)``; after a forward in
    eval() mode (nothing kept) it raises. Fails if the cache held another input or hidden layer."""
    rng = np.random.default_rng(1)
    nets = bt.TanhNets(2, 3, 5, 2, rng=1)
    nets.flat[:] = rng.normal(size=nets.flat.shape)
    model = nets.as_model()
    X, G = rng.normal(size=(6, 3)), rng.normal(size=(2, 6, 2))
    out_ = model.forward(X)
    got = model.backward(G).copy()
    h, z = nets.forward(X)
    assert np.array_equal(out_, z)
    assert np.array_equal(got, nets.backward(X, h, G))
    model.eval().forward(X)
    with pytest.raises(RuntimeError, match="forward in train"):
        model.backward(G)


def test_fit_nets_equals_the_hand_written_loop():
    """The outlier lab's three nets after train_step are bit for bit those of its former loop (Adam on
    ``[nets.flat]`` fed ``_residual_grads``). Fails if the loss pair scored a net by another loss or scaled it."""
    x, y = out.with_outliers(2, 12.0)
    curves = out.fit_nets(x, y, 1.5, steps=25, lr=0.05, hidden=6, rng=3)
    X, Y = (x / 5.0 - 1.0)[:, None], ((y - out.Y_SHIFT) / out.Y_SCALE)[:, None]
    nets = bt.TanhNets(3, 1, 6, 1, rng=3)
    opt = Adam([nets.flat], lr=0.05)
    for t in range(25):
        opt.lr = 0.05 * (1.0 - t / 25)
        h, o = nets.forward(X)
        opt.step([nets.backward(X, h, out._residual_grads(o - Y, 1.5 / out.Y_SCALE))])
    expected = out.Y_SHIFT + out.Y_SCALE * nets.forward((out.GRID / 5.0 - 1.0)[:, None])[1]
    for k, name in enumerate(out.LOSSES):
        assert np.array_equal(curves[name], expected[k, :, 0]), name


def test_outlier_loss_pair_is_the_three_library_losses():
    """The value train_step reports is MSE + MAE + Huber of the three nets (fails if a net got another loss)."""
    rng = np.random.default_rng(2)
    o, Y = rng.normal(size=(3, 7, 1)), rng.normal(size=(7, 1))
    loss, grad = out._net_losses(0.4)
    assert loss(o, Y) == pytest.approx(L.mse(o[0], Y) + L.mae(o[1], Y) + L.huber(o[2], Y, 0.4), rel=1e-15)
    assert np.array_equal(grad(o, Y)[2], L.huber_grad(o[2], Y, 0.4))


def test_label_noise_training_equals_the_hand_written_loop():
    """``train_all`` through train_step gives bit for bit the accuracies of its former loop (softmax, each
    loss's gradient on its models, / N, Adam). Fails if model b were not scored by loss b % 4."""
    runs = noise.train_all.__wrapped__(steps=15, lr=0.04, hidden=5, rng=2)
    X, _, _, Xt, yt = noise.noisy_data()
    labels = np.array([noise.noisy_labels(r)[0] for r in noise.NOISE_LEVELS])
    n_losses = len(noise.LOSS_NAMES)
    onehot = np.repeat(np.eye(2)[labels], n_losses, axis=0)
    nets = bt.TanhNets(len(noise.NOISE_LEVELS) * n_losses, 2, 5, 2, rng=2)
    opt = Adam([nets.flat], lr=0.04)
    grad = np.empty_like(onehot)
    for _ in range(15):
        h, z = nets.forward(X)
        p = softmax(z)
        for k, name in enumerate(noise.LOSS_NAMES):
            grad[k::n_losses] = noise.ROBUST_LOSSES[name].grad(p[k::n_losses], onehot[k::n_losses])
        opt.step([nets.backward(X, h, grad / len(X))])
    acc = (nets.forward(Xt)[1].argmax(-1) == yt).mean(-1).reshape(runs.test_accuracy.shape)
    assert np.array_equal(runs.test_accuracy, acc)


def test_label_noise_loss_value_is_each_models_own_mean():
    """The value of the loss pair is the sum over models of the mean of *their* loss (fails if a model's
    value came from another loss, e.g. MAE for a cross-entropy model)."""
    rng = np.random.default_rng(3)
    z, onehot = rng.normal(size=(8, 5, 2)), np.eye(2)[rng.integers(0, 2, (8, 5))]
    loss, _ = noise._batch_losses(5)
    p = softmax(z)
    want = sum(noise.ROBUST_LOSSES[noise.LOSS_NAMES[b % 4]].value(p[b], onehot[b]).mean() for b in range(8))
    assert loss(z, onehot) == pytest.approx(want, rel=1e-13)


def test_embedding_losses_recompute_for_a_new_batch():
    """The loss pair of the metric-learning lab reuses one computation for (E, batch) but not for another batch:
    fails if the cache returned the previous batch's gradient."""
    rng = np.random.default_rng(4)
    margins = np.array([0.5, 1.5])
    E = rng.normal(size=(4, 12, 2))
    y = np.repeat(np.arange(3), 4)
    objective = ml._EmbeddingLosses(margins)
    b1 = (ml.sample_pairs(y, rng, 8), ml.sample_triplets(y, rng, 8))
    b2 = (ml.sample_pairs(y, rng, 8), ml.sample_triplets(y, rng, 8))
    g1, l1 = objective.loss_grad(E, b1), objective.loss(E, b1)
    g2 = objective.loss_grad(E, b2)
    assert not np.array_equal(g1, g2)
    loss_c, g_c = ml.contrastive_terms(E[:2], *b2[0], margins)
    assert np.array_equal(g2[:2], g_c) and np.array_equal(objective.per_model[:2], loss_c)
    assert l1 == pytest.approx(float(np.sum(ml.contrastive_terms(E[:2], *b1[0], margins)[0])
                                     + np.sum(ml.triplet_terms(E[2:], *b1[1], margins)[0])))


def test_triplet_terms_are_margin_ranking_of_the_distances(torch):
    """triplet_terms against torch's triplet_margin_loss on the same Euclidean distances (eps=0, swap=False).
    Fails if margin_ranking's x1/x2 were swapped (the loss would push the positive away)."""
    rng = np.random.default_rng(5)
    E = rng.normal(size=(1, 9, 3))
    a, p, n = np.arange(3), np.arange(3, 6), np.arange(6, 9)
    loss, grad = ml.triplet_terms(E, a, p, n, np.array([1.2]))
    tE = torch.tensor(E[0], requires_grad=True)
    t = torch.nn.functional.triplet_margin_loss(tE[a], tE[p], tE[n], margin=1.2, eps=0.0)
    t.backward()
    np.testing.assert_allclose(loss[0], t.item(), rtol=1e-9)
    np.testing.assert_allclose(grad[0], tE.grad.numpy(), rtol=1e-7, atol=1e-12)
