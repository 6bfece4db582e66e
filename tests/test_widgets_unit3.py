"""Unit 3's widgets driven headlessly, and the pure ``dlcourse.explore.unit3_*`` functions behind them.

A widget test sets ``demo.controls[name].value`` and looks at ``demo.data``; the explore tests compare
the fast, vectorised or cached computations with plain loops over ``dlcourse.optim``, with finite
differences and with torch.
"""

from functools import partial

import numpy as np
import pytest

pytestmark = pytest.mark.unit3

from matplotlib.figure import Figure  # noqa: E402

from dlcourse.checks import numerical_gradient  # noqa: E402
from dlcourse.explore import unit3_clipping as uc  # noqa: E402
from dlcourse.explore import unit3_gd as gd  # noqa: E402
from dlcourse.explore import unit3_init as ui  # noqa: E402
from dlcourse.explore import unit3_race as ur  # noqa: E402
from dlcourse.explore import unit3_real_race as rr  # noqa: E402
from dlcourse.explore import unit3_schedules as us  # noqa: E402
from dlcourse.explore import unit3_tuning as ut  # noqa: E402
from dlcourse.explore.threads import single_threaded  # noqa: E402
from dlcourse.explore.unit3_common import TextPanel, text_array  # noqa: E402
from dlcourse.landscapes import himmelblau, rosenbrock  # noqa: E402
from dlcourse.explore.race import race  # noqa: E402
from dlcourse.optim import SGD, Adam, Optimizer, lbfgs  # noqa: E402
from dlcourse.widgets import unit3 as widgets  # noqa: E402

PNG = b"\x89PNG"


def data_only(demo):
    """Skip the PNG rendering of later updates; ``demo.data`` still updates."""
    demo.redraw = lambda: None
    return demo


# ----------------------------------------------------------------------------------- the race widget
@pytest.fixture(scope="module")
def race_demo():
    demo = widgets.make_race()
    assert demo.png.startswith(PNG)
    bundle, _ = demo._repr_mimebundle_()
    assert {"application/vnd.jupyter.widget-view+json", "image/png"} <= set(bundle)
    return data_only(demo)


class TestRaceDemo:
    def test_starts_with_the_default_racers_at_the_last_step(self, race_demo):
        d = race_demo.data
        assert d.names == ur.DEFAULT_RACERS and d.landscape == "rosenbrock"
        assert d.step == d.steps == 500 == race_demo.play.value
        assert d.x0 == tuple(rosenbrock.start)
        assert {r.name for r in d.leaderboard} == set(ur.DEFAULT_RACERS)
        for name in d.names:
            assert d.runs[name].path.shape == (501, 2)

    def test_scrubbing_and_playing_recompute_nothing(self, race_demo):
        before = race_demo.data
        race_demo.controls["step"].value = 120
        assert race_demo.data.step == 120 == race_demo.play.value
        race_demo.play.value = 121  # linked both ways
        assert race_demo.data.step == 121
        assert all(race_demo.data.runs[n] is before.runs[n] for n in before.names)
        race_demo.controls["step"].value = 500

    def test_tuning_one_racer_changes_only_its_run(self, race_demo):
        before = race_demo.data
        race_demo.controls["tune"].value = "Momentum"
        assert race_demo.controls["lr"].value == pytest.approx(ur.TUNED_LR["rosenbrock"]["Momentum"], rel=0.02)
        assert race_demo.controls["hyper"].description == "momentum μ"
        race_demo.controls["hyper"].value = 0.5
        d = race_demo.data
        assert race_demo.hyper["Momentum"]["momentum"] == 0.5
        assert d.runs["Momentum"] is not before.runs["Momentum"]
        assert all(d.runs[n] is before.runs[n] for n in d.names if n != "Momentum")
        direct = race("rosenbrock", {"m": lambda p: SGD(p, lr=race_demo.hyper["Momentum"]["lr"], momentum=0.5)})
        np.testing.assert_array_equal(d.runs["Momentum"].path, direct.trajectories["m"])

    def test_second_order_racers_have_their_own_sliders(self, race_demo):
        race_demo.controls["tune"].value = "L-BFGS"
        assert race_demo.controls["lr"].disabled
        assert race_demo.controls["hyper"].description == "history m" and race_demo.controls["hyper"].step == 1
        race_demo.controls["hyper"].value = 3
        assert race_demo.hyper["L-BFGS"] == {"history": 3}
        direct = race("rosenbrock", {"x": partial(lbfgs, history=3)})
        np.testing.assert_array_equal(race_demo.data.runs["L-BFGS"].path, direct.trajectories["x"])
        race_demo.controls["tune"].value = "Newton"
        assert race_demo.controls["lr"].disabled and race_demo.controls["hyper"].disabled

    def test_a_new_landscape_resets_start_and_hyperparameters(self, race_demo):
        race_demo.controls["landscape"].value = "himmelblau"
        d = race_demo.data
        assert d.landscape == "himmelblau" and d.x0 == tuple(himmelblau.start)
        assert (race_demo.controls["x0"].min, race_demo.controls["x0"].max) == himmelblau.xlim
        assert race_demo.hyper["Adam"]["lr"] == ur.TUNED_LR["himmelblau"]["Adam"]
        race_demo.controls["x0"].value = 2.0
        assert race_demo.data.x0[0] == 2.0
        race_demo.controls["landscape"].value = "rosenbrock"
        assert race_demo.data.x0 == tuple(rosenbrock.start)

    def test_noise_and_steps(self, race_demo):
        race_demo.controls["noise"].value = 0.3
        noisy = race_demo.data
        assert noisy.noise == 0.3
        race_demo.controls["noise"].value = 0.0
        assert not np.array_equal(noisy.runs["GD"].path, race_demo.data.runs["GD"].path)
        race_demo.controls["steps"].value = 200
        assert race_demo.data.steps == 200 and race_demo.controls["step"].max == race_demo.play.max == 200
        assert race_demo.data.step <= 200 and race_demo.data.runs["GD"].path.shape == (201, 2)
        race_demo.controls["steps"].value = 500

    def test_racers_can_be_chosen_and_an_empty_choice_shows_the_tuned_one(self, race_demo):
        race_demo.controls["racers"].value = ("Adam", "Newton")
        assert race_demo.data.names == ("Adam", "Newton")
        race_demo.controls["tune"].value = "Adagrad"
        race_demo.controls["racers"].value = ()
        assert race_demo.data.names == ("Adagrad",)
        race_demo.controls["racers"].value = ur.DEFAULT_RACERS


