"""Plot helpers shared by every unit: the course's figure style, a colour-blind-safe palette and PNG rendering.

Importing this module changes no global state. The course style (Okabe & Ito's palette, text of at least
:data:`MIN_FONT_PT` points) is applied inside :func:`style` — a ``with`` block, or :func:`styled` as a
decorator — around everything that draws; :func:`dlcourse.notebook.setup` applies it to the notebook session.
Figures are laid out at :data:`SCREEN_DPI` (a CSS pixel is 1/96 inch, so 9 pt in a figure is 9 pt on the
page); the static pictures a notebook keeps are rendered at :data:`STATIC_SCALE` times that resolution, for
HiDPI screens.
"""

from __future__ import annotations

import contextlib
import functools
import io

import matplotlib


# Okabe & Ito's colour-blind-safe palette.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000",
}
CYCLE = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")]
# A diverging colour map that stays readable with every common colour-vision deficiency, and a sequential one.
DIVERGING, SEQUENTIAL = "PuOr", "viridis"

MIN_FONT_PT = 9
SCREEN_DPI = 96          # figure inches → CSS pixels: what an interactive widget draws
STATIC_SCALE = 2         # the static picture kept in a notebook: 2 device pixels per CSS pixel

STYLE = {
    "axes.prop_cycle": matplotlib.cycler(color=CYCLE),
    "image.cmap": SEQUENTIAL,
    "font.size": 10,
    "axes.titlesize": 10, "axes.labelsize": 10, "figure.titlesize": 11,
    "xtick.labelsize": MIN_FONT_PT, "ytick.labelsize": MIN_FONT_PT,
    "legend.fontsize": MIN_FONT_PT, "legend.title_fontsize": MIN_FONT_PT,
    "figure.dpi": SCREEN_DPI,
}


def style():
    """The course's figure style, for a ``with`` block: ``with style(): fig = plt.figure() ...``.

    Text sizes are read when an artist is made and tick labels when a figure is drawn, so both making and
    drawing a figure belong inside the block (or after :func:`dlcourse.notebook.setup`, which applies the
    style to the whole notebook session).
    """
    return matplotlib.rc_context(STYLE)


def styled(fn):
    """Decorator: run ``fn`` inside :func:`style`."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with style():
            return fn(*args, **kwargs)
    return wrapper


def diverging_note(cmap: str = DIVERGING) -> str:
    """Which colours a diverging map gives to positive and negative values, e.g. ``"purple positive, orange negative"``.

    Computed from the map itself (near its two ends), so a title never contradicts the picture.
    """
    cm = matplotlib.colormaps[cmap]
    return f"{colour_name(cm(0.9))} positive, {colour_name(cm(0.1))} negative"


_HUES = [(15, "red"), (45, "orange"), (70, "yellow"), (170, "green"), (200, "teal"), (260, "blue"),
         (320, "purple"), (345, "pink"), (360, "red")]


def colour_name(rgba) -> str:
    """A plain name for an RGB(A) colour, from its hue (for titles that say what the colours mean)."""
    import colorsys

    h, s, v = colorsys.rgb_to_hsv(*rgba[:3])
    if s < 0.15:
        return "white" if v > 0.85 else "black" if v < 0.15 else "grey"
    return next(name for limit, name in _HUES if 360 * h < limit)


def picture(image):
    """Mark an image as a picture of the data itself (a digit), or a one-colour region, which needs no colour bar.

    Every other image or mesh is a heatmap of values, and gets a colour bar (``tests/test_figures.py``).
    """
    image.set_gid("picture")
    return image


def is_picture(artist) -> bool:
    return artist.get_gid() == "picture"


def colorbar(ax, mappable=None, *, cmap=None, vmin=None, vmax=None, label: str = "", **kw):
    """A colour bar beside ``ax``: for ``mappable``, or for the colours ``cmap`` gives ``vmin..vmax``.

    The second form serves heatmaps a widget redraws on every update (a ``contourf`` swapped each frame): the
    bar is drawn once, with the static layer, and ``has_colorbar(ax)`` says the axes' colours are explained.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    if mappable is None:
        mappable = ScalarMappable(Normalize(vmin, vmax), cmap)
    axes = list(ax) if isinstance(ax, (list, tuple)) else [ax]
    cb = axes[0].figure.colorbar(mappable, ax=ax, label=label, **kw)
    for a in axes:   # one bar may serve several axes drawn with the same colours
        a._dlcourse_colorbar = cb
    return cb


