"""minigan.apps: masks and noise, PSNR/SSIM against known values, the reconstruction
losses, and a few steps of each application end to end (run folders, CLI, eval)."""
import copy
import json
import math

import numpy as np
import pytest

import minigan as mg
from minigan.cli import main
from minigan.apps import (cycle_loss, identity_loss, image_metrics, l1, make_masks,
                          masked_l1, masked_l2, masks, psnr, ssim, ssim_map)
from minigan.apps import cyclegan, inpainting, pix2pix
from minigan.apps.unet import UNet
from minigan.apps.patchgan import PatchDiscriminator


# --- masks and noise ---
def test_center_mask_is_the_middle_square():
    m = masks.center_mask(3, size=28, hole=14)
    assert m.shape == (3, 1, 28, 28) and m.dtype == np.float32
    assert m.sum() == 3 * 14 * 14
    assert m[0, 0, 7:21, 7:21].all() and m[0, 0, :7].sum() == 0


@pytest.mark.parametrize("kind", ["center", "squares", "half", "mixed"])
def test_masks_are_binary_nonempty_and_seeded(kind):
    a = make_masks(kind, 50, np.random.default_rng(3))
    b = make_masks(kind, 50, np.random.default_rng(3))
    assert a.shape == (50, 1, 28, 28)
    assert set(np.unique(a)) <= {0.0, 1.0}
    assert (a.reshape(50, -1).sum(1) > 0).all()                 # every image has a hole
    assert (a.reshape(50, -1).sum(1) < 784).all()               # and something known
    np.testing.assert_array_equal(a, b)


def test_half_mask_hides_exactly_half():
    m = masks.half_mask(40, np.random.default_rng(0))
    assert (m.reshape(40, -1).sum(1) == 14 * 28).all()


def test_squares_mask_sides_in_range():
    m = masks.random_squares_mask(30, np.random.default_rng(0), count=1, side=(6, 10))
    sides = np.sqrt(m.reshape(30, -1).sum(1))
    assert np.all((sides >= 6) & (sides <= 10)) and np.allclose(sides, sides.round())


def test_apply_mask_and_composite():
    x = np.full((2, 1, 4, 4), 0.5, np.float32)
    m = np.zeros_like(x)
    m[:, :, :2] = 1
    seen = masks.apply_mask(x, m)
    assert (seen[:, :, :2] == -1).all() and (seen[:, :, 2:] == 0.5).all()
    out = masks.composite(np.full_like(x, 0.9), x, m)
    assert np.allclose(out[:, :, :2], 0.9) and np.allclose(out[:, :, 2:], 0.5)


def test_gaussian_noise_statistics_and_range():
    x = np.zeros((200, 1, 28, 28), np.float32)
    noisy = masks.gaussian_noise(x, np.random.default_rng(0), std=0.3)
    assert noisy.min() >= -1 and noisy.max() <= 1
    assert abs(noisy.std() - 0.3) < 0.01 and abs(noisy.mean()) < 0.01


def test_salt_and_pepper_fraction():
    x = np.zeros((100, 1, 28, 28), np.float32)
    noisy = masks.salt_and_pepper(x, np.random.default_rng(0), amount=0.2)
    changed = noisy != 0
    assert abs(changed.mean() - 0.2) < 0.01
    assert abs((noisy == 1).mean() - 0.1) < 0.01 and abs((noisy == -1).mean() - 0.1) < 0.01


def test_bad_kinds_are_named():
    with pytest.raises(ValueError, match="mask kind"):
        make_masks("circle", 2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="noise kind"):
        masks.add_noise(np.zeros((1, 1, 4, 4)), "poisson", np.random.default_rng(0))


# --- PSNR ---
def test_psnr_identical_is_inf():
    x = np.random.default_rng(0).random((3, 1, 8, 8))
    assert np.all(np.isinf(psnr(x, x)))


@pytest.mark.parametrize("shift,data_range", [(0.1, 1.0), (0.01, 1.0), (0.25, 2.0)])
def test_psnr_constant_shift_closed_form(shift, data_range):
    x = np.random.default_rng(0).random((2, 8, 8))
    # MSE = shift^2  =>  PSNR = 20 log10(R / shift)
    np.testing.assert_allclose(psnr(x + shift, x, data_range), 20 * math.log10(data_range / shift))


def test_psnr_on_the_mask_only():
    x = np.zeros((1, 4, 4))
    y = x.copy()
    y[0, 0, 0] = 0.5                      # inside the mask
    y[0, 3, 3] = 1.0                      # outside: must not count
    m = np.zeros((1, 4, 4))
    m[0, :2, :2] = 1                      # 4 pixels, one wrong by 0.5: MSE = 0.25 / 4
    np.testing.assert_allclose(psnr(y, x, mask=m), 10 * math.log10(1 / (0.25 / 4)))


