"""Shared pytest set-up: markers and fixtures used by more than one test file.

Fixture names say what they pick: `kernel_backend` (the kernels' CPU backend: the NumPy
reference or the fast path), never a bare `backend`.
"""
