"""Base learners, bagging, AdaBoost and stacking (dlcourse.regularization, Unit 4)."""

import numpy as np
import pytest

from dlcourse.data import load_digits, make_moons, train_test_split
from dlcourse.regularization.bias_variance import bias_variance_decomposition, sine_problem
from dlcourse.regularization.ensembles import (adaboost_fit, bagging_fit, bagging_predict, majority_vote,
                                               stacking_fit)
from dlcourse.regularization.learners import DecisionStump, DecisionTree, LogisticRegression

pytestmark = pytest.mark.unit4


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(400, noise=0.3, rng=1)
    return train_test_split(X, y, test_size=0.5, rng=0)


def _accuracy(model, X, y):
    return float(np.mean(model.predict(X) == y))


# ------------------------------------------------------------------------------ base learners
def test_stump_hand_computed():
    stump = DecisionStump().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1]))
    assert stump.feature[0] == 0 and stump.threshold[0] == 1.5 and stump.depth == 1
    np.testing.assert_array_equal(stump.predict(np.array([[-5.0], [1.4], [1.6], [9.0]])), [0, 0, 1, 1])


def test_weighted_stump_follows_the_weights():
    X, y = np.array([[0.0], [1.0], [2.0]]), np.array([0, 1, 0])
    heavy_middle = DecisionStump().fit(X, y, sample_weight=[1.0, 10.0, 1.0])
    assert heavy_middle.predict(np.array([[1.0]]))[0] == 1


TREE_CASES = [  # (task, max_depth, min_samples_leaf, weighted)
    ("classification", 1, 1, False), ("classification", 3, 1, False), ("classification", None, 1, False),
    ("classification", 2, 1, True), ("classification", 4, 3, False),
    ("regression", 1, 1, False), ("regression", 4, 1, False), ("regression", None, 2, True),
]


@pytest.mark.parametrize("task, max_depth, min_leaf, weighted", TREE_CASES)
def test_tree_matches_sklearn(rng, task, max_depth, min_leaf, weighted):
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    X = rng.normal(size=(80, 3))
    y = X[:, 0] ** 2 + np.sin(2 * X[:, 1]) + 0.1 * rng.normal(size=80)
    w = rng.uniform(0.2, 1.0, 80) if weighted else None
    if task == "classification":
        y = np.digitize(y, [0.5, 1.5])
        sk = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=min_leaf, random_state=0)
    else:
        sk = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=min_leaf, random_state=0)
    ours = DecisionTree(max_depth, min_leaf, task=task).fit(X, y, sample_weight=w)
    sk.fit(X, y, sample_weight=w)
    # Deep in a tree, small nodes often have equally good splits on several features, which
    # sklearn breaks in a random feature order: the fits agree, thresholds may not. So unseen
    # points are compared only for shallow trees.
    points = [X] + ([rng.normal(size=(200, 3))] if max_depth is not None and max_depth <= 2 else [])
    for P in points:
        np.testing.assert_allclose(ours.predict(P), sk.predict(P), atol=1e-12)
        if task == "classification":
            np.testing.assert_allclose(ours.predict_proba(P), sk.predict_proba(P), atol=1e-12)
    assert ours.depth == sk.get_depth() and len(ours.feature) == sk.tree_.node_count


def test_logistic_regression_matches_sklearn(rng):
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    X = rng.normal(size=(60, 3))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    ours = LogisticRegression(alpha=0.01, lr=1.0, max_iter=20000, tol=1e-9).fit(X, y)
    sk = SkLogisticRegression(C=1 / (60 * 0.01), tol=1e-10, max_iter=10000).fit(X, y)  # C = 1/(n alpha)
    np.testing.assert_allclose(ours.predict_proba(X), sk.predict_proba(X), atol=1e-6)


