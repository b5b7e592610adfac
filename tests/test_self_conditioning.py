"""Self-conditioning: k-means clusters as labels, and a G that picks its own cluster from z."""
import numpy as np
import pytest

import minigan as mg
from minigan.cli import main
from minigan.gan import (ConditionalDCGANDiscriminator, SelfConditionedGenerator,
                         cluster_frequencies, kmeans, recipes)


def blobs(sizes, dim=16, spread=0.05, seed=0):
    """Well-separated Gaussian blobs: (points, the blob of each point)."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 3, (len(sizes), dim))
    truth = np.repeat(np.arange(len(sizes)), sizes)
    return centres[truth] + rng.normal(0, spread, (truth.size, dim)), truth


def test_kmeans_finds_separated_blobs_exactly_and_is_repeatable():
    points, truth = blobs([40, 25, 60, 10, 30])
    ids = kmeans(points.reshape(-1, 1, 4, 4), 5, seed=3)         # images: (N, C, H, W)
    assert ids.dtype == np.int64 and ids.shape == truth.shape
    # one cluster per blob: the pairing is a bijection
    pairs = set(zip(truth.tolist(), ids.tolist()))
    assert len(pairs) == 5 and len({c for _, c in pairs}) == 5
    assert np.array_equal(kmeans(points, 5, seed=3), ids)
    assert np.array_equal(kmeans(mg.tensor(points.astype(np.float32)), 5, seed=3), ids)


def test_kmeans_refuses_bad_input_in_its_own_words():
    points, _ = blobs([5, 5])
    with pytest.raises(ValueError, match=r"k must be an integer from 1 to the number of "
                                         r"images \(10\), got 11"):
        kmeans(points, 11)
    with pytest.raises(ValueError, match="got 0"):
        kmeans(points, 0)
    with pytest.raises(ValueError, match=r"expected images shaped \(N, \.\.\.\)"):
        kmeans(np.zeros(5), 2)
    points[3, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        kmeans(points, 2)


def test_cluster_frequencies_are_the_shares_of_the_images():
    assert np.allclose(cluster_frequencies([0, 2, 2, 2], 4), [0.25, 0, 0.75, 0])
    with pytest.raises(ValueError, match=r"ids in 0\.\.2"):
        cluster_frequencies([0, 3], 3)


def small_generator(frequencies):
    mg.manual_seed(0)
    return SelfConditionedGenerator(frequencies, latent_dim=8, base=8, image_size=8).eval()


def test_g_draws_each_cluster_as_often_as_the_data_has_it():
    freq = np.array([0.5, 0.0, 0.2, 0.3])                       # cluster 1 is empty
    G = small_generator(freq)
    z = mg.randn(40_000, 8)
    fresh, ids = G.pick_clusters(z)
    shares = np.bincount(ids.numpy(), minlength=4) / 40_000
    assert shares[1] == 0                                        # an empty cluster never comes up
    assert np.abs(shares - freq).max() < 0.01                    # binomial std <= 0.0025
    # the first latent entry is N(0, 1) again, and the same within each cluster: training
    # saw noise independent of the cluster, so sampling must too
    first = fresh.numpy()[:, 0]
    for c in (0, 2, 3):
        inside = first[ids.numpy() == c]
        assert abs(inside.mean()) < 0.05 and abs(inside.std() - 1) < 0.05, c
    assert np.array_equal(fresh.numpy()[:, 1:], z.numpy()[:, 1:])   # the rest untouched


def test_g_of_z_is_a_function_of_z_and_the_conditional_form_still_works():
    G = small_generator([0.25, 0.25, 0.5])
    z = mg.randn(16, 8)
    with mg.no_grad():
        a, b = G(z).numpy(), G(z).numpy()
        fresh, ids = G.pick_clusters(z)
        conditional = G(fresh, ids).numpy()
    assert a.shape == (16, 1, 8, 8) and np.array_equal(a, b) and np.array_equal(a, conditional)
    with pytest.raises(ValueError, match="cluster_frequencies must be a 1-D list of shares"):
        SelfConditionedGenerator([0.0, 0.0])


def test_the_dcgan_recipe_self_conditions_and_an_old_config_builds_the_plain_dcgan():
    cfg = dict(recipes.defaults("dcgan"), model="dcgan", steps=2, seed=0)
    gan, _ = recipes.build(dict(cfg))
    assert isinstance(gan.G, SelfConditionedGenerator) and gan.G.num_classes == cfg["clusters"]
    assert isinstance(gan.D, ConditionalDCGANDiscriminator)
    assert gan.labels.shape == (4500,) and int(gan.labels.numpy().max()) < cfg["clusters"]
    assert gan.fixed_labels is None                   # the grid shows G(z), not cluster order
    row = gan.step(0)
    assert np.isfinite(row["loss_d"]) and np.isfinite(row["loss_g"])
    assert gan.sample().shape == (64, 1, 28, 28)
    again, _ = recipes.build(dict(cfg))               # a resumed run rebuilds the same clusters
    assert np.array_equal(again.labels.numpy(), gan.labels.numpy())
    old = {k: v for k, v in cfg.items() if k != "clusters"}      # a run from before
    plain, _ = recipes.build(old)
    assert type(plain.G).__name__ == "DCGANGenerator" and plain.labels is None


def test_clusters_on_toy_data_or_the_cgan_is_a_one_line_error(tmp_path, capsys):
    for args in (["train", "gan", "--clusters", "8"], ["train", "cgan", "--clusters", "8"],
                 ["train", "dcgan", "--data", "ring", "--clusters", "8"],
                 ["train", "inpaint", "--clusters", "8"]):
        assert main(args + ["--out", str(tmp_path / "run")]) != 0
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--clusters self-conditions a GAN on images" in err[0], err
        assert not (tmp_path / "run").exists()
