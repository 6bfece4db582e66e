"""A helper shared by the labs of every unit: run small-matrix training on one BLAS thread.

The course's networks multiply matrices of a few hundred rows. For those, a multi-threaded
BLAS spends more time starting and synchronizing threads than computing, and on a busy
machine (a laptop running a browser, a shared CI runner) it can be several times slower
than one thread. One thread also makes every sum come out in the same order, so the
printed numbers are the same on every run.
"""

from __future__ import annotations

import functools


def single_threaded(fn):
    """Decorator: run ``fn`` with BLAS limited to one thread (a no-op if threadpoolctl is missing).

    The explorers multiply small matrices, where BLAS threads gain nothing and, on a busy
    machine, spin-wait against each other: a 128 x 128 QR was measured 100 times slower.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - scikit-learn installs it
            return fn(*args, **kwargs)
        with threadpool_limits(limits=1):
            return fn(*args, **kwargs)

    return wrapper
