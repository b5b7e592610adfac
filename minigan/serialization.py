"""`minigan.save` / `minigan.load`: checkpoints that cannot run code, nor make the loader
allocate more memory than the file holds.

    >>> minigan.save({"G": G.state_dict(), "opt_G": opt_G.state_dict(), "step": 1000}, "ckpt.npz")
    >>> ckpt = minigan.load("ckpt.npz")
    >>> G.load_state_dict(ckpt["G"])

PyTorch's format is a pickle, and unpickling a file can run any code inside it. minigan's
file is an ordinary `.npz` (a zip of `.npy` arrays, stored uncompressed):
  __manifest__   JSON text (as uint8 bytes): the structure of the saved object, with each
                 tensor replaced by {"tensor": "a3", "dtype": ..., "shape": [...]}
  a0, a1, ...    one array per tensor
Dicts (any key types JSON knows: str, int, float, bool, None), lists, tuples, numbers,
strings, None, Tensors and NumPy arrays can be saved.

Writes are atomic: the file is written next to the target under a temporary name,
flushed and fsync'ed, then renamed over the target (os.replace), so a crash mid-write
leaves the previous good file in place. The file gets the permissions the umask gives.

Loading trusts nothing in the file. Before reading any array data it checks, for every
array the manifest names: that it is named once, that its `.npy` header (dtype, shape)
matches the manifest, that the zip entry is stored uncompressed with exactly the size
that header implies and lies inside the file, and that all of them together fit in the
file. So a file of n bytes never makes `load` allocate much more than n bytes.
"""
import json
import os
import zipfile

import numpy as np

from ._files import atomic_path
from ._device import array_module, to_device
from .tensor import Tensor

FORMAT = "minigan-checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"
_MAX_MANIFEST_BYTES = 64 * 2**20     # the JSON text; a real one is a few KB
_MAX_DEPTH = 100                     # nesting of the saved object; a real one is about 5
_DTYPE_KINDS = "biufcUS"             # bool, integers, floats, complex, strings: no objects
_CHUNK = 2**18                       # bytes read at a time into an array


class CheckpointError(ValueError):
    """A file that is not a minigan checkpoint, or a damaged one."""


