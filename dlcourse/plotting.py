"""Plot helpers shared by every unit: a colour-blind-safe palette and PNG rendering."""

from __future__ import annotations

import io

import matplotlib


# Okabe & Ito's colour-blind-safe palette.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "purple": "#CC79A7", "sky": "#56B4E9", "yellow": "#F0E442", "black": "#000000",
}
CYCLE = [PALETTE[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky", "yellow", "black")]
matplotlib.rcParams["axes.prop_cycle"] = matplotlib.cycler(color=CYCLE)


def figure_png(fig, dpi: int = 72) -> bytes:
    """Render a matplotlib figure to PNG bytes (what widgets show and tests inspect)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


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

    def render(self, data) -> bytes:
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
        return canvas_png(self.canvas, compress_level)
