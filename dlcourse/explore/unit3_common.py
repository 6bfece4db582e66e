"""Helpers shared by Unit 3's explorers: text drawn fast."""

from __future__ import annotations

from functools import lru_cache

import numpy as np



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
