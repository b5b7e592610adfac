"""The GAN subcommands of `minigan`: train, sample, eval, plot."""
import json
import os
import time

import numpy as np

from .. import random as mg_random
from ..creation import randn, tensor
from ..gan import recipes
from ..gan.recipes import build_trainer
from ..gan.run_folder import load_run


APP_MODELS = ("inpaint", "pix2pix", "cyclegan")      # image apps: minigan/cli/apps.py


def add_train_arguments(p):
    p.add_argument("model", choices=recipes.MODELS + APP_MODELS)
    p.add_argument("--data", choices=recipes.DATASETS, help="dataset (default: per model)")
    p.add_argument("--steps", type=int, help="training steps (D updates)")
    p.add_argument("--epochs", type=float, help="passes over the data (instead of --steps)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr-g", type=float)
    p.add_argument("--lr-d", type=float)
    p.add_argument("--n-critic", type=int)
    p.add_argument("--gp-weight", type=float)
    p.add_argument("--ema", type=float, default=None,
                   help="generator EMA decay, e.g. 0.999; 0 turns it off (default: per model)")
    p.add_argument("--lr-decay", choices=["none", "linear"],
                   help="learning-rate schedule (default: per model; linear decays to 0)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--out", help="run folder (default: runs/MODEL)")
    p.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    p.add_argument("--sample-every", type=int, default=200)
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def config_from_args(args):
    cfg = recipes.defaults(args.model)
    cfg["model"] = args.model
    for key in ("data", "steps", "batch_size", "lr_g", "lr_d", "n_critic", "gp_weight",
                "lr_decay"):
        value = getattr(args, key)
        if value is not None:
            cfg[key] = value
    if args.ema is not None:
        cfg["ema"] = args.ema or None
    cfg.update(seed=args.seed, device=args.device, epochs=args.epochs,
               sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
    return cfg


def cmd_train(args):
    if _app_model(args) is not None:
        from . import apps as app_commands
        return app_commands.cmd_train(args)
    if args.resume:
        run_dir = args.resume
        with open(os.path.join(run_dir, "config.json")) as f:
            cfg = json.load(f)
        if args.steps is not None:
            cfg["steps"] = args.steps
        trainer, dataset = build_trainer(cfg, run_dir)
        step = trainer.resume()
        print(f"resuming {run_dir} at step {step} of {cfg['steps']}")
    else:
        cfg = config_from_args(args)
        run_dir = args.out or os.path.join("runs", args.model)
        trainer, dataset = build_trainer(cfg, run_dir)
        print(f"training {cfg['model']} on {cfg['data']} for {cfg['steps']} steps "
              f"(batch {cfg['batch_size']}, loss {cfg['loss']}) -> {run_dir}")
    start = time.perf_counter()
    trainer.fit(cfg["steps"], progress=not args.quiet, log_every=100 if args.quiet else None)
    elapsed = time.perf_counter() - start
    written = plot_run_folder(run_dir, trainer, dataset)
    print(f"done in {elapsed:.0f}s. Samples: {os.path.join(run_dir, 'samples', 'latest.png')}")
    for path in written:
        print(f"  figure: {path}")
    return 0


def plot_run_folder(run_dir, trainer=None, dataset=None):
    from ..viz import plot_run, plot_toy_2d
    written = list(plot_run(run_dir))
    if trainer is not None and trainer.images.ndim == 2 and trainer.images.shape[1] == 2:
        fake = trainer.generate(randn(2000, trainer.G.latent_dim)).numpy()
        real = trainer.images[:2000].numpy()
        D = trainer.D

        def discriminator(points):
            from ..grad_mode import no_grad
            with no_grad():
                return D(tensor(points.astype(np.float32))).numpy()[:, 0]
        written.append(plot_toy_2d(real, fake, os.path.join(run_dir, "plots", "toy_2d.png"),
                                   discriminator=discriminator))
    return written


def add_sample_arguments(p):
    p.add_argument("run")
    p.add_argument("-n", type=int, default=64, help="how many samples")
    p.add_argument("-o", "--output", default="samples.npz")
    p.add_argument("--labels", help="comma-separated digits for a conditional model, e.g. 0,1,2")
    p.add_argument("--seed", type=int, default=0)


def cmd_sample(args):
    if _app_model(args) is not None:
        raise SystemExit(f"minigan sample: {args.run} is an image-to-image app run; "
                         f"use `minigan eval {args.run}` for its figures")
    trainer, _, cfg = load_run(args.run)
    mg_random.manual_seed(args.seed)
    z = randn(args.n, trainer.G.latent_dim)
    labels = None
    if cfg["model"] == "cgan":
        chosen = [int(v) for v in args.labels.split(",")] if args.labels else list(range(10))
        labels = tensor(np.resize(np.array(chosen, dtype=np.int64), args.n))
    elif args.labels:
        raise SystemExit(f"--labels needs a conditional model; {args.run} is a {cfg['model']}")
    out = trainer.generate(z, labels).numpy()
    arrays = {}
    if out.ndim == 4:
        arrays["images"] = ((out + 1) / 2).clip(0, 1).astype(np.float32)     # (N, C, H, W) in [0, 1]
    else:
        arrays["points"] = out.astype(np.float32)
    if labels is not None:
        arrays["labels"] = labels.numpy()
    np.savez(args.output, **arrays)
    print(f"wrote {args.n} samples to {args.output}: " +
          ", ".join(f"{k} {v.shape} {v.dtype}" for k, v in arrays.items()))
    return 0


def _app_model(args):
    """The app model this command is about (from the name or the run's config), or None."""
    if getattr(args, "model", None) in APP_MODELS:
        return args.model
    run = getattr(args, "resume", None) or getattr(args, "run", None)
    path = os.path.join(run, "config.json") if run else ""
    if path and os.path.exists(path):
        with open(path) as f:
            model = json.load(f).get("model")
        return model if model in APP_MODELS else None
    return None


def cmd_eval(args):
    from .. import metrics
    if _app_model(args) is not None:
        from . import apps as app_commands
        with open(os.path.join(args.run, "config.json")) as f:
            return app_commands.cmd_eval(args, json.load(f))
    trainer, dataset, cfg = load_run(args.run)
    mg_random.manual_seed(args.seed)
    if args.n is None:
        args.n = 2000 if cfg["data"] in recipes.TOY else 500
    if cfg["data"] in recipes.TOY:
        fake = trainer.generate(randn(args.n, trainer.G.latent_dim)).numpy()
        result = metrics.evaluate_toy(fake, dataset)
    else:
        z = randn(args.n, trainer.G.latent_dim)
        labels = tensor(np.arange(args.n) % 10) if cfg["model"] == "cgan" else None
        images = trainer.generate(z, labels).numpy()
        result = metrics.evaluate_digits(images) if cfg["data"] == "mnist" else {}
        if cfg["data"] == "mnist":
            result["real_reference"] = metrics.real_digit_reference()
    print(json.dumps(result, indent=2, default=lambda v: np.asarray(v).tolist()))
    with open(os.path.join(args.run, "eval.json"), "w") as f:
        json.dump(result, f, indent=2, default=lambda v: np.asarray(v).tolist())
    return 0


def cmd_plot(args):
    trainer = dataset = None
    if _app_model(args) is not None:                     # image apps: no Trainer to rebuild
        pass
    elif os.path.exists(os.path.join(args.run, "checkpoints", "last.npz")):
        trainer, dataset, _ = load_run(args.run)
    for path in plot_run_folder(args.run, trainer, dataset):
        print(path)
    return 0
