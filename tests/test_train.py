"""Tests for dlcourse.train: train_step, fit (callbacks, schedules, clipping, groups), predict, accuracy."""

import numpy as np
import pytest

from dlcourse.data import load_digits, make_blobs, train_test_split
from dlcourse.layers.activation import ReLU
from dlcourse.layers.conv import Conv2d
from dlcourse.layers.linear import Linear
from dlcourse.layers.module import Sequential
from dlcourse.layers.pooling import Flatten, MaxPool2d
from dlcourse import losses
from dlcourse.optim import SGD, Adam
from dlcourse.train import StepResult, accuracy, fit, predict, train_step

pytestmark = pytest.mark.unit5

TOL = dict(rtol=1e-10, atol=1e-12)


def _mlp(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential(Linear(2, 16, rng=rng), ReLU(), Linear(16, 2, rng=rng))


@pytest.fixture
def blobs():
    X, y = make_blobs(200, centers=((-1, -1), (1, 1)), std=0.5, rng=0)
    return X, y


# --------------------------------------------------------------------------- fit
@pytest.mark.parametrize("optimizer, lr", [("adam", 1e-2), ("sgd", 0.05), (None, None)])
def test_fit_decreases_the_loss_on_blobs(blobs, optimizer, lr):
    X, y = blobs
    model = _mlp()
    hist = fit(model, X, y, optimizer=optimizer, lr=lr, epochs=15, batch_size=16, progress=False)
    assert set(hist) == {"loss", "train_acc", "val_loss", "val_acc", "time"}
    assert all(len(v) == 15 for v in hist.values())
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    assert hist["train_acc"][-1] >= 0.9 and accuracy(model, X, y) >= 0.9
    assert np.all(np.isnan(hist["val_acc"])) and not model.training


def test_fit_records_validation_and_is_reproducible(blobs):
    X, y = blobs
    Xtr, Xva, ytr, yva = train_test_split(X, y, rng=1)
    h1 = fit(_mlp(), Xtr, ytr, epochs=3, X_val=Xva, y_val=yva, rng=3, progress=False)
    h2 = fit(_mlp(), Xtr, ytr, epochs=3, X_val=Xva, y_val=yva, rng=np.random.default_rng(3), progress=False)
    assert h1["loss"] == h2["loss"] and h1["val_acc"] == h2["val_acc"]
    assert all(0.0 <= a <= 1.0 for a in h1["val_acc"]) and np.all(np.diff(h1["time"]) >= 0)


def test_fit_mse_regression():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(128, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    model = Linear(3, 1, rng=0)
    hist = fit(model, X, y, loss="mse", optimizer="sgd", lr=0.02, epochs=20, progress=False)
    assert hist["loss"][-1] < 1e-3 * hist["loss"][0]
    np.testing.assert_allclose(model.weight, [[1.0, -2.0, 0.5]], atol=0.05)
    np.testing.assert_allclose(model.bias, [0.3], atol=0.05)
    assert np.all(np.isnan(hist["train_acc"]))


def test_fit_accepts_an_optimizer_object(blobs):
    X, y = blobs
    model = _mlp()

    class CountingSGD:
        def __init__(self, params, lr):
            self.params, self.lr, self.calls = params, lr, 0

        def step(self, grads):
            self.calls += 1
            for p, g in zip(self.params, grads):
                p -= self.lr * g

    opt = CountingSGD(model.parameters(), lr=0.1)
    hist = fit(model, X, y, optimizer=opt, epochs=2, batch_size=50, progress=False)
    assert opt.calls == 2 * 4 and hist["loss"][1] < hist["loss"][0]


def test_fit_shows_a_progress_bar(blobs, capsys):
    X, y = blobs
    fit(_mlp(), X, y, epochs=2, progress=True)
    assert "epochs" in capsys.readouterr().err


def test_small_cnn_learns_digits():
    """Conv-ReLU-Pool ×2 → Flatten → Linear reaches ≥ 95 % test accuracy on the 8×8 digits (Unit 5)."""
    X, y = load_digits()
    Xtr, Xte, ytr, yte = train_test_split(X.reshape(-1, 1, 8, 8), y, test_size=0.25, rng=0)
    rng = np.random.default_rng(0)
    model = Sequential(Conv2d(1, 8, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
                       Conv2d(8, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
                       Flatten(), Linear(16 * 2 * 2, 10, rng=rng))
    hist = fit(model, Xtr, ytr, optimizer="adam", lr=3e-3, epochs=15, batch_size=32, progress=False)
    assert hist["loss"][-1] < 0.2
    assert accuracy(model, Xte, yte) >= 0.95


# --------------------------------------------------------------------------- predict
def test_predict_batches_and_restores_mode(blobs):
    X, _ = blobs
    model = _mlp().train()
    full = model.forward(X)
    out = predict(model, X, batch_size=7)
    np.testing.assert_allclose(out, full, **TOL)
    assert model.training
    model.eval()
    predict(model, X)
    assert not model.training


# --------------------------------------------------------------------------- train_step and fit against torch
def _torch_mlp(torch, model):
    net = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2)).double()
    for ours, theirs in zip([model.layers[0], model.layers[2]], [net[0], net[2]]):
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(ours.params["weight"]))
            theirs.bias.copy_(torch.tensor(ours.params["bias"]))
    return net


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_full_batch_fit_follows_torch(torch, blobs, name):
    """Full-batch fit with bias groups without weight decay equals torch's loop step for step."""
    X, y = blobs
    model = _mlp()
    net = _torch_mlp(torch, model)
    kwargs = dict(lr=0.05, weight_decay=0.01) | (dict(momentum=0.9) if name == "SGD" else {})
    W, b = [model.layers[0].params["weight"], model.layers[2].params["weight"]], [
        model.layers[0].params["bias"], model.layers[2].params["bias"]]
    opt = getattr(__import__("dlcourse.optim", fromlist=[name]), name)(
        [{"params": W}, {"params": b, "weight_decay": 0.0}], **kwargs)
    topt = getattr(torch.optim, name)([{"params": [net[0].weight, net[2].weight]},
                                       {"params": [net[0].bias, net[2].bias], "weight_decay": 0.0}], **kwargs)
    hist = fit(model, X, y, optimizer=opt, epochs=20, batch_size=len(X), shuffle=False, progress=False)
    Xt, yt = torch.tensor(X), torch.tensor(y)
    tlosses = []
    for _ in range(20):
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(Xt), yt)
        loss.backward()
        topt.step()
        tlosses.append(loss.item())
    np.testing.assert_allclose(hist["loss"], tlosses, rtol=1e-10)
    np.testing.assert_allclose(model.layers[2].params["bias"], net[2].bias.detach().numpy(), rtol=1e-9, atol=1e-12)


