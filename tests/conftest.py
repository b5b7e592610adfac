"""Shared pytest set-up: markers and fixtures used by more than one test file.

Fixture names say what they pick: `kernel_backend` (the kernels' CPU backend: the NumPy
reference or the fast path), never a bare `backend`.
"""
import pytest

from minigan import kernels


@pytest.fixture(params=["auto", "numpy"])
def kernel_backend(request):
    """Run a test with the fast kernels ("auto") and again with the NumPy reference."""
    old = kernels.get_backend()
    kernels.set_backend(request.param)
    yield request.param
    kernels.set_backend(old)
