"""torch.backends.cudnn's flags. minigan's GPU convolutions are its own CuPy kernels, not
cuDNN's, so these are accepted (a script may set them) and change nothing: the kernels are
already deterministic, and there is no algorithm search to benchmark."""

enabled = True
benchmark = False
deterministic = False
allow_tf32 = False


def is_available():
    """False: minigan never calls cuDNN."""
    return False


def version():
    return None
