"""`minigan train inpaint|pix2pix|cyclegan` and `minigan eval RUN` for the image apps.

`minigan/cli/train.py` owns the subcommands and hands these model names over here.

    minigan train pix2pix --steps 1500 --out runs/pix2pix
    minigan eval runs/pix2pix          # PSNR table + runs/pix2pix/plots/denoising.png
"""
import json
import os
import time

import numpy as np

APP_MODELS = ("inpaint", "pix2pix", "cyclegan")


def _module(model):
    from ..apps import cyclegan, inpainting, pix2pix
    return {"inpaint": inpainting, "pix2pix": pix2pix, "cyclegan": cyclegan}[model]


def add_train_arguments(p):
    """Options only the apps use (the common ones are cli.train.add_train_arguments)."""
    p.add_argument("--dcgan", metavar="RUN", help="inpaint: use this trained DCGAN run folder "
                   "for latent optimisation instead of training a small one")
    p.add_argument("--dcgan-steps", type=int, help="inpaint: steps of the small DCGAN")


def config_from_args(args):
    module = _module(args.model)
    cfg = dict(module.DEFAULTS, model=args.model, seed=args.seed,
               sample_every=args.sample_every, checkpoint_every=args.checkpoint_every)
    for key in ("steps", "batch_size", "lr_g", "lr_d"):
        value = getattr(args, key, None)
        if value is not None:
            cfg[key] = value
    if getattr(args, "epochs", None):
        cfg["steps"] = int(round(args.epochs * (4500 // cfg["batch_size"])))
    if args.model == "inpaint":
        if getattr(args, "dcgan", None):
            cfg["dcgan_run"] = args.dcgan
        if getattr(args, "dcgan_steps", None):
            cfg["dcgan_steps"] = args.dcgan_steps
    return cfg


def cmd_train(args):
    if getattr(args, "device", "cpu") != "cpu":
        raise SystemExit(f"minigan train {args.model}: only --device cpu is supported")
    if args.resume:
        run_dir = args.resume
        from ..gan.run_folder import read_config
        cfg = read_config(run_dir)
        if args.steps is not None:
            cfg["steps"] = args.steps
        with open(os.path.join(run_dir, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        print(f"resuming {run_dir}")
    else:
        cfg = config_from_args(args)
        run_dir = args.out or os.path.join("runs", args.model)
        print(f"training {args.model} for {cfg['steps']} steps (batch {cfg['batch_size']}) -> {run_dir}")
    start = time.perf_counter()
    _module(cfg["model"]).train(cfg, run_dir, resume=bool(args.resume), progress=not args.quiet,
                                log_every=100 if args.quiet else None)
    from ..viz import plot_run
    written = plot_run(run_dir)
    print(f"done in {time.perf_counter() - start:.0f}s. Samples: {os.path.join(run_dir, 'samples', 'latest.png')}")
    for path in written:
        print(f"  figure: {path}")
    print(f"next: minigan eval {run_dir}")
    return 0


def format_table(result):
    """The nested result dict as aligned text lines."""
    lines = []
    for section, rows in result.items():
        if not isinstance(rows, dict):
            continue
        lines.append(section)
        for name, values in rows.items():
            if isinstance(values, dict):
                cells = "  ".join(f"{k} {v:8.4f}" for k, v in values.items())
                lines.append(f"  {name:24s} {cells}")
            else:
                lines.append(f"  {name:24s} {values:8.4f}")
    return "\n".join(lines)


def cmd_eval(args, cfg):
    """Evaluate an app run: print the table, write RUN/eval.json and the figure."""
    model = cfg["model"]
    start = time.perf_counter()
    module = _module(model)
    kwargs = {"seed": args.seed}
    result = module.evaluate(args.run, **kwargs)
    print(format_table(result))
    if "figure" in result:
        print(f"figure: {result['figure']}")
    print(f"evaluated in {time.perf_counter() - start:.0f}s")
    with open(os.path.join(args.run, "eval.json"), "w") as f:
        json.dump(result, f, indent=2, default=lambda v: np.asarray(v).tolist())
    return 0
