"""Shared test setup: CPU only, a fixed seed, quiet output, float64 where asked."""
from __future__ import annotations

import os
import random

import numpy as np
import pytest

# Progress bars and colour stay off in tests, as under CI.
os.environ.setdefault("CI", "true")
os.environ.setdefault("NO_COLOR", "1")


@pytest.fixture(autouse=True)
def _seed_everything():
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # the reference tests need NumPy only
        yield
        return
    torch.manual_seed(0)
    default_dtype = torch.get_default_dtype()
    yield
    torch.set_default_dtype(default_dtype)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)
