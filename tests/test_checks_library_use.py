"""check() tells a student whose function calls library code that the grader removes, before the grader does.

The grader runs student code where every dlcourse function the checking harness does not need is absent
(:mod:`dlcourse.grading.library`); :mod:`dlcourse.checks.library_use` holds the one definition of that set, and
``check`` watches the student's call for functions outside it. Right values computed that way get the status
"uses the library" (the grader gives 0), with the functions named; an honest NumPy solution and the notebooks' own
solution cells get no warning; the grader's verdict agrees with the warning.
"""

import math

import numpy as np
import pytest

from dlcourse.graph import Value

from dlcourse.checks import PASSED, USES_LIBRARY, WRONG, check, get_exercise, library_use, progress
from dlcourse.checks.registry import EXERCISES, _load_all
from exercise_support import notebook_solutions

WATCH_LIBRARY_USE = True      # tests/conftest.py turns the watch off elsewhere (references are library code)
pytestmark = [pytest.mark.unit1, pytest.mark.unit2, pytest.mark.unit3, pytest.mark.unit4, pytest.mark.unit5]

# A student's cell per exercise that calls the library, and the function the warning must name.
CALLS = {
    "1.2": ("def sigmoid(x):\n    from dlcourse.activations import sigmoid as s\n    return s(x)",
            "dlcourse.activations.sigmoid"),
    "2.4": ("import dlcourse.losses as L\ndef cross_entropy(logits, labels):\n    return L.cross_entropy(logits, labels)",
            "dlcourse.losses.cross_entropy"),
    "3.6": ("from dlcourse.optim import Adam\nclass MyAdam(Adam):\n    pass", "dlcourse.optim.adam.Adam."),
    "4.8": ("def majority_vote(*args, **kwargs):\n    from dlcourse.regularization.ensembles import majority_vote as m\n"
            "    return m(*args, **kwargs)", "dlcourse.regularization.ensembles.majority_vote"),
    "5.6": ("import numpy as np\nfrom dlcourse.activations import sigmoid\n"
            "def lstm_step(x, h_prev, c_prev, weight_ih, weight_hh, bias_ih, bias_hh):\n"
            "    z = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh\n"
            "    i, f, g, o = np.split(z, 4, axis=-1)\n"
            "    c = sigmoid(f) * c_prev + sigmoid(i) * np.tanh(g)\n"
            "    return sigmoid(o) * np.tanh(c), c", "dlcourse.activations.sigmoid"),
}
# The same work, honestly: NumPy only.
HONEST = {
    "1.2": "import numpy as np\ndef sigmoid(x):\n    e = np.exp(-np.abs(x))\n"
           "    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))",
    "5.6": CALLS["5.6"][0].replace("from dlcourse.activations import sigmoid",
                                   "def sigmoid(z):\n    e = np.exp(-np.abs(z))\n"
                                   "    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))"),
}


def define(ex_id: str, source: str):
    env = {"__name__": "__notebook__"}
    exec(compile(source, f"<cell {ex_id}>", "exec"), env)
    return env[get_exercise(ex_id).name]


@pytest.mark.parametrize("ex_id", sorted(CALLS))
def test_a_function_that_calls_the_library_is_told_so_by_name(ex_id):
    source, name = CALLS[ex_id]
    result = check(ex_id, define(ex_id, source), rng=0)
    assert result.status == USES_LIBRARY and not result.passed, result
    assert "values right" in result.message and name in result.message, result.message
    assert "the grader removes" in result.message and "NumPy" in result.message
    assert "cheat" not in str(result).lower()
    assert result.cases_passed == result.cases_total > 0


@pytest.mark.parametrize("ex_id", sorted(HONEST))
def test_an_honest_numpy_solution_gets_no_warning(ex_id):
    result = check(ex_id, define(ex_id, HONEST[ex_id]), rng=0)
    assert result.status == PASSED and "grader" not in result.message, result


