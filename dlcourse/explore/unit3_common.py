"""Helpers shared by Unit 3's explorers: text drawn fast, and BLAS kept to one thread."""

from __future__ import annotations

import functools
from functools import lru_cache

import numpy as np


def single_threaded(fn):
    """Run ``fn`` with BLAS limited to one thread.

    The explorers multiply small matrices, where BLAS threads gain nothing and, on a busy
    machine, spin-wait against each other: a 128 x 128 QR was measured 100 times slower.
    """
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1):
            return fn(*args, **kwargs)
    return wrapper


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
    """A block of text pinned to the top left of ``ax``, drawn as an image (see :func:`text_array`)."""

    def __init__(self, fig, ax, size: int = 10):
        ax.axis("off")
        box = ax.get_position()
        width, height = fig.bbox.width, fig.bbox.height
        self.top, self.left, self.size = box.y1 * height, box.x0 * width - 20, size
        self.image = fig.figimage(np.zeros((1, 1, 4)), xo=int(self.left), yo=int(self.top), origin="upper")

    def set_text(self, text: str):
        arr = text_array(text, self.size)
        self.image.set_data(arr)
        self.image.oy = int(self.top - arr.shape[0])
        return self.image


