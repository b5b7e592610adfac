"""Grad mode: whether operations record the graph that backward walks."""
import functools

_enabled = True


def is_grad_enabled():
    return _enabled


class _GradMode:
    """Base of no_grad/enable_grad: a context manager that also decorates functions."""
    mode = True

    def __enter__(self):
        global _enabled
        self._previous = _enabled
        _enabled = self.mode

    def __exit__(self, *exc):
        global _enabled
        _enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with type(self)():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Operations inside record no graph: `with minigan.no_grad(): ...` or `@minigan.no_grad()`."""
    mode = False


class enable_grad(_GradMode):
    """Turn graph recording back on inside a `no_grad` block."""
    mode = True


class set_grad_enabled(_GradMode):
    def __init__(self, mode):
        self.mode = bool(mode)
        global _enabled
        self._previous = _enabled
        _enabled = self.mode

    def __enter__(self):
        pass


class inference_mode(_GradMode):
    """PyTorch's inference_mode: here it is no_grad (minigan has no separate inference
    tensors; no graph is recorded, which is where the saving is). inference_mode(False)
    leaves grad mode as it is."""

    def __init__(self, mode=True):
        self.enabled = bool(mode)

    def __enter__(self):
        global _enabled
        self._previous = _enabled
        if self.enabled:
            _enabled = False

    def __call__(self, fn):
        enabled = self.enabled

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with inference_mode(enabled):
                return fn(*args, **kwargs)
        return wrapper