# --- SSIM ---
def test_ssim_identical_is_one():
    x = np.random.default_rng(0).random((2, 1, 16, 16))
    np.testing.assert_allclose(ssim(x, x), 1.0)
    np.testing.assert_allclose(ssim_map(x, x), 1.0)


@pytest.mark.parametrize("a,b", [(0.2, 0.7), (0.5, 0.5), (0.0, 1.0)])
def test_ssim_constant_images_closed_form(a, b):
    # no variance, no covariance: structure term = C2 / C2 = 1, luminance as written
    c1 = (0.01 * 1.0) ** 2
    expected = (2 * a * b + c1) / (a * a + b * b + c1)
    got = ssim(np.full((1, 16, 16), a), np.full((1, 16, 16), b))
    np.testing.assert_allclose(got, expected, rtol=1e-10)


def test_ssim_map_matches_a_brute_force_window():
    """Each pixel by the definition: weighted means, variances, covariance in the Gaussian
    window (symmetrically padded), computed with explicit loops."""
    rng = np.random.default_rng(1)
    a, b = rng.random((9, 9)), rng.random((9, 9))
    size, sigma = 7, 1.0
    g = image_metrics.gaussian_window(size, sigma)
    w2 = np.outer(g, g)
    r = size // 2
    pa, pb = np.pad(a, r, mode="symmetric"), np.pad(b, r, mode="symmetric")
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    expected = np.zeros_like(a)
    for i in range(9):
        for j in range(9):
            wa, wb = pa[i:i + size, j:j + size], pb[i:i + size, j:j + size]
            ma, mb = (w2 * wa).sum(), (w2 * wb).sum()
            va, vb = (w2 * (wa - ma) ** 2).sum(), (w2 * (wb - mb) ** 2).sum()
            cov = (w2 * (wa - ma) * (wb - mb)).sum()
            expected[i, j] = ((2 * ma * mb + c1) * (2 * cov + c2) /
                              ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    np.testing.assert_allclose(ssim_map(a, b, size=size, sigma=sigma)[0], expected, rtol=1e-9)


def test_ssim_negated_structure_is_low_and_noise_lowers_it():
    rng = np.random.default_rng(0)
    x = rng.random((1, 32, 32))
    assert ssim(1 - x, x)[0] < 0.1
    s_small = ssim(np.clip(x + 0.05 * rng.standard_normal(x.shape), 0, 1), x)[0]
    s_large = ssim(np.clip(x + 0.3 * rng.standard_normal(x.shape), 0, 1), x)[0]
    assert 1 > s_small > s_large


def test_gaussian_window_sums_to_one_and_is_symmetric():
    g = image_metrics.gaussian_window(11, 1.5)
    assert abs(g.sum() - 1) < 1e-12 and np.allclose(g, g[::-1]) and g.argmax() == 5


# --- losses ---
def test_masked_l1_counts_the_hole_only():
    target = mg.zeros(1, 1, 4, 4)
    out_np = np.zeros((1, 1, 4, 4), np.float32)
    out_np[0, 0, 0, 0] = 2.0                   # in the hole
    out_np[0, 0, 3, 3] = 100.0                 # known pixel: ignored
    mask = np.zeros((1, 1, 4, 4), np.float32)
    mask[0, 0, :2, :2] = 1
    out = mg.tensor(out_np, requires_grad=True)
    loss = masked_l1(out, target, mg.tensor(mask))
    assert abs(loss.item() - 2.0 / 4) < 1e-6
    loss.backward()
    g = out.grad.numpy()
    assert g[0, 0, 3, 3] == 0 and (g[mask == 0] == 0).all()   # no gradient outside the hole
    assert abs(g[0, 0, 0, 0] - 0.25) < 1e-6


def test_masked_l1_rejects_an_empty_mask():
    with pytest.raises(ValueError, match="empty"):
        masked_l1(mg.zeros(1, 1, 2, 2), mg.zeros(1, 1, 2, 2), mg.zeros(1, 1, 2, 2))


def test_cycle_and_identity_losses():
    a = mg.tensor(np.array([[0.0, 1.0]], np.float32))
    b = mg.tensor(np.array([[0.5, 0.0]], np.float32))
    assert abs(cycle_loss(a, b).item() - 0.75) < 1e-6            # (0.5 + 1) / 2
    assert abs(identity_loss(a, b).item() - 0.75) < 1e-6
    assert cycle_loss(a, a).item() == 0 and l1(b, b).item() == 0


def test_cycle_loss_gradient_reaches_both_generators():
    mg.manual_seed(0)
    G_AB, G_BA = UNet(1, 1, 4), UNet(1, 1, 4)
    a = mg.randn(2, 1, 8, 8)
    cycle_loss(a, G_BA(G_AB(a))).backward()
    for G in (G_AB, G_BA):
        assert all(p.grad is not None and float(np.abs(p.grad.numpy()).sum()) > 0
                   for p in G.parameters())


# --- models ---
def test_unet_and_patchgan_shapes():
    x = mg.randn(3, 2, 28, 28)
    assert UNet(2, 1, 8)(x).shape == (3, 1, 28, 28)
    assert PatchDiscriminator(2, 8)(x).shape == (3, 1, 7, 7)
    with pytest.raises(ValueError, match="UNet"):
        UNet(1, 1, 8)(x)


@pytest.mark.parametrize("dilations, sees_corner", [((1,), False), ((1, 2, 4), True)])
def test_unet_dilated_middle_sees_the_far_corner(dilations, sees_corner):
    # the inpainter's half-image holes need context from ~14 pixels away
    mg.manual_seed(0)
    G = UNet(2, 1, 8, dilations=dilations).eval()       # eval: no batch statistics mixing
    x = np.random.default_rng(0).normal(size=(1, 2, 28, 28)).astype(np.float32)
    moved = x.copy()
    moved[0, :, 27, 27] += 1.0
    with mg.no_grad():
        y0, y1 = G(mg.tensor(x)).numpy(), G(mg.tensor(moved)).numpy()
    changed = np.abs(y1 - y0)[0, 0, :14, :14] > 1e-6      # the opposite quarter of the image
    assert changed.any() == sees_corner


def test_context_encoder_step_adds_l2_on_the_hole_to_the_pix2pix_step():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (4, 1, 28, 28)).astype(np.float32)
    mask = make_masks("mixed", 4, rng)
    g_in, target, m = mg.tensor(inpainting.context_input(x, mask)), mg.tensor(x), mg.tensor(mask)
    loss = mg.gan.get_loss("nonsaturating")
    nets = []
    for _ in range(2):
        mg.manual_seed(0)
        G, D = inpainting.build(dict(inpainting.DEFAULTS, base=8))
        nets.append((G, D, mg.optim.Adam(G.parameters(), lr=1e-3), mg.optim.Adam(D.parameters(), lr=1e-3)))
    with mg.no_grad():
        expected_l2 = masked_l2(nets[1][0](g_in), target, m).item()     # before the update
    a = pix2pix.paired_gan_step(*nets[0], g_in, target, m, loss, 100.0, mask=m)
    b = inpainting.context_encoder_step(*nets[1], g_in, target, m, loss, 100.0, 100.0)
    assert "l2" not in a and b["l2"] == pytest.approx(expected_l2)
    # the D steps saw the same images; the G steps differ by the L2 term only
    assert a["loss_d"] == pytest.approx(b["loss_d"]) and a["l1"] == pytest.approx(b["l1"])
    moved = [np.abs(p.detach().numpy() - q.detach().numpy()).max()
             for p, q in zip(nets[0][0].parameters(), nets[1][0].parameters())]
    assert max(moved) > 1e-6
    for p, q in zip(nets[0][1].parameters(), nets[1][1].parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    with pytest.raises(ValueError, match="l2_weight is an L2 term on the hole; it needs a mask"):
        pix2pix.paired_gan_step(*nets[0], g_in, target, m, loss, 100.0, l2_weight=1.0)


def test_masked_l2_counts_the_hole_only():
    out = mg.tensor(np.array([[[[1.0, 3.0], [5.0, -2.0]]]], np.float32))
    target = mg.zeros(1, 1, 2, 2)
    mask = mg.tensor(np.array([[[[1.0, 0.0], [1.0, 0.0]]]], np.float32))
    assert masked_l2(out, target, mask).item() == pytest.approx((1 + 25) / 2)
    with pytest.raises(ValueError, match="masked_l2: the mask is empty"):
        masked_l2(out, target, mg.zeros(1, 1, 2, 2))


def test_bold_grows_strokes():
    x = -np.ones((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 2] = 1
    y = cyclegan.bold(x)
    assert y[0, 0].sum() == -25 + 2 * 5          # a plus of 5 white pixels
    assert y[0, 0, 1, 2] == 1 and y[0, 0, 1, 1] == -1


def test_cyclegan_domains_are_disjoint_halves():
    A, la, B, lb = cyclegan.domains("train")
    assert len(A) == len(B) == 2250
    images = mg.data.mnist_5k("train").tensors[0].numpy()
    np.testing.assert_array_equal(A, images[:2250])
    np.testing.assert_array_equal(B, cyclegan.bold(images[2250:]))


# --- baselines ---
def test_nearest_neighbour_fill_copies_the_closest_known_match():
    rng = np.random.default_rng(0)
    train = rng.uniform(-1, 1, (20, 1, 6, 6)).astype(np.float32)
    query = train[7:8].copy()
    mask = np.zeros_like(query)
    mask[:, :, :3] = 1
    query[:, :, :3] = 0                          # the hole's content is unknown
    out = inpainting.nearest_neighbour_fill(query, mask, train)
    np.testing.assert_allclose(out, train[7:8], rtol=1e-6)


def test_mean_fill_uses_the_training_mean():
    train = np.stack([np.full((1, 4, 4), v, np.float32) for v in (-1.0, 0.0, 1.0)])
    query = np.full((1, 1, 4, 4), 0.7, np.float32)
    mask = masks.center_mask(1, 4, 2)
    out = inpainting.mean_fill(query, mask, train)
    assert np.allclose(out[mask == 1], 0.0) and np.allclose(out[mask == 0], 0.7)


# --- quick runs of each application (tiny step counts: they run, they write their folders) ---
def _assert_run_folder(run, model):
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"] == model
    assert (run / "history.jsonl").read_text().count("\n") == cfg["steps"]
    assert (run / "checkpoints" / "last.npz").exists()
    assert list((run / "samples").glob("step_*.npz"))


@pytest.mark.slow
def test_pix2pix_quick_run_and_eval(tmp_path):
    run = tmp_path / "p2p"
    assert main(["train", "pix2pix", "--steps", "3", "--batch-size", "4", "--sample-every", "3",
                 "--out", str(run), "--quiet"]) == 0
    _assert_run_folder(run, "pix2pix")
    rows = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert {"loss_d", "loss_g", "l1", "l1_baseline"} <= set(rows[-1])
    result = pix2pix.evaluate(str(run), n=16)
    assert set(result["gaussian"]) == {"noisy input", "L1 only", "pix2pix"}
    assert (run / "plots" / "denoising.png").exists()


@pytest.mark.slow
def test_inpaint_quick_run_and_eval(tmp_path):
    run = tmp_path / "inpaint"
    assert main(["train", "inpaint", "--steps", "3", "--batch-size", "4", "--sample-every", "3",
                 "--dcgan-steps", "2", "--out", str(run), "--quiet"]) == 0
    _assert_run_folder(run, "inpaint")
    _assert_run_folder(run / "dcgan", "dcgan")       # stage 2: a DCGAN run of its own
    cfg = json.loads((run / "config.json").read_text())
    cfg.update(latent_steps=3, restarts=2, candidates=4)
    result = inpainting.evaluate(str(run), n=6, cfg=cfg)
    for kind in ("center", "squares", "half"):
        assert set(result[kind]) == {"mean fill", "nearest neighbour", "context encoder",
                                     "latent optimisation", "latent opt., averaged"}
    assert (run / "plots" / "inpainting.png").exists()


def test_latent_inpaint_keeps_known_pixels_and_lowers_the_fit():
    mg.manual_seed(0)
    G = mg.gan.DCGANGenerator(8, 1, 28, base=8)
    images = np.clip(np.random.default_rng(0).normal(0, 0.5, (4, 1, 28, 28)), -1, 1).astype(np.float32)
    mask = masks.center_mask(4)
    done, generated = inpainting.latent_inpaint(G, images, mask, steps=0, restarts=1)
    done2, generated2 = inpainting.latent_inpaint(G, images, mask, steps=30, lr=0.1, restarts=1)
    np.testing.assert_array_equal(done2[mask == 0], images[mask == 0])
    known = mask == 0
    fit0 = ((generated - images) ** 2)[known].mean()
    fit1 = ((generated2 - images) ** 2)[known].mean()
    assert fit1 < fit0


def test_combine_restarts_best_fit_or_mean():
    fit = np.array([[0.3, 0.1, 0.2], [0.5, 0.9, 0.4]])                  # (N=2, R=3)
    generated = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 1, 2, 2)
    best = inpainting.combine_restarts(fit, generated, "best")
    np.testing.assert_array_equal(best, generated[[0, 1], [1, 2]])       # argmin per image
    mean = inpainting.combine_restarts(fit, generated, "mean")
    np.testing.assert_allclose(mean[1], (generated[1, 0] + generated[1, 1] + generated[1, 2]) / 3)
    with pytest.raises(ValueError, match="combine must be 'best' or 'mean', got 'median'"):
        inpainting.combine_restarts(fit, generated, "median")
    with pytest.raises(ValueError, match="got 'median'"):           # before any optimisation
        inpainting.latent_inpaint(None, generated[:, 0], np.zeros_like(generated[:, 0]),
                                  combine="median")


def test_latent_screening_keeps_the_best_fitting_draws():
    mg.manual_seed(0)
    G = mg.gan.DCGANGenerator(8, 1, 28, base=8).eval()
    images = np.clip(np.random.default_rng(0).normal(0, 0.5, (3, 1, 28, 28)), -1, 1).astype(np.float32)
    mask = masks.center_mask(3)
    mg.manual_seed(1)
    kept = inpainting._screen_latents(G, images, mask, keep=2, candidates=16, batch_size=20)
    mg.manual_seed(1)
    drawn = mg.randn(3 * 16, 8).numpy().reshape(3, 16, 8)      # the same draws

    def fit(z, image):                                          # squared error on known pixels
        with mg.no_grad():
            out = G(mg.tensor(z)).numpy()
        return (((out - image) ** 2) * (1 - mask[0])).sum((1, 2, 3))

    assert kept.shape == (3 * 2, 8)
    for i in range(3):
        best = np.sort(fit(drawn[i], images[i]))[:2]
        np.testing.assert_allclose(np.sort(fit(kept[2 * i:2 * i + 2], images[i])), best, rtol=1e-5)


@pytest.mark.slow
def test_cyclegan_quick_run_and_cli(tmp_path):
    run = tmp_path / "cyc"
    assert main(["train", "cyclegan", "--steps", "2", "--batch-size", "2", "--sample-every", "2",
                 "--out", str(run), "--quiet"]) == 0
    _assert_run_folder(run, "cyclegan")
    G_AB, G_BA, _, _ = cyclegan.build(cyclegan.DEFAULTS)
    result = cyclegan.evaluate(models=(G_AB, G_BA), n=20, domain_steps=2)
    direction = result["A->B (plain to bold)"]
    assert set(direction) == {"CycleGAN", "no translation", "real bold (reference)"}
    # Untranslated plain digits are read as their own class by the digit classifier.
    assert direction["no translation"]["class_kept"] >= 0.9


@pytest.mark.slow
def test_pix2pix_resume_continues_exactly(tmp_path):
    flags = ["--batch-size", "2", "--sample-every", "100", "--checkpoint-every", "2", "--quiet"]
    assert main(["train", "pix2pix", "--steps", "4", "--out", str(tmp_path / "full"), *flags]) == 0
    assert main(["train", "pix2pix", "--steps", "2", "--out", str(tmp_path / "split"), *flags]) == 0
    assert main(["train", "pix2pix", "--steps", "4", "--resume", str(tmp_path / "split"),
                 "--quiet"]) == 0
    full, resumed = (pix2pix.Pix2Pix.from_run(tmp_path / name) for name in ("full", "split"))
    rows = (tmp_path / "split" / "history.jsonl").read_text().splitlines()
    assert [json.loads(r)["step"] for r in rows] == [0, 1, 2, 3]
    for (name, a), (_, b) in zip(full.G.state_dict().items(), resumed.G.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


# --- typeset digits (the typeset <-> handwritten pair) ---
from minigan.data import typeset  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty, private cache folder for one test."""
    monkeypatch.setenv("MINIGAN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def _centre_of_mass(images):
    ink = (images[:, 0].astype(np.float64) + 1) / 2                  # (N, 28, 28) in [0, 1]
    ys, xs = np.indices(ink.shape[1:])
    total = ink.sum((1, 2))
    return np.stack([(ink * ys).sum((1, 2)) / total, (ink * xs).sum((1, 2)) / total], 1)


def test_typeset_digits_are_seeded_balanced_and_in_range(cache):
    images, labels = (t.numpy() for t in mg.data.typeset_digits(per_class=3, seed=1).tensors)
    assert images.shape == (30, 1, 28, 28) and images.dtype == np.float32
    assert labels.dtype == np.int64 and np.array_equal(np.bincount(labels, minlength=10), [3] * 10)
    assert images.min() == -1.0 and images.max() <= 1.0 and images.max() > 0.9
    assert (images[:, 0, 0, :] == -1).all() and (images[:, 0, :, 0] == -1).all()   # background
    assert list(cache.glob("typeset-*-3-1-*.npz"))                   # cached
    again, again_labels = (t.numpy() for t in mg.data.typeset_digits(per_class=3, seed=1).tensors)
    np.testing.assert_array_equal(images, again)                      # from the cache
    np.testing.assert_array_equal(labels, again_labels)
    for path in cache.glob("typeset-*"):
        path.unlink()
    fresh = mg.data.typeset_digits(per_class=3, seed=1).tensors[0].numpy()
    np.testing.assert_array_equal(images, fresh)                      # drawn again: the same
    other = mg.data.typeset_digits(per_class=3, seed=2).tensors[0].numpy()
    assert np.abs(np.sort(other, 0) - np.sort(images, 0)).mean() > 0.01   # another seed differs


def test_typeset_split_is_stratified_and_disjoint(cache):
    train = mg.data.typeset_digits("train", per_class=10)
    test = mg.data.typeset_digits("test", per_class=10)
    assert np.array_equal(np.bincount(train.tensors[1].numpy()), [9] * 10)
    assert np.array_equal(np.bincount(test.tensors[1].numpy()), [1] * 10)
    flat = lambda ds: {im.tobytes() for im in ds.tensors[0].numpy()}    # noqa: E731
    assert not flat(train) & flat(test)


@pytest.mark.parametrize("font", ["DejaVuSans.ttf", "DejaVuSerif-BoldItalic.ttf", "cmr10.ttf",
                                  "STIXGeneral.ttf"])
def test_typeset_digits_are_centred_and_sized_like_mnist(font):
    images = typeset.render_digits([font] * 10, range(10))           # no jitter
    np.testing.assert_allclose(_centre_of_mass(images), 14.0, atol=0.25)
    inked = images[:, 0] > 0                                          # (10, 28, 28)
    rows, cols = inked.any(2).sum(1), inked.any(1).sum(1)
    assert np.all(np.maximum(rows, cols) >= 19) and np.all(np.maximum(rows, cols) <= 21)


def test_typeset_jitter_rotates_scales_and_shifts():
    upright, turned = typeset.render_digits(["DejaVuSans.ttf"] * 2, [1, 1], angles=[0, 90])
    height = lambda im: (im[0] > 0).any(1).sum()                      # noqa: E731
    width = lambda im: (im[0] > 0).any(0).sum()                       # noqa: E731
    assert height(upright) > 1.5 * width(upright) and width(turned) > 1.5 * height(turned)
    small = typeset.render_digits(["DejaVuSans.ttf"], [8], scales=[0.5])[0]
    assert 9 <= height(small) <= 11
    moved = typeset.render_digits(["DejaVuSans.ttf"], [8], shifts=[(2.0, -3.0)])
    np.testing.assert_allclose(_centre_of_mass(moved)[0], [16.0, 11.0], atol=0.25)


def test_typeset_fonts_differ_and_all_are_found():
    assert typeset.available_fonts() == typeset.TYPESET_FONTS        # matplotlib ships all 21
    images = typeset.render_digits(typeset.TYPESET_FONTS, [4] * len(typeset.TYPESET_FONTS))
    flat = images.reshape(len(images), -1)
    gaps = np.abs(flat[:, None] - flat[None]).mean(2)                # (F, F) mean pixel gaps
    assert gaps[~np.eye(len(flat), dtype=bool)].min() > 0.02         # no two faces alike
    np.testing.assert_array_equal(images[:1], typeset.render_digits(typeset.TYPESET_FONTS[:1], [4]))


def test_typeset_render_names_bad_input():
    with pytest.raises(ValueError, match="one font per digit, got 1 fonts for 2 digits"):
        typeset.render_digits(["cmr10.ttf"], [1, 2])
    with pytest.raises(ValueError, match=r"digits must be 0 to 9, got \[3, 12\]"):
        typeset.render_digits(["cmr10.ttf"] * 2, [3, 12])
    with pytest.raises(ValueError, match=r"fonts must be among TYPESET_FONTS, got \['Arial.ttf'\]"):
        typeset.render_digits(["Arial.ttf"], [3])
    with pytest.raises(ValueError, match="per_class must be at least 1, got 0"):
        mg.data.typeset_digits(per_class=0)


# --- pix2pix's realism measure ---
def test_realism_is_zero_for_the_clean_digits_and_grows_with_damage():
    clf = mg.metrics.load_digit_classifier()
    clean = mg.data.mnist_5k("test").tensors[0].numpy()[:200]
    rng = np.random.default_rng(0)
    same = pix2pix.realism(clean, clean, clf)
    light = pix2pix.realism(masks.gaussian_noise(clean, rng, std=0.2), clean, clf)
    heavy = pix2pix.realism(masks.gaussian_noise(clean, rng, std=0.8), clean, clf)
    blurred = (clean + np.roll(clean, 1, 2) + np.roll(clean, 1, 3) + np.roll(clean, (1, 1), (2, 3))) / 4
    blur = pix2pix.realism(blurred, clean, clf)
    assert abs(same["fd"]) < 1e-6
    assert 0 < light["fd"] < heavy["fd"] and blur["fd"] > 1.0
    assert heavy["confidence"] < same["confidence"] <= 1.0


# --- CycleGAN between typeset and handwritten digits ---
def test_typeset_domains_pair_typeset_with_mnist():
    A, la, B, lb = cyclegan.domains("train", "typeset")
    assert A.shape == B.shape == (4500, 1, 28, 28)
    np.testing.assert_array_equal(A, mg.data.typeset_digits("train").tensors[0].numpy())
    np.testing.assert_array_equal(B, mg.data.mnist_5k("train").tensors[0].numpy())
    assert np.array_equal(np.bincount(la), np.bincount(lb))
    with pytest.raises(ValueError, match=r"pair must be one of \['bold', 'typeset'\], got 'italic'"):
        cyclegan.domains("train", "italic")


def test_cyclegan_typeset_through_the_cli(tmp_path, monkeypatch, capsys):
    run = tmp_path / "cyc"
    assert main(["train", "cyclegan", "--domains", "typeset", "--steps", "2", "--batch-size", "2",
                 "--sample-every", "2", "--out", str(run), "--quiet"]) == 0
    _assert_run_folder(run, "cyclegan")
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["domains"] == "typeset"
    # the pair's own defaults (cyclegan.DOMAIN_DEFAULTS), under what the user typed
    assert (cfg["steps"], cfg["discriminator"], cfg["lr_decay"]) == (2, "whole", "linear")
    assert cfg["semantic_weight"] == 0.2          # the Ds read digits; the loop logs the terms
    rows = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert all(r["semantic"] > 0 and r["d_reading"] > 0 for r in rows)
    assert cyclegan.CycleGAN({"domains": "typeset"}).cfg["steps"] == 2800
    bold = cyclegan.CycleGAN({"domains": "bold"})
    assert (bold.cfg["steps"], bold.cfg["discriminator"], bold.cfg["semantic_weight"]) == (800, "patch", 0)
    assert isinstance(bold.D_A, PatchDiscriminator)
    with pytest.raises(ValueError, match="discriminator must be 'patch' .* got 'global'"):
        cyclegan.build(dict(cyclegan.DEFAULTS, discriminator="global"))
    app = cyclegan.CycleGAN.from_run(run)
    np.testing.assert_array_equal(app.A[:4], mg.data.typeset_digits("train").tensors[0].numpy()[:4])
    # a resume keeps the pair; another model has no pair
    assert main(["train", "cyclegan", "--steps", "3", "--resume", str(run), "--domains", "bold",
                 "--quiet"]) == 2
    assert "--domains bold (the run has typeset)" in capsys.readouterr().err
    assert main(["train", "pix2pix", "--domains", "typeset", "--out", str(tmp_path / "p")]) == 2
    assert "--domains is for cyclegan, not pix2pix" in capsys.readouterr().err
    # evaluation: both directions, against no translation and the real target domain
    monkeypatch.setattr(cyclegan, "load_any_style_classifier", mg.metrics.load_digit_classifier)
    result = cyclegan.evaluate(str(run), n=20, domain_steps=2)
    assert set(result["A->B (typeset to handwritten)"]) == {
        "CycleGAN", "no translation", "real handwritten (reference)"}
    assert set(result["B->A (handwritten to typeset)"]) == {
        "CycleGAN", "no translation", "real typeset (reference)"}
    assert set(result["B->A (handwritten to typeset)"]["CycleGAN"]) == {
        "class_kept", "class_kept_any_style", "in_target_domain"}
    assert (run / "plots" / "cyclegan.png").exists()


def _semantic_setup(seed=0):
    """Small float64 typeset models (base 4) and a batch of 3 digits per domain."""
    mg.manual_seed(seed)
    models = [m.double() for m in cyclegan.build(dict(cyclegan.defaults("typeset"), base=4))]
    A, la, B, lb = cyclegan.domains("test", "typeset")
    pick_b = np.array([4, 5, 6])                       # digits unlike a's, so a mix-up shows
    assert not np.any(la[:3] == lb[pick_b])
    batch = (mg.tensor(A[:3].astype(np.float64)), mg.tensor(B[pick_b].astype(np.float64)),
             mg.tensor(la[:3].astype(np.int64)), mg.tensor(lb[pick_b].astype(np.int64)))
    return models, batch


def _step_without_updating(models, batch, semantic_weight):
    """cyclegan_step on copies of the models with lr 0: it leaves each gradient in .grad."""
    G_AB, G_BA, D_A, D_B = models = [copy.deepcopy(m) for m in models]
    a, b, la, lb = batch
    opt_g = mg.optim.SGD(list(G_AB.parameters()) + list(G_BA.parameters()), lr=0.0)
    opt_d = mg.optim.SGD(list(D_A.parameters()) + list(D_B.parameters()), lr=0.0)
    row = cyclegan.cyclegan_step(G_AB, G_BA, D_A, D_B, opt_g, opt_d, a, b,
                                 mg.gan.get_loss("lsgan"), 10.0, 2.5,
                                 semantic_weight=semantic_weight, labels=(la, lb))
    return models, row


def test_cyclegan_semantic_term_asks_each_d_to_read_the_source_digit():
    # The typeset pair's semantic term (CyCADA): with weight w, G_AB's gradient gains exactly
    # w * d CE(D_B's reading of G_AB(a), a's digit), G_BA's w * d CE(D_A's of G_BA(b), b's);
    # and the Ds learn to read the digits of their own domain's real images.
    models, batch = _semantic_setup()
    a, b, la, lb = batch
    assert isinstance(models[2], mg.gan.AuxiliaryClassifierDiscriminator)
    (G_AB0, G_BA0, _, _), plain = _step_without_updating(models, batch, 0.0)
    (G_AB1, G_BA1, D_A1, D_B1), with_term = _step_without_updating(models, batch, 0.5)
    assert "semantic" not in plain and with_term["semantic"] > 0
    # each direction's term on its own, by hand, on fresh copies
    G_AB, G_BA, D_A, D_B = (copy.deepcopy(m) for m in models)
    ce = mg.nn.functional.cross_entropy
    read_ab, read_ba = ce(D_B.logit_and_classes(G_AB(a))[1], la), ce(D_A.logit_and_classes(G_BA(b))[1], lb)
    (read_ab + read_ba).backward()
    assert with_term["semantic"] == pytest.approx(read_ab.item() + read_ba.item(), rel=1e-12)
    for before, after, alone in ((G_AB0, G_AB1, G_AB), (G_BA0, G_BA1, G_BA)):
        for p0, p1, p in zip(before.parameters(), after.parameters(), alone.parameters()):
            np.testing.assert_allclose(p1.grad.numpy() - p0.grad.numpy(), 0.5 * p.grad.numpy(),
                                       rtol=1e-7, atol=1e-12)
        assert max(np.abs(p.grad.numpy()).max() for p in alone.parameters()) > 1e-6
    # the Ds' reading of the real digits (lr 0: the same weights and batch statistics)
    reading = (mg.nn.functional.cross_entropy(D_A1.logit_and_classes(a)[1], la) +
               mg.nn.functional.cross_entropy(D_B1.logit_and_classes(b)[1], lb))
    assert with_term["d_reading"] == pytest.approx(reading.item(), rel=1e-10)
    assert np.abs(D_B1.classes.weight.grad.numpy()).max() > 0


def test_cyclegan_semantic_term_refuses_what_it_cannot_use():
    models, (a, b, la, lb) = _semantic_setup()
    G_AB, G_BA, D_A, D_B = models
    opt = mg.optim.SGD(G_AB.parameters(), lr=0.0)
    loss = mg.gan.get_loss("lsgan")
    step = lambda *Ds, labels: cyclegan.cyclegan_step(G_AB, G_BA, *Ds, opt, opt, a, b, loss,
                                                      semantic_weight=0.2, labels=labels)
    with pytest.raises(ValueError, match=r"needs labels = \(digits of a, digits of b\), got None"):
        step(D_A, D_B, labels=None)
    with pytest.raises(ValueError, match=r"labels of b must be one digit per image, shape \(3,\), "
                                         r"got \(3, 1\)"):
        step(D_A, D_B, labels=(la, lb.reshape(3, 1)))
    plain = mg.gan.DCGANDiscriminator(1, 28, 4).double()
    with pytest.raises(ValueError, match="also read the digit .* got D_B = DCGANDiscriminator"):
        step(D_A, plain, labels=(la, lb))
    with pytest.raises(ValueError, match="semantic_weight > 0 needs discriminator='whole'.* got discriminator='patch'"):
        cyclegan.build(dict(cyclegan.DEFAULTS, semantic_weight=0.2))
    assert type(cyclegan.build(dict(cyclegan.defaults("typeset"), semantic_weight=0.0))[2]) is \
        mg.gan.DCGANDiscriminator


@pytest.mark.parametrize("missing, discriminator", [
    (("discriminator", "g_norm", "semantic_weight"), PatchDiscriminator),
    (("semantic_weight",), mg.gan.models.DCGANDiscriminator)])
def test_cyclegan_typeset_run_from_before_still_loads(tmp_path, missing, discriminator):
    # A typeset run saved before "discriminator" and "g_norm" existed was trained with
    # PatchGAN discriminators and batch-norm U-Nets; one saved before "semantic_weight",
    # with Ds that read no digits. Each must rebuild what it was trained with, not today's.
    assert set(cyclegan.CycleGAN.ADDED_LATER) == {"discriminator", "g_norm", "semantic_weight"}
    run = tmp_path / "old"
    assert main(["train", "cyclegan", "--domains", "typeset", "--steps", "1", "--batch-size", "2",
                 "--sample-every", "1", "--out", str(run), "--quiet"]) == 0
    assert isinstance(cyclegan.CycleGAN.from_run(run).D_A, mg.gan.AuxiliaryClassifierDiscriminator)
    cfg = json.loads((run / "config.json").read_text())
    for key in missing:
        del cfg[key]
    (run / "config.json").write_text(json.dumps(cfg))
    old = cyclegan.CycleGAN(dict(cyclegan.CycleGAN.ADDED_LATER, **cfg))   # as it was trained
    with mg.gan.RunFolder.open(run, lock=True) as folder:
        trainer = mg.gan.Trainer(old.step, old.parts(), run=folder)
        trainer.step = 1
        trainer.save_checkpoint()
    app = cyclegan.CycleGAN.from_run(run)
    assert type(app.D_A) is discriminator
    for mine, saved in zip(list(app.G_AB.parameters()) + list(app.D_A.parameters()),
                           list(old.G_AB.parameters()) + list(old.D_A.parameters())):
        np.testing.assert_array_equal(mine.detach().numpy(), saved.detach().numpy())
    assert main(["train", "cyclegan", "--resume", str(run), "--steps", "2", "--quiet"]) == 0
    resumed = json.loads((run / "config.json").read_text())
    assert {key: resumed[key] for key in missing} == {
        key: cyclegan.CycleGAN.ADDED_LATER[key] for key in missing}
