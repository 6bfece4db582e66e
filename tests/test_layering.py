"""The package's shape: imports point one way, and one implementation per concept.

1. Math modules (graph, activations, losses, optim, init, regularization, layers, train, ...) load no
   plotting, widgets or torch: each is imported in a fresh interpreter and ``sys.modules`` is checked.
2. No import cycle among dlcourse's modules (the imports a module runs when it is loaded, read from its AST).
   Imports inside functions of math modules (run on first use, as ``graph.draw`` loads its drawing) point
   down too, apart from :data:`LAZY_ALLOWED`, each with its reason.
3. No module re-derives a public function: a module may not define a function or class named like one of
   the public losses, optimizers, activations or clipping functions (``_Adam``, ``_mse``, ``softmax``) outside
   the module that owns it, nor carry the fingerprints of their bodies (a log-sum-exp, Adam's bias correction,
   a global-norm clip written out).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dlcourse"

MATH = ["dlcourse.graph", "dlcourse.activations", "dlcourse.losses", "dlcourse.metrics", "dlcourse.optim",
        "dlcourse.optim.schedules", "dlcourse.optim.second_order", "dlcourse.landscapes", "dlcourse.init",
        "dlcourse.regularization", "dlcourse.layers", "dlcourse.train", "dlcourse.mlp", "dlcourse.shallow",
        "dlcourse.autoencoders", "dlcourse.sequences", "dlcourse.data"]
FORBIDDEN = ("matplotlib", "ipywidgets", "torch", "dlcourse.plotting", "dlcourse.widgets", "dlcourse.explore",
             "dlcourse.grading", "IPython")


def test_math_modules_import_no_plotting_widgets_or_torch():
    code = ("import importlib, json, sys\n"
            f"bad = {{}}\nfor name in {MATH!r}:\n"
            "    before = set(sys.modules)\n"
            "    importlib.import_module(name)\n"
            f"    hits = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r} or "
            f"any(m == f or m.startswith(f + '.') for f in {FORBIDDEN!r}))\n"
            "    if hits: bad[name] = hits[:5]\n"
            "print(json.dumps(bad))\n")
    # one interpreter per module would be cleaner but slow; the first module that pulls a forbidden one
    # is named, and the others are checked again in their own interpreter below when something is found
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "{}", f"math modules import upward: {out.stdout}"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _load_time_imports(path: Path) -> set[str]:
    """The dlcourse modules ``path`` imports when it is loaded (module level, not inside functions)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    tree = ast.parse(path.read_text())
    nodes = list(tree.body)
    while nodes:
        node = nodes.pop()
        if isinstance(node, (ast.If, ast.Try)):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            nodes += node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", [])
            nodes += [h for handler in getattr(node, "handlers", []) for h in handler.body]
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("dlcourse")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("dlcourse"):
                found.add(module)
                found |= {f"{module}.{a.name}" for a in node.names}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in _load_time_imports(path) if m in modules and m != name}
            for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _without_package_inits(graph):
    """A package's ``__init__`` importing its own submodules is not a cycle of the layering; drop those edges."""
    return {v: {w for w in ws if not (w.startswith(v + ".") or v.startswith(w + "."))} for v, ws in graph.items()}


def test_no_import_cycles():
    cycles = _cycles(_without_package_inits(import_graph()))
    assert cycles == [], f"import cycles: {cycles}"


def test_graph_and_its_drawing_do_not_import_each_other():
    graph = import_graph()
    assert "dlcourse.graph_drawing" not in graph["dlcourse.graph"]
    from dlcourse.graph import Value, draw  # draw still works, loaded on first use

    assert callable(draw) and Value(1.0).data == 1.0


UPWARD = FORBIDDEN + ("dlcourse.checks", "dlcourse.graph_drawing", "dlcourse.notebook", "dlcourse.cli",
                      "dlcourse.workspace", "dlcourse.doctor", "dlcourse.__main__")
LAZY_ALLOWED = {  # (math module, what it imports inside a function): why
    ("dlcourse.graph", "dlcourse.graph_drawing"): "graph.draw / graph.Drawing (Unit 1's pictures of the graph) "
                                                  "are loaded on first use, so importing the engine loads no "
                                                  "matplotlib; the drawing imports the engine, not the reverse",
}


def _is_math(name: str) -> bool:
    return any(name == m or name.startswith(m + ".") for m in MATH)


