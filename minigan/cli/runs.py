"""`minigan sample`, `minigan eval` and `minigan plot`: what a trained run folder gives back.

    minigan sample runs/dcgan -n 64 -o grid.png       # a PNG grid (the extension decides)
    minigan sample runs/dcgan -n 10000 -o s.npz       # arrays, generated and written in chunks
    minigan eval runs/dcgan                           # scores, also written to RUN/eval.json
    minigan plot runs/dcgan                           # figures into RUN/plots
"""
import math
import os
import time
import zipfile

import numpy as np

from .. import random as mg_random
from .._files import atomic_path
from ..apps import APPS
from ..creation import randn, tensor
from ..gan import RunFolder, load_run, recipes
from .args import CLIError, at_least, labels
from .train import plot

CHUNK = 500          # samples generated at a time: memory stays bounded for any -n


def add_sample_arguments(p):
    p.add_argument("run")
    p.add_argument("-n", type=at_least(1), default=64, help="how many samples (default 64)")
    p.add_argument("-o", "--output", default="samples.npz",
                   help="FILE.npz (arrays: images in [0, 1], or points) or FILE.png (a grid); "
                        "written exactly at this path (no extension: .npz arrays)")
    p.add_argument("--labels", type=labels,
                   help="comma-separated digits for a conditional model, e.g. 0,1,2")
    p.add_argument("--seed", type=at_least(0), default=0)


def add_eval_arguments(p):
    p.add_argument("run")
    p.add_argument("-n", type=at_least(1), help="how many samples to evaluate (default: 500 "
                   "digits, the size of the real reference, or 2000 toy points)")
    p.add_argument("--seed", type=at_least(0), default=0)


def add_plot_arguments(p):
    p.add_argument("run")


def _gan_run(path, command):
    """(gan, dataset, config) of a GAN run; an image app's run is refused with a hint."""
    cfg = RunFolder.open(path).config
    if cfg["model"] in APPS:
        raise CLIError(f"{path} is a {cfg['model']} run (an image-to-image app): `minigan "
                       f"{command}` draws from GANs; use `minigan eval {path}` for its figures")
    return load_run(path)


def _class_labels(gan, cfg, chosen, n):
    """The labels a conditional model draws for (cycling through `chosen`), or None."""
    if cfg["model"] != "cgan":
        if chosen:
            raise CLIError(f"--labels needs a conditional model; this run is a {cfg['model']}")
        return None
    classes = int(gan.labels.numpy().max()) + 1
    chosen = chosen or list(range(classes))
    bad = [c for c in chosen if not 0 <= c < classes]
    if bad:
        raise CLIError(f"--labels: this model draws classes 0 to {classes - 1}, got {bad}")
    return np.resize(np.array(chosen, dtype=np.int64), n)


def generate_chunks(gan, n, labels=None):
    """G's samples, CHUNK at a time: (start, NumPy array) pairs."""
    for start in range(0, n, CHUNK):
        m = min(CHUNK, n - start)
        z = randn(m, gan.G.latent_dim)
        chunk_labels = None if labels is None else tensor(labels[start:start + m])
        yield start, gan.generate(z, chunk_labels).numpy()


def cmd_sample(args):
    ext = os.path.splitext(args.output)[1].lower()
    if ext not in (".npz", ".png", ""):
        raise CLIError(f"-o: expected a file name ending in .npz (arrays) or .png (a grid), "
                       f"got {args.output!r}")
    if os.path.isdir(args.output):
        raise CLIError(f"-o: {args.output} is a folder; give a file name such as "
                       f"{os.path.join(args.output, 'samples.npz')}")
    gan, _, cfg = _gan_run(args.run, "sample")
    labels_ = _class_labels(gan, cfg, args.labels, args.n)
    mg_random.manual_seed(args.seed)
    chunks = generate_chunks(gan, args.n, labels_)
    if ext == ".png":
        what = _write_png(chunks, args.n, args.output)
    else:
        what = _write_npz(chunks, args.n, labels_, args.output)
    print(f"wrote {args.n} samples to {args.output}: {what}")
    return 0


