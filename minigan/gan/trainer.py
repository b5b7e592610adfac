"""The one training loop. Every model minigan trains goes through `Trainer.fit`:

    for step in range(start, steps):
        1. row = step_fn(step)            the model's own step: its batch, its losses, its updates
        2. the NaN guard                  losses, gradient norms and the updated weights are finite
        3. record the row                 history.jsonl, the progress bar or a log line
        4. every sample_every steps       samples/step_N.npz and samples/latest.png
        5. every checkpoint_every steps   checkpoints/last.npz: every part, the step, the random state
        6. Ctrl-C or SIGTERM              finish this step, checkpoint, stop (TrainingInterrupted)

A model supplies only
    step_fn(step) -> dict   one training step; returns the numbers to record (losses, ...)
    parts                   {name: thing with state_dict()/load_state_dict(), or a Tensor}:
                            models, optimisers, EMA, batch samplers: what a resume restores
    sample_fn() -> array    samples to save (images (N, C, H, W) or points (N, D)), optional

so the DCGAN (`gan.GAN`), pix2pix, the context encoder and CycleGAN share one resume, one
checkpoint format, one history, one guard and one way to stop.

    >>> gan = GAN(G, D, images)
    >>> Trainer(gan.step, gan.parts(), gan.sample, run=RunFolder.create("runs/x", cfg)).fit(2000)
"""
import json
import math
import signal
import time

import numpy as np

from .._version import __version__
from ..nn import Module
from ..random import get_rng_state, set_rng_state
from ..tensor import Tensor
from .monitor import Monitor

__all__ = ["Trainer", "NonFiniteError", "TrainingInterrupted", "check_finite", "restore_parts"]


class NonFiniteError(FloatingPointError):
    """A loss, a gradient or a weight became NaN or Inf: training stops, and no checkpoint
    with such numbers is ever written."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C or SIGTERM stopped `fit` after a step, once a checkpoint was written."""

    def __init__(self, signum, step, checkpoint):
        super().__init__(f"stopped by {signal.Signals(signum).name} after step {step}")
        self.signum, self.step, self.checkpoint = signum, step, checkpoint


# --- the NaN guard (train_step also calls check_finite itself, before its updates) ---
def check_finite(step, when="", **values):
    """Raise NonFiniteError naming the first value that is NaN or Inf."""
    for name, value in values.items():
        if value is not None and not math.isfinite(value):
            raise NonFiniteError(f"step {step}: {name} is {value}{when}")


def _check_weights(step, parts):
    """The updated weights of every model part are finite (float64 sums: no overflow)."""
    for name, part in parts.items():
        if isinstance(part, Module):
            for pname, p in part.named_parameters():
                if not np.isfinite(np.add.reduce(p._data, axis=None, dtype=np.float64)):
                    raise NonFiniteError(f"step {step}: a weight of {name}.{pname} is not "
                                         "finite after the update")


def _check_learning_rates(parts):
    for name, part in parts.items():
        for i, group in enumerate(getattr(part, "param_groups", ())):
            lr = group["lr"]
            if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
                raise ValueError(f"{name}: the learning rate of parameter group {i} must be a "
                                 f"finite number above 0, got {lr}")


# --- checkpoints: every part's state, the step, the random generator ---
def part_states(parts):
    return {name: (part if isinstance(part, Tensor) else part.state_dict())
            for name, part in parts.items()}


def restore_parts(parts, state, where="the checkpoint"):
    """Load each part's state from a checkpoint dict; a missing part is a clear error."""
    missing = [name for name in parts if name not in state]
    if missing:
        version = state.get("minigan_version", "0.1 or older")
        raise ValueError(f"{where} was written by minigan {version} and has no "
                         f"{', '.join(missing)}; this minigan ({__version__}) needs "
                         f"{', '.join(parts)}. Retrain the run (or use that minigan version).")
    for name, part in parts.items():
        try:
            if isinstance(part, Tensor):
                part.copy_(state[name])             # fixed latents: restored in place
            else:
                part.load_state_dict(state[name])
        except (KeyError, ValueError, RuntimeError, TypeError) as err:
            raise ValueError(f"{where}: its {name!r} does not fit this run's {name} "
                             f"(was the checkpoint written by another model?): {err}") from None


