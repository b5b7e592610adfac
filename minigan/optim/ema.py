"""An exponential moving average of a model's weights: the usual generator EMA.

Sampling from the averaged generator gives visibly smoother, better samples than the last
iterate (Karras et al.; Yazici et al., 2019). PyTorch's equivalent is
`torch.optim.swa_utils.AveragedModel`; minigan keeps a small explicit class instead.

    >>> ema = optim.EMA(G, decay=0.999)
    >>> for step in ...:
    ...     train_step(); ema.update()          # shadow = decay * shadow + (1 - decay) * weight
    >>> ema.copy_to(G_eval)                     # load the averaged weights into a model

Floating buffers (BatchNorm's running statistics) are copied, not averaged, as is usual.
"""
from .._device import is_floating, to_device
from ..grad_mode import no_grad
from ..tensor import Tensor


class EMA:
    """warmup=True uses min(decay, (1 + n) / (10 + n)) at the n-th update (as TensorFlow's
    ExponentialMovingAverage with num_updates): early on the average follows the model
    closely instead of staying stuck near the random initial weights. With decay 0.999 and
    no warm-up, 400 updates in, 67% of the "average" would still be the initialisation.
    """

    def __init__(self, model, decay=0.999, warmup=True):
        if not 0 <= decay <= 1:
            raise ValueError(f"EMA: decay must be in [0, 1], got {decay}")
        self.model, self.decay, self.warmup = model, decay, warmup
        self.num_updates = 0
        # name -> array, a private copy of every parameter and buffer.
        self.shadow = {name: t._data.copy() for name, t in model.state_dict().items()}

    @no_grad()
    def update(self, model=None):
        """shadow = decay * shadow + (1 - decay) * current, for every parameter."""
        model = self.model if model is None else model
        params = dict(model.named_parameters())
        d = self.current_decay()
        for name, t in model.state_dict().items():
            s = self.shadow[name]
            if name in params and is_floating(s.dtype):
                s *= d
                s += (1 - d) * t._data
            else:
                s[...] = t._data
        self.num_updates += 1

    def current_decay(self):
        n = self.num_updates
        return min(self.decay, (1 + n) / (10 + n)) if self.warmup else self.decay

    @no_grad()
    def copy_to(self, model=None):
        """Write the averaged weights into `model` (the tracked model by default)."""
        model = self.model if model is None else model
        model.load_state_dict({k: Tensor._wrap(v) for k, v in self.shadow.items()})
        return model

    def state_dict(self):
        return {"decay": self.decay, "num_updates": self.num_updates,
                "shadow": {k: Tensor._wrap(v) for k, v in self.shadow.items()}}

    def load_state_dict(self, state_dict):
        shadow = state_dict["shadow"]
        missing = set(self.shadow) ^ set(shadow)
        if missing:
            raise KeyError(f"EMA.load_state_dict: keys differ from the model's: {sorted(missing)}")
        for k, v in shadow.items():
            array = v._data if isinstance(v, Tensor) else v
            if array.shape != self.shadow[k].shape:
                raise ValueError(f"EMA.load_state_dict: size mismatch for {k}: saved "
                                 f"{tuple(array.shape)}, model {tuple(self.shadow[k].shape)}")
            device = "cpu" if type(self.shadow[k]).__module__ == "numpy" else "cuda"
            self.shadow[k] = to_device(array, device).astype(self.shadow[k].dtype, copy=True)
        self.decay = state_dict["decay"]
        self.num_updates = state_dict["num_updates"]


@no_grad()
def update_bn(batches, model):
    """Recompute `model`'s BatchNorm running statistics from `batches` (PyTorch's
    torch.optim.swa_utils.update_bn): each BatchNorm's running mean and variance become the
    plain average of its batch statistics over the batches. The model's mode and each
    layer's momentum are restored afterwards.

    Why: an averaged generator's weights are not the weights its copied running statistics
    were measured with, so in eval mode it would normalise with the wrong numbers.
    """
    norms = [m for m in model.modules() if hasattr(m, "running_mean")
             and m.running_mean is not None and type(m).__name__.startswith("BatchNorm")]
    if not norms:
        return model
    saved = [m.momentum for m in norms]
    was_training = model.training
    for m in norms:
        m.reset_running_stats()
        m.momentum = None                   # a cumulative average over the batches
    model.train()
    try:
        for batch in batches:
            model(*batch) if isinstance(batch, tuple) else model(batch)
    finally:
        for m, momentum in zip(norms, saved):
            m.momentum = momentum
        model.train(was_training)
    return model
