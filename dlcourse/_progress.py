"""Progress bars: ``tqdm.auto`` (a widget in a notebook, text in a terminal), off on request.

A bar is off when its caller says ``enabled=False`` or when the environment sets ``TQDM_DISABLE``: the tools that
save notebooks' outputs and build the book set it, since a saved bar shows its first state (0 %) forever.
"""

from __future__ import annotations

import os


def progress_bar(iterable, desc: str, enabled: bool = True, **kwargs):
    """``tqdm.auto.tqdm(iterable, desc=desc, **kwargs)``, disabled unless ``enabled`` and ``TQDM_DISABLE`` unset."""
    from tqdm.auto import tqdm

    off = not enabled or os.environ.get("TQDM_DISABLE", "").lower() not in ("", "0", "false")
    return tqdm(iterable, desc=desc, disable=off, **kwargs)
