"""minigan.apps: masks and noise, PSNR/SSIM against known values, the reconstruction
losses, and a few steps of each application end to end (run folders, CLI, eval)."""
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
