"""The one pattern every widget follows: controls → ``compute`` → ``plot`` → a PNG.

A :class:`Demo` owns a dict of ipywidgets controls, a matplotlib figure and two
plain functions: ``compute(**values) -> data`` (pure, tested directly) and
``plot(fig, data)``. Whenever a control changes, the demo recomputes, redraws
and shows the figure as an ``ipywidgets.Image``. Displaying a demo also leaves
a static PNG of its current state in the notebook, so the built book (and any
viewer without a kernel) shows a picture instead of a blank.

Tests drive a demo headlessly: ``demo.controls["lr"].value = 0.5`` and then
look at ``demo.data``.
"""

from __future__ import annotations

import base64
import time
from typing import Callable

import ipywidgets as W
import traitlets
from matplotlib.figure import Figure

from ..plotting import MARGINS, SCREEN_DPI, FastRenderer, View, figure_png, static_image


# The grader's runner sets this: widgets are then built without computing or drawing anything.
HEADLESS = False


class FigureImage(W.Image):
    """An ``ipywidgets.Image`` with a text alternative: its ``tooltip`` becomes the image's ``title``.

    (ipywidgets' front end reads a ``description`` before it writes the title, which an Image lacks: this
    empty one lets it do so; without it, a tooltip breaks the view.)
    """

    description = traitlets.Unicode("").tag(sync=True)


class Demo:
    """Controls wired to a pure ``compute`` and a ``plot``; see the module docstring."""

    def __init__(self, controls: dict, compute: Callable[..., object], plot: View | Callable[[Figure, object], None],
                 figsize=(8, 3.2), title: str = "", hint: str = "", extra: list | None = None,
                 text: Callable[[object], str] | None = None, dpi: int = SCREEN_DPI):
        self.controls = dict(controls)
        self.compute, self.plot, self.text = compute, plot, text
        # A fixed layout: constrained layout would triple the time of every redraw.
        self.fig = Figure(figsize=figsize, dpi=dpi)
        self.margins = dict(MARGINS)
        # A View redraws only its changing artists over a cached background (see dlcourse.plotting.View).
        self.renderer = FastRenderer(self.fig, plot, self.margins) if isinstance(plot, View) else None
        self.dpi = dpi
        self.image = FigureImage(format="png", layout=W.Layout(max_width="100%"),
                                 tooltip=f"{title or 'Interactive figure'}: the picture the controls above draw")
        self.caption = W.HTML()
        self.data = None
        self.last_update_ms = 0.0
        self._hold = False
        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        header = [W.HTML(f"<b>{title}</b> — {hint}")] if title else []
        rows = [W.HBox(list(self.controls.values())[i:i + 3]) for i in range(0, len(self.controls), 3)]
        self.widget = W.VBox(header + rows + (extra or []) + [self.image, self.caption])
        self.update()

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def set(self, **values) -> None:
        """Change several controls at once with a single redraw."""
        self._hold = True
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._hold = False
        self.update()

    def _on_change(self, _change) -> None:
        if not self._hold:
            self.update()

    def update(self) -> None:
        if HEADLESS:
            return
        start = time.perf_counter()
        self.data = self.compute(**self.values())
        self.redraw()
        self.last_update_ms = 1000 * (time.perf_counter() - start)

    def redraw(self) -> None:
        if self.renderer is not None:
            self.png = self.renderer.render(self.data)
        else:
            self.fig.clear()
            self.fig.subplots_adjust(**self.margins)
            self.plot(self.fig, self.data)
            self.png = figure_png(self.fig, dpi=self.dpi)
        self.image.value = self.png
        if self.text is not None:
            self.caption.value = self.text(self.data)

    def _repr_mimebundle_(self, include=None, exclude=None):
        bundle = self.widget._repr_mimebundle_(include=include, exclude=exclude)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        data = dict(data)
        png, size = static_image(self.fig, self.renderer)   # HiDPI: twice the pixels, shown at `size`
        data["image/png"] = base64.b64encode(png).decode("ascii")
        data["text/plain"] = f"{type(self).__name__}: an interactive figure (run the notebook to use the controls)"
        return data, {"image/png": size}


def slider(value, low, high, step, description, integer=False, **kw):
    """A slider with a readable label width."""
    cls = W.IntSlider if integer else W.FloatSlider
    return cls(value=value, min=low, max=high, step=step, description=description,
               style={"description_width": "initial"}, continuous_update=False, **kw)


def dropdown(options, value, description):
    return W.Dropdown(options=options, value=value, description=description,
                      style={"description_width": "initial"})