def test_train_step_returns_the_loss_before_the_update_and_clips(torch, blobs):
    X, y = blobs
    model = _mlp()
    net = _torch_mlp(torch, model)
    out0 = model.forward(X[:10])
    step = train_step(model, X[:10], y[:10], "cross_entropy", SGD(model.parameters(), lr=0.1), clip_grad_norm=0.1)
    assert isinstance(step, StepResult)
    np.testing.assert_array_equal(step.output, out0)
    assert step.loss == pytest.approx(losses.cross_entropy(out0, y[:10]), rel=1e-12)
    loss = torch.nn.functional.cross_entropy(net(torch.tensor(X[:10])), torch.tensor(y[:10]))
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(net.parameters(), 0.1)
    assert step.grad_norm == pytest.approx(norm.item(), rel=1e-10)
    with torch.no_grad():
        for p in net.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(model.layers[0].params["weight"], net[0].weight.detach().numpy(), rtol=1e-10)


def test_train_step_with_a_loss_pair_and_an_optimizer_over_a_subset(blobs):
    X, y = blobs
    model = _mlp()
    frozen = model.layers[0].params["weight"].copy()
    head = model.layers[2].parameters()
    targets = np.eye(2)[y[:20]]
    step = train_step(model, X[:20], targets, (losses.mse, losses.mse_grad), Adam(head, lr=0.1))
    np.testing.assert_array_equal(model.layers[0].params["weight"], frozen)
    assert not np.allclose(model.layers[2].params["weight"], _mlp().layers[2].params["weight"])
    assert np.isnan(step.grad_norm)
    with pytest.raises(ValueError, match="not parameters of the model"):
        train_step(model, X[:20], y[:20], optimizer=SGD([np.zeros(2)], lr=0.1))
    with pytest.raises(TypeError, match="optimizer must be an object with step"):
        train_step(model, X[:20], y[:20], optimizer="adam")