class Trainer:
    """Runs `step_fn` for `steps` steps around its parts, with or without a run folder.

    run: a RunFolder (created or opened with its lock held), or None for a run in memory.
    log_keys: the row's numbers shown on the progress bar and in log lines.
    reference: real points drawn next to toy samples in samples/latest.png.
    """

    def __init__(self, step_fn, parts, sample_fn=None, run=None, sample_every=200,
                 checkpoint_every=500, log_keys=("loss_d", "loss_g"), name="train",
                 reference=None):
        if sample_every < 1 or checkpoint_every < 1:
            raise ValueError(f"sample_every and checkpoint_every must be at least 1, got "
                             f"{sample_every} and {checkpoint_every}")
        _check_learning_rates(parts)
        self.step_fn, self.parts, self.sample_fn = step_fn, parts, sample_fn
        self.run = run
        self.sample_every, self.checkpoint_every = sample_every, checkpoint_every
        self.log_keys, self.name, self.reference = log_keys, name, reference
        self.step = 0
        self.monitor = Monitor(sink=None if run is None else run.append_history)
        self.checkpoint_step = None                  # the step of the last checkpoint written
        self._signal = None

    # --- resume ---
    def resume(self):
        """Continue from the run folder's checkpoint, exactly where it stopped: the parts,
        the step and the random state come back, and the history is cut to that step
        (which also drops a line torn by a kill)."""
        state = self.run.load_checkpoint()
        restore_parts(self.parts, state, self.run.checkpoint_path)
        self.step = int(state["step"])
        set_rng_state(json.loads(state["rng"]))
        self.checkpoint_step = self.step
        rows = [r for r in self.run.read_history() if r.get("step", -1) < self.step]
        self.run.rewrite_history(rows)
        self.monitor.rows = rows
        return self.step

    def state_dict(self):
        state = part_states(self.parts)
        state.update(step=self.step, rng=json.dumps(get_rng_state()),
                     minigan_version=__version__)
        return state

    def save_checkpoint(self):
        _check_weights(self.step, self.parts)        # never write a non-finite checkpoint
        self.run.save_checkpoint(self.state_dict())
        self.checkpoint_step = self.step

    def save_samples(self):
        return self.run.save_samples(self.sample_fn(), self.step, self.reference)

    # --- the loop ---
    def fit(self, steps, progress=True, log_every=None):
        """Train until `self.step == steps` (a resumed run ends where it would have)."""
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=steps, initial=self.step, desc=self.name, unit="step")
        start = time.perf_counter()
        previous = self._install_signal_handlers()
        try:
            while self.step < steps:
                t0 = time.perf_counter()
                row = {"step": self.step}
                try:
                    row.update(self.step_fn(self.step))                  # 1. the model's step
                    check_finite(self.step, **{k: float(v) for k, v in row.items()  # 2. guard
                                               if isinstance(v, (float, np.floating))})
                    _check_weights(self.step, self.parts)
                except NonFiniteError as err:
                    raise NonFiniteError(f"{err}; training stopped. {self._checkpoint_note()}") from None
                row["time"] = time.perf_counter() - t0
                self.monitor.record(row)                                 # 3. record
                self.step += 1
                self._report(bar, log_every, start)
                at_end = self.step == steps
                if self.run is not None:
                    if self.sample_fn is not None and (self.step % self.sample_every == 0 or at_end):
                        self.save_samples()                              # 4. samples
                    if self.step % self.checkpoint_every == 0 or at_end or self._signal:
                        self.save_checkpoint()                           # 5. checkpoint
                if self._signal is not None and not at_end:              # 6. a clean stop
                    raise TrainingInterrupted(self._signal, self.step,
                                              self.run.checkpoint_path if self.run else None)
        finally:
            self._restore_signal_handlers(previous)
            if bar is not None:
                bar.close()
        return self.monitor.rows

    def _checkpoint_note(self):
        if self.run is None:
            return "No checkpoint is kept for a run without a folder."
        if self.checkpoint_step is None:
            return "No checkpoint was written."
        return (f"The last checkpoint, from step {self.checkpoint_step}, is intact: "
                f"{self.run.checkpoint_path}")

    def _report(self, bar, log_every, start):
        numbers = {k: self.monitor.last(k) for k in self.log_keys}
        if bar is not None:
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in numbers.items()})
        elif log_every and self.step % log_every == 0:
            cells = "  ".join(f"{k} {v:.4f}" for k, v in numbers.items())
            print(f"{self.name} step {self.step:6d}  {cells}  {time.perf_counter() - start:.0f}s",
                  flush=True)

    # --- signals: finish the step, checkpoint, stop ---
    def _install_signal_handlers(self):
        """On SIGINT/SIGTERM, note the signal; the loop stops after the current step. A
        second signal stops at once (Python's default behaviour comes back)."""
        self._signal = None
        previous = {}

        def handler(signum, frame):
            self._signal = signum
            for s, h in previous.items():
                signal.signal(s, h)

        try:
            for s in (signal.SIGINT, signal.SIGTERM):
                previous[s] = signal.signal(s, handler)
        except ValueError:                           # not the main thread: no handlers
            return {}
        return previous

    @staticmethod
    def _restore_signal_handlers(previous):
        for s, h in previous.items():
            signal.signal(s, h)