def _function_references():
    _load_all()
    return sorted(i for i, ex in EXERCISES.items() if not isinstance(ex.reference, type))


@pytest.mark.parametrize("ex_id", _function_references())
def test_calling_the_reference_itself_is_named_for_every_exercise(ex_id):
    """Whatever the exercise, a wrapper around its reference is told which library function it called."""
    ref = get_exercise(ex_id).reference

    def wrapper(*args, **kwargs):
        return ref(*args, **kwargs)

    result = check(ex_id, wrapper, rng=0)
    assert result.status == USES_LIBRARY, result
    assert f"{ref.__module__}.{ref.__qualname__}" in result.message
    # a private helper or a lambda is no name to reuse: the student is told to write the exercise's function
    assert f"write your own `{get_exercise(ex_id).name if ref.__name__[0] in '_<' else ref.__name__}`" \
        in result.message


def test_a_wrong_answer_that_calls_the_library_is_wrong_and_says_so_too():
    fn = define("1.2", "import dlcourse.activations as A\ndef sigmoid(x):\n    return A.sigmoid(x) + 1")
    result = check("1.2", fn, rng=0)
    assert result.status == WRONG
    assert result.message.splitlines()[-1].startswith("Also: your function calls dlcourse.activations.sigmoid")


def test_a_call_from_a_thread_is_seen():
    fn = define("1.2", "import threading\nfrom dlcourse.activations import sigmoid as s\n"
                       "def sigmoid(x):\n    out = {}\n    t = threading.Thread(target=lambda: out.update(y=s(x)))\n"
                       "    t.start(); t.join()\n    return out['y']")
    result = check("1.2", fn, rng=0)
    assert result.status == USES_LIBRARY and "dlcourse.activations.sigmoid" in result.message


def test_only_the_outermost_library_call_is_named():
    """sigmoid_derivative calls sigmoid inside: the student called sigmoid_derivative, so only it is named."""
    fn = define("1.3", "from dlcourse.activations import sigmoid_derivative\n"
                       "def sigmoid_prime(x):\n    return sigmoid_derivative(x)")
    result = check("1.3", fn, rng=0)
    assert result.status == USES_LIBRARY
    assert "dlcourse.activations.sigmoid_derivative" in result.message
    assert "dlcourse.activations.sigmoid," not in result.message and "sigmoid which" not in result.message


def test_what_an_exercise_hands_in_is_no_library_use():
    """1.4 and 1.5 hand in Value: its constructor and the harness's use of it are kept, so a right answer passes."""
    mul = define("1.4", "from dlcourse.graph import Value\n"
                        "def mul(a, b):\n    y = a.data * b.data\n"
                        "    return Value(y, children=(a, b), op='*', local_grads=(b.data, a.data))")
    result = check("1.4", mul, rng=0)
    assert result.status == PASSED, result


def test_progress_shows_library_use_apart_from_a_pass():
    check("1.2", define("1.2", CALLS["1.2"][0]), rng=0)
    rows = {i: s for i, _, s in progress(1)}
    assert rows["1.2"] == USES_LIBRARY
    assert "uses the library" in progress(1)._repr_html_() and "⚠" in progress(1).strip_html()
    check("1.2", define("1.2", HONEST["1.2"]), rng=0)
    assert {i: s for i, _, s in progress(1)}["1.2"] == PASSED


def test_nothing_is_watched_or_traced_while_grading(monkeypatch):
    monkeypatch.setenv("DLCOURSE_GRADING", "1")
    monkeypatch.setattr(library_use, "_KEPT", library_use._UNKNOWN)
    monkeypatch.setattr(library_use, "run_trace", lambda *a, **k: pytest.fail("traced while grading"))
    monkeypatch.setattr(library_use, "package_digest", lambda: pytest.fail("traced while grading"))
    result = check("1.2", define("1.2", CALLS["1.2"][0]), rng=0)
    assert result.status == PASSED and library_use._KEPT is library_use._UNKNOWN


