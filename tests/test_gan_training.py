"""The training loop: who gets updated when, exact resume, NaN stops, and the CLI."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import minigan as mg
from minigan import optim
from minigan.data import ring_of_gaussians
from minigan.gan import (GAN, MLPDiscriminator, MLPGenerator, NonFiniteError, RunFolder, Trainer,
                         get_loss, train_step)


def toy_setup(seed=0):
    mg.manual_seed(seed)
    G, D = MLPGenerator(hidden=16, layers=2), MLPDiscriminator(hidden=16, layers=2)
    opt_g = optim.Adam(G.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_d = optim.Adam(D.parameters(), 1e-3, betas=(0.5, 0.999))
    return G, D, opt_g, opt_d


def snapshot(module):
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


def changed(before, module):
    after = snapshot(module)
    return any(not np.array_equal(before[k], after[k]) for k in before)


def test_d_step_does_not_reach_g_and_g_step_does_not_update_d(monkeypatch):
    G, D, opt_g, opt_d = toy_setup()
    real = mg.randn(32, 2)
    calls = []
    original_d_step, original_g_step = opt_d.step, opt_g.step

    def d_step():
        # At D's update, G must have no gradient: the fakes were detached.
        assert all(p.grad is None for p in G.parameters())
        calls.append("d")
        original_d_step()

    def g_step():
        # At G's update, D's parameters must not have received a gradient from loss_g.
        d_before_g = snapshot(D)
        calls.append("g")
        original_g_step()
        assert not changed(d_before_g, D)

    monkeypatch.setattr(opt_d, "step", d_step)
    monkeypatch.setattr(opt_g, "step", g_step)
    g_before = snapshot(G)
    opt_g.zero_grad()
    row = train_step(G, D, opt_g, opt_d, real, get_loss("nonsaturating"), step=0)
    assert calls == ["d", "g"]
    assert changed(g_before, G)
    for key in ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "lr_d", "lr_g"):
        assert np.isfinite(row[key]), key
    assert 0 < row["d_real"] < 1 and 0 < row["d_fake"] < 1


def test_n_critic_updates_g_every_n_steps_and_clipping_bounds_d():
    G, D, opt_g, opt_d = toy_setup()
    rows = [train_step(G, D, opt_g, opt_d, mg.randn(16, 2), get_loss("wgan"), step=s,
                       n_critic=3, clip_value=0.01) for s in range(6)]
    assert ["loss_g" in r for r in rows] == [False, False, True, False, False, True]
    assert all("wasserstein" in r for r in rows)
    assert max(float(p.abs().max()) for p in D.parameters()) <= 0.01 + 1e-7


@pytest.mark.parametrize("kwargs", [dict(gp_weight=10.0), dict(r1_weight=1.0)])
def test_penalties_are_recorded(kwargs):
    G, D, opt_g, opt_d = toy_setup()
    row = train_step(G, D, opt_g, opt_d, mg.randn(16, 2), get_loss("wgan"), **kwargs)
    assert row["penalty"] >= 0 and np.isfinite(row["grad_norm_x"])


def make_trainer(run_dir, seed=0, ema=None, lr_decay=None, resume=False):
    """A small GAN on the ring in the one training loop, with a run folder."""
    mg.manual_seed(0)
    data = ring_of_gaussians(512).tensors[0]          # the same data set in every run
    G, D, _, _ = toy_setup(seed)
    gan = GAN(G, D, data, loss="nonsaturating", lr_g=1e-3, lr_d=1e-3, batch_size=64,
              ema_decay=ema, lr_decay=lr_decay, decay_steps=40, num_samples=16)
    run = (RunFolder.open(run_dir, lock=True) if resume
           else RunFolder.create(run_dir, {"model": "gan"}))
    trainer = Trainer(gan.step, gan.parts(), gan.sample, run=run, sample_every=10**9,
                      checkpoint_every=15)
    return trainer, gan


@pytest.mark.parametrize("ema, lr_decay", [(None, None), (0.9, None), (None, "linear")])
def test_resume_continues_exactly_as_the_uninterrupted_run(tmp_path, ema, lr_decay):
    straight, straight_gan = make_trainer(tmp_path / "straight", ema=ema, lr_decay=lr_decay)
    straight.fit(40, progress=False)

    first, _ = make_trainer(tmp_path / "resumed", ema=ema, lr_decay=lr_decay)
    first.fit(30, progress=False)                    # checkpoint at 15 and 30; the run "stops"
    first.run.close()
    mg.randn(100)                                    # unrelated draws must not matter
    second, second_gan = make_trainer(tmp_path / "resumed", seed=123, ema=ema,
                                      lr_decay=lr_decay, resume=True)
    assert second.resume() == 30
    second.fit(40, progress=False)

    for key, value in snapshot(straight_gan.G).items():
        np.testing.assert_array_equal(value, snapshot(second_gan.G)[key])
    if ema is not None:
        for key, value in snapshot(straight_gan.generator()).items():
            np.testing.assert_array_equal(value, snapshot(second_gan.generator())[key])
    h1 = [json.loads(l) for l in open(tmp_path / "straight" / "history.jsonl")]
    h2 = [json.loads(l) for l in open(tmp_path / "resumed" / "history.jsonl")]
    strip = lambda rows: [{k: v for k, v in r.items() if k != "time"} for r in rows]
    assert strip(h1) == strip(h2)
    assert len(h2) == 40


def test_linear_lr_decay_goes_from_the_initial_lr_towards_zero(tmp_path):
    trainer, _ = make_trainer(tmp_path, lr_decay="linear")
    rows = trainer.fit(40, progress=False)
    lrs = [row["lr_g"] for row in rows]
    np.testing.assert_allclose(lrs, [1e-3 * (1 - step / 40) for step in range(40)], rtol=1e-12)
    assert [row["lr_d"] for row in rows] == lrs
    with pytest.raises(ValueError, match="lr_decay must be None or 'linear', got 'cosine'"):
        make_trainer(tmp_path / "bad", lr_decay="cosine")


def test_non_finite_loss_stops_the_run_before_the_update(tmp_path, monkeypatch):
    trainer, gan = make_trainer(tmp_path)
    trainer.fit(15, progress=False)                  # writes the checkpoint at step 15
    path = trainer.run.checkpoint_path
    good = open(path, "rb").read()
    weights = snapshot(gan.D)
    monkeypatch.setattr(type(gan.loss), "d_loss", lambda self, r, f: (r * np.nan).mean())
    with pytest.raises(NonFiniteError, match=r"step 15: loss_d is nan before D's update; "
                       r"training stopped. The last checkpoint, from step 15, is intact"):
        trainer.fit(30, progress=False)
    assert open(path, "rb").read() == good
    assert not changed(weights, gan.D)               # the bad step never reached the weights


def run_cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "minigan", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_cli_train_sample_plot_on_toy_data(tmp_path):
    out = run_cli("train", "gan", "--steps", "30", "--out", "run", "--quiet",
                  "--sample-every", "10", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    run = tmp_path / "run"
    for name in ("config.json", "history.jsonl", "checkpoints/last.npz", "plots/history.png",
                 "samples/latest.png"):
        assert (run / name).exists(), name
    assert len(open(run / "history.jsonl").readlines()) == 30
    out = run_cli("sample", "run", "-n", "7", "-o", "s.npz", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert np.load(tmp_path / "s.npz")["points"].shape == (7, 2)
    out = run_cli("train", "gan", "--resume", "run", "--steps", "40", "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert len(open(run / "history.jsonl").readlines()) == 40


@pytest.mark.slow
def test_cli_conditional_samples_have_requested_labels(tmp_path):
    out = run_cli("train", "cgan", "--steps", "2", "--batch-size", "8", "--out", "run",
                  "--quiet", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    out = run_cli("sample", "run", "-n", "6", "-o", "s.npz", "--labels", "3,7", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    s = np.load(tmp_path / "s.npz")
    assert s["images"].shape == (6, 1, 28, 28) and s["images"].dtype == np.float32
    assert 0 <= s["images"].min() and s["images"].max() <= 1
    assert s["labels"].tolist() == [3, 7, 3, 7, 3, 7]


def test_dcgan_init_statistics():
    from minigan.gan import ConditionalDCGANDiscriminator, dcgan_init
    mg.manual_seed(0)
    D = ConditionalDCGANDiscriminator(10)
    D.apply(dcgan_init)
    for name, p in D.named_parameters():
        a = p.detach().numpy()
        if name.endswith("bias"):
            assert np.all(a == 0), name
        elif a.size > 1000:
            mean = 1.0 if a.ndim == 1 else 0.0          # BatchNorm scales sit around 1
            assert abs(a.mean() - mean) < 0.005 and abs(a.std() - 0.02) < 0.002, name


# --- differentiable augmentation, lazy R1, sampling modes, the EMA's BatchNorm ---
def test_shift_is_exact_and_twice_differentiable():
    from minigan.gan.augment import Shift
    x = mg.randn(3, 2, 5, 6, dtype=mg.float64, requires_grad=True)
    dy, dx = np.array([1, -2, 0]), np.array([0, 1, -3])
    y = Shift.apply(x, dy=dy, dx=dx, fill=-1.0).detach().numpy()
    a = x.detach().numpy()
    np.testing.assert_array_equal(y[0, :, 1:], a[0, :, :-1])          # down by one row
    np.testing.assert_array_equal(y[0, :, 0], -1.0)                   # the background comes in
    np.testing.assert_array_equal(y[1, :, :-2, 1:], a[1, :, 2:, :-1])
    np.testing.assert_array_equal(y[2, :, :, :3], a[2, :, :, 3:])
    f = lambda t: Shift.apply(t, dy=dy, dx=dx, fill=-1.0)
    assert mg.autograd.gradcheck(f, (x,))
    assert mg.autograd.gradgradcheck(lambda t: f(t) ** 2, (x,))


def test_cutout_blanks_one_square_per_image_and_passes_gradients_elsewhere():
    from minigan.gan.augment import cutout
    x = mg.ones(4, 1, 8, 8, dtype=mg.float64, requires_grad=True)
    y = cutout(x, 0.5)
    blank = y.detach().numpy() == -1.0
    assert blank.sum(axis=(1, 2, 3)).tolist() == [16, 16, 16, 16]    # a 4x4 square each
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), ~blank)
    # the same square on every call (gradcheck evaluates the function many times)
    fixed = lambda t: cutout(t, 0.5, rng=np.random.default_rng(0)) ** 2
    assert mg.autograd.gradgradcheck(fixed, (mg.randn(2, 1, 4, 4, dtype=mg.float64,
                                                      requires_grad=True),))


def test_diff_augment_checks_its_policy_and_train_step_shows_d_augmented_images(monkeypatch):
    from minigan.gan import DiffAugment
    with pytest.raises(ValueError, match=r"unknown policy \['color'\]"):
        DiffAugment("translation,color")
    mg.manual_seed(0)
    G = mg.gan.DCGANGenerator(8, 1, 28, base=8)
    D = mg.gan.DCGANDiscriminator(1, 28, base=8)
    opt_g, opt_d = optim.Adam(G.parameters()), optim.Adam(D.parameters())
    real = mg.full((4, 1, 28, 28), 0.5)
    seen = []
    original = D.forward
    monkeypatch.setattr(D, "forward", lambda x: seen.append(x.detach().numpy().copy()) or original(x))
    train_step(G, D, opt_g, opt_d, real, get_loss("nonsaturating"),
               augment=DiffAugment("cutout"))
    assert len(seen) == 3                            # real, fake for D; fake again for G
    assert (seen[0] == -1.0).sum() == 4 * 14 * 14    # the real batch was cut out
    assert all((s == -1.0).sum() >= 4 * 14 * 14 for s in seen[1:])


def test_lazy_r1_penalises_every_kth_step_with_k_times_the_weight():
    G, D, opt_g, opt_d = toy_setup()
    rows = [train_step(G, D, opt_g, opt_d, mg.randn(16, 2), get_loss("nonsaturating"), step=s,
                       r1_weight=1.0, r1_every=4) for s in range(8)]
    assert [("penalty" in r) for r in rows] == [True, False, False, False] * 2
    mg.manual_seed(3)
    real = mg.randn(16, 2)
    penalty, _ = mg.gan.r1_penalty(D, real, 4.0)
    assert rows[4]["penalty"] > 0 and penalty.item() > 0


def test_update_bn_averages_the_batch_statistics_and_restores_the_model():
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(3, 4), mg.nn.BatchNorm1d(4)).eval()
    batches = [mg.randn(16, 3) * (i + 1) for i in range(3)]
    optim.update_bn(batches, model)
    bn = model[1]
    with mg.no_grad():
        means = [model[0](b).numpy().mean(0) for b in batches]
        variances = [model[0](b).numpy().var(0, ddof=1) for b in batches]
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean(means, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), np.mean(variances, 0), rtol=1e-5)
    assert not model.training and bn.momentum == 0.1


def test_sampling_modes_leave_g_untouched_and_a_bad_mode_is_refused():
    mg.manual_seed(0)
    data = ring_of_gaussians(64).tensors[0].reshape(-1, 1, 1, 2).repeat(1, 1, 28, 14)
    G = mg.gan.DCGANGenerator(8, 1, 28, base=8)
    gan = GAN(G, mg.gan.DCGANDiscriminator(1, 28, base=8), data, sample_mode="train")
    before = snapshot(G)
    z = mg.randn(8, 8)
    batch_stats = gan.generate(z).numpy()
    assert not changed(before, G) and G.training     # a copy ran in train mode
    gan.sample_mode = "eval"
    running_stats = gan.generate(z).numpy()
    assert not np.allclose(batch_stats, running_stats)
    with pytest.raises(ValueError, match="sample_mode must be 'eval'"):
        GAN(G, mg.gan.DCGANDiscriminator(1, 28, base=8), data, sample_mode="batch")


def test_the_ema_generator_gets_batch_norm_statistics_of_its_own():
    mg.manual_seed(0)
    data = mg.rand(64, 1, 28, 28) * 2 - 1
    gan = GAN(mg.gan.DCGANGenerator(8, 1, 28, base=8), mg.gan.DCGANDiscriminator(1, 28, base=8),
              data, ema_decay=0.9, batch_size=16)
    for step in range(3):
        gan.step(step)
    G_ema = gan.generator()
    g_bn = [m for m in gan.G.modules() if isinstance(m, mg.nn.BatchNorm2d)][0]
    e_bn = [m for m in G_ema.modules() if isinstance(m, mg.nn.BatchNorm2d)][0]
    assert not np.allclose(g_bn.running_mean.numpy(), e_bn.running_mean.numpy())
    assert int(e_bn.num_batches_tracked.numpy()) == 8   # measured on the averaged weights


def test_the_epoch_sampler_never_yields_a_partial_batch():
    # MNIST-5k's training split: 4500 % 64 = 20 digits are left over each epoch. They are
    # dropped (the next epoch starts a new permutation), so BatchNorm never sees 20 images.
    from minigan.gan import EpochSampler
    mg.manual_seed(0)
    sampler = EpochSampler(4500, 64)
    seen_in_epoch, epoch = set(), 1
    for _ in range(70 * 3 + 5):
        index = sampler.next()
        assert len(index) == 64 and len(set(index.tolist())) == 64
        if sampler.epoch != epoch:
            assert len(seen_in_epoch) == 70 * 64          # 70 full batches, then a new order
            seen_in_epoch, epoch = set(), sampler.epoch
        assert not seen_in_epoch & set(index.tolist())    # no repeats within an epoch
        seen_in_epoch |= set(index.tolist())
