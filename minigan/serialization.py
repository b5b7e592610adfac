"""`minigan.save` / `minigan.load`: checkpoints that cannot run code when loaded.

    >>> minigan.save({"G": G.state_dict(), "opt_G": opt_G.state_dict(), "step": 1000}, "ckpt.npz")
    >>> ckpt = minigan.load("ckpt.npz")
    >>> G.load_state_dict(ckpt["G"])

PyTorch's format is a pickle, and unpickling a file can run any code inside it. minigan's
file is an ordinary `.npz` (a zip of `.npy` arrays), read with `allow_pickle=False`:
  __manifest__   JSON text (as uint8 bytes): the structure of the saved object, with each
                 tensor replaced by {"tensor": "a3", "dtype": ..., "shape": [...]}
  a0, a1, ...    one array per tensor
Dicts (any key types JSON knows: str, int, float, bool, None), lists, tuples, numbers,
strings, None, Tensors and NumPy arrays can be saved.

Writes are atomic: the file is written next to the target under a temporary name,
flushed and fsync'ed, then renamed over the target (os.replace), so a crash mid-write
leaves the previous good file in place.
"""
import json
import os
import tempfile
import zipfile

import numpy as np

from ._device import array_module, to_device
from .tensor import Tensor

FORMAT = "minigan-checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"


class CheckpointError(ValueError):
    """A file that is not a minigan checkpoint, or a damaged one."""


# --- save ---
def _encode(obj, arrays, where):
    """A JSON-able description of `obj`; tensors and arrays go into `arrays`."""
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray) or (
            type(obj).__module__.startswith("cupy") and hasattr(obj, "shape")):
        data = obj._data if isinstance(obj, Tensor) else obj
        data = to_device(data, "cpu") if array_module(data) is not np else data
        # NOTE: not np.ascontiguousarray, which turns a 0-d array into shape (1,).
        data = data if data.flags.c_contiguous else data.copy(order="C")
        if data.dtype == object:
            raise TypeError(f"minigan.save: {where} is an object array, which cannot be saved")
        name = f"a{len(arrays)}"
        arrays[name] = data
        kind = "tensor" if isinstance(obj, Tensor) else "array"
        return {kind: name, "dtype": data.dtype.str, "shape": list(data.shape)}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float, np.integer, np.floating, np.bool_)):
        return obj.item() if isinstance(obj, np.generic) else obj
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, np.generic):
                k = k.item()
            if not (k is None or isinstance(k, (str, int, float, bool))):
                raise TypeError(f"minigan.save: key {k!r} in {where} is a {type(k).__name__}; "
                                "keys must be strings, numbers, booleans or None")
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]")])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]}
    raise TypeError(f"minigan.save: cannot save {where} of type {type(obj).__name__}; "
                    "save state dicts (dicts of tensors, numbers, strings, lists)")


def save(obj, path):
    """Save `obj` (a state dict, or nested dicts/lists of tensors and numbers) to `path`."""
    path = os.fspath(path)
    arrays = {}
    manifest = {"format": FORMAT, "version": VERSION, "object": _encode(obj, arrays, "obj")}
    text = json.dumps(manifest).encode("utf-8")
    arrays[_MANIFEST] = np.frombuffer(text, dtype=np.uint8)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())             # the bytes are on disk before the rename
        os.replace(tmp, path)                # atomic: readers see the old or the new file
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    try:                                     # make the rename itself durable (POSIX)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


# --- load ---
def _decode(node, archive, path, where, device):
    if isinstance(node, list):
        raise CheckpointError(f"minigan.load: {path}: malformed manifest at {where}")
    if not isinstance(node, dict):
        return node
    if "dict" in node:
        return {k: _decode(v, archive, path, f"{where}[{k!r}]", device) for k, v in node["dict"]}
    if "list" in node:
        return [_decode(v, archive, path, f"{where}[{i}]", device)
                for i, v in enumerate(node["list"])]
    if "tuple" in node:
        return tuple(_decode(v, archive, path, f"{where}[{i}]", device)
                     for i, v in enumerate(node["tuple"]))
    if "tensor" in node or "array" in node:
        name = node.get("tensor", node.get("array"))
        try:
            array = archive[name]
        except KeyError:
            raise CheckpointError(f"minigan.load: {path}: the array for {where} is missing "
                                  "(the file is damaged)") from None
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
            raise CheckpointError(f"minigan.load: {path}: the array for {where} cannot be read "
                                  f"(truncated or corrupted file: {err})") from None
        if list(array.shape) != node["shape"] or array.dtype.str != node["dtype"]:
            raise CheckpointError(f"minigan.load: {path}: {where} has shape {array.shape} and "
                                  f"dtype {array.dtype}, the manifest says {tuple(node['shape'])} "
                                  f"and {node['dtype']} (the file is damaged)")
        if "array" in node:
            return array
        return Tensor._wrap(to_device(array, device) if device else array)
    raise CheckpointError(f"minigan.load: {path}: malformed manifest at {where}")


def load(path, map_location=None):
    """Load what `save` wrote. Tensors come back on the CPU, or on `map_location`
    ('cpu' or 'cuda'). Raises CheckpointError for a truncated, damaged or foreign file."""
    path = os.fspath(path)
    device = map_location if isinstance(map_location, str) else None
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise CheckpointError(f"minigan.load: {path} is not a minigan checkpoint, or it is "
                              f"truncated ({type(err).__name__}: {err})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CheckpointError(f"minigan.load: {path} is a single .npy array, not a minigan "
                              "checkpoint (which is an .npz with a manifest)")
    with archive:
        try:
            if _MANIFEST not in archive.files:
                raise CheckpointError(f"minigan.load: {path} is not a minigan checkpoint (no "
                                      f"{_MANIFEST} entry; it holds {archive.files[:5]})")
            manifest = json.loads(archive[_MANIFEST].tobytes().decode("utf-8"))
        except CheckpointError:
            raise
        except (zipfile.BadZipFile, ValueError, OSError, EOFError, UnicodeDecodeError) as err:
            raise CheckpointError(f"minigan.load: {path}: the manifest cannot be read "
                                  f"(truncated or corrupted file: {err})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CheckpointError(f"minigan.load: {path} is not a minigan checkpoint (its "
                                  "manifest does not name the format)")
        if manifest.get("version") != VERSION:
            raise CheckpointError(f"minigan.load: {path} has format version "
                                  f"{manifest.get('version')}; this minigan reads {VERSION}")
        return _decode(manifest["object"], archive, path, "obj", device)
