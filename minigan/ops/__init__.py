"""Differentiable operations: each primitive is a `Function` with forward (arrays) and
backward (Tensors) side by side; everything else is composed from the primitives."""
from .elementwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .sorting import *  # noqa: F401,F403
from .compare import *  # noqa: F401,F403
