"""`minigan bench ops|kernels|dcgan`: the options of each benchmark (the code is in minigan/bench/)."""
import argparse

from .args import Parser


def _ops(argv):
    from minigan.bench import ops
    p = Parser(prog="minigan bench ops", description=ops.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--repeat", type=int, default=300)
    a = p.parse_args(argv)
    return ops.run(a.batch, a.width, a.repeat)


def _timing_arguments(p, iterations, warmup):
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--rounds", type=int, default=5,
                   help="rounds of alternating child processes (default 5)")
    p.add_argument("--iterations", type=int, default=iterations,
                   help=f"timed iterations per child process (default {iterations})")
    p.add_argument("--warmup", type=int, default=warmup,
                   help=f"untimed iterations first, in each child (default {warmup})")
    p.add_argument("--no-torch", action="store_true", help="time minigan alone")
    p.add_argument("--json", metavar="FILE", help="also write every figure and the machine here")


def _kernels(argv):
    from minigan.bench import kernels
    p = Parser(prog="minigan bench kernels", description=kernels.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _timing_arguments(p, iterations=10, warmup=2)
    p.add_argument("--float64", action="store_true", help="time the conv layers in float64")
    p.add_argument("--reference", action="store_true", help="also time the NumPy reference")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                   help="cuda: minigan's CuPy kernels (PyTorch stays on the CPU)")
    p.add_argument("--other", action="store_true",
                   help="also time the other kernels, every CPU version")
    p.add_argument("--cold-start", action="store_true", help="also time import + first conv")
    a = p.parse_args(argv)
    return kernels.run(a.batch, a.rounds, a.iterations, a.warmup,
                       "float64" if a.float64 else "float32", a.reference, a.device, a.other,
                       a.cold_start, a.json, ("minigan",) if a.no_torch else ("minigan", "torch"))


def _dcgan(argv):
    from minigan.bench import dcgan
    p = Parser(prog="minigan bench dcgan", description=dcgan.__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _timing_arguments(p, iterations=10, warmup=3)
    p.add_argument("--profile-iterations", type=int, default=5,
                   help="iterations of the cProfile child for the per-part breakdown (0: none)")
    p.add_argument("--quality", metavar="DIR",
                   help="instead: the recipe table (each change to the DCGAN recipe, trained "
                        "and scored), the default run's quality curve, and WGAN-GP's ring "
                        "coverage; figures and JSON into DIR")
    p.add_argument("--seeds", default="0", help="with --quality: seeds of the recipe table, "
                   "e.g. 0,1,2 (default 0)")
    p.add_argument("--probe-every", type=int, default=500,
                   help="with --quality: steps between the quality curve's probes")
    a = p.parse_args(argv)
    if a.quality:
        from minigan.bench import quality
        return quality.run(a.quality, tuple(int(s) for s in a.seeds.split(",")), a.probe_every)
    return dcgan.run(a.batch, a.rounds, a.iterations, a.warmup, a.profile_iterations, a.json,
                     ("minigan",) if a.no_torch else ("minigan", "torch"))


BENCHMARKS = {"ops": _ops, "kernels": _kernels, "dcgan": _dcgan}


def main(what, argv):
    return BENCHMARKS[what](argv)
