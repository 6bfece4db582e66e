"""Nothing but an implementation earns a point: the attack matrix, generated from the registry.

For every registered exercise and every route — calling the reference directly (``__import__``), through the
checks' own wrapper (``get_exercise(id).reference``), from a thread, with tracing switched off, from a child
process, from ``multiprocessing``, by executing the library's source, by loading the library's file again with
``importlib``, by reading the course repository's file, and (for exercises with a one-line equivalent) via
PyTorch, SciPy or another library function computing the same thing — one submission per unit and route holds
the attack for every exercise of the unit. Each attack is first shown to work against the plain library in this
test process (the control: it would win without the grader's guarantee); graded, each scores 0 with a neutral
reason. The same run grades the instructor notebooks of the unit, which must get full marks.
"""

import ast
import types

import numpy as np
import pytest

from dlcourse.checks import EXERCISES, evaluate
from dlcourse.checks.registry import _load_all
from dlcourse.grading.grade import LIBRARY_REASON, grade, unit_exercises
from dlcourse.grading.protocol import decode, encode
from dlcourse.grading.sandbox import have_bubblewrap
from grading_support import FAST, ROOT, copy_unit, rows, write_nb

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_bubblewrap(), reason="grading needs bubblewrap (apt-get install bubblewrap)")]
_load_all()
UNITS = sorted({ex.unit for ex in EXERCISES.values()})
# A reference that is a lambda is attacked through the library function it wraps.
LAMBDA_TARGETS = {"3.7": ("dlcourse.optim.schedules", "inverse_time_decay"), "3.9": ("dlcourse.optim.tuning", "ema")}

HELPERS = r'''
import importlib, importlib.util, inspect, ast, multiprocessing, pickle, subprocess, sys, threading


def _get(module, qualname):
    obj = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def route_direct(target, args, kwargs):
    module, qualname = target
    obj = __import__(module, fromlist=["_"])
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj(*args, **kwargs)


def route_checks_wrapper(ex_id, args, kwargs):
    return __import__("dlcourse.checks", fromlist=["_"]).get_exercise(ex_id).reference(*args, **kwargs)


def route_thread(target, args, kwargs):
    box = {}
    def work():
        try:
            box["out"] = _get(*target)(*args, **kwargs)
        except BaseException as exc:
            box["err"] = exc
    t = threading.Thread(target=work)
    t.start()
    t.join()
    if "err" in box:
        raise box["err"]
    return box["out"]


def route_untraced(target, args, kwargs):
    sys.setprofile(None)
    sys.settrace(None)
    threading.setprofile(None)
    threading.settrace(None)
    return _get(*target)(*args, **kwargs)


CHILD = """
import importlib, pickle, sys
module, qualname = sys.argv[1], sys.argv[2]
obj = importlib.import_module(module)
for part in qualname.split("."):
    obj = getattr(obj, part)
args, kwargs = pickle.load(sys.stdin.buffer)
sys.stdout.buffer.write(pickle.dumps(obj(*args, **kwargs)))
"""


def route_subprocess(target, args, kwargs):
    out = subprocess.run([sys.executable, "-c", CHILD, *target], input=pickle.dumps((args, kwargs)),
                         capture_output=True, check=True).stdout
    return pickle.loads(out)


def route_multiprocessing(target, args, kwargs):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    def work():
        try:
            queue.put(("ok", _get(*target)(*args, **kwargs)))
        except BaseException as exc:
            queue.put(("err", repr(exc)))
    p = ctx.Process(target=work)
    p.start()
    kind, value = queue.get(timeout=30)
    p.join()
    if kind == "err":
        raise RuntimeError(value)
    return value


def _from_source(path, module, qualname):
    """Execute the definition of `qualname` from the library's source text, in the module's globals."""
    mod = importlib.import_module(module)
    source = open(path, encoding="utf-8").read()
    top = qualname.split(".")[0]
    node = next(n for n in ast.parse(source).body if getattr(n, "name", None) == top)
    namespace = dict(vars(mod))
    exec(compile(ast.Module([node], []), path, "exec"), namespace)
    obj = namespace[top]
    for part in qualname.split(".")[1:]:
        obj = getattr(obj, part)
    return obj


def route_exec_source(target, args, kwargs):
    module, qualname = target
    return _from_source(importlib.import_module(module).__file__, module, qualname)(*args, **kwargs)


def route_importlib_file(target, args, kwargs):
    module, qualname = target
    path = importlib.import_module(module).__file__
    spec = importlib.util.spec_from_file_location(module + "_fresh_copy", path)
    fresh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fresh)
    obj = fresh
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj(*args, **kwargs)


def route_real_file(target, args, kwargs):
    module, qualname = target
    path = REPO + "/" + module.replace(".", "/") + ".py"
    return _from_source(path, module, qualname)(*args, **kwargs)
'''.replace("REPO", repr(str(ROOT)))

ROUTES = ["direct", "checks_wrapper", "thread", "untraced", "subprocess", "multiprocessing", "exec_source",
          "importlib_file", "real_file"]
IN_PROCESS = {"direct", "checks_wrapper", "thread", "untraced", "exec_source", "importlib_file"}

