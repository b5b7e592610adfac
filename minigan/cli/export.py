"""`minigan export RUN -o FILE.safetensors`: a trained run's networks, for PyTorch.

    minigan export runs/dcgan -o dcgan.safetensors          # G's and D's weights
    minigan export runs/dcgan -o g_ema.safetensors --ema    # G's moving average as G

The file holds every network of the run (G and D; pix2pix's G_l1 too; CycleGAN's G_AB,
G_BA, D_A, D_B), each tensor under `<network>.<its state_dict key>`: the keys PyTorch's
state_dict gives the same layers, so in PyTorch

    from safetensors.torch import load_file
    gan = torch.nn.ModuleDict({"G": G, "D": D})      # G, D: the same layers, in PyTorch
    gan.load_state_dict(load_file("dcgan.safetensors"))

continues from where minigan stopped. Safetensors is a plain format (a JSON header, then
the raw arrays): nothing in it runs as code when it is loaded. It needs the optional
`safetensors` package: pip install 'minigan[export]'.
"""
import json
import os

import numpy as np

from .._files import atomic_path
from .._version import __version__
from ..apps import APPS
from ..gan import RunFolder, load_run
from ..nn import Module
from .args import CLIError


def add_arguments(p):
    p.add_argument("run")
    p.add_argument("-o", "--output", required=True,
                   help="FILE.safetensors: written exactly at this path")
    p.add_argument("--ema", action="store_true",
                   help="write the moving average of G's weights as G (runs trained with --ema)")


def _save_file():
    """safetensors' NumPy writer, imported only when an export is asked for."""
    try:
        from safetensors.numpy import save_file
    except ImportError:
        raise CLIError("minigan export needs the safetensors package: "
                       "pip install 'minigan[export]'") from None
    return save_file


def networks(run_dir, ema=False):
    """({name: Module} of a run's networks, the run's config), the last checkpoint loaded."""
    cfg = RunFolder.open(run_dir).config
    if cfg["model"] in APPS:
        if ema:
            raise CLIError(f"--ema: {run_dir} is a {cfg['model']} run, which keeps no moving "
                           "average")
        parts = APPS[cfg["model"]][0].from_run(run_dir).parts()
    else:
        gan, _, cfg = load_run(run_dir)
        parts = gan.parts()
        if ema:
            if gan.ema is None:
                raise CLIError(f"--ema: {run_dir} was trained without --ema, so it has no "
                               "moving average of G")
            parts["G"] = gan.generator()        # the averaged weights, their own BN statistics
    return {name: part for name, part in parts.items() if isinstance(part, Module)}, cfg


def state_arrays(modules):
    """{'<network>.<key>': C-contiguous NumPy array} of every network's state_dict."""
    arrays = {}
    for name, module in modules.items():
        for key, t in module.state_dict().items():
            a = np.asarray(t)        # a CUDA tensor comes to the CPU
            # NOTE: not np.ascontiguousarray, which turns a 0-d array (num_batches_tracked)
            # into shape (1,).
            arrays[f"{name}.{key}"] = a if a.flags.c_contiguous else a.copy(order="C")
    return arrays


def cmd_export(args):
    if os.path.splitext(args.output)[1].lower() != ".safetensors":
        raise CLIError(f"-o: expected a file name ending in .safetensors, got {args.output!r}")
    if os.path.isdir(args.output):
        raise CLIError(f"-o: {args.output} is a folder; give a file name such as "
                       f"{os.path.join(args.output, 'model.safetensors')}")
    save_file = _save_file()
    modules, cfg = networks(args.run, args.ema)
    arrays = state_arrays(modules)
    # Metadata is strings only. "format": "pt" marks the tensors as PyTorch's layout.
    metadata = {"format": "pt", "minigan_version": __version__, "model": cfg["model"],
                "networks": ",".join(modules), "config": json.dumps(cfg)}
    with atomic_path(args.output) as tmp:
        save_file(arrays, tmp, metadata=metadata)
    total = sum(a.size for a in arrays.values())
    print(f"wrote {len(arrays)} tensors ({total:,} numbers) of {', '.join(modules)} to "
          f"{args.output}")
    return 0
