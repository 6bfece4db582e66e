"""Helpers shared by Unit 3's explorers: text drawn fast."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from ..plotting import FastRenderer, canvas_png, styled


@lru_cache(maxsize=256)
def text_array(text: str, size: int = 10) -> np.ndarray:
    """``text`` in a monospace font as an RGBA array (for ``fig.figimage``).

    Matplotlib lays out and rasterises text slowly (tens of milliseconds for a table);
    a widget that changes its table on every update draws it with Pillow instead, once
    per distinct text.
    """
    import matplotlib.font_manager as fm
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(fm.findfont(fm.FontProperties(family="DejaVu Sans Mono")), size)
    left, top, right, bottom = ImageDraw.Draw(Image.new("RGBA", (1, 1))).multiline_textbbox((0, 0), text, font=font)
    image = Image.new("RGBA", (right + 4, bottom + 4), (255, 255, 255, 0))
    ImageDraw.Draw(image).multiline_text((2, 2), text, font=font, fill=(0, 0, 0, 255))
    return np.asarray(image)


class TextPanel:
    """A block of text pinned to the top left of ``ax``, drawn as an image (see :func:`text_array`).

    ``size`` is in points, like every other text of the figure (converted to pixels at the figure's dpi).
    """

    def __init__(self, fig, ax, size: float = 10):
        ax.axis("off")
        box = ax.get_position()
        width, height = fig.bbox.width, fig.bbox.height
        self.top, self.left = box.y1 * height, box.x0 * width - 20 * fig.dpi / 96
        self.size = max(1, round(size * fig.dpi / 72))
        self.image = fig.figimage(np.zeros((1, 1, 4)), xo=int(self.left), yo=int(self.top), origin="upper")

    def set_text(self, text: str):
        arr = text_array(text, self.size)
        self.image.set_data(arr)
        self.image.oy = int(self.top - arr.shape[0])
        return self.image




class LayeredRenderer(FastRenderer):
    """A :class:`dlcourse.plotting.FastRenderer` that keeps one static layer per key.

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
        self.layers[key] = {"axes": [a for a in self.fig.axes if a not in axes_before],
                            "images": [im for im in self.fig.images if im not in images_before],
                            "state": dict(self.view.__dict__),
                            "background": self.canvas.copy_from_bbox(self.fig.bbox)}
        while len(self.layers) > self.max_layers:
            _, old = self.layers.popitem(last=False)
            for ax in old["axes"]:
                ax.remove()
            for im in old["images"]:
                im.remove()

    def png(self, compress_level: int = 6) -> bytes:
        return canvas_png(self.canvas, compress_level)

    def reset(self) -> None:
        """Drop every layer (after a change of resolution): the next :meth:`render` draws from scratch."""
        for layer in self.layers.values():
            for artist in layer["axes"] + layer["images"]:
                artist.remove()
        self.layers.clear()
        self._key = object()