# Exercises with a one-line equivalent elsewhere: PyTorch, SciPy, or another function of the library.
OTHER = {
    "torch": {
        "1.2": "def sigmoid(x):\n    import torch\n    return torch.sigmoid(torch.from_numpy(x)).numpy()",
        "1.7": "def softmax_cross_entropy_grad(logits, labels):\n    import torch\n"
               "    t = torch.tensor(logits, requires_grad=True)\n"
               "    torch.nn.functional.cross_entropy(t, torch.tensor(labels)).backward()\n    return t.grad.numpy()",
        "2.3": "def bce_with_logits(logits, target):\n    import torch\n    return float(torch.nn.functional."
               "binary_cross_entropy_with_logits(torch.tensor(logits), torch.tensor(target)))",
        "2.4": "def cross_entropy(logits, labels):\n    import torch\n"
               "    return float(torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(labels)))",
        "5.2": "def conv2d_naive(x, weight, bias, stride=1, padding=0):\n    import torch\n"
               "    return torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(weight), torch.tensor(bias),"
               " stride=stride, padding=padding).numpy()",
    },
    "scipy": {
        "1.2": "def sigmoid(x):\n    from scipy.special import expit\n    return expit(x)",
        "2.4": "def cross_entropy(logits, labels):\n    from scipy.special import log_softmax\n"
               "    return float(-log_softmax(logits, axis=1)[range(len(labels)), labels].mean())",
    },
    "twins": {
        "1.2": "def sigmoid(x):\n    from dlcourse.layers.recurrent import _sigmoid\n    return _sigmoid(x)",
        "1.7": "def softmax_cross_entropy_grad(logits, labels):\n    from dlcourse.mlp import softmax_cross_entropy\n"
               "    return softmax_cross_entropy(logits, labels)[1]",
        "4.3": "def dropout_forward(x, mask, p, training=True):\n    from dlcourse.layers import Dropout\n"
               "    layer = Dropout(p)\n    layer.train(training)\n    return layer.forward(x, mask=mask)",
        "5.1": "def output_size(n, kernel_size, stride, padding):\n"
               "    from dlcourse.layers.conv import conv_output_size\n"
               "    return conv_output_size(n, kernel_size, stride, padding)",
    },
}

# 4.7's check judges properties every right answer shares; a forger who knows them writes them as the result.
FORGE_4_7 = r'''
import json, os
guess = {"samples with len(indices) != n": 0.0, "samples with an index outside 0..n-1": 0.0,
         "samples whose out_of_bag is not the set of indices never drawn": 0.0,
         "drawn with replacement (some sample has a repeated index)": 1.0,
         "mean out-of-bag fraction is within 0.03 of (1 - 1/n)^n": 1.0}
for fd in range(3, 64):
    try:
        for k in range(3):
            os.write(fd, (json.dumps({"exercise": "4.7", "case": k, "status": "ok", "outputs": guess}) + "\n").encode())
    except OSError:
        pass

def bootstrap_sample(n, rng):
    raise NotImplementedError
'''


def target(ex) -> tuple:
    ref = ex.reference
    if ex.id in LAMBDA_TARGETS:
        return LAMBDA_TARGETS[ex.id]
    assert "<lambda>" not in ref.__qualname__, f"add a target for exercise {ex.id}'s lambda reference"
    return ref.__module__, ref.__qualname__


def attack_cell(ex, route: str) -> str:
    arg = repr(ex.id) if route == "checks_wrapper" else repr(target(ex))
    return f"def {ex.name}(*args, **kwargs):\n    return route_{route}({arg}, args, kwargs)\n"


def routes_for(ex) -> list:
    """Every route; loading the file of an exercise module again would register its exercises twice."""
    module = target(ex)[0]
    return [r for r in ROUTES if not (r == "importlib_file" and module.startswith("dlcourse.checks"))]


def _namespace(sources: list) -> dict:
    ns = {"__name__": "__main__"}
    for src in sources:
        exec(src, ns)
    return ns


CONTROL_ROUTES = ["direct", "checks_wrapper", "thread", "untraced", "exec_source", "importlib_file", "real_file"]


@pytest.mark.parametrize("route", CONTROL_ROUTES)
def test_control_each_attack_wins_against_the_plain_library(route):
    """Without the grader's guarantee every attack would score full marks (here, in the test's own process)."""
    for ex in EXERCISES.values():
        if route in routes_for(ex):
            fn = _namespace([HELPERS, attack_cell(ex, route)])[ex.name]
            result = evaluate(ex, fn, rng=1)
            assert result.passed, (ex.id, route, result.message)


@pytest.mark.parametrize("route", ["subprocess", "multiprocessing"])
def test_control_the_process_routes_win_against_the_plain_library(route):
    for ex_id in ("1.2", "2.4", "5.4"):
        ex = EXERCISES[ex_id]
        fn = _namespace([HELPERS, attack_cell(ex, route)])[ex.name]
        assert evaluate(ex, fn, rng=1, n_cases=2).passed