def _write_npz(chunks, n, labels_, path):
    """Stream the samples into an .npz member by member: one .npy header, then the chunks.
    Images are mapped from G's [-1, 1] to [0, 1]."""
    from numpy.lib import format as npy
    start, first = next(chunks)
    key = "images" if first.ndim == 4 else "points"
    shape = (n,) + first.shape[1:]
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w") as archive:
            with archive.open(f"{key}.npy", "w", force_zip64=True) as f:
                npy.write_array_header_2_0(f, {"descr": npy.dtype_to_descr(np.dtype(np.float32)),
                                               "fortran_order": False, "shape": shape})
                for _, chunk in [(start, first), *chunks]:
                    if key == "images":
                        chunk = ((chunk + 1) / 2).clip(0, 1)
                    f.write(np.ascontiguousarray(chunk, dtype=np.float32).tobytes())
            if labels_ is not None:
                with archive.open("labels.npy", "w") as f:
                    npy.write_array(f, labels_)
    described = f"{key} {shape} float32"
    return described + (f", labels ({n},) int64" if labels_ is not None else "")


def _write_png(chunks, n, path):
    """Images as one grid (a square-ish layout), or toy points as a scatter plot."""
    from ..viz import plot_toy_1d, plot_toy_2d, save_image_grid
    parts = [chunk for _, chunk in chunks]
    if parts[0].ndim == 4:
        images = np.concatenate([p.astype(np.float32) for p in parts])
        save_image_grid(images, path, nrow=max(1, math.ceil(math.sqrt(n))))
        return f"a grid of {n} images"
    points = np.concatenate(parts)
    if points.shape[1] == 2:
        plot_toy_2d(points[:0], points, path, title=f"{n} samples")
    else:
        plot_toy_1d(points[:0, 0], points[:, 0], path, title=f"{n} samples")
    return f"a plot of {n} points"


def cmd_eval(args):
    from .. import metrics
    run = RunFolder.open(args.run)
    cfg = run.config
    start = time.perf_counter()
    if cfg["model"] in APPS:
        module = APPS[cfg["model"]][1]
        kwargs = {"seed": args.seed} if args.n is None else {"seed": args.seed, "n": args.n}
        result = module.evaluate(args.run, **kwargs)
        print(format_table(result))
        if "figure" in result:
            print(f"figure: {result['figure']}")
    else:
        gan, dataset, cfg = load_run(args.run)
        toy = cfg["data"] in recipes.TOY
        if not toy and cfg["data"] != "mnist":
            raise CLIError(f"minigan eval scores toy data and MNIST digits; this run trained "
                           f"on {cfg['data']}, which has no reference to score against")
        n = args.n or (2000 if toy else 500)
        mg_random.manual_seed(args.seed)
        labels_ = np.arange(n) % 10 if cfg["model"] == "cgan" else None
        fake = np.concatenate([chunk for _, chunk in generate_chunks(gan, n, labels_)])
        if toy:
            result = metrics.evaluate_toy(fake, dataset)
        else:
            result = metrics.evaluate_digits(fake)
            result["real_reference"] = metrics.real_digit_reference()
        print(format_json(result))
    run.write_json("eval.json", result)
    print(f"evaluated in {time.perf_counter() - start:.0f}s; written to {run.file('eval.json')}")
    return 0


def format_json(result):
    import json
    return json.dumps(result, indent=2, default=lambda v: np.asarray(v).tolist())


def format_table(result):
    """An app's nested result dict as aligned text lines."""
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


def cmd_plot(args):
    run = RunFolder.open(args.run)
    gan = None
    if run.config["model"] not in APPS and run.has_checkpoint():
        gan, _, _ = load_run(args.run)
    written = plot(run, gan)
    if not written:
        raise CLIError(f"{args.run} has nothing to plot yet: no history and no samples")
    for path in written:
        print(path)
    return 0
