"""`minigan bench dcgan`: minigan's DCGAN-28 iteration against PyTorch's, in the same run.

The iteration is the one in shared/bench/torch_dcgan_step.py: batch 64, one D step
(BCE-with-logits on a real batch and a detached fake batch) and one G step (BCE-with-logits
of D(fake) against ones), Adam(2e-4, betas=(0.5, 0.999)), PyTorch's default initialisation.
minigan runs it through `gan.train_step` (non-saturating loss = those BCE terms).

The two frameworks alternate iteration by iteration, so both see the same machine load;
the report gives each median, the ratio, and each one's peak memory (measured in separate
child processes, so one framework's allocations don't hide the other's).
"""
import argparse
import json
import statistics
import subprocess
import sys
import time


def minigan_step_fn(batch):
    import minigan as mg
    from minigan import nn, optim
    from minigan.gan import get_loss, train_step
    mg.manual_seed(0)
    G = nn.Sequential(nn.Linear(100, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128),
                      nn.ReLU(), nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                      nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    G.latent_dim = 100
    D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(64, 128, 4, 2, 1),
                      nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    opt_g = optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    real = mg.rand(batch, 1, 28, 28) * 2 - 1
    loss = get_loss("nonsaturating")
    return lambda: train_step(G, D, opt_g, opt_d, real, loss)


def torch_step_fn(batch):
    import torch
    import torch.nn as tnn
    torch.manual_seed(0)
    G = tnn.Sequential(tnn.Linear(100, 128 * 7 * 7), tnn.Unflatten(1, (128, 7, 7)), tnn.BatchNorm2d(128),
                       tnn.ReLU(), tnn.ConvTranspose2d(128, 64, 4, 2, 1), tnn.BatchNorm2d(64), tnn.ReLU(),
                       tnn.ConvTranspose2d(64, 1, 4, 2, 1), tnn.Tanh())
    D = tnn.Sequential(tnn.Conv2d(1, 64, 4, 2, 1), tnn.LeakyReLU(0.2), tnn.Conv2d(64, 128, 4, 2, 1),
                       tnn.BatchNorm2d(128), tnn.LeakyReLU(0.2), tnn.Flatten(), tnn.Linear(128 * 7 * 7, 1))
    opt_g = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    bce = tnn.BCEWithLogitsLoss()
    real = torch.rand(batch, 1, 28, 28) * 2 - 1
    ones, zeros = torch.ones(batch, 1), torch.zeros(batch, 1)

    def step():
        z = torch.randn(batch, 100)
        fake = G(z)
        loss_d = bce(D(real), ones) + bce(D(fake.detach()), zeros)
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = bce(D(fake), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return step


def _vm_hwm_mb():
    """This process's peak resident memory (VmHWM). NOTE: not ru_maxrss, which on Linux
    carries the parent's peak over into a child started with fork + exec."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024


def peak_memory_mb(which, batch, iters):
    """Peak resident memory of a child process running `iters` iterations of one framework,
    and how much of it the iterations added on top of the set-up."""
    code = (f"import minigan.bench.dcgan as b; f = b.{which}_step_fn({batch}); f(); "
            f"before = b._vm_hwm_mb()\n"
            f"for _ in range({iters}): f()\n"
            f"print(b._vm_hwm_mb(), before)")
    try:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        peak, before = (float(v) for v in out.stdout.split())
    except (ValueError, OSError):
        return None, None
    return peak, peak - before


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minigan bench dcgan", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", help="also write the figures to this file")
    parser.add_argument("--quality", metavar="DIR",
                        help="also train the default `dcgan` and `wgan-gp` runs into DIR (or "
                             "reuse them if already there) and report their quality metrics")
    args = parser.parse_args(argv)
    if args.quality:
        return quality(args.quality)

    steps = {"minigan": minigan_step_fn(args.batch)}
    try:
        import torch
        steps["torch"] = torch_step_fn(args.batch)
        torch_version = f"{torch.__version__}, {torch.get_num_threads()} threads"
    except ImportError:
        torch_version = None
        print("PyTorch is not installed: timing minigan alone (pip install torch==2.13.0 to compare)")
    for step in steps.values():
        for _ in range(args.warmup):
            step()
    times = {name: [] for name in steps}
    for _ in range(args.iterations):                  # alternate: same load for both
        for name, step in steps.items():
            t = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - t)

    result = {"batch": args.batch, "iterations": args.iterations}
    print(f"DCGAN-28 iteration (D step + G step), batch {args.batch}, median of {args.iterations}:")
    for name in steps:
        ms = statistics.median(times[name]) * 1e3
        peak, growth = peak_memory_mb(name, args.batch, 5)
        result[name] = {"median_ms": ms, "min_ms": min(times[name]) * 1e3, "peak_rss_mb": peak,
                        "rss_growth_mb": growth}
        label = name if name == "minigan" else f"torch {torch_version}"
        mem = f", peak RSS {peak:.0f} MB ({growth:+.0f} MB after the first step)" if peak else ""
        print(f"  {label:32s} {ms:8.1f} ms (min {min(times[name]) * 1e3:.1f}){mem}")
    if "torch" in steps:
        ratio = result["minigan"]["median_ms"] / result["torch"]["median_ms"]
        result["minigan_over_torch"] = ratio
        print(f"  minigan / torch time: {ratio:.2f} ({'faster' if ratio < 1 else 'slower'} than PyTorch)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return result


def quality(folder, n_images=500, n_points=2000):
    """The quality targets: the default DCGAN run's classifier IS and Fréchet distance next
    to real MNIST-5k's, and WGAN-GP's mode coverage on the ring of 8."""
    import os

    import numpy as np

    from minigan import metrics
    from minigan.creation import randn
    from minigan.gan import load_run, recipes
    from minigan.random import manual_seed
    result = {}
    for model in ("dcgan", "wgan-gp"):
        run = os.path.join(folder, model)
        if not os.path.exists(os.path.join(run, "checkpoints", "last.npz")):
            start = time.perf_counter()
            recipes.train(dict(recipes.defaults(model), model=model, seed=0), run, log_every=500)
            result[f"{model}_train_seconds"] = time.perf_counter() - start
        trainer, dataset, cfg = load_run(run)
        manual_seed(1)
        # FID is biased by sample size: 500 generated digits, like the real reference's 500.
        n = n_images if model == "dcgan" else n_points
        samples = trainer.generate(randn(n, trainer.G.latent_dim)).numpy()
        if model == "dcgan":
            result["dcgan"] = metrics.evaluate_digits(samples)
            result["real_mnist"] = metrics.real_digit_reference()
        else:
            result["wgan-gp"] = metrics.evaluate_toy(samples, dataset)
    d, r, w = result["dcgan"], result["real_mnist"], result["wgan-gp"]
    print(f"default `minigan train dcgan` ({n_images} samples): classifier IS {d['inception_score']:.2f}, "
          f"Fréchet distance {d['frechet_distance']:.1f}; real MNIST-5k: IS "
          f"{r['inception_score']:.2f}, Fréchet distance {r['frechet_distance']:.1f}")
    print(f"default `minigan train wgan-gp` on the ring of 8: {w['modes_covered']}/{w['num_modes']} "
          f"modes, {100 * w['high_quality_fraction']:.1f}% high-quality samples")
    return result


if __name__ == "__main__":
    main()
