"""One name for one concept: functions that draw random numbers take ``rng`` (a seed or a Generator).

``seed=`` is gone from the public API (issue 14, point 6) with no exception (``SEED_EXCEPTIONS`` is empty and a
test keeps it so).
"""

import ast
import pathlib

import numpy as np
import pytest

import dlcourse
from dlcourse import data, landscapes, sequences
from dlcourse._validate import as_seed
from dlcourse.regularization import splits

pytestmark = pytest.mark.unit1

PACKAGE = pathlib.Path(dlcourse.__file__).parent

# "module.qualname": why it still takes ``seed`` (none left: setup, check and evaluate take rng too)
SEED_EXCEPTIONS: dict[str, str] = {}

CALLS = [  # (function, positional arguments)
    (data.make_moons, (20,)), (data.make_circles, (20,)), (data.make_xor, (20,)), (data.make_spirals, (20,)),
    (data.make_blobs, (20,)), (lambda **kw: data.make_toy("moons", 20, **kw), ()),
    (lambda **kw: data.train_test_split(np.arange(10), np.arange(10), **kw), ()),
    (lambda **kw: splits.kfold_indices(10, 3, shuffle=True, **kw), ()),
    (lambda **kw: splits.stratified_kfold_indices(np.arange(12) % 2, 3, **kw), ()),
    (sequences.make_adding_problem, (5, 6)), (sequences.make_corpus, (5,)), (sequences.make_sentiment, (20,)),
]


def _flat(result) -> list:
    if isinstance(result, str):
        return [result]
    if isinstance(result, np.ndarray):
        return [result]
    return [a for item in result for a in _flat(item)]


@pytest.mark.parametrize("fn, args", CALLS)
def test_rng_takes_a_seed_or_a_generator_and_seed_is_gone(fn, args):
    by_rng, by_generator = fn(*args, rng=3), fn(*args, rng=np.random.default_rng(3))
    for a, c in zip(_flat(by_rng), _flat(by_generator)):
        np.testing.assert_array_equal(a, c)
    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy.random.Generator"):
        fn(*args, rng="three")
    with pytest.raises(TypeError, match="seed"):
        fn(*args, seed=3)


