"""widgets/base.py: holding, the reconfigure hook, set_range and headless demos (argument or DLCOURSE_HEADLESS)."""

import sys

import pytest

pytestmark = pytest.mark.unit1

import ipywidgets as W  # noqa: E402

from dlcourse.widgets.base import Demo, headless_from_env, set_range, slider  # noqa: E402


class Preset(Demo):
    """A preset that sets the slider's range and value: one redraw per preset change."""

    reconfigure_on = ("preset",)
    RANGES = {"small": (0, 1, 0.5), "large": (100, 200, 150)}

    def __init__(self, **kw):
        self.log = []
        controls = {"preset": W.Dropdown(options=list(self.RANGES), value="small"),
                    "x": slider(0.5, 0, 1, 0.1, "x")}
        super().__init__(controls, self._compute, lambda fig, data: None, **kw)

    def _compute(self, preset, x):
        self.log.append((preset, x))
        return {"preset": preset, "x": x}

    def reconfigure(self, name, value):
        low, high, v = self.RANGES[value]
        set_range(self.controls["x"], low, high, v)


def test_reconfigure_runs_first_and_the_demo_redraws_once():
    demo = Preset()
    demo.log.clear()
    demo.controls["preset"].value = "large"
    assert demo.log == [("large", 150.0)]
    x = demo.controls["x"]
    assert (x.min, x.max) == (100, 200)
    demo.set(preset="small", x=0.25)                    # set holds: one compute after both changes
    assert demo.log[1:] == [("small", 0.25)]


def test_holding_nests_and_restores_on_error():
    demo = Preset()
    with demo.holding() as held:
        assert held is False
        with demo.holding() as inner:
            assert inner is True
        assert demo._hold is True
    assert demo._hold is False
    with pytest.raises(RuntimeError):
        with demo.holding():
            raise RuntimeError
    assert demo._hold is False
    n = len(demo.log)
    with demo.holding():
        demo.controls["x"].value = 0.9
    assert len(demo.log) == n                           # no compute while holding


@pytest.mark.parametrize("cls", [W.FloatSlider, W.IntSlider])
@pytest.mark.parametrize("low, high, value", [(20, 30, 25), (-30, -20, -25), (0, 3, 3)])
def test_set_range_moves_a_slider_anywhere(cls, low, high, value):
    s = cls(value=5, min=0, max=10)
    set_range(s, low, high, value, step=1)
    assert (s.min, s.max, s.value, s.step) == (low, high, value, 1)


def test_headless_by_argument_or_environment(monkeypatch):
    demo = Preset(headless=True)
    assert demo.headless and demo.data is None and demo.log == []
    demo.controls["x"].value = 0.3
    assert demo.data is None
    monkeypatch.setenv("DLCOURSE_HEADLESS", "1")
    assert headless_from_env() and Preset().data is None
    assert Preset(headless=False).data == {"preset": "small", "x": 0.5}
    for off in ("", "0", "false"):
        monkeypatch.setenv("DLCOURSE_HEADLESS", off)
        assert not headless_from_env() and Preset().data is not None


def test_set_inside_holding_waits_for_the_outer_block():
    """``set`` must not redraw while an outer ``holding()`` is active: a ``set`` that always called
    ``update()`` would log ("large", 150.0) inside the block, before the outer change to x."""
    demo = Preset()
    demo.log.clear()
    with demo.holding():
        demo.set(preset="large")
        assert demo.log == []                           # fails if set redraws inside the outer block
        demo.controls["x"].value = 120
    assert demo.log == []                               # holding() itself never redraws ...
    demo.update()
    assert demo.log == [("large", 120.0)]               # ... the caller does, once
    demo.set(x=130)
    assert demo.log[-1] == ("large", 130.0) and len(demo.log) == 2   # outside a block, set still redraws once


class Stepper(Demo):
    """A step slider with a play button, as in the graph explorer, the race and the convolution explorer."""

    def __init__(self, **kw):
        self.log = []
        self.play = W.Play(min=0, max=10, value=8)
        super().__init__({"step": slider(8, 0, 10, 1, "step", integer=True)}, self._compute,
                         lambda fig, data: None, **kw)

    def _compute(self, step):
        self.log.append(step)
        return step


@pytest.mark.parametrize("last, value", [(20, 8), (5, 5), (0, 0)])
def test_set_steps_moves_the_slider_and_the_play_button_together(last, value):
    """The slider and the play button both end at ``last``, a value past it is clamped, and nothing redraws:
    a set_steps that forgot the play button, or let the clamp redraw, fails (last=5 clamps 8 to 5)."""
    demo = Stepper()
    demo.log.clear()
    demo.set_steps(last)
    step = demo.controls["step"]
    assert (step.min, step.max, step.value) == (0, last, value)
    assert (demo.play.min, demo.play.max, demo.play.value) == (0, last, value)
    assert demo.log == []


