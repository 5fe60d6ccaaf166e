"""Fixtures of the rnnkit.nn tests."""
from __future__ import annotations

import pytest

from rnnkit.nn import stack
from tests.nn.helpers import bptt_available


@pytest.fixture(params=["functional", "bptt"])
def sequence_impl(request, monkeypatch):
    """Run a test once per implementation of the "rnnkit" path (see rnnkit.nn.stack)."""
    if request.param == "bptt" and not bptt_available():
        pytest.skip("rnnkit.nn.bptt has not landed")
    monkeypatch.setattr(stack, "SEQUENCE_IMPL", request.param)
    return request.param