def _public_definitions():
    """``(qualified name, parameter names)`` of every public function and public method in dlcourse."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if any(p.startswith("_") and p != "__init__" for p in parts):
            continue
        module = ".".join(p for p in parts if p != "__init__")
        for node in ast.parse(path.read_text()).body:
            scopes = [(node, module)]
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                scopes = [(item, f"{module}.{node.name}") for item in node.body]
            for fn, prefix in scopes:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                        not fn.name.startswith("_") or fn.name == "__init__"):
                    a = fn.args
                    yield f"{prefix}.{fn.name}", [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]


def test_no_public_function_takes_seed_except_the_listed_ones():
    found = {name for name, params in _public_definitions() if "seed" in params}
    assert found - set(SEED_EXCEPTIONS) == set(), "take rng= (a seed or a Generator) instead of seed="
    assert set(SEED_EXCEPTIONS) - found == set(), "an exception that no longer takes seed: remove it from the list"


def test_the_scan_sees_functions_and_methods():
    names = dict(_public_definitions())
    assert "rng" in names["dlcourse.data.make_moons"]
    assert "rng" in names["dlcourse.landscapes.NoisyLandscape.__init__"]
    assert "rng" in names["dlcourse.explore.unit4_overfit.train_overfit_run"]


@pytest.mark.parametrize("value, expected", [(0, 0), (7, 7), (np.int64(5), 5)])
def test_as_seed_passes_ints_through(value, expected):
    out = as_seed(value)
    assert out == expected and type(out) is int


def test_as_seed_of_none_is_a_fresh_int_so_seed_plus_one_always_works():
    """``None`` means fresh entropy: a new int each time (labs compute ``seed + 1``; None + 1 was a TypeError)."""
    a, b = as_seed(None), as_seed(None)
    assert type(a) is int and type(b) is int and a != b and a >= 0


def test_every_lab_takes_rng_none_and_a_generator():
    """Fails for a function that does arithmetic on ``rng`` itself (``rng + 1``: a TypeError for a Generator or None,
    as make_autoencoder did) or on ``as_seed(None)`` when that was None."""
    from dlcourse.autoencoders import make_autoencoder
    from dlcourse.explore import unit4_overfit

    for rng in (None, np.random.default_rng(2), 2):
        encoder, decoder = make_autoencoder(4, [3], 2, rng=rng)
        assert encoder is not None and decoder is not None
        assert unit4_overfit.make_network(0.5, rng=rng) is not None


def test_a_noisy_landscape_made_with_rng_none_repeats_its_noise_after_reset():
    """Each optimizer of a race sees the same noise: reset() restarts from the seed drawn at construction."""
    from dlcourse import landscapes

    land = landscapes.noisy(landscapes.rosenbrock, sigma=1.0, rng=None)
    first = land.grad(np.array([0.5, 0.5]))
    land.grad(np.array([0.1, 0.2]))
    land.reset()
    np.testing.assert_array_equal(land.grad(np.array([0.5, 0.5])), first)


def test_as_seed_draws_one_int_from_a_generator():
    a, b = as_seed(np.random.default_rng(3)), as_seed(np.random.default_rng(3))
    assert type(a) is int and a == b and a >= 0
    g = np.random.default_rng(3)
    assert as_seed(g) != as_seed(g)  # the Generator advances


@pytest.mark.parametrize("bad", [True, 1.5, "3", [1]])
def test_as_seed_refuses_other_values_naming_the_argument(bad):
    with pytest.raises(TypeError, match=r"^rng must be None, an int seed or a numpy.random.Generator, got"):
        as_seed(bad)


@pytest.mark.parametrize("bad", [True, False, 1.5, "3"])
def test_as_rng_refuses_what_as_seed_refuses(bad):
    """A bool is not a seed (``rng=True`` was accepted as seed 1 by as_rng but refused by as_seed)."""
    from dlcourse._validate import as_rng

    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy.random.Generator"):
        as_rng(bad)


def test_a_lab_gives_the_same_numbers_for_rng_as_it_did_for_seed():
    # noisy landscapes: an int rng is the old seed; a Generator reproduces when seeded alike
    a = landscapes.noisy(landscapes.rosenbrock, sigma=2.0, rng=4)
    b = landscapes.NoisyLandscape(landscapes.rosenbrock, sigma=2.0, rng=4)
    np.testing.assert_array_equal(a.grad(np.array([0.5, 0.5])), b.grad(np.array([0.5, 0.5])))
    g1 = landscapes.noisy(landscapes.rosenbrock, rng=np.random.default_rng(1))
    g2 = landscapes.noisy(landscapes.rosenbrock, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(g1.grad(np.array([0.0, 0.0])), g2.grad(np.array([0.0, 0.0])))
    with pytest.raises(TypeError, match="^rng must be"):
        landscapes.noisy(landscapes.rosenbrock, rng="x")


def test_check_and_evaluate_take_rng_a_seed_or_a_generator():
    from dlcourse.checks import check, evaluate, get_exercise
    from dlcourse.checks.exercise import PASSED

    ex = get_exercise("1.2")
    by_int = evaluate(ex, ex.reference, rng=4)
    by_gen = evaluate(ex, ex.reference, rng=np.random.default_rng(4))
    assert by_int.status == by_gen.status == PASSED
    assert by_int.cases_total == by_gen.cases_total
    wrong = evaluate(ex, lambda x: np.asarray(x) * 0.0, rng=4)      # an input that makes it fail: a wrong function
    assert wrong.status != PASSED
    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy.random.Generator"):
        evaluate(ex, ex.reference, rng="4")
    with pytest.raises(TypeError, match="seed"):
        check("1.2", ex.reference, seed=4)


def test_setup_takes_rng_and_a_generator_reproduces_it():
    from dlcourse.notebook import setup

    setup(rng=3, figures=False)
    a = np.random.rand(3)
    setup(3, figures=False)
    np.testing.assert_array_equal(a, np.random.rand(3))
    setup(rng=np.random.default_rng(9), figures=False)
    b = np.random.rand(3)
    setup(rng=np.random.default_rng(9), figures=False)
    np.testing.assert_array_equal(b, np.random.rand(3))
    with pytest.raises(TypeError, match="rng must be an int seed or a numpy.random.Generator"):
        setup(rng=None, figures=False)
    with pytest.raises(TypeError, match="seed"):
        setup(seed=0, figures=False)
