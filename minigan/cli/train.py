"""`minigan train MODEL`: build the model from its recipe, then run the one training loop.

    minigan train dcgan                          # a fresh folder: runs/dcgan (or runs/dcgan-2, ...)
    minigan train dcgan --out runs/x --steps 500
    minigan train dcgan --resume runs/x          # continue exactly where it stopped
    minigan train pix2pix --out runs/p --overwrite

GAN models come from `gan.recipes`, the image apps from `apps.APPS`; both hand their step
and parts to `gan.Trainer`.
"""
import os
import signal
import time

import numpy as np

from ..apps import APPS
from ..apps import cyclegan
from ..apps.cyclegan import DOMAIN_PAIRS
from ..creation import randn, tensor
from ..gan import RunFolder, Trainer, TrainingInterrupted, recipes
from ..grad_mode import no_grad
from .args import CLIError, at_least, decay, non_negative_float, positive_float

MODELS = recipes.MODELS + tuple(APPS)

# Flags that change what is trained. On --resume they must agree with the run's config.
_TRAINING_FLAGS = {"data": "--data", "batch_size": "--batch-size", "lr_g": "--lr-g",
                   "lr_d": "--lr-d", "n_critic": "--n-critic", "gp_weight": "--gp-weight",
                   "ema": "--ema", "lr_decay": "--lr-decay", "seed": "--seed",
                   "device": "--device", "epochs": "--epochs", "dcgan_run": "--dcgan",
                   "dcgan_steps": "--dcgan-steps", "domains": "--domains",
                   "clusters": "--clusters"}


def add_arguments(p):
    p.add_argument("model", choices=MODELS)
    p.add_argument("--data", choices=recipes.DATASETS, help="dataset (default: per model)")
    p.add_argument("--steps", type=at_least(1), help="training steps (D updates)")
    p.add_argument("--epochs", type=positive_float, help="passes over the data (instead of --steps)")
    p.add_argument("--batch-size", type=at_least(1))
    p.add_argument("--lr-g", type=positive_float)
    p.add_argument("--lr-d", type=positive_float)
    p.add_argument("--n-critic", type=at_least(1))
    p.add_argument("--gp-weight", type=non_negative_float)
    p.add_argument("--ema", type=decay, help="generator EMA decay, e.g. 0.999; 0 turns it off "
                   "(default: per model)")
    p.add_argument("--lr-decay", choices=["none", "linear"],
                   help="learning-rate schedule (default: per model; linear decays to 0)")
    p.add_argument("--clusters", type=at_least(0), metavar="K", help="self-condition an image "
                   "GAN on K k-means clusters of its data; 0 turns it off (default: per model, "
                   "dcgan 50)")
    p.add_argument("--seed", type=at_least(0), help="random seed (default 0)")
    p.add_argument("--device", choices=["cpu", "cuda"])
    p.add_argument("--out", help="run folder (default: a fresh runs/MODEL, runs/MODEL-2, ...)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    p.add_argument("--overwrite", action="store_true",
                   help="start over in --out even if it holds a run (its files are removed)")
    p.add_argument("--sample-every", type=at_least(1))
    p.add_argument("--checkpoint-every", type=at_least(1))
    p.add_argument("--quiet", action="store_true", help="no progress bar: a log line per 100 steps")
    p.add_argument("--dcgan", metavar="RUN", help="inpaint: use this trained DCGAN run folder "
                   "for latent optimisation instead of training one")
    p.add_argument("--dcgan-steps", type=at_least(1), help="inpaint: steps of its DCGAN")
    p.add_argument("--domains", choices=sorted(DOMAIN_PAIRS), help="cyclegan: plain <-> bold "
                   "digits (default, quick) or typeset <-> handwritten digits")


# --- configs ---
def _defaults(model):
    return recipes.defaults(model) if model in recipes.RECIPES else dict(APPS[model][0].DEFAULTS)


def _given(args):
    """The training settings the user typed, under their config names."""
    given = {key: getattr(args, key, None) for key in _TRAINING_FLAGS if key != "dcgan_run"}
    given["dcgan_run"] = getattr(args, "dcgan", None)
    if given["ema"] == 0:
        given["ema"] = None                          # --ema 0: no average
    return {k: v for k, v in given.items() if v is not None}


