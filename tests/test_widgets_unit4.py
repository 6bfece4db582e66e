"""Unit 4's widgets driven headlessly, and the pure ``dlcourse.explore.unit4_*`` functions behind them.

A widget test sets ``demo.controls[name].value`` (or clicks ``demo.run_button``) and looks at
``demo.data``; the explore tests compare the pure functions with torch, scikit-learn, the library's
own implementations and hand-computed cases.
"""

import numpy as np
import pytest

pytestmark = pytest.mark.unit4

from dlcourse.explore import session  # noqa: E402
from dlcourse.explore import unit4_augment as aug  # noqa: E402
from dlcourse.explore import unit4_capacity as cap  # noqa: E402
from dlcourse.explore import unit4_data as dd  # noqa: E402
from dlcourse.explore import unit4_ensemble as ens  # noqa: E402
from dlcourse.explore import unit4_fieldguide as fg  # noqa: E402
from dlcourse.explore import unit4_overfit as ovf  # noqa: E402
from dlcourse.explore import unit4_penalty as pen  # noqa: E402
from dlcourse.explore import unit4_pretrain as pre  # noqa: E402
from dlcourse.explore.threads import single_threaded  # noqa: E402
from dlcourse.regularization import (EarlyStopping, bias_variance_decomposition, elastic_net_fit,  # noqa: E402
                                     polynomial_fit_predict, ridge_fit, sine_problem)
from dlcourse.widgets import unit4 as widgets  # noqa: E402

PNG = b"\x89PNG"


def count_redraws(demo):
    calls, original = [], demo.redraw

    def counting():
        calls.append(demo.values())
        original()

    demo.redraw = counting
    return calls


# ------------------------------------------------------------------------------------- capacity lab
class TestCapacityLab:
    @pytest.fixture(scope="class")
    @classmethod
    def demo(cls):
        return widgets.make_capacity_lab()

    def test_starts_with_polynomials_and_a_png(self, demo):
        assert demo.png.startswith(PNG)
        assert demo.data.curves.family == "polynomial" and demo.data.label == "degree 3"
        assert demo.controls["width"].layout.display == "none" and demo.run_button.layout.display == "none"
        assert "validation error" in demo.caption.value

    def test_degree_moves_the_index(self, demo):
        demo.controls["degree"].value = 9
        assert demo.data.index == 9 and "degree 9" in demo.caption.value
        demo.controls["degree"].value = 3

    def test_data_controls_recompute_without_a_full_redraw(self, demo):
        redraws = demo.renderer.full_redraws
        demo.controls["n_train"].value = 50
        assert demo.data.curves.n_train == 50
        demo.controls["noise"].value = 0.6
        assert demo.data.curves.noise_std == 0.6 and demo.data.curves.noise == pytest.approx(0.36)
        assert demo.renderer.full_redraws == redraws   # the family did not change: only artists moved
        demo.set(n_train=20, noise=0.3)

    def test_network_family_needs_run_for_new_settings(self, demo):
        demo.set(family="network", n_train=10, noise=0.1)
        assert demo.controls["width"].layout.display is None and demo.run_button.layout.display is None
        if cap.cached_network_curves(10, 0.1) is None:
            assert demo.data.pending and "press Run" in demo.caption.value
            assert demo.run_button.button_style == "warning"
        demo.run_button.click()
        assert not demo.data.pending and demo.data.curves.n_train == 10 and demo.data.curves.noise_std == 0.1
        assert demo.progress.value == demo.progress.max == len(cap.WIDTHS)
        assert demo.run_button.button_style == "" and not demo.run_button.disabled
        demo.set(family="polynomial", n_train=20, noise=0.3)


def test_polynomial_curves_match_bias_variance_decomposition():
    curves = cap.polynomial_curves(20, 0.3)
    for degree in (1, 3, 5):
        bv = bias_variance_decomposition(polynomial_fit_predict(degree), sine_problem(20, 0.3), x_test=cap.X_GRID,
                                         n_repeats=cap.N_REPEATS, rng=0)
        assert curves.bias2[degree] == pytest.approx(bv.bias2, rel=1e-9)
        assert curves.variance[degree] == pytest.approx(bv.variance, rel=1e-9)


