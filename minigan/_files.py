"""Safe file writes: every file minigan writes appears whole or not at all.

`atomic_path(path)` hands out a fresh temporary name in the target's own folder; the
caller writes the file there, and on success it is renamed over `path` (os.replace).
That rename is atomic, and it replaces a symbolic link sitting at `path` instead of
writing through it, so a link planted in a run folder can never make minigan overwrite
what it points to. The temporary names are unique (two writers never share one) and start
with `TEMP_PREFIX`, so a folder can be swept of the leftovers of a killed process.

    >>> with atomic_path("runs/dcgan/config.json") as tmp:
    ...     with open(tmp, "w") as f:
    ...         json.dump(cfg, f)
"""
import contextlib
import os
import secrets

TEMP_PREFIX = ".tmp-"


def _create_temp(folder, suffix):
    """A new, empty file with a unique name in `folder`. Made with O_EXCL (never an
    existing file or link) and mode 0666, so the umask sets its permissions as for any new
    file (tempfile.mkstemp would make it 0600 for good)."""
    while True:
        path = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(8)}{suffix}")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_path(path, durable=False):
    """Yield a temporary path beside `path`; on success move it over `path`.

    The file gets the permissions an ordinary `open(path, "w")` would give (0666 minus the
    umask). With `durable=True` the data and the rename are
    fsync'ed (checkpoints: a power cut leaves the old file or the new one).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = _create_temp(folder, os.path.splitext(path)[1])   # writers pick formats by extension
    try:
        yield tmp
        if durable:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)                # atomic; replaces a link, never follows it
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise
    if durable:
        _fsync_folder(folder)


def _fsync_folder(folder):
    """Make a rename in `folder` durable (POSIX); a no-op where folders can't be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path, text):
    """Write `text` to `path` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
    return os.fspath(path)


def remove_temp_files(folder):
    """Delete the temporary files a killed writer left in `folder` (not recursive).
    Returns the names removed. Only call this while no other process writes there."""
    removed = []
    if not os.path.isdir(folder):
        return removed
    for name in os.listdir(folder):
        full = os.path.join(folder, name)
        if name.startswith(TEMP_PREFIX) and os.path.isfile(full) and not os.path.islink(full):
            with contextlib.suppress(FileNotFoundError):
                os.remove(full)
                removed.append(name)
    return removed