def has_colorbar(ax) -> bool:
    return getattr(ax, "_dlcourse_colorbar", None) is not None


def number(x: float, digits: int = 2) -> str:
    """``x`` rounded for a label, never as ``-0.00`` (a product with a zero pixel is just 0)."""
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _renderer(fig):
    canvas = fig.canvas
    if not hasattr(canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        canvas = FigureCanvasAgg(fig)
    return canvas.get_renderer()


def legend_outside(ax, where: str = "right", pad: float = 0.01, gap: float = 0.0, **kw):
    """Draw ``ax``'s legend outside its data: at the ``"right"`` of the axes or ``"below"`` its x-axis label.

    The axes shrink to make room (the figure keeps its size and the other axes their place), so a legend
    never covers a curve or a point. Call it after the axis labels are set; ``gap`` (points) keeps room below
    for texts placed by hand under the axis. ``kw`` goes to :meth:`matplotlib.axes.Axes.legend`.
    """
    if where not in ("right", "below"):
        raise ValueError(f"where must be 'right' or 'below', got {where!r}")
    fig, renderer = ax.figure, _renderer(ax.figure)
    legend = ax.legend(loc="upper left" if where == "right" else "upper center", borderaxespad=0, **kw)
    box = legend.get_window_extent(renderer).transformed(fig.transFigure.inverted())
    pos = ax.get_position(original=True)
    if where == "right":
        ax.set_position([pos.x0, pos.y0, pos.width - box.width - 2 * pad, pos.height])
        legend.set_bbox_to_anchor((1 + pad / max(pos.width - box.width - 2 * pad, 1e-3), 1), transform=ax.transAxes)
    else:
        room = box.height + pad + gap / 72 / fig.get_figheight()
        ax.set_position([pos.x0, pos.y0 + room, pos.width, pos.height - room])
        tight = ax.get_tightbbox(renderer, bbox_extra_artists=[]).transformed(fig.transFigure.inverted())
        top = min(tight.y0, pos.y0 + room) - pad / 2 - gap / 72 / fig.get_figheight()
        short = max(0.0, pad / 2 - (top - box.height))   # the labels below already used the bottom margin
        ax.set_position([pos.x0, pos.y0 + room + short, pos.width, pos.height - room - short])
        legend.set_bbox_to_anchor((pos.x0 + pos.width / 2, top + short), transform=fig.transFigure)
    return legend


def figure_png(fig, dpi: float | None = None) -> bytes:
    """Render a matplotlib figure to PNG bytes at ``dpi`` (default: the figure's own), in the course style."""
    buf = io.BytesIO()
    with style():
        fig.savefig(buf, format="png", dpi=fig.dpi if dpi is None else dpi)
    return buf.getvalue()


def static_image(fig, renderer: "FastRenderer | None" = None) -> tuple[bytes, dict]:
    """The picture a notebook keeps of a widget: a PNG at ``STATIC_SCALE`` × the figure's dpi, and the
    ``{"width", "height"}`` (CSS pixels) to show it at, as Jupyter's ``image/png`` metadata."""
    if renderer is not None:
        return renderer.static_png(), renderer.display_size()
    width, height = fig.get_size_inches() * fig.dpi
    return figure_png(fig, dpi=STATIC_SCALE * fig.dpi), {"width": int(round(width)), "height": int(round(height))}


def canvas_png(canvas, compress_level: int = 6) -> bytes:
    """What an Agg canvas holds now, as PNG bytes, without drawing it again (fast renderers blit, then call this)."""
    from PIL import Image

    width, height = canvas.get_width_height()
    image = Image.frombuffer("RGBA", (width, height), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    image.convert("RGB").save(buf, format="png", compress_level=compress_level)
    return buf.getvalue()


class View:
    """A figure drawn in two layers, so that a widget can redraw only what changes.

    ``setup(fig, data)`` draws what stays (axes, labels, limits, reference curves);
    ``update(data)`` sets or creates the artists that change and returns them.
    ``key(data)`` names the static layer: when it changes, ``setup`` runs again.
    :class:`FastRenderer` draws the static layer once, caches it as a bitmap and
    repaints only the returned artists on top (matplotlib "blitting").
    """

    def key(self, data):
        return None

    def setup(self, fig, data) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, data) -> list:  # pragma: no cover - abstract
        raise NotImplementedError

    def plot(self, fig, data) -> None:
        """Draw everything at once (for static figures and the book)."""
        self.setup(fig, data)
        self.update(data)

    def _swap(self, name: str, artists):
        """Remove the artists stored under ``name`` last time, store and return the new ones."""
        for old in getattr(self, "_transient", {}).get(name, []):
            old.remove()
        self.__dict__.setdefault("_transient", {})[name] = list(artists)
        return list(artists)


MARGINS = dict(left=0.08, right=0.98, bottom=0.16, top=0.88, wspace=0.3, hspace=0.35)


class FastRenderer:
    """Render a :class:`View` to PNG bytes, redrawing the static layer only when its key changes."""

    def __init__(self, fig, view: View, margins: dict | None = None):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig, self.view = fig, view
        self.canvas = FigureCanvasAgg(fig)
        self.margins = dict(MARGINS if margins is None else margins)
        self._key = object()
        self._background = None
        self.full_redraws = 0

    @styled
    def render(self, data) -> bytes:
        self._data = data
        key = self.view.key(data)
        if self._background is None or key != self._key:
            self.fig.clear()
            self.view.__dict__.pop("_transient", None)
            self.fig.subplots_adjust(**self.margins)
            self.view.setup(self.fig, data)
            artists = self.view.update(data)
            for a in artists:
                a.set_animated(True)
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.fig.bbox)
            self._key = key
            self.full_redraws += 1
        else:
            artists = self.view.update(data)
            for a in artists:
                a.set_animated(True)
        self.canvas.restore_region(self._background)
        for a in artists:
            if a.get_visible():
                self.fig.draw_artist(a)
        return self.png(compress_level=1)

    def png(self, compress_level: int = 6) -> bytes:
        """What the canvas shows now (at the figure's dpi), as PNG bytes."""
        return canvas_png(self.canvas, compress_level)

    def display_size(self) -> dict:
        """The canvas size in CSS pixels, as Jupyter's ``image/png`` metadata."""
        width, height = self.canvas.get_width_height()
        return {"width": width, "height": height}

    def reset(self) -> None:
        """Forget the cached static layer: the next :meth:`render` draws everything."""
        self._background = None

    @styled
    def static_png(self, scale: float = STATIC_SCALE) -> bytes:
        """The last rendered state drawn in full at ``scale`` × the figure's dpi (the static picture).

        The view draws itself again at the higher resolution (pixel-sized parts such as text panels drawn
        as images scale too), then once more at screen resolution, so the live widget goes on as before.
        """
        data, dpi = getattr(self, "_data", None), self.fig.dpi
        if data is None:
            return figure_png(self.fig, dpi=scale * dpi)
        try:
            self.fig.set_dpi(scale * dpi)
            self.reset()
            self.render(data)
            return self.png()
        finally:
            self.fig.set_dpi(dpi)
            self.reset()
            self.render(data)


