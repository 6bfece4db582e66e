"""Figures worth looking at: every widget's static picture and the notebooks' saved figures, checked.

Each widget demo of every unit (``BENCHMARK_CASES``) is built in its default state — the state whose picture a
notebook keeps and the book shows — and its figure is drawn in full. Then:

* the static picture is HiDPI: ``STATIC_SCALE`` (2) device pixels per CSS pixel, shown at the figure's size;
* every visible text (tick labels, axis labels, titles, legends, colour-bar labels, annotations) is ≥ 9 pt;
* every heatmap (an ``AxesImage`` or ``QuadMesh``) has a colour bar, unless it is marked as a picture of the
  data itself (a digit) with :func:`dlcourse.plotting.picture`;
* labels write subscripts as math (``$W_{hh}$``), never as plain ``W_hh``; no number reads ``-0.00``;
* no legend covers a data point;
* the default state says something (1.4's playground shows a trained loss curve, 5.1's explorer a non-empty
  output).

And for the notebooks: every saved PNG is HiDPI (its pixel width is twice the width it is shown at), and no code
cell asks for text smaller than 9 pt. Importing the package changes no matplotlib setting.
"""

from __future__ import annotations

import importlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.contour import ContourSet
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.text import Text

from dlcourse import plotting

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "units").glob("*/*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _factories() -> dict:
    """Every widget demo, once (several benchmark rows share a factory)."""
    out, seen = {}, set()
    for unit in range(1, 6):
        module = importlib.import_module(f"dlcourse.widgets.unit{unit}")
        for name, (factory, _moves) in module.BENCHMARK_CASES.items():
            if factory not in seen:
                seen.add(factory)
                out[name] = factory
    return out


FACTORIES = _factories()
_BUILT: dict = {}


def built(name):
    """The demo in its default state, its static picture (PNG bytes) and the size it is shown at."""
    if name not in _BUILT:
        demo = FACTORIES[name]()
        png, size = plotting.static_image(demo.fig, demo.renderer)
        _BUILT[name] = (demo, png, size)
    return _BUILT[name]


def png_size(png: bytes) -> tuple[int, int]:
    from PIL import Image

    return Image.open(io.BytesIO(png)).size


def visible_texts(fig) -> list[Text]:
    """Every text a reader sees (the figure has just been drawn, so its tick labels exist)."""
    def shown(t):
        artist = t
        while artist is not None:
            if not artist.get_visible():
                return False
            artist = getattr(artist, "axes", None) if artist is t else None
        return bool(t.get_text().strip())
    return [t for t in fig.findobj(Text) if shown(t) and (t.axes is None or t.axes.get_visible())]


MATH = re.compile(r"\$[^$]*\$")
PLAIN_SUBSCRIPT = re.compile(r"(?<![\w\\])[A-Za-z]{1,2}_\{?[A-Za-z0-9]{1,3}\b")
NEGATIVE_ZERO = re.compile(r"(?<![\d.])-0(?:\.0+)?(?![\d.]*[1-9])\b")


def plain_subscripts(text: str) -> list[str]:
    return PLAIN_SUBSCRIPT.findall(MATH.sub("", text))


def is_colorbar_axes(ax) -> bool:
    return getattr(ax, "_colorbar", None) is not None


def heatmaps_without_colorbar(fig) -> list[str]:
    missing = []
    for ax in fig.axes:
        if not ax.get_visible() or is_colorbar_axes(ax):
            continue
        heatmaps = list(ax.images) + [c for c in ax.collections if isinstance(c, QuadMesh)]
        heatmaps += [c for c in ax.collections if isinstance(c, ContourSet) and c.filled]
        for artist in heatmaps:
            if (artist.get_visible() and artist.colorbar is None and not plotting.is_picture(artist)
                    and not plotting.has_colorbar(ax)):
                missing.append(f"{type(artist).__name__} in axes {ax.get_title()!r}")
    return missing


def data_points(ax) -> np.ndarray:
    """Display coordinates of the data points drawn in ``ax`` (line vertices and scatter offsets)."""
    pts = []
    for line in ax.lines:
        if line.get_visible() and len(line.get_xydata()):
            xy = np.asarray(line.get_xydata(), dtype=float)
            pts.append(line.get_transform().transform(xy[np.isfinite(xy).all(axis=1)]))
    for col in ax.collections:
        if isinstance(col, PathCollection) and col.get_visible() and len(col.get_offsets()):
            xy = np.asarray(col.get_offsets(), dtype=float)
            pts.append(col.get_offset_transform().transform(xy[np.isfinite(xy).all(axis=1)]))
    return np.concatenate(pts) if pts else np.zeros((0, 2))


def covered_points(fig) -> list[str]:
    """Legends that hide data: how many data points of their axes lie under each."""
    problems = []
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None or not legend.get_visible() or not ax.get_visible():
            continue
        box = legend.get_window_extent(renderer)
        clip = ax.get_window_extent(renderer)
        pts = data_points(ax)
        inside = pts[(pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1)
                     & (pts[:, 0] >= clip.x0) & (pts[:, 0] <= clip.x1) & (pts[:, 1] >= clip.y0)
                     & (pts[:, 1] <= clip.y1)]
        if len(inside):
            problems.append(f"legend of {ax.get_title()!r} covers {len(inside)} data points")
    return problems


# ----------------------------------------------------------------------------------- every widget's picture
@pytest.mark.parametrize("name", list(FACTORIES))
class TestWidgetPictures:
    def test_static_picture_is_hidpi(self, name):
        demo, png, size = built(name)
        assert demo.fig.dpi >= plotting.SCREEN_DPI
        width, height = png_size(png)
        for got, shown in ((width, size["width"]), (height, size["height"])):
            assert abs(got - plotting.STATIC_SCALE * shown) <= 1, (width, height, size)  # rounding
        # and the live widget keeps a sensible resolution (1 pixel per CSS pixel): fast redraws
        assert png_size(demo.png) == (size["width"], size["height"])

    def test_text_is_at_least_9pt(self, name):
        demo, _, _ = built(name)
        small = sorted({(t.get_fontsize(), t.get_text()[:30]) for t in visible_texts(demo.fig)
                        if t.get_fontsize() < plotting.MIN_FONT_PT})
        assert not small, f"{name}: text under {plotting.MIN_FONT_PT} pt: {small[:10]}"

    def test_heatmaps_have_colour_bars(self, name):
        demo, _, _ = built(name)
        assert not heatmaps_without_colorbar(demo.fig), name

    def test_subscripts_are_math_and_no_negative_zero(self, name):
        demo, _, _ = built(name)
        texts = [t.get_text() for t in visible_texts(demo.fig)]
        assert not [s for t in texts for s in plain_subscripts(t)], f"{name}: write subscripts as $W_{{hh}}$"
        assert not [t for t in texts if NEGATIVE_ZERO.search(MATH.sub("", t))], f"{name}: a number reads -0"

    def test_legends_leave_the_data_visible(self, name):
        demo, _, _ = built(name)
        assert not covered_points(demo.fig), name


def test_playground_default_shows_a_trained_loss_curve():
    demo, _, _ = built("unit1 network playground (train frame)")
    assert demo.data.steps > 0 and len(demo.data.losses) > 1
    assert demo.data.losses[-1] < demo.data.losses[0]


def test_convolution_explorer_default_shows_an_output():
    demo, _, _ = built("unit5 convolution explorer")
    assert np.ptp(demo.data.output) > 0
    texts = [t.get_text() for t in visible_texts(demo.fig)]
    assert not [t for t in texts if NEGATIVE_ZERO.search(t)]


def test_static_picture_is_the_state_shown():
    """The 2x picture is the same state as the live one: the moving artists are drawn in it too."""
    from PIL import Image

    demo, png, _ = built("unit1 activation explorer")
    live = np.asarray(Image.open(io.BytesIO(demo.png)).convert("L"), dtype=float)
    static = np.asarray(Image.open(io.BytesIO(png)).convert("L").resize(live.shape[::-1]), dtype=float)
    assert np.abs(live - static).mean() < 8
    demo.controls["n_layers"].value = 20     # the live renderer still works after a static picture
    assert png_size(demo.png) == live.shape[::-1]


# ------------------------------------------------------------------------------------------- the checks
def test_checks_catch_what_they_look_for():
    assert plain_subscripts("W_hh and x_1, h_{t}") == ["W_hh", "x_1", "h_{t"]
    assert plain_subscripts("$W_{hh}$ and $x_1$, weight_decay") == []
    assert NEGATIVE_ZERO.search("-0.00") and NEGATIVE_ZERO.search("x = -0")
    assert not NEGATIVE_ZERO.search("-0.01") and not NEGATIVE_ZERO.search("-0.5") and not NEGATIVE_ZERO.search("10-0.1")
    fig = matplotlib.figure.Figure(dpi=96)
    ax = fig.subplots()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    ax.imshow(np.eye(3))
    ax.plot([0, 1, 2], [0, 1, 2], label="a")
    ax.legend(loc="center")
    fig.canvas.draw()
    assert heatmaps_without_colorbar(fig) and covered_points(fig)


def test_diverging_note_is_computed_from_the_colours():
    assert plotting.diverging_note("PuOr") == "purple positive, orange negative"
    assert plotting.diverging_note("RdBu") == "blue positive, red negative"
    assert plotting.diverging_note("PuOr_r") == "orange positive, purple negative"


def test_importing_the_package_changes_no_matplotlib_setting():
    code = ("import matplotlib; before = dict(matplotlib.rcParams); "
            "import dlcourse, dlcourse.plotting, dlcourse.widgets.unit1, dlcourse.widgets.unit5; "
            "changed = [k for k, v in matplotlib.rcParams.items() if before[k] != v]; print(changed)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"MPLBACKEND": "Agg", "PATH": ""}).stdout.strip()
    assert out == "[]"


def test_style_is_a_context():
    before = dict(matplotlib.rcParams)
    with plotting.style():
        assert matplotlib.rcParams["legend.fontsize"] == plotting.MIN_FONT_PT
        assert matplotlib.rcParams["axes.prop_cycle"].by_key()["color"] == plotting.CYCLE
    assert dict(matplotlib.rcParams) == before

    @plotting.styled
    def size():
        return matplotlib.rcParams["xtick.labelsize"]
    assert size() == plotting.MIN_FONT_PT and matplotlib.rcParams["xtick.labelsize"] == before["xtick.labelsize"]


# --------------------------------------------------------------------------------------------- notebooks
def _images(nb_path):
    nb = json.loads(nb_path.read_text())
    for i, cell in enumerate(nb["cells"]):
        for out in cell.get("outputs", []):
            if "image/png" in out.get("data", {}):
                yield i, out


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_figures_are_hidpi(notebook):
    import base64

    low = []
    for i, out in _images(notebook):
        meta = out.get("metadata", {}).get("image/png", {})
        width, _ = png_size(base64.b64decode(out["data"]["image/png"]))
        if not meta.get("width") or width < 1.9 * meta["width"]:
            low.append(f"cell {i}: {width} px shown at {meta.get('width', 'its own size')}")
    assert not low, f"{notebook.name}: re-execute it after `setup()` (retina figures): {low}"


SMALL_FONT = re.compile(r"(?:fontsize|labelsize)\s*=\s*(?:[0-8](?:\.\d+)?\b|['\"](?:x-|xx-)?small['\"])")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_code_asks_for_no_small_text(notebook):
    nb = json.loads(notebook.read_text())
    bad = [m.group(0) for c in nb["cells"] if c["cell_type"] == "code"
           for m in SMALL_FONT.finditer("".join(c["source"]))]
    assert not bad, f"{notebook.name}: {bad}"


def test_package_asks_for_no_small_text():
    bad = [f"{p.relative_to(ROOT)}: {m.group(0)}" for p in (ROOT / "dlcourse").rglob("*.py")
           for m in SMALL_FONT.finditer(p.read_text())]
    assert not bad, bad


def test_legend_outside_moves_the_legend_off_the_data():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for where in ("right", "below"):
        fig = matplotlib.figure.Figure(figsize=(4, 3), dpi=96)
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        x = np.linspace(0, 1, 50)
        for k in range(4):
            ax.plot(x, x * k, label=f"line {k}")
        ax.set_xlabel("x")
        legend = plotting.legend_outside(ax, where, ncol=2 if where == "below" else 1)
        fig.canvas.draw()
        box, axes_box = legend.get_window_extent(), ax.get_window_extent()
        assert box.x0 >= axes_box.x1 - 1 if where == "right" else box.y1 <= axes_box.y0
        assert not covered_points(fig)
        assert 0 <= box.x0 and box.x1 <= fig.bbox.width and 0 <= box.y0   # inside the figure
    with pytest.raises(ValueError, match="where must be 'right' or 'below', got 'left'"):
        plotting.legend_outside(ax, "left")


def test_number_never_shows_negative_zero():
    assert [plotting.number(x) for x in (-0.0, -0.001, 0.004, -0.5, 1.234)] == ["0.00", "0.00", "0.00", "-0.50",
                                                                                "1.23"]
    assert plotting.number(-0.0004, digits=3) == "0.000" and plotting.number(-0.0006, digits=3) == "-0.001"
