"""One name for one concept: functions that draw random numbers take ``rng`` (a seed or a Generator).

``seed=`` is the old name, still accepted by the functions that had it, and gives the same result.
"""

import numpy as np
import pytest

from dlcourse import data, sequences
from dlcourse.regularization import splits

pytestmark = pytest.mark.unit1

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
def test_rng_takes_a_seed_or_a_generator_and_seed_is_its_old_name(fn, args):
    by_rng, by_seed = fn(*args, rng=3), fn(*args, seed=3)
    by_generator = fn(*args, rng=np.random.default_rng(3))
    for a, b, c in zip(_flat(by_rng), _flat(by_seed), _flat(by_generator)):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy.random.Generator"):
        fn(*args, rng="three")