class MyAdam(Adam):
    pass


class SignDescent(Optimizer):
    def __init__(self, params, lr=0.01):
        super().__init__(params, {"lr": lr})

    def update(self, param, grad, state):
        param -= self.lr * np.sign(grad)


def test_a_students_optimizer_joins_the_race():
    demo = data_only(widgets.make_race(racers=("Adam",), extra={"MyAdam": (MyAdam, {"lr": 1.0}), "sign": SignDescent}))
    d = demo.data
    assert d.names == ("Adam", "MyAdam", "sign")
    np.testing.assert_array_equal(d.runs["MyAdam"].path, d.runs["Adam"].path)  # Adam's tuned lr is 1.0
    assert demo.hyper["sign"] == {"lr": 0.01}
    demo.controls["tune"].value = "sign"
    demo.controls["lr"].value = 0.1
    direct = race("rosenbrock", {"s": lambda p: SignDescent(p, lr=demo.hyper["sign"]["lr"])})
    np.testing.assert_array_equal(demo.data.runs["sign"].path, direct.trajectories["s"])
    assert ur.racer_style("sign")["ls"] == ":"


def test_race_widget_rejects_unknown_racers():
    with pytest.raises(ValueError, match="unknown racer"):
        widgets.make_race(racers=("GD", "Lion"))
    with pytest.raises(TypeError, match="must be an optimizer class"):
        ur.racer_from_class("x", 3)


# ----------------------------------------------------------------------------------- race logic
def test_compute_race_caches_runs_per_racer():
    cache = ur.RaceCache(size=3)
    a = ur.compute_race("booth", ("GD", "Adam"), cache=cache)
    b = ur.compute_race("booth", ("GD", "Adam"), step=10, cache=cache)
    assert a.runs["GD"] is b.runs["GD"] and b.step == 10
    c = ur.compute_race("booth", ("GD",), hyper={"GD": {"lr": 0.01}}, cache=cache)
    assert c.runs["GD"] is not a.runs["GD"]
    ur.compute_race("booth", ("Nesterov", "RMSprop"), cache=cache)
    assert len(cache.runs) == 3  # the least recently used run was dropped
    with pytest.raises(ValueError, match="unknown racer"):
        ur.compute_race("booth", ("nope",))
    with pytest.raises(ValueError, match="landscape must be one of"):
        ur.make_landscape("nowhere")


