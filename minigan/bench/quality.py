"""`minigan bench dcgan --quality DIR`: what `minigan train dcgan` delivers, and what each
change to its recipe bought.

1. The recipe table. Each row is the DCGAN recipe with one more change than the row
   above (CHANGES), trained from scratch for that row's steps with each seed, then scored
   on 2,000 samples by minigan's digit classifier: Inception Score (higher is better, real
   digits ~8.6), Fréchet distance to the held-out real digits (lower is better, real
   digits ~7) and the smallest class's share of the samples (1/10 when balanced).
   Wall time is the training loop's alone (no probes, no start-up).
2. The quality curve of the default run: IS and FD of a fixed set of latents every
   `probe_every` steps, against the training time spent so far (plots/quality_curve.png).
3. WGAN-GP on the ring of 8: modes covered and the share of high-quality samples.

Everything goes to DIR/quality.json and DIR/quality_curve.png. Timings are honest only on
a quiet machine; quality figures do not depend on the load.
"""
import json
import os
import time

import numpy as np

from minigan._files import write_text

# (what changed, the recipe overrides after that change). Each row keeps every change
# above it, so the table reads as the path from the old recipe to the default.
CHANGES = [
    ("minigan 0.1's recipe", dict(steps=3000, r1_weight=0.0, r1_every=1, clusters=0)),
    ("+ lazy R1 penalty (weight 1, every 4th D step)", dict(r1_weight=1.0, r1_every=4)),
    ("+ self-conditioning on 50 k-means clusters: the default", dict(clusters=50)),
]


def recipes_defaults():
    from minigan.gan import recipes
    return recipes.defaults("dcgan")


def score_digits(images):
    """IS, FD and the class shares of `images` (N, 1, 28, 28) in [-1, 1]."""
    from minigan import metrics
    report = metrics.evaluate_digits(images)
    counts = np.asarray(report["class_histogram"], dtype=np.float64)
    shares = counts / counts.sum()
    return {"inception_score": float(report["inception_score"]),
            "frechet_distance": float(report["frechet_distance"]),
            "smallest_class_share": float(shares.min()),
            "largest_class_share": float(shares.max())}


def _latents(n, dim, seed=123):
    """A fixed latent set, from its own stream (minigan's generator is left alone)."""
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def generate(gan, z, chunk=500):
    from minigan.creation import tensor
    return np.concatenate([gan.generate(tensor(z[i:i + chunk])).numpy()
                           for i in range(0, len(z), chunk)])


def train_and_probe(cfg, probe_every=None, n=2000, log_every=None):
    """Train a recipe in memory; score it at the end (and every `probe_every` steps).
    Returns (final scores with the training seconds, [probe rows])."""
    from minigan.gan import Trainer, recipes
    gan, _ = recipes.build(cfg)
    z = _latents(n, gan.G.latent_dim)
    trainer = Trainer(gan.step, gan.parts(), log_keys=("loss_d", "loss_g"), name=cfg["model"])
    stops = list(range(probe_every, cfg["steps"], probe_every)) if probe_every else []
    seconds, rows = 0.0, []
    for stop in stops + [cfg["steps"]]:
        start = time.perf_counter()
        trainer.fit(stop, progress=False, log_every=log_every)
        seconds += time.perf_counter() - start
        rows.append(dict(step=stop, seconds=seconds, **score_digits(generate(gan, z))))
    return dict(rows[-1]), rows


def recipe_table(seeds=(0,), changes=CHANGES, log_every=None):
    """One row per (change, seed): steps, wall time, IS, FD, smallest class share."""
    rows, cfg = [], dict(recipes_defaults(), model="dcgan")
    for label, overrides in changes:
        cfg = dict(cfg, **overrides)
        for seed in seeds:
            final, _ = train_and_probe(dict(cfg, seed=seed), log_every=log_every)
            rows.append(dict(change=label, seed=seed, **final))
            print(format_row(rows[-1]), flush=True)
    return rows


def format_row(row):
    return (f"{row['change'][:44]:44s} seed {row['seed']}  {row['step']:6d} steps "
            f"{row['seconds']:7.0f} s  IS {row['inception_score']:5.2f}  "
            f"FD {row['frechet_distance']:6.1f}  smallest class {row['smallest_class_share']:.3f}")


def ring_coverage(seed=0):
    from minigan import metrics
    from minigan.creation import randn
    from minigan.gan import recipes
    from minigan.random import manual_seed
    cfg = dict(recipes.defaults("wgan-gp"), model="wgan-gp", seed=seed)
    start = time.perf_counter()
    gan = recipes.train(cfg, log_every=10000)
    seconds = time.perf_counter() - start
    manual_seed(1)
    ring = recipes.load_data(cfg["data"])[2]
    report = metrics.evaluate_toy(gan.generate(randn(2000, gan.G.latent_dim)).numpy(), ring)
    return dict(seconds=seconds, modes_covered=report["modes_covered"],
                num_modes=report["num_modes"],
                high_quality_fraction=report["high_quality_fraction"])


def run(folder, seeds=(0,), probe_every=500, skip_table=False, skip_ring=False):
    from minigan import metrics, viz
    from minigan.gan import recipes
    os.makedirs(folder, exist_ok=True)
    result = {"real_mnist": metrics.real_digit_reference()}
    real = result["real_mnist"]
    print(f"real MNIST-5k (500 train vs test digits): IS {real['inception_score']:.2f}, "
          f"FD {real['frechet_distance']:.1f}")
    if not skip_table:
        print("\nrecipe change | steps | wall time | IS | FD | smallest class share")
        result["table"] = recipe_table(seeds, log_every=1000)
    print("\nthe default run's quality over time (seed 0):")
    cfg = dict(recipes.defaults("dcgan"), model="dcgan", seed=0)
    _, curve = train_and_probe(cfg, probe_every)
    for row in curve:
        print(f"  step {row['step']:6d}  {row['seconds']:6.0f} s  IS {row['inception_score']:5.2f}"
              f"  FD {row['frechet_distance']:6.1f}  smallest class {row['smallest_class_share']:.3f}")
    result["curve"] = curve
    result["curve_figure"] = viz.plot_quality_curve(
        curve, os.path.join(folder, "quality_curve.png"),
        reference={"inception_score": real["inception_score"],
                   "frechet_distance": real["frechet_distance"]})
    if not skip_ring:
        result["wgan-gp"] = ring_coverage()
        w = result["wgan-gp"]
        print(f"\nwgan-gp on the ring of 8: {w['modes_covered']}/{w['num_modes']} modes, "
              f"{100 * w['high_quality_fraction']:.1f}% high-quality samples, {w['seconds']:.0f} s")
    write_text(os.path.join(folder, "quality.json"),
               json.dumps(result, indent=2, default=lambda v: np.asarray(v).tolist()))
    print(f"\nwritten: {os.path.join(folder, 'quality.json')}, {result['curve_figure']}")
    return result
