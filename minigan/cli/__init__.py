"""The `minigan` command: train, sample, eval, plot, bench, info, exercise.

This package is the only place with argparse: `train.py` (train, sample, eval, plot for
GANs), `apps.py` (the image apps' train and eval). This file builds the parser and
dispatches, importing lazily so `minigan info` stays quick.
"""
import argparse
import sys


def cmd_info(args):
    import platform

    import numpy as np

    import minigan
    from minigan import kernels
    print(f"minigan {minigan.__version__} on Python {platform.python_version()} "
          f"({platform.machine()})")
    print(f"numpy {np.__version__}")
    for name in ("numba", "cupy", "matplotlib", "mlxtend", "torch"):
        try:
            module = __import__(name)
            print(f"{name} {module.__version__}")
        except ImportError:
            print(f"{name}: not installed")
    print(f"kernel backends available: {kernels.available()}")
    print(f"kernel backend in use for NumPy arrays: {kernels.get_backend()}")
    print(f"CUDA device: {'yes' if minigan.cuda_is_available() else 'none'}")


def cmd_bench(args):
    from minigan.cli import bench
    bench.main(args.what, args.rest)


def main(argv=None):
    from minigan._version import __version__
    parser = argparse.ArgumentParser(prog="minigan", description="GANs from the ground up.")
    parser.add_argument("--version", action="version", version=f"minigan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="versions, kernels in use, devices")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("bench", help="benchmarks: ops (engine overhead), kernels, dcgan")
    p.add_argument("what", choices=["ops", "kernels", "dcgan"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark")
    p.set_defaults(handler=cmd_bench)

    from minigan.cli import train as commands
    p = sub.add_parser("train", help="train a GAN: gan, dcgan, cgan, wgan-gp, lsgan, hinge; "
                       "image apps: inpaint, pix2pix, cyclegan")
    commands.add_train_arguments(p)
    from minigan.cli import apps as app_commands
    app_commands.add_train_arguments(p)
    p.set_defaults(handler=commands.cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained run into an .npz file")
    commands.add_sample_arguments(p)
    p.set_defaults(handler=commands.cmd_sample)

    p = sub.add_parser("eval", help="the metrics of a trained run")
    p.add_argument("run")
    p.add_argument("-n", type=int, help="how many samples to evaluate (default: 500 digits, "
                   "the size of the real reference, or 2000 toy points)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(handler=commands.cmd_eval)

    p = sub.add_parser("plot", help="draw a run's figures into RUN/plots")
    p.add_argument("run")
    p.set_defaults(handler=commands.cmd_plot)

    from minigan import exercises
    p = sub.add_parser("exercise", help="gradient-check an exercise: list, check NAME [--file PATH]")
    p.add_argument("action", choices=["check", "list"])
    p.add_argument("name", nargs="?", help="the exercise, e.g. sigmoid")
    p.add_argument("--file", help="the file to check (default lessons/exercises/NAME.py)")
    p.set_defaults(handler=exercises.cmd_exercise)

    args = parser.parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