# --- save ---
def _encode(obj, arrays, where, depth=0):
    """A JSON-able description of `obj`; tensors and arrays go into `arrays`."""
    if depth > _MAX_DEPTH:
        raise ValueError(f"minigan.save: {where} is nested more than {_MAX_DEPTH} levels deep")
    if isinstance(obj, Tensor) or isinstance(obj, np.ndarray) or (
            type(obj).__module__.startswith("cupy") and hasattr(obj, "shape")):
        data = obj._data if isinstance(obj, Tensor) else obj
        data = to_device(data, "cpu") if array_module(data) is not np else data
        # NOTE: not np.ascontiguousarray, which turns a 0-d array into shape (1,).
        data = data if data.flags.c_contiguous else data.copy(order="C")
        if data.dtype.kind not in _DTYPE_KINDS:      # an object array would be a pickle
            what = "an object array" if data.dtype.kind == "O" else f"an array of {data.dtype}"
            raise TypeError(f"minigan.save: {where} is {what}, which cannot be saved (arrays "
                            "of numbers, booleans or text can)")
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
            items.append([k, _encode(v, arrays, f"{where}[{k!r}]", depth + 1)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        kind = "list" if isinstance(obj, list) else "tuple"
        return {kind: [_encode(v, arrays, f"{where}[{i}]", depth + 1) for i, v in enumerate(obj)]}
    raise TypeError(f"minigan.save: cannot save {where} of type {type(obj).__name__}; "
                    "save state dicts (dicts of tensors, numbers, strings, lists)")


def save(obj, path):
    """Save `obj` (a state dict, or nested dicts/lists of tensors and numbers) to `path`."""
    path = os.fspath(path)
    arrays = {}
    manifest = {"format": FORMAT, "version": VERSION, "object": _encode(obj, arrays, "obj")}
    text = json.dumps(manifest).encode("utf-8")
    arrays[_MANIFEST] = np.frombuffer(text, dtype=np.uint8)
    with atomic_path(path, durable=True) as tmp:        # readers see the old or the new file
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


# --- load ---
def load(path, map_location=None, weights_only=True):
    """Load what `save` wrote. Tensors come back on the CPU, or on `map_location`
    ('cpu' or 'cuda'). Raises CheckpointError for a truncated, damaged or foreign file.

    weights_only is accepted for PyTorch's signature and is always true here: a minigan
    file holds only arrays, numbers, strings and containers, and loading never runs code
    from it, whatever the argument says.
    """
    path = os.fspath(path)
    device = map_location if isinstance(map_location, str) else None
    with open(path, "rb") as f:                       # FileNotFoundError stays as it is
        if f.read(6) == b"\x93NUMPY":
            raise CheckpointError(f"minigan.load: {path} is a single .npy array, not a minigan "
                                  "checkpoint (which is an .npz with a manifest)")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise CheckpointError(f"minigan.load: {path} is not a minigan checkpoint, or it is "
                              f"truncated ({type(err).__name__}: {err})") from None
    with archive:
        try:
            return _load(_Reader(path, archive), device)
        except CheckpointError:
            raise
        except (KeyError, TypeError, AttributeError, IndexError, ValueError, MemoryError,
                RecursionError, OSError, EOFError, zipfile.BadZipFile) as err:
            # A safety net: the checks in _Reader should have named the problem already.
            raise CheckpointError(f"minigan.load: {path} is damaged or not a minigan "
                                  f"checkpoint ({type(err).__name__}: {err})") from None


def _load(reader, device):
    manifest = reader.manifest()
    # Two walks of the manifest: the first only collects the arrays it names, so that every
    # size is checked before any array data is read; the second builds the object.
    named = []
    reader.decode(manifest["object"], lambda node, where: named.append((node, where)))
    arrays = reader.read_arrays(named)
    return reader.decode(manifest["object"], lambda node, where: _as_loaded(
        arrays[node[_kind(node)]], node, device))


def _kind(node):
    return "tensor" if "tensor" in node else "array"


def _as_loaded(array, node, device):
    if _kind(node) == "array":
        return array
    return Tensor._wrap(to_device(array, device) if device else array)


class _Reader:
    """Reads one checkpoint; every error it raises is a CheckpointError naming the file."""

    def __init__(self, path, archive):
        self.path, self.archive = path, archive
        self.file_size = os.path.getsize(path)

    def fail(self, message):
        return CheckpointError(f"minigan.load: {self.path}: {message}")

    # --- the manifest ---
    def manifest(self):
        if _MANIFEST + ".npy" not in self.archive.namelist():
            raise CheckpointError(f"minigan.load: {self.path} is not a minigan checkpoint (no "
                                  f"{_MANIFEST} entry; it holds {self.archive.namelist()[:5]})")
        info, shape = self.check_member(_MANIFEST, "the manifest", "|u1", None,
                                        _MAX_MANIFEST_BYTES)
        try:
            text = self.read_member(info, "the manifest", "|u1", shape).tobytes().decode("utf-8")
            manifest = json.loads(text)
        except CheckpointError:
            raise
        except (ValueError, UnicodeDecodeError) as err:
            raise self.fail(f"the manifest cannot be read (not JSON text: {err})") from None
        except RecursionError:
            raise self.fail("the manifest cannot be read: it is nested too deeply") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise CheckpointError(f"minigan.load: {self.path} is not a minigan checkpoint (its "
                                  "manifest does not name the format)")
        if manifest.get("version") != VERSION:
            raise CheckpointError(f"minigan.load: {self.path} has format version "
                                  f"{manifest.get('version')}; this minigan reads {VERSION}")
        if "object" not in manifest:
            raise self.fail("malformed manifest: it has no 'object'")
        return manifest

    def decode(self, node, on_array, where="obj", depth=0):
        """The object `node` describes; each array node becomes on_array(node, where)."""
        if depth > _MAX_DEPTH:
            raise self.fail(f"malformed manifest at {where}: nested more than {_MAX_DEPTH} "
                            "levels deep")
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if not isinstance(node, dict) or len(node) == 0:
            raise self.fail(f"malformed manifest at {where}: {_short(node)}")
        if "dict" in node:
            pairs = self._field(node, "dict", list, where)
            out = {}
            for pair in pairs:
                if not (isinstance(pair, list) and len(pair) == 2 and
                        (pair[0] is None or isinstance(pair[0], (bool, int, float, str)))):
                    raise self.fail(f"malformed manifest at {where}: a dict entry must be a "
                                    f"[key, value] pair with a JSON scalar key, got {_short(pair)}")
                key, value = pair
                out[key] = self.decode(value, on_array, f"{where}[{key!r}]", depth + 1)
            return out
        for kind, container in (("list", list), ("tuple", tuple)):
            if kind in node:
                items = self._field(node, kind, list, where)
                return container(self.decode(v, on_array, f"{where}[{i}]", depth + 1)
                                 for i, v in enumerate(items))
        if "tensor" in node or "array" in node:
            self._check_array_node(node, where)
            return on_array(node, where)
        raise self.fail(f"malformed manifest at {where}: {_short(node)}")

    def _field(self, node, key, kind, where):
        if len(node) != 1 or not isinstance(node[key], kind):
            raise self.fail(f"malformed manifest at {where}: expected {{{key!r}: "
                            f"{kind.__name__}}}, got {_short(node)}")
        return node[key]

    def _check_array_node(self, node, where):
        kind = _kind(node)
        name, dtype, shape = node.get(kind), node.get("dtype"), node.get("shape")
        if (set(node) != {kind, "dtype", "shape"} or not isinstance(name, str)
                or not isinstance(dtype, str) or not isinstance(shape, list)
                or not all(type(s) is int and s >= 0 for s in shape) or len(shape) > 32):
            raise self.fail(f"malformed manifest at {where}: expected {{{kind!r}: name, 'dtype': "
                            f"text, 'shape': [sizes >= 0]}}, got {_short(node)}")
        try:
            ok = np.dtype(dtype).kind in _DTYPE_KINDS
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise self.fail(f"malformed manifest at {where}: dtype {dtype!r} is not a dtype of "
                            "numbers, booleans or text")

    # --- the arrays ---
    def read_arrays(self, named):
        """Read every array the manifest names, after checking all their sizes first."""
        seen = {}
        for node, where in named:
            name = node[_kind(node)]
            if name in seen:
                raise self.fail(f"array {name} is named twice in the manifest, by {seen[name]} "
                                f"and {where} (a checkpoint stores each tensor once)")
            seen[name] = where
        total = sum(_nbytes(node["dtype"], node["shape"]) for node, _ in named)
        if total > self.file_size:
            raise self.fail(f"the manifest declares {total} bytes of arrays, more than the "
                            f"file's {self.file_size} bytes (the file is damaged or crafted)")
        infos = [self.check_member(node[_kind(node)], where, node["dtype"], node["shape"])[0]
                 for node, where in named]
        return {node[_kind(node)]: self.read_member(info, where, node["dtype"], node["shape"])
                for (node, where), info in zip(named, infos)}

    def check_member(self, name, where, dtype, shape, max_bytes=None):
        """(zip entry, shape) of array `name`, checked against the manifest without reading
        its data. shape None: any 1-d shape up to max_bytes (the manifest's own entry)."""
        try:
            info = self.archive.getinfo(name + ".npy")
        except KeyError:
            raise self.fail(f"the array for {where} is missing (the file is damaged)") from None
        if info.compress_type != zipfile.ZIP_STORED:
            raise self.fail(f"the array for {where} is compressed; minigan stores arrays "
                            "uncompressed (the file was not written by minigan.save)")
        if info.header_offset + info.compress_size > self.file_size:
            raise self.fail(f"the array for {where} runs past the end of the file (truncated)")
        try:
            with self.archive.open(info) as stream:
                header_shape, header_dtype, header_bytes = _read_npy_header(stream)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise self.fail(f"the array for {where} cannot be read (truncated or corrupted "
                            f"file: {err})") from None
        if header_dtype.hasobject or header_dtype.kind not in _DTYPE_KINDS:
            raise self.fail(f"the array for {where} has dtype {header_dtype}, which minigan "
                            "never stores (it could hold Python objects)")
        if shape is None:
            shape = list(header_shape)
            if len(shape) != 1 or _nbytes(dtype, shape) > max_bytes:
                raise self.fail(f"{where} has shape {header_shape}; expected 1-d text of at "
                                f"most {max_bytes} bytes")
        if list(header_shape) != shape or header_dtype.str != dtype:
            raise self.fail(f"{where} has shape {header_shape} and dtype {header_dtype}, the "
                            f"manifest says {tuple(shape)} and {dtype} (the file is damaged)")
        if info.file_size != header_bytes + _nbytes(dtype, shape):
            raise self.fail(f"the array for {where} holds {info.file_size - header_bytes} bytes "
                            f"of data; its shape {tuple(shape)} and dtype {dtype} need "
                            f"{_nbytes(dtype, shape)} (the file is damaged)")
        return info, shape

    def read_member(self, info, where, dtype, shape):
        """The data of a checked zip entry, read into one array of exactly its size."""
        try:
            with self.archive.open(info) as stream:
                _read_npy_header(stream)
                array = np.empty(shape, dtype=np.dtype(dtype))
                view = memoryview(array.reshape(-1).view(np.uint8)) if array.size else memoryview(b"")
                done = 0
                while done < len(view):
                    n = stream.readinto(view[done:done + _CHUNK])
                    if not n:
                        raise EOFError(f"{len(view) - done} bytes missing")
                    done += n
                if stream.read(1):             # reading to the end also checks the CRC-32
                    raise ValueError("more data than the header says")
        except MemoryError:
            raise self.fail(f"not enough memory to load the array for {where} "
                            f"({_nbytes(dtype, shape)} bytes)") from None
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise self.fail(f"the array for {where} cannot be read (truncated or corrupted "
                            f"file: {err})") from None
        return array


def _read_npy_header(stream):
    """(shape, dtype, header length in bytes) of the .npy file open in `stream`."""
    major, _ = np.lib.format.read_magic(stream)
    if major == 1:
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(stream)
    elif major == 2:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(stream)
    else:
        raise ValueError(f".npy format version {major} is not one minigan writes")
    if fortran_order:
        raise ValueError("a Fortran-ordered array, which minigan never writes")
    return shape, dtype, stream.tell()


def _nbytes(dtype, shape):
    n = np.dtype(dtype).itemsize
    for s in shape:
        n *= s
    return n


def _short(node, limit=80):
    text = repr(node)
    return text if len(text) <= limit else text[:limit] + "..."