def new_config(args):
    cfg = _defaults(args.model)
    if args.model == "cyclegan" and args.domains is not None:
        cfg = cyclegan.defaults(args.domains)       # each pair of domains has its own
    cfg.update(model=args.model, seed=0, device="cpu", sample_every=cfg.get("sample_every", 200),
               checkpoint_every=cfg.get("checkpoint_every", 500))
    if args.model in APPS and args.data is not None:
        raise CLIError(f"--data is for the GAN models; {args.model} trains on MNIST digits")
    if args.domains is not None and args.model != "cyclegan":
        raise CLIError(f"--domains is for cyclegan, not {args.model}")
    if args.model == "cgan" and args.data not in (None, "mnist", "digits8"):
        raise CLIError(f"cgan needs labelled images (--data mnist or digits8), got {args.data}")
    cfg.update(_given(args))
    if args.clusters and (args.model in APPS or args.model == "cgan"
                          or cfg["data"] in recipes.TOY):
        raise CLIError(f"--clusters self-conditions a GAN on images; {args.model} on "
                       f"{cfg.get('data', 'digits')} cannot take it")
    if cfg.get("data") in recipes.TOY:
        cfg["clusters"] = 0                          # the recipe's clusters are for images
    if args.ema is not None:
        cfg["ema"] = args.ema or None
    for key in ("steps", "sample_every", "checkpoint_every"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if args.model in APPS and args.epochs:
        cfg["steps"] = max(1, int(round(args.epochs * (4500 // cfg["batch_size"]))))
    return cfg


def resumed_config(args, run):
    """The run's own config, with the flags a resume may change (--steps, intervals)."""
    cfg = run.config
    if cfg["model"] in APPS:
        cfg = APPS[cfg["model"]][0].saved_config(cfg)
    if cfg["model"] != args.model:
        raise CLIError(f"{run.path} holds a {cfg['model']} run, not {args.model}: "
                       f"resume it with `minigan train {cfg['model']} --resume {run.path}`")
    saved = {**_defaults(cfg["model"]), "ema": None, "epochs": None, "dcgan_run": None, **cfg}
    conflicts = [f"{_TRAINING_FLAGS[k]} {v} (the run has {saved.get(k)})"
                 for k, v in _given(args).items() if saved.get(k) != v and
                 not (isinstance(v, float) and isinstance(saved.get(k), (int, float))
                      and float(saved[k]) == v)]
    if conflicts:
        raise CLIError("a resumed run keeps its settings; these differ: " + ", ".join(conflicts)
                       + f". Start a new run for other settings (or --overwrite {run.path})")
    changed = []
    for key in ("steps", "sample_every", "checkpoint_every"):
        value = getattr(args, key)
        if value is not None and value != cfg.get(key):
            cfg[key] = value
            changed.append(f"{key} = {value}")
    return cfg, changed


def _check_device(cfg):
    if cfg.get("device") == "cuda":
        from .._device import cuda_is_available
        if cfg["model"] in APPS:
            raise CLIError(f"{cfg['model']} trains on the CPU only (--device cpu)")
        if not cuda_is_available():
            raise CLIError("--device cuda needs CuPy and a CUDA GPU; install the gpu extra "
                           "(pip install 'minigan[gpu]') on a machine with one")


# --- training ---
def build(cfg):
    """The trainable model for a config: a GAN from its recipe, or an image app."""
    if cfg["model"] in recipes.RECIPES:
        gan, _ = recipes.build(cfg)
        return gan
    return APPS[cfg["model"]][0](cfg)


def fit(model, cfg, run, resume, args):
    """The one training loop over `model` in `run`; returns the Trainer."""
    images = getattr(model, "images", None)
    toy_points = images if images is not None and getattr(images, "ndim", 0) == 2 else None
    trainer = Trainer(model.step, model.parts(), model.sample, run=run,
                      sample_every=cfg["sample_every"], checkpoint_every=cfg["checkpoint_every"],
                      log_keys=getattr(model, "log_keys", ("loss_d", "loss_g")),
                      name=cfg["model"], reference=None if toy_points is None else toy_points.numpy())
    if resume and run.has_checkpoint():
        step = trainer.resume()
        print(f"resuming {run.path} at step {step} of {cfg['steps']}")
    elif resume:
        run.rewrite_history([])
        print(f"{run.path} has no checkpoint yet: starting it again from step 0")
    trainer.fit(cfg["steps"], progress=not args.quiet, log_every=100 if args.quiet else None)
    return trainer


def _open_run(args, cfg):
    if args.resume:
        return RunFolder.open(args.resume, lock=True)
    path = args.out
    if path is None:
        path = RunFolder.fresh_path(os.path.join("runs", args.model))
        if path != os.path.join("runs", args.model):
            print(f"runs/{args.model} holds another run; this one goes to {path}")
    return RunFolder.create(path, cfg, overwrite=args.overwrite)


def cmd_train(args):
    if args.resume and (args.out or args.overwrite):
        raise CLIError("--resume continues a run in its own folder; drop --out/--overwrite")
    if args.resume:
        run = RunFolder.open(args.resume, lock=True)
        cfg, changed = resumed_config(args, run)
        if changed:
            run.write_config(cfg)
            print(f"resume: {', '.join(changed)} (the rest of the run's settings are kept)")
    else:
        cfg = new_config(args)
        _check_device(cfg)
        run = _open_run(args, cfg)                   # refuses a taken folder before any work
    with run:
        _check_device(cfg)
        model = build(cfg)
        if args.epochs and not args.resume:
            run.write_config(cfg)                    # the steps --epochs came to
        print(f"training {cfg['model']} for {cfg['steps']} steps (batch {cfg['batch_size']}) "
              f"-> {run.path}")
        start = time.perf_counter()
        try:
            trainer = fit(model, cfg, run, args.resume, args)
            if cfg["model"] == "inpaint" and not cfg.get("dcgan_run"):
                _train_inpainting_dcgan(cfg, run, args)
        except TrainingInterrupted as stop:
            print(f"\nstopped by {signal.Signals(stop.signum).name} after step {stop.step}; "
                  f"checkpoint written: {stop.checkpoint}\n"
                  f"resume with: minigan train {cfg['model']} --resume {run.path}")
            return 128 + stop.signum
        elapsed = time.perf_counter() - start
        written = plot(run, model if cfg["model"] in recipes.RECIPES else None)
    print(f"done in {elapsed:.0f}s at step {trainer.step}. Samples: "
          f"{run.file('samples', 'latest.png')}")
    for path in written:
        print(f"  figure: {path}")
    print(f"next: minigan eval {run.path}")
    return 0


def _train_inpainting_dcgan(cfg, run, args):
    """Inpainting's second stage: the DCGAN for latent optimisation, a run of its own in
    RUN/dcgan (resumed too, when the first stage was)."""
    from ..apps.inpainting import dcgan_config
    folder = run.file("dcgan")
    if RunFolder.holds_run(folder):
        stage = RunFolder.open(folder, lock=True)
        dcfg, resume = stage.config, True
    else:
        dcfg, resume = dcgan_config(cfg), False
        stage = RunFolder.create(folder, dcfg)
    with stage:
        print(f"inpainting, stage 2: a DCGAN for latent optimisation ({dcfg['steps']} steps) "
              f"-> {stage.path}")
        fit(build(dcfg), dcfg, stage, resume, args)


def plot(run, gan=None):
    """The run's figures, plus D's decision surface for a 2-D toy GAN."""
    from ..viz import plot_toy_2d
    written = run.plot()
    if gan is not None and gan.images.ndim == 2 and gan.images.shape[1] == 2:
        fake = gan.generate(randn(2000, gan.G.latent_dim)).numpy()
        real = gan.images[:2000].numpy()

        @no_grad()
        def discriminator(points):
            return gan.D(tensor(points.astype(np.float32))).numpy()[:, 0]
        written.append(plot_toy_2d(real, fake, run.file("plots", "toy_2d.png"),
                                   discriminator=discriminator))
    return written
