"""One seeded random generator for all of minigan, so runs are reproducible.

`minigan.manual_seed(0)` resets it; `get_rng_state`/`set_rng_state` save and restore it
(a resumed training run continues with the same random numbers).
"""
import numpy as np

from ._device import default_float, normalize_dtype, to_device

_generator = np.random.default_rng()


def manual_seed(seed):
    """Seed minigan's generator (every random function in minigan draws from it)."""
    global _generator
    _generator = np.random.default_rng(int(seed))
    return _generator


def generator():
    return _generator


def get_rng_state():
    """The generator's state as a plain dict (JSON-serialisable)."""
    return _generator.bit_generator.state


def set_rng_state(state):
    _generator.bit_generator.state = state


def _draw(sample, shape, dtype, device):
    dtype = normalize_dtype(dtype) or default_float
    if dtype.kind != "f":
        raise TypeError(f"random floats need a floating dtype, got {dtype}")
    # Draw in float64 and round: the same seed gives the same numbers in any dtype.
    array = sample(shape).astype(dtype, copy=False)
    return to_device(array, device or "cpu")


def rand_array(shape, dtype=None, device=None):
    return _draw(lambda s: _generator.random(s, dtype=np.float64), shape, dtype, device)


def randn_array(shape, dtype=None, device=None):
    return _draw(lambda s: _generator.standard_normal(s, dtype=np.float64), shape, dtype, device)


def randint_array(low, high, shape, device=None):
    return to_device(_generator.integers(low, high, size=shape, dtype=np.int64), device or "cpu")


def permutation_array(n):
    return _generator.permutation(n)
