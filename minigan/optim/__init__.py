"""minigan.optim: optimisers (SGD, Adam, AdamW, RMSprop), lr schedules and a weight EMA.

    >>> from minigan import optim
    >>> opt = optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
"""
from . import lr_scheduler  # noqa: F401
from .adam import Adam, AdamW  # noqa: F401
from .ema import EMA, update_bn  # noqa: F401
from .optimizer import Optimizer  # noqa: F401
from .rmsprop import RMSprop  # noqa: F401
from .sgd import SGD  # noqa: F401
