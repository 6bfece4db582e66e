"""The capacity lab's networks train through dlcourse.train.train_step (issue 14), with its former numbers."""

from __future__ import annotations

import numpy as np
import pytest

from dlcourse import losses as L
from dlcourse.explore import unit4_capacity as cap
from dlcourse.optim import Adam
from dlcourse.train import _check_model

pytestmark = pytest.mark.unit4


def test_width_nets_equal_the_hand_written_loop():
    """``train_tanh_nets`` (train_step on WidthNets) gives bit for bit the weights and predictions of its former
    loop: the same draws, then Adam on ``tanh_nets_loss_and_grads``. Fails if WidthNets drew its weights in another
    order, or if the loss pair's gradient were the mean over all networks (1/(R n)) instead of each one's (1/n)."""
    rng = np.random.default_rng(0)
    X, Y = rng.uniform(-1, 1, (3, 9)), rng.normal(size=(3, 9))
    predict = cap.train_tanh_nets(X, Y, 4, steps=30, lr=0.02, rng=7)
    draw = np.random.default_rng(7)
    params = [draw.normal(0, 2.0, (3, 4)), draw.uniform(-2, 2, (3, 4)), draw.normal(0, 1 / np.sqrt(4), (3, 4)),
              np.zeros((3, 1))]
    opt = Adam(params, lr=0.02)
    for _ in range(30):
        opt.step(cap.tanh_nets_loss_and_grads(params, X, Y)[1])
    for got, want in zip(predict.params, params):
        assert np.array_equal(got, want)
    grid = np.linspace(-1, 1, 5)
    W1, b1, W2, b2 = params
    H = np.tanh(grid[None, :, None] * W1[:, None, :] + b1[:, None, :])
    np.testing.assert_allclose(predict(grid), np.einsum("rnh,rh->rn", H, W2) + b2, rtol=1e-14)


def test_width_nets_model_interface_and_per_net_loss():
    """WidthNets passes train's model check; its loss pair is each network's mean squared error summed (fails if
    the networks were scored on one another's targets)."""
    nets = cap.WidthNets(2, 3, rng=1)
    _check_model(nets)
    rng = np.random.default_rng(2)
    X, Y = rng.uniform(-1, 1, (2, 5)), rng.normal(size=(2, 5))
    out = nets.forward(X)
    assert cap._per_net_mse(out, Y) == pytest.approx(L.mse(out[0], Y[0]) + L.mse(out[1], Y[1]), rel=1e-14)
    nets.backward(cap._per_net_mse_grad(out, Y))
    losses, grads = cap.tanh_nets_loss_and_grads(nets.params, X, Y)
    for g, want in zip(nets.gradients(), grads):
        assert np.array_equal(g, want)
    nets.eval().forward(X)
    with pytest.raises(RuntimeError, match="forward in train"):
        nets.backward(np.ones_like(Y))
