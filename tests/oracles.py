"""Oracles shared by the tests: the slow, obviously-correct versions that fast code and
hand-written backwards are checked against."""
import numpy as np

import minigan as mg


def float64_input(shape_or_values, rng=None, positive=False, requires_grad=True):
    """A float64 leaf tensor, the input a gradient check wants (checks run in float64).

        float64_input((2, 3), rng)                  standard normal samples from `rng`
        float64_input((2, 3), rng, positive=True)   |samples| + 0.5: for log, sqrt, a divisor
        float64_input(array)                        these values
    """
    if rng is None:
        if positive:
            raise ValueError("float64_input: positive=True draws samples, so it needs an rng")
        values = np.asarray(shape_or_values, dtype=np.float64)
    else:
        values = rng.standard_normal(shape_or_values)
        if positive:
            values = np.abs(values) + 0.5
    return mg.tensor(values, dtype=mg.float64, requires_grad=requires_grad)