def test_the_leaderboard_on_the_saddle_rewards_escaping():
    d = ur.compute_race("saddle", ("GD", "Newton", "Adam"))
    assert d.unbounded and [r.name for r in d.leaderboard][-1] == "Newton"
    assert d.leaderboard[0].diverged  # escaped
    text = ur.format_board(d)
    assert "escaped" in text and "lowest f wins" in text


def test_format_board_lists_every_racer_with_steps_and_evaluations():
    d = ur.compute_race("ill_conditioned_bowl", ("GD", "CG", "Adadelta"))
    lines = ur.format_board(d).splitlines()
    cg = next(line for line in lines if "CG" in line)
    row = next(r for r in d.leaderboard if r.name == "CG")
    assert cg.split()[2:4] == [str(row.steps_to_tol), str(d.runs["CG"].evaluations[row.steps_to_tol])]
    assert any("Adadelta" in line and " - " in line for line in lines)


@pytest.mark.parametrize("landscape, racer", [("ill_conditioned_bowl", "GD"), ("rosenbrock", "Adam")])
def test_the_tuned_learning_rates_are_what_the_sweep_finds(landscape, racer):
    assert ur.tune_learning_rate(landscape, racer) == pytest.approx(ur.TUNED_LR[landscape][racer], rel=0.01)


def test_every_tuned_default_stays_on_the_plot():
    for landscape in ur.RACE_LANDSCAPES:
        d = ur.compute_race(landscape, tuple(n for n, r in ur.RACERS.items() if not r.second_order))
        if landscape == "saddle":
            continue
        assert not any(r.diverged for r in d.leaderboard), landscape


def test_race_view_draws_every_landscape():
    view = ur.RaceView()
    for landscape in ur.RACE_LANDSCAPES:
        fig = Figure(figsize=(8, 3))
        view.plot(fig, ur.compute_race(landscape, ("GD", "Newton"), steps=50))
        assert len(fig.axes) == 4   # with the landscape's colour bar


def test_text_is_rasterised_once_per_distinct_text():
    a = text_array("rank 1\nGD")
    assert a.ndim == 3 and a.shape[2] == 4 and a[..., 3].max() == 255
    assert text_array("rank 1\nGD") is a
    fig = Figure(figsize=(3, 2))
    panel = TextPanel(fig, fig.add_subplot())
    image = panel.set_text("hello")
    assert image.get_array().shape == text_array("hello", round(10 * fig.dpi / 72)).shape   # 10 pt


def test_single_threaded_keeps_the_result():
    assert single_threaded(lambda x: x + 1)(1) == 2


# ----------------------------------------------------------------------------------- learning rate
@pytest.mark.parametrize("lr, kappa", [(0.5, 10.0), (1.5, 3.0), (2.1, 20.0)])
def test_compute_lr_is_gradient_descent(lr, kappa):
    d = gd.compute_lr(lr, kappa, steps=30)
    w, lam = gd.LR_START.copy(), d.curvatures
    for t in range(31):
        np.testing.assert_allclose(d.path[t], w, rtol=1e-12)
        assert d.loss[t] == pytest.approx(0.5 * np.sum(lam * w * w), rel=1e-12)
        w = w - lr * lam * w
    np.testing.assert_allclose(d.factors, np.abs(1 - lr * lam))


def test_regimes_switch_at_one_over_l_and_two_over_l():
    assert gd.regime(0.9) == "converges smoothly"
    assert "one step" in gd.regime(1.0)
    assert "oscillating" in gd.regime(1.5)
    assert "for ever" in gd.regime(2.0)
    assert gd.regime(2.01) == "diverges"


def test_lr_explorer_widget():
    demo = widgets.make_lr_explorer()
    assert demo.png.startswith(PNG)
    demo.controls["lr"].value = 2.2
    assert demo.data.regime == "diverges" and demo.data.loss[-1] > demo.data.loss[0]
    data_only(demo)
    demo.controls["kappa"].value = 30.0
    assert demo.data.curvatures[0] == pytest.approx(1 / 30)
    demo.controls["steps"].value = 20
    assert len(demo.data.loss) == 21