class LayeredRenderer(FastRenderer):
    """A :class:`FastRenderer` that keeps one static layer per key (Unit 3's race, Unit 5's architecture builder).

    ``FastRenderer`` redraws the whole figure whenever ``view.key(data)`` changes. Here every
    key gets its own axes, kept hidden in the figure while another key is shown, with its
    own cached background bitmap and the view's attributes at that time: going back to a
    key seen before (the race's previous landscape) costs no redraw at all. At most
    ``max_layers`` layers are kept, the least recently shown dropped first.
    """

    def __init__(self, fig, view, margins: dict, max_layers: int = 8):
        from collections import OrderedDict

        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig, self.view, self.margins, self.max_layers = fig, view, dict(margins), max_layers
        self.canvas = FigureCanvasAgg(fig)
        self.layers = OrderedDict()  # key -> dict(axes, images, state, background)
        self._key = object()
        self.full_redraws = 0

    @styled
    def render(self, data) -> bytes:
        self._data = data
        key = self.view.key(data)
        if key != self._key:
            self._show(key, data)
        artists = self.view.update(data)
        for a in artists:
            a.set_animated(True)
        self.canvas.restore_region(self.layers[key]["background"])
        for a in artists:
            if a.get_visible():
                self.fig.draw_artist(a)
        return self.png(compress_level=1)

    def _show(self, key, data) -> None:
        if self._key in self.layers:  # remember the view's artists of the layer being left
            self.layers[self._key]["state"] = dict(self.view.__dict__)
        for layer in self.layers.values():
            for artist in layer["axes"] + layer["images"]:
                artist.set_visible(False)
        if key in self.layers:
            layer = self.layers[key]
            self.layers.move_to_end(key)
            for artist in layer["axes"] + layer["images"]:
                artist.set_visible(True)
            self.view.__dict__.clear()
            self.view.__dict__.update(layer["state"])
        else:
            self._add(key, data)
        self._key = key

    def _add(self, key, data) -> None:
        axes_before, images_before = set(self.fig.axes), set(self.fig.images)
        # subplots_adjust lays out every axes again: keep the hidden layers' axes where they were drawn
        kept = {ax: ax.get_position(original=True) for ax in axes_before}
        self.view.__dict__.pop("_transient", None)
        self.fig.subplots_adjust(**self.margins)
        self.view.setup(self.fig, data)
        for ax, position in kept.items():
            ax.set_position(position)
        for a in self.view.update(data):
            a.set_animated(True)
        self.canvas.draw()
        self.full_redraws += 1
        self.layers[key] = {"data": data,      # what drew it: static_png draws the layer again from it
                            "axes": [a for a in self.fig.axes if a not in axes_before],
                            "images": [im for im in self.fig.images if im not in images_before],
                            "state": dict(self.view.__dict__),
                            "background": self.canvas.copy_from_bbox(self.fig.bbox)}
        while len(self.layers) > self.max_layers:
            _, old = self.layers.popitem(last=False)
            for ax in old["axes"]:
                ax.remove()
            for im in old["images"]:
                im.remove()

    def static_png(self, scale: float = STATIC_SCALE) -> bytes:
        """:meth:`FastRenderer.static_png`, which drops every layer to draw at another resolution; the layers kept
        before are drawn again afterwards (oldest first), so that no later switch of key waits for a full draw."""
        kept = [layer["data"] for key, layer in self.layers.items() if key != self._key]
        png = super().static_png(scale)
        if kept:
            current = self._data
            for data in kept:
                self.render(data)
            self.render(current)     # the key on show goes back on the canvas
        return png

    def png(self, compress_level: int = 6) -> bytes:
        return canvas_png(self.canvas, compress_level)

    def reset(self) -> None:
        """Drop every layer (after a change of resolution): the next :meth:`render` draws from scratch."""
        for layer in self.layers.values():
            for artist in layer["axes"] + layer["images"]:
                artist.remove()
        self.layers.clear()
        self._key = object()