def test_a_failed_trace_means_no_warning_never_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(library_use, "_KEPT", library_use._UNKNOWN)

    def broken(strict=True):
        raise library_use.TraceError("no")

    monkeypatch.setattr(library_use, "run_trace", broken)
    assert check("1.2", define("1.2", CALLS["1.2"][0]), rng=0).status == PASSED


def test_the_trace_is_remembered_per_package_version(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(library_use, "_KEPT", library_use._UNKNOWN)
    keep = library_use._load_kept()      # traces (or reads the user's cache): fills the cache of tmp_path
    assert keep and (tmp_path / "dlcourse" / f"kept-{library_use.package_digest()}.json").exists()
    monkeypatch.setattr(library_use, "run_trace", lambda *a, **k: pytest.fail("traced again"))
    assert library_use._load_kept() == keep
    (tmp_path / "dlcourse" / f"kept-{library_use.package_digest()}.json").write_text("{broken")
    monkeypatch.setattr(library_use, "run_trace", lambda *a, **k: {"keep": [list(k) for k in keep]})
    assert library_use._load_kept() == keep      # a broken cache file is traced again, not trusted


def test_grading_and_checking_share_one_definition_of_absent():
    from dlcourse.grading import library

    assert library.STAND_INS is library_use.STAND_INS and library.trace is library_use.trace
    assert library.package_digest is library_use.package_digest


UNIT_FOLDERS = ["01-backprop", "02-losses", "03-optimization", "04-regularization", "05-cnn-rnn"]


@pytest.mark.parametrize("folder", UNIT_FOLDERS)
def test_the_notebooks_own_solutions_get_no_warning(folder):
    from exercise_support import ROOT
    assert (ROOT / "units" / folder).is_dir(), folder
    for notebook, cells in notebook_solutions(folder).items():
        env = {"__name__": "__notebook__", "np": np, "math": math, "Value": Value}
        for src in cells:
            exec(compile(src, notebook, "exec"), env)
            ex_id, name = src.split("Exercise ")[1].split(":")[0], src.split(": ")[1].split()[0]
            result = check(ex_id, env[name], rng=0)
            assert result.status == PASSED and "grader" not in result.message, f"{notebook}: {result}"


# -- the grader agrees: what check calls "uses the library" scores 0, the honest version full marks ----------------
AGREE = {1: "1.2", 2: "2.4", 3: "3.6", 4: "4.8", 5: "5.6"}


@pytest.mark.slow
def test_the_grader_agrees_with_the_warning_on_one_exercise_per_unit(tmp_path):
    from dlcourse.grading.grade import LIBRARY_REASON, grade
    from grading_support import FAST, solution_cells, write_nb

    prelude = "import math\nimport numpy as np"
    for unit, ex_id in AGREE.items():
        assert check(ex_id, define(ex_id, CALLS[ex_id][0]), rng=0).status == USES_LIBRARY
        calls = write_nb(tmp_path / f"u{unit}" / "calls.ipynb", [prelude, CALLS[ex_id][0]])
        honest_src = HONEST.get(ex_id) or solution_cells(unit)[ex_id]
        assert check(ex_id, define(ex_id, prelude + "\n" + honest_src), rng=0).status == PASSED
        honest = write_nb(tmp_path / f"u{unit}" / "honest.ipynb", [prelude, honest_src])
        graded = {g.name: g for g in grade([str(calls), str(honest)], unit, tmp_path / f"out{unit}", limits=FAST,
                                          sandbox=False, progress=False)}
        used, fine = graded["calls"].exercises[ex_id], graded["honest"].exercises[ex_id]
        assert used.score == 0 and used.status == "uses library" and used.reason.startswith(LIBRARY_REASON), used
        assert fine.score == 1 and fine.status == "passed", fine