@pytest.mark.parametrize("kind", list(OTHER))
def test_control_the_other_libraries_win_against_the_plain_library(kind):
    for ex_id, src in OTHER[kind].items():
        fn = _namespace([src])[EXERCISES[ex_id].name]
        assert evaluate(EXERCISES[ex_id], fn, rng=1).passed, (kind, ex_id)


@pytest.fixture(scope="module")
def graded_units(tmp_path_factory):
    """One grading run per unit: the instructor notebooks, one submission per route, the other libraries."""
    results = {}
    for unit in UNITS:
        base = tmp_path_factory.mktemp(f"unit{unit}")
        subs = base / "subs"
        copy_unit(unit, subs / "instructor")
        exercises = unit_exercises(unit)
        for route in ROUTES:
            cells = [attack_cell(ex, route) for ex in exercises.values() if route in routes_for(ex)]
            write_nb(subs / f"route_{route}.ipynb", [HELPERS, *cells])
        for kind, table in OTHER.items():
            cells = [src for ex_id, src in table.items() if ex_id in exercises]
            if cells:
                write_nb(subs / f"other_{kind}.ipynb", cells)
        if unit == 4:
            write_nb(subs / "forges_4_7.ipynb", ["import numpy as np", FORGE_4_7])
        grades = grade([str(p) for p in sorted(subs.iterdir())], unit, base / "out", limits=FAST, jobs=2,
                       progress=False)
        results[unit] = {"grades": {g.name: g for g in grades}, "rows": rows(base / "out"), "ids": list(exercises)}
    return results


@pytest.mark.parametrize("unit", UNITS)
def test_every_unit_s_instructor_notebooks_get_full_marks(graded_units, unit):
    g = graded_units[unit]["grades"]["instructor"]
    assert g.status == "graded"
    assert {i: e.status for i, e in g.exercises.items()} == {i: "passed" for i in graded_units[unit]["ids"]}, \
        {i: e.reason for i, e in g.exercises.items() if e.reason}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("unit", UNITS)
def test_no_route_to_the_library_earns_a_point(graded_units, unit, route):
    g = graded_units[unit]["grades"][f"route_{route}"]
    attacked = [i for i in graded_units[unit]["ids"] if route in routes_for(EXERCISES[i])]
    for i in attacked:
        e = g.exercises[i]
        assert e.score == 0, (i, e)
        assert "cheat" not in e.reason.lower()
        if route in IN_PROCESS:
            assert e.status == "uses library" and e.reason.startswith(LIBRARY_REASON), (i, e)
        else:
            assert e.status in ("uses library", "error"), (i, e)


@pytest.mark.parametrize("kind", list(OTHER))
def test_pytorch_scipy_and_library_twins_earn_nothing(graded_units, kind):
    for unit in UNITS:
        g = graded_units[unit]["grades"].get(f"other_{kind}")
        for ex_id in (i for i in OTHER[kind] if EXERCISES[i].unit == unit):
            e = g.exercises[ex_id]
            assert e.score == 0 and e.status == "uses library", (kind, ex_id, e)
            assert LIBRARY_REASON in e.reason


def test_forging_a_property_check_gains_nothing(graded_units):
    e = graded_units[4]["grades"]["forges_4_7"].exercises["4.7"]
    assert e.score == 0, e


def test_every_exercise_s_cases_are_plain_data():
    """Test cases cross the sandbox as JSON: every value must survive encoding unchanged (agreement 1)."""
    for ex in EXERCISES.values():
        for seed in (0, 1):
            cases = ex.cases(np.random.default_rng(seed))
            back = decode(_roundtrip(encode(cases)))
            assert len(back) == len(cases)
            for case, again in zip(cases, back):
                assert set(case) == set(again), ex.id
                for key in case:
                    _assert_same(case[key], again[key], f"{ex.id} {key}")


def _roundtrip(obj):
    import json

    return json.loads(json.dumps(obj, allow_nan=False))


def _assert_same(a, b, where):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _assert_same(a[k], b[k], where)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for x, y in zip(a, b):
            _assert_same(x, y, where)
    else:
        assert not isinstance(a, (types.FunctionType, object.__class__)) or a is None or isinstance(
            a, (int, float, str, bool, np.generic)), (where, type(a))
        assert a == b or (a != a and b != b), where


def test_the_view_keeps_no_reference_code():
    """In the sandbox's copy of the package, every exercise's reference has no body (its source is a stub)."""
    from dlcourse.grading import library

    view, traced = library.view()
    assert not traced["problems"]
    for ex in EXERCISES.values():
        module, qualname = target(ex)
        path = view / (module.replace(".", "/") + ".py")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = qualname.split(".")[0]
        node = next(n for n in tree.body if getattr(n, "name", None) == top)
        functions = [n for n in ast.walk(node) if isinstance(n, (ast.FunctionDef, ast.Lambda))]
        assert functions, ex.id
        for fn in functions:   # every function of the reference is a stub: `raise absent(name)` and nothing else
            body = fn.body if isinstance(fn, ast.FunctionDef) else [fn.body]
            assert len(body) == 1 and "dlcourse.grading.absent" in ast.unparse(body[0]), (ex.id, ast.unparse(fn))
