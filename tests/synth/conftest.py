"""Fixtures of the synth tests: the planted and the healthy shop."""

import pytest

from .shops import shop


@pytest.fixture(params=["planted", "healthy"])
def tables(request):
    """The planted shop, then the healthy one (each generated once per session)."""
    return shop(request.param)