def test_callbacks_see_every_epoch_and_can_stop(blobs):
    X, y = blobs
    seen = []

    def record(epoch, history):
        seen.append((epoch, len(history["loss"])))

    hist = fit(_mlp(), X, y, epochs=10, progress=False, callbacks=[record, lambda epoch, history: epoch == 3])
    assert seen == [(0, 1), (1, 2), (2, 3), (3, 4)] and len(hist["loss"]) == 4
    with pytest.raises(TypeError, match=r"callbacks\[0\] must be a function"):
        fit(_mlp(), X, y, epochs=1, progress=False, callbacks=[1])


def test_progress_bar_honours_tqdm_disable(blobs, capsys, monkeypatch):
    X, y = blobs
    monkeypatch.setenv("TQDM_DISABLE", "1")
    fit(_mlp(), X, y, epochs=2, progress=True)
    assert "epochs" not in capsys.readouterr().err


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(loss="hinge"), ValueError, "loss must be one of"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer must be one of"),
    (dict(optimizer=object()), TypeError, "optimizer must be 'sgd', 'adam' or an object with step"),
    (dict(lr=-1.0), ValueError, "lr must be in"),
    (dict(epochs=0), ValueError, "epochs must be >= 1"),
    (dict(batch_size=2.5), TypeError, "batch_size must be an integer"),
    (dict(X_val=np.zeros((3, 2))), ValueError, "X_val and y_val must be given together"),
], ids=["loss", "optimizer_name", "optimizer_object", "lr", "epochs", "batch_size", "val_pair"])
def test_fit_rejects_bad_arguments(blobs, kwargs, exc, match):
    X, y = blobs
    with pytest.raises(exc, match=match):
        fit(_mlp(), X, y, progress=False, **kwargs)


def test_fit_rejects_bad_data(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="same number of samples, got 200 and 199"):
        fit(_mlp(), X, y[:-1], progress=False)
    with pytest.raises(ValueError, match="integer class labels for loss='cross_entropy'"):
        fit(_mlp(), X, y.astype(float), progress=False)
    with pytest.raises(ValueError, match=r"class indices in \[0, 2\), got 2"):
        fit(_mlp(), X, y + 1, progress=False)
    with pytest.raises(TypeError, match="model must be a dlcourse Module"):
        fit(object(), X, y, progress=False)
    with pytest.raises(ValueError, match="pass lr=None with an optimizer object"):
        model = _mlp()
        fit(model, X, y, optimizer=SGD(model.parameters(), lr=0.1), lr=0.1, progress=False)


# --------------------------------------------------------------------------- lr_schedule and clip_grad_norm
def test_fit_sets_the_scheduled_learning_rate_before_each_epoch(blobs):
    X, y = blobs
    seen = []

    class Recording(SGD):
        def step(self, grads):
            seen.append(self.lr)
            super().step(grads)

    model = _mlp()
    opt = Recording(model.parameters(), lr=0.1)
    fit(model, X, y, optimizer=opt, epochs=3, batch_size=100, progress=False, lr_schedule=lambda e: 0.1 / (e + 1))
    assert seen == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.1 / 3, 0.1 / 3])


