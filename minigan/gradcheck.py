"""Kept so that `from minigan.gradcheck import GradcheckError` still works; the checks live
in minigan/autograd/finite_differences.py and are used as `minigan.autograd.gradcheck`."""
from .autograd.finite_differences import (GradcheckError, gradcheck, gradgradcheck,  # noqa: F401
                                          jacobians)
