"""What every image app hands the one training loop (`minigan.gan.Trainer`).

An app is a class built from a config dict (its DEFAULTS, overridden by the user's):

    app.step(i)     one training step on the next batch; returns the numbers to record
    app.parts()     what a checkpoint holds: networks, optimisers, batch samplers
    app.sample()    an image strip for samples/ (rows of 8: inputs, outputs, targets)
    app.log_keys    the numbers shown on the progress bar

    >>> app = Pix2Pix(dict(steps=600))
    >>> Trainer(app.step, app.parts(), app.sample, log_keys=app.log_keys).fit(600)
    >>> app = Pix2Pix.from_run("runs/pix2pix")            # trained weights, for evaluation
"""
import numpy as np

from ..creation import tensor
from ..gan.run_folder import RunFolder
from ..gan.trainer import restore_parts
from ..grad_mode import no_grad
from ..nn.utils import eval_mode

__all__ = ["ImageApp", "run_batches"]


class ImageApp:
    DEFAULTS = {}
    # Settings added after runs were saved without them: {key: the value those runs used}.
    # A saved config gets these before the defaults, so an old run rebuilds what it trained.
    ADDED_LATER = {}
    log_keys = ("loss_d", "loss_g")

    def __init__(self, cfg=None):
        self.cfg = dict(self.DEFAULTS, **(cfg or {}))

    @classmethod
    def saved_config(cls, config):
        """A run folder's config, with what runs older than a setting used for it."""
        return dict(cls.ADDED_LATER, **config)

    @classmethod
    def from_run(cls, run_dir):
        """The app of a trained run folder, its last checkpoint loaded."""
        run = RunFolder.open(run_dir)
        app = cls(cls.saved_config(run.config))
        restore_parts(app.parts(), run.load_checkpoint(), run.checkpoint_path)
        return app


@no_grad()
def run_batches(G, inputs, batch_size=250):
    """G(inputs) in eval mode, batch by batch: NumPy in (N, C, H, W), NumPy out."""
    with eval_mode(G):
        return np.concatenate([G(tensor(inputs[i:i + batch_size])).numpy()
                               for i in range(0, len(inputs), batch_size)])
