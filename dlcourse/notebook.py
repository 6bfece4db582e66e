"""One call at the top of every notebook: ``from dlcourse.notebook import setup; setup()``.

Seeds NumPy's global generator (and torch's, when torch is installed) so that every
run prints the same numbers, and sets small, readable figure defaults.
"""

from __future__ import annotations

import random

import numpy as np


def setup(seed: int = 0) -> None:
    """Seed every random number generator the course uses and set figure defaults."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is part of the course environment
        torch = None
    if torch is not None:
        torch.manual_seed(seed)
        torch.set_default_dtype(torch.float64)
    import matplotlib.pyplot as plt

    from . import plotting  # noqa: F401  (colour-blind-safe palette)

    plt.rcParams.update({"figure.dpi": 72, "figure.figsize": (6, 3), "axes.grid": False, "font.size": 9})
    np.set_printoptions(precision=4, suppress=True)