@pytest.mark.parametrize("degree", [0, 1, 4, 9, 15])
def test_polynomial_fit_eval_is_polynomial_fit(rng, degree):
    x, y = rng.uniform(0, 1, 20), rng.normal(size=20)
    np.testing.assert_allclose(cap.polynomial_fit_eval(x, y, degree, cap.X_GRID),
                               polynomial_fit_predict(degree)(x, y, cap.X_GRID), rtol=1e-6, atol=1e-6)


def test_capacity_curves_show_the_tradeoff():
    c = cap.polynomial_curves(50, 0.3)
    assert np.all(np.diff(c.train_error[:10]) <= 1e-9)            # more degree, lower training error
    assert c.bias2[1] > 10 * c.bias2[3] and c.variance[10] > 5 * c.variance[3]
    # bias² + variance + noise estimates the validation error (a different, finite sample of points)
    np.testing.assert_allclose((c.bias2 + c.variance + c.noise)[:9], c.val_error[:9], rtol=0.25)


def test_tanh_nets_gradients_match_torch(torch, rng):
    R, n, h = 3, 7, 5
    params = [rng.normal(size=(R, h)), rng.normal(size=(R, h)), rng.normal(size=(R, h)), rng.normal(size=(R, 1))]
    X, Y = rng.uniform(-1, 1, (R, n)), rng.normal(size=(R, n))
    losses, grads = cap.tanh_nets_loss_and_grads(params, X, Y)
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    out = (torch.tanh(Xt[:, :, None] * tp[0][:, None, :] + tp[1][:, None, :]) * tp[2][:, None, :]).sum(-1) + tp[3]
    per_net = ((out - Yt) ** 2).mean(1)
    per_net.sum().backward()
    np.testing.assert_allclose(losses, per_net.detach().numpy(), rtol=1e-12)
    for g, t in zip(grads, tp):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_tanh_nets_are_trained_independently(rng):
    X, Y = rng.uniform(-1, 1, (2, 12)), rng.normal(size=(2, 12))
    both = cap.train_tanh_nets(X, Y, 3, steps=50, rng=1)
    swapped = cap.train_tanh_nets(X[::-1], Y[::-1], 3, steps=50, rng=1)
    grid = np.linspace(-1, 1, 9)
    assert not np.allclose(both(grid)[0], both(grid)[1])
    assert np.mean((both(X) - Y) ** 2) < np.mean((Y - Y.mean(1, keepdims=True)) ** 2)
    assert swapped(grid).shape == (2, 9)


@pytest.mark.parametrize("bias2, variance, words", [(0.2, 0.01, "underfits"), (0.01, 0.2, "overfits"),
                                                    (0.01, 0.01, "fits well"), (0.2, 0.2, "worst of both")])
def test_quadrant_names(bias2, variance, words):
    assert cap.quadrant(bias2, variance).endswith(words)


def test_compute_capacity_rejects_an_unknown_family():
    with pytest.raises(ValueError, match="family must be"):
        cap.compute_capacity("spline")


# ------------------------------------------------------------------------------------- penalty lab
class TestPenaltyLab:
    @pytest.fixture(scope="class")
    @classmethod
    def demo(cls):
        return widgets.make_penalty_lab()

    def test_alpha_slider_counts_zeros(self, demo):
        demo.controls["log_alpha"].value = -3.0
        few = demo.data.n_zero
        demo.controls["log_alpha"].value = 0.0
        assert demo.data.n_zero > few and demo.data.n_zero == int(np.sum(demo.data.coef == 0))
        assert f"{demo.data.n_zero} of 10 weights exactly zero" in demo.caption.value

    def test_switching_penalty_never_redraws_everything(self, demo):
        redraws = demo.renderer.full_redraws
        demo.controls["penalty"].value = "L2 (ridge)"
        assert demo.data.rho == 0.0 and demo.data.n_zero == 0
        demo.controls["penalty"].value = "elastic net"
        demo.controls["l1_ratio"].value = 0.8
        assert demo.data.rho == 0.8
        assert demo.renderer.full_redraws == redraws
        demo.set(penalty="L1 (lasso)", log_alpha=-1.0)