# --------------------------------------------------------------------------------------- bagging
def test_majority_vote_hand_computed():
    P = np.array([[0, 1, 2, 1], [0, 2, 2, 0], [1, 2, 0, 2]])
    np.testing.assert_array_equal(majority_vote(P), [0, 2, 2, 0])  # last column: a tie, smallest label
    np.testing.assert_array_equal(majority_vote(P, weights=[1, 1, 3]), [1, 2, 0, 2])


def test_bagging_lowers_prediction_variance_vs_a_single_tree():
    problem = sine_problem(n_train=60, noise_std=0.3)
    x_test = np.linspace(0.05, 0.95, 40)

    def tree(x, y, xt):
        return DecisionTree(max_depth=None, task="regression").fit(x[:, None], y).predict(xt[:, None])

    def bagged(x, y, xt):
        return bagging_fit(x[:, None], y, n_estimators=15, combine="mean", rng=0).predict(xt[:, None])

    single = bias_variance_decomposition(tree, problem, x_test, n_repeats=20, rng=1)
    bag = bias_variance_decomposition(bagged, problem, x_test, n_repeats=20, rng=1)
    assert bag.variance < 0.7 * single.variance
    assert bag.expected_error < single.expected_error


def test_bagging_classifier_beats_or_matches_a_single_deep_tree(moons):
    X_tr, X_te, y_tr, y_te = moons
    tree = DecisionTree(max_depth=None).fit(X_tr, y_tr)
    bag = bagging_fit(X_tr, y_tr, n_estimators=25, rng=0)
    assert len(bag.models) == 25 and all(len(s.indices) == len(y_tr) for s in bag.samples)
    assert _accuracy(bag, X_te, y_te) >= _accuracy(tree, X_te, y_te)


def test_bagging_works_with_any_fit_and_predict_callables(moons):
    from sklearn.neighbors import KNeighborsClassifier

    X_tr, X_te, y_tr, y_te = moons
    centroid_fit = lambda X, y: np.stack([X[y == c].mean(axis=0) for c in (0, 1)])  # noqa: E731
    centroid_predict = lambda C, X: np.argmin(((X[:, None, :] - C) ** 2).sum(-1), axis=1)  # noqa: E731
    bag = bagging_fit(X_tr, y_tr, fit=centroid_fit, predict=centroid_predict, n_estimators=5, rng=0)
    assert bagging_predict(bag, X_te).shape == y_te.shape
    knn = bagging_fit(X_tr, y_tr, fit=lambda X, y: KNeighborsClassifier(5).fit(X, y), n_estimators=5, rng=0)
    assert _accuracy(knn, X_te, y_te) > 0.8
    closures = bagging_fit(X_tr, y_tr, fit=lambda X, y: DecisionTree(2).fit(X, y).predict, n_estimators=3, rng=0)
    assert closures.predict(X_te).shape == y_te.shape


def test_bagging_is_reproducible_from_a_seed(moons):
    X_tr, X_te, y_tr, _ = moons
    a, b = (bagging_fit(X_tr, y_tr, n_estimators=5, rng=7).predict(X_te) for _ in range(2))
    np.testing.assert_array_equal(a, b)


# -------------------------------------------------------------------------------------- AdaBoost
def test_adaboost_beats_a_single_stump(moons):
    X_tr, X_te, y_tr, y_te = moons
    stump = DecisionStump().fit(X_tr, y_tr)
    boost = adaboost_fit(X_tr, y_tr, n_estimators=60)
    assert _accuracy(boost, X_te, y_te) > _accuracy(stump, X_te, y_te) + 0.05
    assert _accuracy(boost, X_tr, y_tr) > 0.9
    assert np.all(boost.alphas > 0) and np.all(boost.errors < 0.5)