def test_set_steps_without_a_play_button():
    """A demo with no ``play`` attribute: a set_steps that assumed one would raise AttributeError."""
    demo = Preset()
    demo.controls["step"] = slider(3, 0, 3, 1, "step", integer=True)
    demo.set_steps(2)
    assert (demo.controls["step"].max, demo.controls["step"].value) == (2, 2)


def test_warm_runs_once_at_the_first_update_and_never_headless():
    """``warm`` is the first picture's expensive work: it must run once (not per update) and never when headless
    (a Demo that ran it in ``__init__`` whatever the flag would fail the last assertion)."""
    calls = []
    demo = Demo({"x": slider(0.5, 0, 1, 0.1, "x")}, lambda x: x, lambda fig, data: None, warm=lambda: calls.append(1))
    demo.controls["x"].value = 0.7
    assert calls == [1] and demo.data == 0.7
    Demo({"x": slider(0.5, 0, 1, 0.1, "x")}, lambda x: x, lambda fig, data: None, headless=True,
         warm=lambda: calls.append(2))
    assert calls == [1]


HEADLESS_SCRIPT = r"""
import importlib, inspect, json, os, pkgutil, sys, time
import dlcourse.widgets as pkg
from dlcourse.widgets.base import Demo
by_argument = sys.argv[1] == "argument"
report = {}
for mod in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda m: m.name):
    if not mod.name.startswith("unit"):
        continue
    module = importlib.import_module(f"dlcourse.widgets.{mod.name}")
    for name, factory in sorted(vars(module).items()):
        if name.startswith("make_") and inspect.isfunction(factory) and factory.__module__ == module.__name__:
            start = time.perf_counter()
            demo = factory(headless=True) if by_argument else factory()
            seconds = time.perf_counter() - start
            report[f"{mod.name}.{name}"] = {
                "seconds": seconds, "demo": isinstance(demo, Demo), "headless": demo.headless,
                "data": demo.data is not None, "png": hasattr(demo, "png") or bool(demo.image.value),
                "warmed": demo.warmed}
print(json.dumps(report))
"""


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_every_factory_is_headless_and_instant(how):
    """Every ``make_*`` of dlcourse.widgets.unitN, with ``headless=True`` or ``DLCOURSE_HEADLESS=1``, returns a
    headless Demo in well under a second, computing and drawing nothing (no data, no PNG, no warm-up).

    Run in a fresh interpreter, so that no cache another test filled hides the work. Before factories took
    ``headless=`` and moved their training into ``warm``, with ``DLCOURSE_HEADLESS=1`` these failed (seconds,
    measured with the disk caches warm): make_feature_map_demo 12 (trains the CNN), make_augmentation_explorer
    4.2, make_forecast_demo 2.7, make_text_generator 2.0, make_gate_inspector 1.8, make_pretraining_lab 1.3,
    make_ensemble_lab 1.2 (6.4 cold), make_sentiment_demo 0.69, make_overfitting_lab 0.44,
    make_architecture_builder 0.4, make_penalty_lab 0.22; with ``how="argument"`` every factory failed
    (none accepted ``headless``).
    """
    import json
    import os
    import subprocess

    env = dict(os.environ)
    env.pop("DLCOURSE_HEADLESS", None)
    if how == "environment":
        env["DLCOURSE_HEADLESS"] = "1"
    out = subprocess.run([sys.executable, "-c", HEADLESS_SCRIPT, how], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report) >= 40, sorted(report)             # every unit's factories were found
    slow = {name: round(r["seconds"], 2) for name, r in report.items() if r["seconds"] > 0.2}   # they take ~0.01 s
    assert slow == {}, f"factories that work when headless: {slow}"
    wrong = {name: r for name, r in report.items()
             if not r["demo"] or not r["headless"] or r["data"] or r["png"] or r["warmed"]}
    assert wrong == {}


def test_every_demo_subclass_takes_headless():
    """Every Demo subclass of dlcourse.widgets.unitN takes ``headless`` (directly or through ``**kw``, as RunDemo
    does): a subclass whose ``__init__`` lacked it (GraphExplorer, RaceDemo, ... before) fails."""
    import importlib
    import inspect
    import pkgutil

    import dlcourse.widgets as pkg

    missing = []
    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name.startswith("unit"):
            module = importlib.import_module(f"dlcourse.widgets.{mod.name}")
            for name, cls in vars(module).items():
                if inspect.isclass(cls) and issubclass(cls, Demo) and cls.__module__ == module.__name__:
                    params = inspect.signature(cls.__init__).parameters
                    if "headless" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                        missing.append(f"{mod.name}.{name}")
    assert missing == []