def _function_imports(path: Path) -> set[str]:
    """What ``path`` imports inside functions (lambdas, methods) and module-level ``__getattr__``: run later."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()

    def walk(node, lazy):
        for child in ast.iter_child_nodes(node):
            inner = lazy or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if inner and isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif inner and isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    module = ".".join(base[:len(base) - child.level + 1] + ([child.module] if child.module else []))
                else:
                    module = child.module or ""
                found.add(module)
                found.update(f"{module}.{a.name}" for a in child.names)
            walk(child, inner)

    walk(ast.parse(path.read_text()), False)
    return found


def _upward(module: str) -> bool:
    return any(module == f or module.startswith(f + ".") for f in UPWARD)


def lazy_upward_imports(package: Path = PACKAGE) -> list[tuple[str, str]]:
    """``(math module, upward module)`` for every import inside a function of a math module."""
    out = []
    for path in sorted(package.rglob("*.py")):
        name = _module_name(path)
        if _is_math(name):
            out += [(name, m) for m in sorted(_function_imports(path)) if _upward(m)]
    return out


def test_math_modules_import_nothing_upward_inside_functions():
    """Fails on an import inside a function of a math module that points up (``optim`` loading ``explore.race``)."""
    found = [pair for pair in lazy_upward_imports() if pair not in LAZY_ALLOWED]
    assert found == [], f"math modules import upward inside functions (allow-list LAZY_ALLOWED with a reason): {found}"
    unused = set(LAZY_ALLOWED) - set(lazy_upward_imports())
    assert not unused, f"LAZY_ALLOWED holds entries nothing needs any more: {sorted(unused)}"


@pytest.mark.parametrize("source, expected", [
    ("def __getattr__(name):\n    from ..explore import race\n    return race\n", "dlcourse.explore.race"),
    ("def f():\n    import matplotlib.pyplot as plt\n", "matplotlib.pyplot"),
    ("def f():\n    import torch\n", "torch"),
    ("def f():\n    from dlcourse.widgets import unit3\n", "dlcourse.widgets"),
], ids=["getattr_shim", "plotting", "torch", "widgets"])
def test_the_lazy_import_check_catches_upward_imports(tmp_path, monkeypatch, source, expected):
    """Fails if an upward import written inside a function of a math module goes unnoticed."""
    fake = tmp_path / "dlcourse" / "optim"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = lazy_upward_imports(tmp_path / "dlcourse")
    assert any(m == expected for _, m in found), found


# --------------------------------------------------------------------------- one implementation per concept
def _owned_names() -> dict[str, str]:
    """Public names whose bodies may not be re-derived, and the module that owns each."""
    from dlcourse import activations, losses, optim

    owned = {}
    for name in losses.LOSS_FUNCTIONS:
        owned[name] = owned[f"{name}_grad"] = "dlcourse/losses.py"
    for name in ("softmax", "log_softmax", "sigmoid", "relu", "tanh"):
        if hasattr(activations, name):
            owned[name] = "dlcourse/activations.py"
    for name in optim.OPTIMIZERS:   # classes: compared by their own name (Adam, _Adam)
        owned[name] = f"dlcourse/optim/{'adam' if name == 'AdamW' else name.lower()}.py"
    owned["clip_grad_norm"] = owned["clip_grad_value"] = "dlcourse/optim/clip.py"
    owned["softmax_cross_entropy"] = "dlcourse/losses.py"
    return owned


FINGERPRINTS = {  # a body written out again, and the files allowed to hold it
    "log-sum-exp (softmax cross-entropy)": (re.compile(r"np\.log\(np\.exp\([^()]*\)\.sum\("),
                                            {"dlcourse/losses.py", "dlcourse/activations.py"}),
    "Adam's bias correction": (re.compile(r"\(1(\.0)?\s*-\s*(b1|beta1|0\.9)\s*\*\*\s*[\w.]+"),
                               {"dlcourse/optim/adam.py"}),
    "a global-norm clip": (re.compile(r"\*=\s*\(?\s*max_norm\s*/"), {"dlcourse/optim/clip.py"}),
    # exp(z - max z), inline or as "z = x - x.max(...)" then exp(z) on the next line: softmax written out again
    "softmax (exp of z minus its max)": (re.compile(r"np\.exp\(\s*([\w.]+)\s*-\s*(?:np\.max\(\s*\1\b|\1\.max\()"
                                                    r"|(\w+)\s*=\s*([\w.\[\]:, ]+?)\s*-\s*(?:np\.max\(\s*\3\b|\3\.max\()"
                                                    r"[^\n]*\n[^\n]*np\.exp\(\s*\2\s*\)"),
                                         {"dlcourse/activations.py", "dlcourse/losses.py"}),
}
ALLOWED = {  # (file, name or fingerprint): why it is not a copy
    ("dlcourse/graph.py", "_sigmoid"): "the scalar engine's sigmoid of one Python float (math.exp), not arrays",
    ("dlcourse/layers/recurrent.py", "_sigmoid"): "the LSTM/GRU gates' in-place sigmoid, kept for the speed target",
    ("dlcourse/checks/unit1.py", "softmax (exp of z minus its max)"): "a hint's fill-in-the-blanks scaffold "
                                                                      "(____) for the student's own softmax",
}


def test_no_module_re_derives_a_public_function():
    owned = _owned_names()
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        source = path.read_text()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                key = node.name.lstrip("_")
                if (key in owned and owned[key] != rel and not _is_a_method(node)
                        and (rel, node.name) not in ALLOWED and isinstance(node, ast.ClassDef) == key[:1].isupper()
                        and not _delegates(node, owned, owned[key])):
                    found.append(f"{rel}:{node.lineno} defines {node.name} (the public one is in {owned[key]})")
        for what, (pattern, allowed) in FINGERPRINTS.items():
            if rel not in allowed and (rel, what) not in ALLOWED:
                found += [f"{rel}:{source[:m.start()].count(chr(10)) + 1} writes out {what}"
                          for m in pattern.finditer(source)]
    assert found == [], "private copies of public functions:\n" + "\n".join(found)


def test_every_allowed_copy_is_still_there():
    """An ALLOWED entry whose definition or pattern is gone would excuse the next copy written there: remove it."""
    stale = []
    for (rel, what), _ in ALLOWED.items():
        source = (ROOT / rel).read_text() if (ROOT / rel).exists() else ""
        if what in FINGERPRINTS:
            used = FINGERPRINTS[what][0].search(source) is not None
        else:
            used = any(isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == what
                       for n in ast.walk(ast.parse(source)))
        if not used:
            stale.append((rel, what))
    assert stale == [], f"ALLOWED entries that excuse nothing any more: {stale}"


@pytest.mark.parametrize("copy", [
    "p = np.exp(z - z.max(axis=1, keepdims=True))\n",                                   # learners.py had this
    "z = logits - logits.max(axis=1, keepdims=True)\np = np.exp(z) / np.exp(z).sum(1)\n",  # the playground's
    "Z = Z - Z.max(-1, keepdims=True)\nP = np.exp(Z)\n",                                  # the schedules lab's
])
def test_the_softmax_fingerprint_finds_the_copies_it_replaced(copy):
    assert FINGERPRINTS["softmax (exp of z minus its max)"][0].search(copy), copy


def _delegates(node, owned, owner) -> bool:
    """A thin wrapper calls the public function it is named after (``softmax_cross_entropy`` → ``cross_entropy``)."""
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
            if owned.get(name) == owner:
                return True
    return False


def _is_a_method(node) -> bool:
    """Methods named like a function (``Module.relu``?) are not copies; only module-level definitions count."""
    return node.col_offset > 0


@pytest.mark.parametrize("source, expected", [
    ("def _mse(pred, target):\n    return 0.0\n", "defines _mse"),
    ("class _Adam:\n    pass\n", "defines _Adam"),
    ("def f(z):\n    return z - np.log(np.exp(z).sum(axis=1))\n", "writes out log-sum-exp"),
    ("def f(m, b1, t):\n    return m / (1 - b1 ** t)\n", "writes out Adam's bias correction"),
    ("def f(m, t):\n    return m / (1 - 0.9 ** t)\n", "writes out Adam's bias correction"),
], ids=["private_mse", "private_adam", "log_sum_exp", "bias_correction", "bias_correction_literal"])
def test_the_re_derivation_check_catches_copies(tmp_path, monkeypatch, source, expected):
    fake = tmp_path / "dlcourse"
    fake.mkdir()
    (fake / "copy.py").write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    with pytest.raises(AssertionError, match=re.escape(expected)):
        test_no_module_re_derives_a_public_function()
