"""What a kernel session has trained or computed, shared between a notebook's cells and its widgets.

A lab's training cell (with its progress bar) and the widget that shows the result are separate calls that must
share one training. This module is the one place such results live: one dictionary, keyed by tuples whose first
item names the lab (``("overfit run", p, weight_decay, epochs, seed)``), and these functions are the only ways in.
Tests and notebooks call :func:`forget` to start from nothing.
"""

from __future__ import annotations

from typing import Callable

_SESSION: dict = {}


def once(key, make: Callable[[], object]):
    """``make()`` the first time ``key`` is asked for in this session, the stored result afterwards."""
    if key not in _SESSION:
        _SESSION[key] = make()
    return _SESSION[key]


def store(key, value):
    """Keep ``value`` under ``key`` (replacing what was there, as a widget's "train again" button does); return it."""
    _SESSION[key] = value
    return value


def peek(key, default=None):
    """The stored result for ``key``, or ``default`` when nothing was computed for it yet (never computes)."""
    return _SESSION.get(key, default)


def stored(lab: str) -> list:
    """Every result stored for ``lab`` (keys ``(lab, ...)`` or ``lab`` itself), oldest first."""
    return [value for key, value in _SESSION.items()
            if key == lab or (isinstance(key, tuple) and key[:1] == (lab,))]


def forget(key=None) -> None:
    """Drop one stored result (or, without ``key``, all of them), so that the next request computes again."""
    if key is None:
        _SESSION.clear()
    else:
        _SESSION.pop(key, None)