# ----------------------------------------------------------------------------------- mini-batches
def test_full_batch_path_is_gradient_descent():
    X, y, w_star, best = gd.diabetes_two_features()
    path, when = gd.minibatch_path(len(X), 0.1, epochs=3)
    w = gd.MB_START.copy()
    for t in range(4):
        np.testing.assert_allclose(path[t], w, rtol=1e-12)
        w = w + 0.1 * X.T @ (y - X @ w) / len(X)
    np.testing.assert_array_equal(when, [0, 1, 2, 3])
    assert gd.regression_loss(X, y, w_star) == pytest.approx(best)


@pytest.mark.parametrize("batch", [1, 16, 100])
def test_minibatch_path_visits_every_example_once_per_epoch(batch):
    path, when = gd.minibatch_path(batch, 0.05, epochs=2)
    per_epoch = -(-442 // batch)
    assert path.shape == (2 * per_epoch + 1, 2)
    assert when[per_epoch] == 1.0 and when[-1] == 2.0 and np.all(np.diff(when) > 0)


def test_minibatch_widget():
    demo = widgets.make_minibatch_demo()
    assert set(demo.data.times) == {1, 4, 16, 64, 256, 1347}
    data_only(demo)
    demo.controls["batch_size"].value = 442
    np.testing.assert_array_equal(demo.data.path, demo.data.full_path)
    demo.controls["batch_size"].value = 1
    assert len(demo.data.path) == 4 * 442 + 1
    assert demo.data.gap.min() >= -1e-12


def test_batch_table_rows():
    rows = gd.batch_table(batch_sizes=(64, 1347), samples=5)
    assert [r.updates_per_epoch for r in rows] == [22, 1]
    assert rows[1].gradient_noise < 1e-12 < rows[0].gradient_noise
    assert rows[0].floats_per_step == 64 * 106
    assert rows[0].loss_after_epoch < rows[1].loss_after_epoch


def test_landscape_tour_finds_four_minima_of_himmelblau():
    paths = gd.landscape_tour(Figure(figsize=(8, 2)))
    ends = np.array([p[-1] for p in paths["himmelblau"].values()])
    distances = np.linalg.norm(ends[:, None, :] - himmelblau.minima[None], axis=-1)
    assert sorted(distances.argmin(axis=1)) == [0, 1, 2, 3] and distances.min(axis=1).max() < 1e-6


# ----------------------------------------------------------------------------------- schedules
def test_schedule_table_matches_the_closed_forms():
    t = np.arange(15)
    table = us.schedule_table(0.3, 15)
    np.testing.assert_allclose(table["inverse time"], 0.3 / (1 + 0.5 * t))
    np.testing.assert_allclose(table["step"], 0.3 * 0.2 ** (t // 5))
    np.testing.assert_allclose(table["exponential"], 0.3 * 0.8 ** t)
    np.testing.assert_allclose(table["cosine"], 0.15 * (1 + np.cos(np.pi * t / 15)))
    warm = us.schedule_table(0.3, 15, warmup=3)
    np.testing.assert_allclose(warm["constant"][:4], [0.1, 0.2, 0.3, 0.3])


def test_the_vectorised_training_equals_one_run_per_schedule():
    names, rates, losses = us.train_with_schedules(1.0, 2, epochs=3)
    X1, y = us.digits_with_bias()
    for k in (0, 4):
        W = np.zeros((65, 10))
        opt = SGD([W], lr=1.0, momentum=0.9)
        rng = np.random.default_rng(0)
        for e in range(3):
            opt.lr = rates[k, e]
            order = rng.permutation(len(X1))
            for s in range(0, len(X1), 64):
                idx = order[s:s + 64]
                Z = X1[idx] @ W
                P = np.exp(Z - Z.max(1, keepdims=True))
                P /= P.sum(1, keepdims=True)
                P[np.arange(len(idx)), y[idx]] -= 1
                opt.step([X1[idx].T @ P / len(idx)])
        Z = X1 @ W
        logp = Z - Z.max(1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(1, keepdims=True))
        assert losses[k, -1] == pytest.approx(-logp[np.arange(len(y)), y].mean(), rel=1e-9), names[k]


def test_schedule_explorer_widget():
    demo = widgets.make_schedule_explorer(lr0=1.0)
    assert demo.png.startswith(PNG) and demo.data.losses.shape == (5, 16)
    data_only(demo)
    demo.controls["warmup"].value = 3
    assert demo.data.rates[0, 0] == pytest.approx(1.0 / 3)
    demo.controls["highlight"].value = "step"
    assert demo.data.highlight == "step"
    with pytest.raises(ValueError, match="highlight must be one of"):
        us.compute_schedules(1.0, 0, "linear")


# ----------------------------------------------------------------------------------- clipping
def test_the_recurrence_gradient_matches_finite_differences_and_torch(torch):
    X, y = uc.sequences(12, rng=1)
    p = np.array([0.95, 0.7])
    loss, g = uc.loss_and_grad(p, X, y)
    fd = numerical_gradient(lambda q: uc.loss_and_grad(q, X, y)[0], p.copy())
    np.testing.assert_allclose(g, fd, rtol=1e-6)
    w, u = (torch.tensor(v, requires_grad=True) for v in p)
    h = torch.zeros(len(X))
    for t in range(X.shape[1]):
        h = w * h + u * torch.tensor(X[:, t])
    L = ((h - torch.tensor(y)) ** 2).mean()
    L.backward()
    assert loss == pytest.approx(L.item(), rel=1e-12)
    np.testing.assert_allclose(g, [w.grad.item(), u.grad.item()], rtol=1e-10)


def test_the_loss_grid_is_the_loss():
    W, U, L = uc.loss_grid(20, n=7)
    X, y = uc.sequences(20)
    for i, j in [(0, 0), (3, 5), (6, 6)]:
        assert L[i, j] == pytest.approx(uc.loss_and_grad(np.array([W[i, j], U[i, j]]), X, y)[0], rel=1e-9)


def test_clipping_runs():
    runs = {m: uc.train_clipped(m, 0.02, 1.0) for m in uc.MODES}
    assert runs["none"].blew_up and len(runs["none"].loss) <= 3
    for m in ("value", "norm"):
        assert not runs[m].blew_up and runs[m].path.shape == (151, 2)
    assert runs["norm"].loss[-1] < 0.1 < runs["value"].loss[-1]
    steps = np.linalg.norm(np.diff(runs["norm"].path, axis=0), axis=1)
    assert steps.max() <= 0.02 * 1.0 + 1e-12  # a clipped step is at most lr * threshold long
    # left of the wall, below 2/L at the teacher (about 0.003), plain gradient descent is fine
    calm = uc.train_clipped("none", 0.002, 10.0, start=(0.5, 0.5))
    assert not calm.blew_up and calm.loss[-1] < 0.05
    # above it, the teacher itself is unstable: the oscillation grows into the wall
    assert uc.train_clipped("none", 0.02, 10.0, start=(0.5, 0.5)).blew_up
    with pytest.raises(ValueError, match="mode must be one of"):
        uc.train_clipped("max", 0.1, 1.0)


def test_clipping_widget():
    demo = widgets.make_clipping_demo()
    assert demo.png.startswith(PNG) and "overflows" in demo.caption.value
    data_only(demo)
    demo.controls["w0"].value = 0.8
    assert not demo.data.runs["none"].blew_up  # the default learning rate 0.002 is below 2/L
    demo.controls["T"].value = 10
    assert demo.data.grid[2].shape == (70, 70) and demo.data.T == 10


# ----------------------------------------------------------------------------------- initialisation
def test_depth_statistics_against_torch_autograd(torch):
    """The same weights and loss in torch: activation std and every layer's weight-gradient norm agree."""
    s = ui.depth_statistics("He normal", "relu", 4, rng=3)
    rng = np.random.default_rng(3)  # the draws in depth_statistics' order: inputs, weights, upstream gradient
    x = rng.standard_normal((ui.BATCH, ui.WIDTH))
    weights = [ui.INIT_CHOICES["He normal"]((ui.WIDTH, ui.WIDTH), rng=rng) for _ in range(4)]
    r = rng.standard_normal((ui.BATCH, ui.WIDTH))
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    h = torch.tensor(x)
    for W in Ws:
        h = torch.relu(h @ W.T)
    ((torch.tensor(r) * h).sum() / ui.BATCH).backward()
    np.testing.assert_allclose(s.grad_norm, [W.grad.norm().item() for W in Ws], rtol=1e-10)
    assert s.std[-1] == pytest.approx(h.std(unbiased=False).item(), rel=1e-10)
    np.testing.assert_allclose(s.hist.sum(axis=1), 1.0)


def test_depth_statistics_shows_vanishing_and_exploding():
    assert np.all(ui.depth_statistics("zeros", "tanh", 10).std == 0)
    small = ui.depth_statistics("small normal (σ = 0.01)", "tanh", 15).std
    large = ui.depth_statistics("normal (σ = 1)", "relu", 15).std
    he = ui.depth_statistics("He normal", "relu", 15).std
    assert small[-1] < 1e-10 and large[-1] > 1e10 and 0.3 < he[-1] < 3
    ortho = ui.depth_statistics("orthogonal", "linear", 15).std
    np.testing.assert_allclose(ortho, ortho[0], rtol=1e-3)  # an orthogonal map keeps each vector's norm
    with pytest.raises(ValueError, match="initializer must be one of"):
        ui.depth_statistics("Xavier", "tanh", 10)


def test_init_widget():
    demo = widgets.make_init_explorer()
    assert demo.png.startswith(PNG) and "Glorot normal" in demo.caption.value
    data_only(demo)
    demo.controls["activation"].value = "relu"
    demo.controls["initializer"].value = "He normal"
    assert demo.data.stats is ui.depth_statistics("He normal", "relu", 15)
    demo.controls["depth"].value = 20
    assert demo.data.stats.std.shape == (20,) and set(demo.data.others) == set(ui.INIT_CHOICES)


# ----------------------------------------------------------------------------------- the real race
def test_train_digits_first_and_second_order():
    sgd = rr.train_digits("GD", epochs=2, hyper={"lr": 0.5})
    assert sgd.loss.shape == (3,) and sgd.loss[-1] < sgd.loss[0] and 0 < sgd.accuracy <= 1
    again = rr.train_digits("GD", epochs=2, hyper={"lr": 0.5})
    np.testing.assert_array_equal(sgd.loss, again.loss)
    lb = rr.train_digits("L-BFGS", epochs=6)
    assert lb.loss.shape == (7,) and np.all(np.diff(lb.loss) <= 1e-12) and lb.loss[-1] < lb.loss[0]
    with pytest.raises(ValueError, match="does not scale to a network"):
        rr.train_digits("Newton")


def test_spearman():
    assert rr.spearman([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0
    assert rr.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1.0
    assert rr.spearman([1, 2, 3], [2, 1, 3]) == pytest.approx(0.5)


@pytest.fixture(scope="module")
def fake_digits():
    """Digits results without the training: losses that rank Adam > GD > Momentum."""
    return {n: rr.DigitsRun(n, np.array([2.3, 1.0, final]), 0.9, 0.0)
            for n, final in (("GD", 0.5), ("Momentum", 0.9), ("Adam", 0.1))}


def test_compute_compare_and_its_widget(fake_digits):
    c = rr.compute_compare(fake_digits, "ill_conditioned_bowl")
    assert c.rank_digits == {"Adam": 1, "GD": 2, "Momentum": 3}
    assert set(c.rank_2d) == set(fake_digits)
    expected = rr.spearman([c.rank_2d[n] for n in c.names], [c.rank_digits[n] for n in c.names])
    assert c.rho == expected
    demo = widgets.make_compare_demo(fake_digits)
    assert demo.png.startswith(PNG)
    data_only(demo)
    demo.controls["landscape"].value = "saddle"
    assert demo.data.race.unbounded and demo.data.landscape == "saddle"


def test_optimizer_costs_count_the_state():
    costs = {c.name: c for c in rr.optimizer_costs(n=1000, repeats=1)}
    assert {n: c.state_per_weight for n, c in costs.items()} == {
        "GD": 0, "Momentum": 1, "Nesterov": 1, "Adagrad": 1, "RMSprop": 1, "Adadelta": 2, "Adam": 2, "AdamW": 2}


# ----------------------------------------------------------------------------------- tuning
def test_searches():
    grid = ut.grid_search(2)
    assert grid.points.shape == (4, 2) and len(np.unique(grid.points[:, 0])) == 2
    np.testing.assert_array_equal(grid.best_so_far, np.minimum.accumulate(grid.values))
    rand = ut.random_search(3, rng=1)
    np.testing.assert_array_equal(rand.points, ut.random_search(3, rng=1).points)
    bayes = ut.bayesian_search(5, n_init=3, rng=0, candidates=200)
    assert bayes.points.shape == (5, 2)
    np.testing.assert_array_equal(bayes.points[:3], ut.random_search(3, rng=0).points)
    low, high = np.array([s[1] for s in ut.SPACE]), np.array([s[2] for s in ut.SPACE])
    assert np.all((bayes.points >= low) & (bayes.points <= high))
    assert ut.objective(5.0, -6.0) == ut.WORST  # a learning rate of 1e5 diverges


def test_lr_range_test():
    rt = ut.lr_range_test(steps=60)
    assert len(rt.lrs) == len(rt.losses) == len(rt.smoothed) <= 60
    assert rt.lrs[0] == pytest.approx(1e-4) and np.all(np.diff(rt.lrs) > 0)
    assert rt.min_over_10 < rt.lrs[np.argmin(rt.smoothed)] and rt.steepest <= rt.lrs[np.argmin(rt.smoothed)]


def test_plots_draw():
    fig = Figure(figsize=(10, 3))
    ut.plot_searches(fig, [ut.grid_search(2), ut.random_search(4)])
    assert len(fig.axes) == 4  # two searches, the best-so-far plot and a colour bar
    fig = Figure()
    ut.plot_range_test(fig.add_subplot(), ut.lr_range_test(steps=40))


# ----------------------------------------------------------------------------------- benchmarks
def test_benchmark_cases_move_real_controls():
    assert all(name.startswith("unit3 ") and moves for name, (_, moves) in widgets.BENCHMARK_CASES.items())
    demo = data_only(widgets.make_race())
    for control, value in widgets.BENCHMARK_CASES["unit3 optimizer race (tune one racer)"][1]:
        demo.controls[control].value = value
    assert demo.data.noise == 0.0 and demo.data.x0[0] == -1.2
    start = widgets.BENCHMARK_CASES["unit3 optimizer race (play)"][0]()
    assert start.data.step == 0
    start.play.value += 1
    assert start.data.step == start.play.step == 5 or start.data.step == 1


class Unwritten(Optimizer):
    def __init__(self, params, lr=0.01):
        super().__init__(params, {"lr": lr})

    def update(self, param, grad, state):
        raise NotImplementedError("Exercise 3.6: replace this line with your code")


def test_a_students_unwritten_or_broken_optimizer_does_not_break_the_race():
    demo = data_only(widgets.make_race(racers=("GD",), extra={"mine": Unwritten, "bad": lambda p: 3}))
    assert demo.data.names == ("GD",)
    assert demo.data.failed["mine"] == "not written yet"
    assert demo.data.failed["bad"].startswith("raised TypeError")
    assert "not written yet" in ur.format_board(demo.data)


def test_layered_renderer_keeps_one_background_per_key():
    from dlcourse.plotting import LayeredRenderer
    from dlcourse.plotting import MARGINS

    fig = Figure(figsize=(8, 3))
    r = LayeredRenderer(fig, ur.RaceView(), MARGINS, max_layers=2)
    a, b, c = (ur.compute_race(name, ("GD",), steps=50) for name in ("booth", "matyas", "beale"))
    png_a = r.render(a)
    assert png_a.startswith(PNG) and r.full_redraws == 1
    r.render(b)
    assert r.render(a) == png_a and r.full_redraws == 2  # back to a: no redraw, the same picture
    assert sum(ax.get_visible() for ax in fig.axes) == 4   # 3 and a colour bar
    r.render(c)  # a third key evicts the least recently shown one (b)
    assert list(r.layers) == [a.landscape and ur.RaceView().key(a), ur.RaceView().key(c)]
    assert len(fig.axes) == 8
    r.render(b)
    assert r.full_redraws == 4


def test_layered_renderer_keeps_its_layers_through_the_static_picture():
    """The notebook keeps a picture at twice the resolution, which draws everything anew; the layers kept before are
    drawn again, so switching back afterwards costs no full redraw and shows the same picture as before.

    Fails if static_png drops the other layers for good (the next switch of landscape, network or loss view would wait
    for a full draw: the architecture builder's 108 ms row of issue 14).
    """
    from dlcourse.plotting import MARGINS, LayeredRenderer

    fig = Figure(figsize=(8, 3))
    r = LayeredRenderer(fig, ur.RaceView(), MARGINS)
    a, b = (ur.compute_race(name, ("GD",), steps=50) for name in ("booth", "matyas"))
    png_a = r.render(a)
    png_b = r.render(b)
    static = r.static_png()
    assert static.startswith(PNG) and static != png_b
    redraws = r.full_redraws
    assert r.render(a) == png_a and r.render(b) == png_b
    assert r.full_redraws == redraws
    assert list(r.layers) == [ur.RaceView().key(a), ur.RaceView().key(b)]
