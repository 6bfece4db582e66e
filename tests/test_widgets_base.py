"""widgets/base.py: holding, the reconfigure hook, set_range and headless demos (argument or DLCOURSE_HEADLESS)."""

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
