"""One call at the top of every notebook: ``from dlcourse.notebook import setup; setup()``.

Seeds NumPy's global generator (and torch's, when torch is installed) so that every
run prints the same numbers, and applies the course's figure style to the session (explicitly: importing
``dlcourse`` changes no matplotlib setting): Okabe & Ito's colour-blind-safe palette, text of at least 9 pt,
and HiDPI ("retina") inline figures.
"""

from __future__ import annotations

import random

import numpy as np

from ._validate import as_seed


def setup(rng: int | np.random.Generator = 0, figures: bool = True) -> None:
    """Seed every random number generator the course uses and, unless ``figures=False``, apply the figure style.

    ``rng`` is a seed or a ``Generator`` like everywhere in the course; the global generators (NumPy's legacy one,
    :mod:`random` and torch's) need an int, so a ``Generator`` gives one int drawn from it
    (:func:`dlcourse._validate.as_seed`).

    The style is :data:`dlcourse.plotting.STYLE` plus a default figure size; inline figures are drawn at twice
    the resolution they are shown at (IPython's ``'retina'`` format), so text stays sharp on HiDPI screens.
    """
    if rng is None:
        raise TypeError("rng must be an int seed or a numpy.random.Generator for setup() (it seeds the global "
                        "generators, which need a fixed seed), got None")
    seed = as_seed(rng)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is part of the course environment
        torch = None
    if torch is not None:
        torch.manual_seed(seed)
        torch.set_default_dtype(torch.float64)
    if figures:
        _figure_style()
    np.set_printoptions(precision=4, suppress=True)


def _figure_style() -> None:
    import matplotlib
    import matplotlib.pyplot  # noqa: F401  (first: the inline backend sets its own defaults when pyplot loads)

    from .plotting import STYLE

    matplotlib.rcParams.update({**STYLE, "figure.figsize": (6, 3), "axes.grid": False})
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is part of the course environment
        return
    if get_ipython() is not None:
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")