@pytest.mark.parametrize("n_classes, learning_rate", [(2, 1.0), (3, 1.0), (3, 0.5)])
def test_adaboost_matches_sklearn_samme(rng, n_classes, learning_rate):
    from sklearn.ensemble import AdaBoostClassifier
    from sklearn.tree import DecisionTreeClassifier

    X = rng.normal(size=(80, 3))
    y = np.digitize(X[:, 0] + X[:, 1] ** 2, [0.5, 1.5][: n_classes - 1])
    ours = adaboost_fit(X, y, n_estimators=15, learning_rate=learning_rate)
    sk = AdaBoostClassifier(DecisionTreeClassifier(max_depth=1, random_state=0), n_estimators=15,
                            learning_rate=learning_rate, random_state=0).fit(X, y)
    m = len(ours.alphas)
    np.testing.assert_allclose(ours.alphas, sk.estimator_weights_[:m], atol=1e-10)
    np.testing.assert_allclose(ours.errors, sk.estimator_errors_[:m], atol=1e-10)
    X_test = rng.normal(size=(100, 3))
    np.testing.assert_array_equal(ours.predict(X_test), sk.predict(X_test))


def test_adaboost_stops_when_a_model_is_perfect():
    X, y = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([0, 0, 1, 1])
    boost = adaboost_fit(X, y, n_estimators=10)
    assert len(boost.models) == 1 and boost.errors[0] == 0.0
    np.testing.assert_array_equal(boost.predict(X), y)


# -------------------------------------------------------------------------------------- stacking
def test_stacking_is_at_least_as_good_as_its_best_base_model():
    X, y = load_digits(n_class=5)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.4, rng=0)
    bases = [lambda X, y: DecisionTree(max_depth=4).fit(X, y),
             lambda X, y: LogisticRegression(max_iter=200).fit(X, y)]
    stack = stacking_fit(X_tr, y_tr, bases, k=4, rng=0)
    base_acc = [_accuracy(m, X_te, y_te) for m in stack.base_models]
    assert _accuracy(stack, X_te, y_te) >= max(base_acc) - 0.01
    assert _accuracy(stack, X_te, y_te) > 0.9


def test_stacking_accepts_models_without_probabilities(moons):
    X_tr, X_te, y_tr, y_te = moons
    bases = [lambda X, y: adaboost_fit(X, y, n_estimators=20), lambda X, y: DecisionTree(3).fit(X, y)]
    stack = stacking_fit(X_tr, y_tr, bases, k=3)
    assert _accuracy(stack, X_te, y_te) > 0.8


# ------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, exc, match", [
    (lambda: DecisionTree(max_depth=0), ValueError, "max_depth must be >= 1"),
    (lambda: DecisionTree(task="ranking"), ValueError, "task must be one of"),
    (lambda: DecisionTree().fit(np.ones((3, 2)), [0, 1]), ValueError, r"y must have shape \(3,\)"),
    (lambda: DecisionTree().fit(np.ones(3), [0, 1, 0]), ValueError, "X must be 2-D"),
    (lambda: DecisionTree().fit(np.ones((2, 1)), [0, 1], sample_weight=[-1, 1]), ValueError, "non-negative"),
    (lambda: DecisionTree().predict(np.ones((2, 1))), RuntimeError, "before fit"),
    (lambda: LogisticRegression(lr=0), ValueError, "lr must be in"),
    (lambda: bagging_fit(np.ones((3, 2)), [0, 1], n_estimators=2), ValueError, "same length"),
    (lambda: bagging_fit(np.ones((3, 2)), [0, 1, 0], combine="median"), ValueError, "combine must be one of"),
    (lambda: adaboost_fit(np.ones((3, 2)), [1, 1, 1]), ValueError, "at least 2 classes"),
    (lambda: adaboost_fit(np.ones((4, 1)), [0, 1, 0, 1]), ValueError, "no better than chance"),
    (lambda: stacking_fit(np.ones((4, 1)), [0, 1, 0, 1], []), ValueError, "at least one fit"),
    (lambda: stacking_fit(np.ones((4, 1)), [0, 1, 0, 1], [DecisionStump().fit], k=5), ValueError,
     "k must be at most the number of samples n = 4"),
])
def test_ensembles_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