def test_fit_schedule_keeps_a_frozen_bias_group_frozen_as_torch_lambdalr(torch, blobs):
    """Weights at lr 0.1, biases at lr 0 (frozen); ``lr_schedule`` halves, thirds... the rate.

    Fails if the schedule sets every group's lr (the frozen biases would move) or if the weights
    do not follow torch's ``LambdaLR`` with the factor ``lr_schedule(e) / 0.1``.
    """
    X, y = blobs
    model = Linear(2, 2, rng=0)
    W, b = model.parameters()
    b0 = b.copy()
    tmodel = torch.nn.Linear(2, 2)
    with torch.no_grad():
        tmodel.weight.copy_(torch.tensor(W))
        tmodel.bias.copy_(torch.tensor(b))
    opt = SGD([{"params": [W]}, {"params": [b], "lr": 0.0}], lr=0.1, momentum=0.9)
    fit(model, X, y, optimizer=opt, epochs=4, batch_size=len(X), shuffle=False, progress=False,
        lr_schedule=lambda e: 0.1 / (e + 1))
    topt = torch.optim.SGD([{"params": [tmodel.weight]}, {"params": [tmodel.bias], "lr": 0.0}], lr=0.1, momentum=0.9)
    sched = torch.optim.lr_scheduler.LambdaLR(topt, lambda e: 1 / (e + 1))
    Xt, yt = torch.tensor(X), torch.tensor(y)
    for _ in range(4):
        topt.zero_grad()
        torch.nn.functional.cross_entropy(tmodel(Xt), yt).backward()
        topt.step()
        sched.step()
    np.testing.assert_array_equal(b, b0)
    np.testing.assert_allclose(W, tmodel.weight.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert [g["lr"] for g in opt.param_groups] == [0.1 / 4, 0.0]


def test_fit_schedule_scales_every_group_by_the_first_groups_ratio(blobs):
    """Groups at 0.1 and 0.02, schedule 0.1 -> 0.05: they become 0.05 and 0.01.

    Fails if every group gets the scheduled value (0.05, 0.05) or a group keeps its starting rate.
    """
    X, y = blobs
    model = _mlp()
    W1, b1, W2, b2 = model.parameters()
    opt = SGD([{"params": [W1, W2]}, {"params": [b1, b2], "lr": 0.02}], lr=0.1)
    fit(model, X, y, optimizer=opt, epochs=2, batch_size=100, progress=False, lr_schedule=lambda e: 0.1 / (e + 1))
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.05, 0.01], rel=1e-15)


def test_fit_clips_the_global_gradient_norm(blobs):
    X, y = blobs
    norms = []

    class Recording(SGD):
        def step(self, grads):
            norms.append(np.sqrt(sum(np.sum(g * g) for g in grads)))
            super().step(grads)

    model = _mlp()
    fit(model, X * 100, y, optimizer=Recording(model.parameters(), lr=1e-4), epochs=1, batch_size=50,
        progress=False, clip_grad_norm=0.5)
    assert max(norms) <= 0.5 + 1e-9 and len(norms) == 4


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr_schedule=0.1), TypeError, "lr_schedule must be a function"),
    (dict(lr_schedule=lambda e: -1.0), ValueError, r"lr_schedule\(0\) must be in"),
    (dict(clip_grad_norm=0.0), ValueError, "clip_grad_norm must be in"),
])
def test_fit_rejects_bad_schedules_and_clipping(blobs, kwargs, error, match):
    X, y = blobs
    with pytest.raises(error, match=match):
        fit(_mlp(), X, y, epochs=1, progress=False, **kwargs)


def test_one_name_per_concept_for_the_optimizer_tables():
    """``train.NAMED_OPTIMIZERS`` (fit's names -> factory and lr) and ``optim.OPTIMIZERS`` (torch's class names).

    Fails if ``dlcourse.train`` again exports an ``OPTIMIZERS`` with the other meaning, or a name of fit's is lost.
    """
    import dlcourse.optim
    import dlcourse.train

    assert not hasattr(dlcourse.train, "OPTIMIZERS")
    assert sorted(dlcourse.train.NAMED_OPTIMIZERS) == ["adam", "sgd"]
    assert dlcourse.optim.OPTIMIZERS["SGD"] is SGD
