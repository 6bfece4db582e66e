"""Shared fixtures: a seeded NumPy generator and torch in float64 (the oracle)."""

import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def torch():
    import torch as _torch

    _torch.set_default_dtype(_torch.float64)
    _torch.set_num_threads(1)
    return _torch


@pytest.fixture(autouse=True)
def _library_use_warning(request, monkeypatch):
    """check() says "uses the library" when a function calls library code the grader removes (checks/library_use.py).

    The references are that code, and most tests check them as the right answer: the watch is on only in test
    modules that set ``WATCH_LIBRARY_USE = True`` (tests/test_checks_library_use.py), which test it on students'
    functions and on every notebook solution.
    """
    if not getattr(request.module, "WATCH_LIBRARY_USE", False):
        monkeypatch.setattr("dlcourse.checks.library_use.enabled", lambda: False)
