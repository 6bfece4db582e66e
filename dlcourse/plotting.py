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
