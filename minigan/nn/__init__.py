"""minigan.nn: modules, layers, losses, initialisation and utilities (PyTorch's names).

    >>> from minigan import nn
    >>> D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
    ...                   nn.Flatten(), nn.Linear(64 * 14 * 14, 1))
"""
from . import functional, init, utils  # noqa: F401
from .activation import LeakyReLU, ReLU, Sigmoid, Softplus, Tanh  # noqa: F401
from .containers import ModuleDict, ModuleList, Sequential  # noqa: F401
from .conv import AvgPool2d, Conv2d, ConvTranspose2d, MaxPool2d, Upsample  # noqa: F401
from .linear import Dropout, Dropout2d, Embedding, Flatten, Identity, Linear, Unflatten  # noqa: F401
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss  # noqa: F401
from .module import Module  # noqa: F401
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm  # noqa: F401
from .padding import ConstantPad2d, ReflectionPad2d, ReplicationPad2d, ZeroPad2d  # noqa: F401
from .parameter import Parameter  # noqa: F401
