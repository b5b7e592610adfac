"""Accept minigan Tensors or NumPy arrays (or lists) wherever a metric takes data."""
import numpy as np

from ..tensor import Tensor


def to_numpy(x, name="input"):
    """A NumPy array holding `x` (a Tensor on any device, an array, or a nested list).

    Metrics are computed in NumPy: they need no gradients, and float64 keeps sums of
    thousands of terms accurate.
    """
    if isinstance(x, Tensor):
        x = x.detach().cpu().numpy()
    elif hasattr(x, "get") and type(x).__module__.startswith("cupy"):
        x = x.get()                                        # a CuPy array -> host
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name}: expected a minigan Tensor or a NumPy array, "
                        f"got {type(x).__name__}") from err