def test_coefficient_paths_match_the_fits():
    Xtr, _, ytr, _, _ = pen.diabetes_split()
    i = int(np.argmin(np.abs(pen.LOG_ALPHAS + 1.0)))
    np.testing.assert_allclose(pen.coefficient_path(1.0)[i], elastic_net_fit(Xtr, ytr, 0.1, 1.0, tol=1e-10).coef,
                               atol=1e-4)
    np.testing.assert_allclose(pen.coefficient_path(0.0)[i], ridge_fit(Xtr, ytr, 0.1).coef, rtol=1e-10)
    assert np.all(pen.coefficient_path(1.0)[0] == 0)          # α = 10^0.5: the lasso keeps nothing
    assert np.all(pen.coefficient_path(0.0) != 0)              # ridge never gives exact zeros


@pytest.mark.parametrize("rho", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("alpha", [0.05, 0.3, 1.0])
def test_quadratic_enet_is_the_minimum(rho, alpha):
    w = pen.quadratic_enet(alpha, rho)
    g = np.linspace(-0.5, 2.0, 501)
    G = np.stack(np.meshgrid(g, g), -1)
    d = G - pen.W_STAR
    J = 0.5 * np.einsum("...i,ij,...j->...", d, pen.A_2D, d) + alpha * pen.enet_value(G, rho)
    k = np.unravel_index(np.argmin(J), J.shape)
    np.testing.assert_allclose(w, G[k], atol=0.006)


def test_l1_touches_a_corner_and_l2_does_not():
    assert pen.quadratic_enet(0.5, 1.0)[1] == 0.0
    assert pen.quadratic_enet(0.5, 0.0)[1] != 0.0


def test_l1_l2_measurements_back_the_table():
    m = pen.l1_l2_measurements()
    assert m["L1"]["zeros"] > 0 == m["L2"]["zeros"]
    (a1, b1), (a2, b2) = m["L1"]["duplicate_splits"]
    objectives = m["L1"]["duplicate_objectives"]
    assert abs(a1 - a2) > 0.1 and objectives[0] == pytest.approx(objectives[1])
    for a, b in m["L2"]["duplicate_splits"]:
        assert a == pytest.approx(b, abs=1e-6)
    assert m["L1 loss"]["outlier_shift"] < 0.5 * min(m["L1"]["outlier_shift"], m["L2"]["outlier_shift"])


def test_lad_fit_matches_sklearn_quantile_regression(rng):
    from sklearn.linear_model import QuantileRegressor

    X = rng.normal(size=(80, 3))
    y = X @ [1.0, -2.0, 0.5] + rng.standard_t(2, 80)
    w, b = pen.lad_fit(X, y)
    sk = QuantileRegressor(quantile=0.5, alpha=0.0, solver="highs").fit(X, y)
    ours, theirs = np.abs(y - X @ w - b).sum(), np.abs(y - sk.predict(X)).sum()
    assert ours == pytest.approx(theirs, rel=1e-4)           # the same minimal absolute error
    np.testing.assert_allclose(w, sk.coef_, atol=0.02)


def test_compute_penalty_rejects_an_unknown_penalty():
    with pytest.raises(ValueError, match="penalty must be one of"):
        pen.compute_penalty("L3")


# ---------------------------------------------------------------------------------- overfitting lab
class TestOverfittingLab:
    @pytest.fixture(scope="class")
    @classmethod
    def demo(cls):
        return widgets.make_overfitting_lab()

    def test_patience_moves_the_stopping_point(self, demo):
        calls = count_redraws(demo)
        demo.controls["patience"].value = 1
        early = demo.data.stop_epoch
        demo.controls["patience"].value = 60
        assert demo.data.stop_epoch > early and len(calls) == 2
        last = len(demo.data.run.val_loss) - 1
        assert demo.data.stop_epoch == min(demo.data.best_epoch + 60, last) or demo.data.stop_epoch == last
        demo.controls["patience"].value = 10

    def test_new_settings_are_pending_until_run(self, demo):
        demo.controls["p"].value = 0.2
        assert demo.data.pending and demo.data.run.p == 0.0 and "press Run" in demo.caption.value
        demo.run()
        assert not demo.data.pending and demo.data.run.p == 0.2
        assert any(r.p == 0.0 for r in demo.data.others)
        assert demo.progress.value == demo.progress.max == ovf.EPOCHS
        demo.controls["p"].value = 0.0


def test_overfit_run_overfits_and_weight_decay_helps():
    plain, decayed = ovf.train_overfit_run(0.0, 0.0), ovf.train_overfit_run(0.0, 1e-3)
    assert plain.train_loss[-1] < 1e-2 and plain.train_acc[-1] == 1.0
    assert plain.val_loss[-1] > plain.val_loss.min() + 0.05       # the validation loss turned up
    assert decayed.val_loss[-1] < plain.val_loss[-1]


def test_overfit_lab_reads_its_runs_from_the_session_store():
    """A setting not trained yet is pending and shows the *first* stored run, the others listed beside it; Run's
    result then answers from the store. Fails if compute_overfit trained on the spot, showed the newest run, or kept
    its own cache apart from dlcourse.explore.session (the fake runs below would not be seen)."""
    def fake(p, wd):
        losses = np.linspace(1.0, 0.5, ovf.EPOCHS)
        return ovf.OverfitRun(p, wd, losses, losses, losses, losses, None)

    session.forget()
    try:
        first, second = fake(0.0, 0.0), fake(0.5, 0.0)
        session.store(("overfit run", 0.0, 0.0, ovf.EPOCHS, 0), first)
        session.store(("overfit run", 0.5, 0.0, ovf.EPOCHS, 0), second)
        d = ovf.compute_overfit(0.2, 1e-3)
        assert d.pending and d.run is first and d.others == (second,) and d.requested == (0.2, 1e-3)
        d = ovf.compute_overfit(0.5, 0.0)
        assert not d.pending and d.run is second and d.others == (first,)
        assert ovf.train_overfit_run(0.5, 0.0) is second            # once(): the stored run, not a new training
    finally:
        session.forget()


@pytest.mark.parametrize("patience", [1, 3, 10, 50])
def test_replay_early_stopping_matches_early_stopping(patience):
    losses = ovf.train_overfit_run(0.0, 0.0).val_loss
    stop, best = ovf.replay_early_stopping(losses, patience)
    stopper = EarlyStopping(patience)
    stopped_at = next((e for e, v in enumerate(losses) if stopper.step(float(v))), len(losses) - 1)
    assert (stop, best) == (stopped_at, stopper.best_epoch)
    assert best == int(np.argmin(losses[:stop + 1]))


def test_thinned_average_is_close_to_eval_mode():
    run = ovf.train_overfit_run(0.5, 0.0)
    _, X_val, _, _ = ovf.digits_subset()
    single = run.model.eval().forward(X_val)
    averaged = ovf.thinned_average(run.model, X_val, n_masks=100)
    assert np.mean(single.argmax(1) == averaged.argmax(1)) > 0.95
    assert not run.model.training


def test_batchnorm_and_noise_injection_experiments():
    runs = ovf.batchnorm_experiment(steps=30)
    assert runs[True][0][-1] < 0.5 * runs[False][0][-1]
    from dlcourse.explore.unit4_penalty import diabetes_split

    Xtr, _, ytr, _, _ = diabetes_split()
    Xc, yc = Xtr - Xtr.mean(0), ytr - ytr.mean()
    w = ovf.noise_injection_fit(Xc, yc, 0.7, steps=4000, burn_in=1000)
    np.testing.assert_allclose(w, ridge_fit(Xc, yc, 0.49, fit_intercept=False).coef, atol=0.02)


# ---------------------------------------------------------------------------- augmentation explorer
class TestAugmentationExplorer:
    @pytest.fixture(scope="class")
    @classmethod
    def demo(cls):
        return widgets.make_augmentation_explorer()

    def test_examples_follow_the_controls(self, demo):
        assert demo.data.examples.shape == (aug.N_SHOWN, 8, 8)
        demo.controls["index"].value = 7
        assert demo.data.label == aug.digit_sets()[3][7]
        before = demo.data.examples.copy()
        demo.controls["rng"].value = 3
        assert not np.allclose(before, demo.data.examples)
        demo.set(degrees=0.0, shift=0, noise=0.0, flip=1.0)
        np.testing.assert_allclose(demo.data.examples[0], demo.data.original[:, ::-1])
        assert demo.data.pending
        demo.set(index=0, rng=0, degrees=10.0, shift=1, flip=0.0)
        assert not demo.data.pending

    def test_run_measures_the_new_setting(self, demo, monkeypatch):
        monkeypatch.setattr(aug, "SIZES", (25,))
        demo.set(degrees=5.0, shift=0)
        assert demo.data.pending
        demo.run_button.click()
        assert not demo.data.pending and demo.data.curves.settings == (5.0, 0, 0.0, 0.0)
        assert demo.data.curves.plain.shape == (1, 2)
        demo.set(degrees=10.0, shift=1)


def test_augmentation_helps_on_jittered_digits():
    c = aug.accuracy_curves()
    assert np.all(c.augmented[:, 1] > c.plain[:, 1])
    assert c.plain[-1, 0] > 0.9


# ------------------------------------------------------------------------------------- ensemble lab
class TestEnsembleLab:
    @pytest.fixture(scope="class")
    @classmethod
    def demo(cls):
        return widgets.make_ensemble_lab()

    def test_size_slider_and_method_switch(self, demo):
        demo.controls["n_models"].value = 20
        assert demo.data.index == 19 and "bagging with 20 models" in demo.caption.value
        demo.controls["method"].value = "stacking"
        assert demo.controls["n_models"].layout.display == "none" and demo.controls["shown"].layout.display is None
        demo.controls["shown"].value = "deep tree"
        assert demo.data.curves.labels[demo.data.index] == "deep tree"
        demo.controls["method"].value = "boosting"
        assert demo.data.curves.method == "boosting"
        demo.set(method="bagging", n_models=1)


def test_bagging_lowers_variance_and_boosting_lowers_bias():
    bag, boo = ens.ensemble_curves("bagging"), ens.ensemble_curves("boosting")
    assert bag.variance[-1] < 0.7 * bag.variance[0] and abs(bag.bias[-1] - bag.bias[0]) < 0.03
    assert boo.bias[-1] < 0.7 * boo.bias[0]
    assert bag.error[-1] < bag.error[0] and boo.error[-1] < boo.error[0]


def test_votes_by_size_matches_majority_vote():
    from dlcourse.regularization import bagging_fit, majority_vote

    train, test, _ = ens.moons_sets()
    fit = bagging_fit(train[0].X, train[0].y, fit=ens.deep_tree, n_estimators=7, rng=0)
    votes = ens._votes_by_size(fit.models, test.X, 7)
    for k in (1, 2, 4, 7):
        P = np.stack([m.predict(test.X) for m in fit.models[:k]])
        np.testing.assert_array_equal(votes[k - 1], majority_vote(P))


def test_stacking_entries():
    sta = ens.ensemble_curves("stacking")
    assert sta.labels[-1] == "stacked (meta-model)" and len(sta.error) == 5
    assert sta.error[-1] <= np.median(sta.error[:3])


def test_compute_ensemble_rejects_an_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        ens.ensemble_curves("voting")


# ------------------------------------------------------------------------------------- pretraining lab
class TestPretrainingLab:
    @pytest.fixture(scope="class")
    @classmethod
    def demo(cls):
        return widgets.make_pretraining_lab()

    def test_labels_slider(self, demo):
        demo.controls["n_labels"].value = 500
        assert demo.data.curves.sizes[demo.data.index] == 500 and "500 labelled digits" in demo.caption.value

    def test_other_architecture_needs_run(self, demo):
        demo.controls["architecture"].value = "64-32 (2 hidden layers)"
        if session.peek(("pretrain curves", (64, 32), 0)) is None:
            assert demo.data.pending
        demo.run_button.click()
        assert not demo.data.pending and demo.data.curves.hidden == (64, 32)
        demo.controls["architecture"].value = "64-32-16 (3 hidden layers)"


def test_pretraining_helps_with_few_labels():
    c = pre.pretrain_curves((64, 32, 16))
    assert c.pretrained[0] > c.random[0] and np.mean(c.pretrained - c.random) > 0.03
    assert c.filters_pretrained.shape == (pre.N_FILTERS, 8, 8)


def test_mosaic_layout():
    m = pre.mosaic(np.ones((16, 8, 8)), cols=4)
    assert m.shape == (35, 35) and np.isnan(m[8, 0]) and m[0, 0] == 1.0


# ------------------------------------------------------------------------------------ field guide
def test_shapley_values_of_an_additive_game_are_its_weights():
    a = np.array([0.5, -1.0, 2.0, 0.0, 3.0])
    phi = fg.shapley_values(lambda C: C @ a + 7.0, 5)
    np.testing.assert_allclose(phi, a, atol=1e-12)


def test_shapley_values_split_an_interaction_equally_and_add_up():
    # v(S) = 1 if players 0 and 1 are both in S: each gets 1/2; player 2 nothing
    phi = fg.shapley_values(lambda C: (C[:, 0] * C[:, 1]).astype(float), 3)
    np.testing.assert_allclose(phi, [0.5, 0.5, 0.0], atol=1e-12)
    rng = np.random.default_rng(0)
    table = rng.normal(size=2 ** 6)
    value = lambda C: table[C @ (1 << np.arange(6))]   # noqa: E731 - any game at all
    assert fg.shapley_values(value, 6).sum() == pytest.approx(table[-1] - table[0])


def test_lime_recovers_an_additive_game():
    a = np.array([0.3, -0.2, 0.0, 1.0])
    e = fg.lime_explanation(lambda C: C @ a + 0.5, 4, n_samples=300, alpha=1e-9, rng=0)
    np.testing.assert_allclose(e.weights, a, atol=1e-6)
    assert e.intercept == pytest.approx(0.5, abs=1e-6) and e.r2 == pytest.approx(1.0)


def test_input_gradient_and_fgsm_match_torch(torch):
    from dlcourse.explore.saliency import trained_digits_mlp

    net, X, y, _ = trained_digits_mlp()
    X, y = X[:5], y[:5]
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    model[0].load_state_dict({"weight": torch.tensor(net[0].weight), "bias": torch.tensor(net[0].bias)})
    model[2].load_state_dict({"weight": torch.tensor(net[2].weight), "bias": torch.tensor(net[2].bias)})
    xt = torch.tensor(X, requires_grad=True)
    torch.nn.functional.cross_entropy(model(xt), torch.tensor(y), reduction="sum").backward()
    np.testing.assert_allclose(fg.input_gradient(net, X, y), xt.grad.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(fg.fgsm_attack(net, X, y, 0.1), (xt + 0.1 * xt.grad.sign()).clamp(0, 1).detach().numpy())
    assert all(np.all(g == 0) for g in net.gradients())


def test_block_masks_tile_the_image():
    masks = fg.block_masks()
    assert masks.shape == (16, 64) and np.all(masks.sum(0) == 1) and np.all(masks.sum(1) == 4)


def test_laplace_mechanism_scale_and_bad_input():
    draws = fg.laplace_mechanism(10.0, 2.0, 0.5, rng=0, size=50_000)
    assert np.mean(np.abs(draws - 10.0)) == pytest.approx(4.0, rel=0.03)
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        fg.laplace_mechanism(1.0, 1.0, 0.0)


def test_dp_sgd_without_noise_learns_and_noise_costs_accuracy():
    Xtr, Xte, ytr, yte = fg.digits_split()
    clean = fg.softmax_accuracy(fg.dp_sgd_softmax(Xtr, ytr, 0.0, steps=100), Xte, yte)
    noisy = fg.softmax_accuracy(fg.dp_sgd_softmax(Xtr, ytr, 30.0, steps=100), Xte, yte)
    assert clean > 0.8 and noisy < clean


def test_forgetting_and_federated_experiments():
    f = fg.forgetting_experiment(steps=60, every=20)
    assert f.old_task[0] > 0.9 and f.old_task[-1] < 0.1 and f.new_task[-1] > 0.8
    fed = fg.federated_averaging(n_rounds=4, local_steps=5)
    assert fed.federated[-1] > fed.federated[0] and np.all(fed.local_only < 0.3)


def test_transfer_experiment_shapes_and_a_bad_task():
    r = fg.transfer_experiment(fg.TRANSFER_TASKS[1], sizes=(10,), steps=30, n_subsets=1)
    assert r.frozen.shape == r.finetuned.shape == r.scratch.shape == (1,)
    with pytest.raises(ValueError, match="task must be one of"):
        fg.transfer_experiment("cats → dogs")


# --------------------------------------------------------------------------------- data experiments
def test_standardize_uses_the_training_statistics(rng):
    A, B = rng.normal(3, 2, (50, 4)), rng.normal(0, 1, (20, 4))
    SA, SB = dd.standardize(A, B)
    np.testing.assert_allclose(SA.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(SA.std(0), 1)
    np.testing.assert_allclose(SB, (B - A.mean(0)) / A.std(0))


def test_oversample_balances_and_weights_match_torch(torch, rng):
    X, y = rng.normal(size=(30, 2)), np.r_[np.zeros(25, int), np.ones(5, int)]
    Xo, yo = dd.oversample(X, y)
    assert np.bincount(yo).tolist() == [25, 25] and len(Xo) == 50
    W = dd.train_softmax(X, y, weight=np.array([1.0, 5.0]), steps=1, lr=1.0)
    Wt = torch.zeros(2, 3, requires_grad=True)
    Xb = torch.tensor(np.c_[X, np.ones(30)])
    torch.nn.functional.cross_entropy(Xb @ Wt.T, torch.tensor(y), weight=torch.tensor([1.0, 5.0])).backward()
    np.testing.assert_allclose(W, -Wt.grad.numpy(), rtol=1e-10)


def test_imbalance_remedies_raise_the_rare_recall():
    scores = dd.imbalance_experiment()
    assert scores["no remedy"]["recall"] < 0.2 < 0.7 < scores["oversampling"]["recall"]
    assert scores["class weights"]["recall"] > 0.7


def test_leakage_inflates_cross_validation():
    r = dd.leakage_experiment()
    leaky, honest = r.values()
    assert leaky > 0.8 and abs(honest - 0.5) < 0.2


# ------------------------------------------------------------------------------------ benchmark cases
def test_single_threaded_passes_results_through():
    @single_threaded
    def add(a, b=1):
        return a + b

    assert add(2, b=3) == 5 and add.__name__ == "add"


@pytest.mark.parametrize("name", sorted(widgets.BENCHMARK_CASES))
def test_benchmark_cases_move_real_controls(name):
    factory, moves = widgets.BENCHMARK_CASES[name]
    demo = factory()
    assert demo.png.startswith(PNG)
    for control, _ in moves:
        assert control in demo.controls, f"{name}: no control {control!r}"
    control, value = moves[0]
    before = demo.data
    demo.controls[control].value = value
    assert demo.data is not before and demo.last_update_ms > 0


def test_every_unit4_demo_is_benchmarked():
    assert set(widgets.BENCHMARK_CASES) == {"unit4 capacity lab", "unit4 penalty lab", "unit4 overfitting lab",
                                            "unit4 augmentation explorer", "unit4 ensemble lab",
                                            "unit4 pretraining lab"}
