"""The `minigan` command: train, sample, eval, plot, export, bench, info, exercise.

This package is the only place with argparse:
    train.py     minigan train MODEL (GAN recipes and image apps, one training loop)
    runs.py      minigan sample | eval | plot RUN
    export.py    minigan export RUN -o FILE.safetensors (the networks, for PyTorch)
    bench.py     minigan bench ops | kernels | dcgan
    args.py      argument types that validate at parse time, the one-line error parser
This file builds the parser and dispatches, importing lazily so `minigan info` stays quick.

Errors: a user error (a bad flag, a missing or taken run folder, a damaged checkpoint, a
diverged run) prints one line, `minigan: error: ...`, on stderr. MINIGAN_DEBUG=1 shows
the traceback instead.
"""
import os
import sys

from .args import CLIError, Parser


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


def build_parser():
    import argparse

    from minigan._version import __version__
    parser = Parser(prog="minigan", description="GANs from the ground up.")
    parser.add_argument("--version", action="version", version=f"minigan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("info", help="versions, kernels in use, devices")
    p.set_defaults(handler=cmd_info)

    p = sub.add_parser("bench", help="benchmarks: ops (engine overhead), kernels, dcgan")
    p.add_argument("what", choices=["ops", "kernels", "dcgan"])
    p.add_argument("rest", nargs=argparse.REMAINDER, help="options of that benchmark")
    p.set_defaults(handler=cmd_bench)

    from minigan.cli import runs, train
    p = sub.add_parser("train", help="train a GAN: gan, dcgan, cgan, wgan-gp, lsgan, hinge; "
                       "image apps: inpaint, pix2pix, cyclegan")
    train.add_arguments(p)
    p.set_defaults(handler=train.cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained run into .npz arrays or a "
                       "PNG grid; BatchNorm uses its running statistics (eval mode)")
    runs.add_sample_arguments(p)
    p.set_defaults(handler=runs.cmd_sample)

    p = sub.add_parser("eval", help="the metrics of a trained run")
    runs.add_eval_arguments(p)
    p.set_defaults(handler=runs.cmd_eval)

    p = sub.add_parser("plot", help="draw a run's figures into RUN/plots")
    runs.add_plot_arguments(p)
    p.set_defaults(handler=runs.cmd_plot)

    from minigan.cli import export
    p = sub.add_parser("export", help="write a trained run's networks as safetensors, for "
                       "PyTorch (needs pip install 'minigan[export]')")
    export.add_arguments(p)
    p.set_defaults(handler=export.cmd_export)

    from minigan.cli import exercise as exercise_command
    p = sub.add_parser("exercise", help="check an exercise: list, check NAME [--file PATH] "
                       "[--hint [N]] [--solution]")
    exercise_command.add_arguments(p)
    p.set_defaults(handler=exercise_command.cmd_exercise)
    return parser


def _user_errors():
    """The exceptions that mean "the request cannot be done as asked", not "minigan broke"."""
    from minigan.gan import NonFiniteError, RunFolderError
    from minigan.serialization import CheckpointError
    return (CLIError, RunFolderError, CheckpointError, NonFiniteError, OSError, ValueError)


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except _user_errors() as err:
        if os.environ.get("MINIGAN_DEBUG"):
            raise
        message = str(err) or type(err).__name__
        if isinstance(err, OSError) and err.filename and str(err.filename) not in message:
            message = f"{err.filename}: {message}"
        print(f"minigan: error: {message}", file=sys.stderr)
        from minigan.gan import NonFiniteError
        return 1 if isinstance(err, NonFiniteError) else 2


if __name__ == "__main__":
    sys.exit(main())
