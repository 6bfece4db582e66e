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
