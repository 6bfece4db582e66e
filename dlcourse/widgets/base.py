"""The one pattern every widget follows: controls → ``compute`` → ``plot`` → a PNG.

A :class:`Demo` owns a dict of ipywidgets controls, a matplotlib figure and two
plain functions: ``compute(**values) -> data`` (pure, tested directly) and
``plot(fig, data)``. Whenever a control changes, the demo recomputes, redraws
and shows the figure as an ``ipywidgets.Image``. Displaying a demo also leaves
a static PNG of its current state in the notebook, so the built book (and any
viewer without a kernel) shows a picture instead of a blank.

Tests drive a demo headlessly: ``demo.controls["lr"].value = 0.5`` and then
look at ``demo.data``.

A demo whose controls depend on each other (a preset that sets the sliders, a landscape
that sets their ranges) lists those controls in ``reconfigure_on`` and overrides
:meth:`Demo.reconfigure`; the other controls change inside :meth:`Demo.holding`, so that
the demo redraws once. :func:`set_range` moves a slider's range and value together.

A step slider and the play button that animates it span the same steps: :meth:`Demo.set_steps`.

``Demo(..., headless=True)``, or the environment variable ``DLCOURSE_HEADLESS=1``, builds
the controls without computing or drawing anything (the grader's sandbox sets it). Every
``make_*`` factory and every ``Demo`` subclass takes ``headless=`` and passes it on; work a
demo needs before its first picture (training a model, filling a cache) goes in ``warm``
(an argument, or the method of a subclass), which the first update runs, so never when headless.
"""

from __future__ import annotations

import base64
import os
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import ipywidgets as W
import traitlets
from matplotlib.figure import Figure

from ..plotting import MARGINS, SCREEN_DPI, FastRenderer, View, figure_png, static_image

HEADLESS_ENV = "DLCOURSE_HEADLESS"


def headless_from_env() -> bool:
    """True when ``DLCOURSE_HEADLESS`` is set to anything but ``""``, ``0`` or ``false``."""
    return os.environ.get(HEADLESS_ENV, "").strip().lower() not in ("", "0", "false")


def resolve_headless(headless: bool | None) -> bool:
    """``headless`` if given, else what ``DLCOURSE_HEADLESS`` says (see :func:`headless_from_env`)."""
    return headless_from_env() if headless is None else bool(headless)


class FigureImage(W.Image):
    """An ``ipywidgets.Image`` with a text alternative: its ``tooltip`` becomes the image's ``title``.

    (ipywidgets' front end reads a ``description`` before it writes the title, which an Image lacks: this
    empty one lets it do so; without it, a tooltip breaks the view.)
    """

    description = traitlets.Unicode("").tag(sync=True)


class Demo:
    """Controls wired to a pure ``compute`` and a ``plot``; see the module docstring."""

    reconfigure_on: tuple[str, ...] = ()   # controls whose change calls reconfigure(name, value) first

    def __init__(self, controls: dict, compute: Callable[..., object], plot: View | Callable[[Figure, object], None],
                 figsize=(8, 3.2), title: str = "", hint: str = "", extra: list | None = None,
                 text: Callable[[object], str] | None = None, dpi: int = SCREEN_DPI, headless: bool | None = None,
                 warm: Callable[[], None] | None = None):
        self.headless = resolve_headless(headless)
        self._warm, self.warmed = warm, False
        self.controls = dict(controls)
        self.compute, self.plot, self.text = compute, plot, text
        # A fixed layout: constrained layout would triple the time of every redraw.
        self.fig = Figure(figsize=figsize, dpi=dpi)
        self.margins = dict(MARGINS)
        # A View redraws only its changing artists over a cached background (see dlcourse.plotting.View).
        self.renderer = self.make_renderer()
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
        """Change several controls at once with a single redraw (none inside an outer :meth:`holding`)."""
        with self.holding() as held:
            for name, value in values.items():
                self.controls[name].value = value
        if not held:
            self.update()

    def set_steps(self, last: int, name: str = "step") -> None:
        """Let the step slider ``name`` and the demo's play button (``self.play``, if any) run from 0 to ``last``.

        A value past the new end is clamped to it, without a redraw of its own.
        """
        with self.holding():
            control = self.controls[name]
            set_range(control, 0, last, min(control.value, last))
            if getattr(self, "play", None) is not None:
                set_range(self.play, 0, last, min(self.play.value, last))

    @contextmanager
    def holding(self) -> Iterator[bool]:
        """Change controls inside ``with demo.holding():`` without a redraw per change.

        Yields whether the demo was already holding (inside :meth:`set`, say), which restores it on exit.
        """
        held, self._hold = self._hold, True
        try:
            yield held
        finally:
            self._hold = held

    def reconfigure(self, name: str, value) -> None:
        """Hook: adjust the other controls when control ``name`` (one of ``reconfigure_on``) becomes ``value``.

        Runs inside :meth:`holding`; the demo redraws once afterwards (unless a caller is holding).
        """

    def _on_change(self, change) -> None:
        if self.reconfigure_on:
            name = next((k for k, c in self.controls.items() if c is change["owner"]), None)
            if name in self.reconfigure_on:
                with self.holding():
                    self.reconfigure(name, change["new"])
        if not self._hold:
            self.update()

    def warm(self) -> None:
        """Hook: the expensive work the first picture needs (train a model, fill a cache); never run headless.

        Runs once, at the first update, inside :meth:`holding` (so it may set controls). The default
        calls the ``warm`` given to the constructor.
        """
        if self._warm is not None:
            self._warm()

    def update(self) -> None:
        if self.headless:
            return
        if not self.warmed:
            self.warmed = True
            with self.holding():
                self.warm()
        start = time.perf_counter()
        self.data = self.compute(**self.values())
        self.redraw()
        self.last_update_ms = 1000 * (time.perf_counter() - start)

    def make_renderer(self):
        """The renderer of a :class:`View` plot (override for another kind, as Unit 3's race does)."""
        return FastRenderer(self.fig, self.plot, self.margins) if isinstance(self.plot, View) else None

    def renderer_for(self, data):
        """The renderer that draws ``data`` (override to keep, say, one cached figure per mode)."""
        return self.renderer

    def redraw(self) -> None:
        renderer = self.renderer_for(self.data)
        if renderer is not None:
            self.png = renderer.render(self.data)
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
        # HiDPI: twice the pixels, shown at `size`
        png, size = static_image(self.fig, self.renderer_for(self.data))
        data["image/png"] = base64.b64encode(png).decode("ascii")
        data["text/plain"] = f"{type(self).__name__}: an interactive figure (run the notebook to use the controls)"
        return data, {"image/png": size}


def set_range(control, low, high, value=None, step=None) -> None:
    """Give a slider a new ``[low, high]`` (and ``value``, ``step``) in one go, whatever the old range was.

    Setting ``min`` above the old ``max`` one at a time would be rejected; ipywidgets checks the
    traits together at the end of ``hold_trait_notifications``.
    """
    with control.hold_trait_notifications():
        control.min, control.max = low, high
        if step is not None:
            control.step = step
        if value is not None:
            control.value = value


def slider(value, low, high, step, description, integer=False, **kw):
    """A slider with a readable label width."""
    cls = W.IntSlider if integer else W.FloatSlider
    return cls(value=value, min=low, max=high, step=step, description=description,
               style={"description_width": "initial"}, continuous_update=False, **kw)


def dropdown(options, value, description):
    return W.Dropdown(options=options, value=value, description=description,
                      style={"description_width": "initial"})
