"""Tests for minigan.viz: every figure is written and readable; the pure helpers are exact."""
import json

import numpy as np
import pytest

import minigan
from minigan import viz
from minigan.gan import RunFolder, RunFolderError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == PNG_MAGIC, f"{path} is not a PNG"
    import matplotlib.image
    image = matplotlib.image.imread(path)
    assert image.ndim in (2, 3) and image.shape[0] > 10 and image.shape[1] > 10
    return image


def assert_gif(path, n_frames):
    with open(path, "rb") as f:
        assert f.read(6) in (b"GIF87a", b"GIF89a"), f"{path} is not a GIF"
    from PIL import Image
    with Image.open(path) as im:
        assert im.n_frames == n_frames


# --- history ---

def make_history(n=200, keys=("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d",
                              "grad_norm_g", "lr_d", "lr_g", "time")):
    rng = np.random.default_rng(0)
    records = []
    for step in range(n):
        r = {"step": step * 10}
        values = {"loss_d": 1.38 + 0.1 * rng.standard_normal(), "loss_g": 0.7 + 0.2 * rng.standard_normal(),
                  "d_real": 0.6 + 0.05 * rng.random(), "d_fake": 0.4 - 0.05 * rng.random(),
                  "wasserstein": 0.5 + 0.1 * rng.standard_normal(), "penalty": 0.01 * rng.random(),
                  "grad_norm_d": 1.0 + rng.random(), "grad_norm_g": 0.5 + rng.random(),
                  "lr_d": 2e-4, "lr_g": 2e-4 * (1 - step / n), "time": 0.05}
        r.update({k: values[k] for k in keys})
        records.append(r)
    return records


@pytest.mark.parametrize("keys", [
    ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "lr_d", "lr_g", "time"),
    ("loss_d", "loss_g", "wasserstein", "penalty"),           # WGAN-GP: critic scores
    ("loss_g",),                                              # a single key
])
def test_plot_history_from_list(tmp_path, keys):
    path = viz.plot_history(make_history(keys=keys), tmp_path / "h.png", title="test")
    assert path == str(tmp_path / "h.png")
    assert_png(path)


def test_plot_history_from_a_run_with_gaps_and_nan(tmp_path):
    records = make_history(50)
    records[10]["loss_d"] = float("nan")        # a diverging step: skipped, not fatal
    del records[20]["loss_g"]                   # a step that logged less
    del records[30]["step"]
    RunFolder.create(tmp_path / "run", {"model": "gan"}).close()
    jsonl = tmp_path / "run" / "history.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in records) + "\n" + '{"step": 99, "lo')
    rows = RunFolder.open(tmp_path / "run").read_history()
    assert len(rows) == 50                      # the half-written last line is dropped
    assert_png(viz.plot_history(rows, tmp_path / "h.png", smoothing=0.0))


def test_plot_history_without_known_keys_raises(tmp_path):
    with pytest.raises(ValueError, match="no plottable key"):
        viz.plot_history([{"step": 0, "foo": 1.0}], tmp_path / "h.png")


def test_ema_is_debiased_and_smooths():
    np.testing.assert_allclose(viz.ema([3.0] * 5, 0.9), 3.0)           # no pull towards 0
    np.testing.assert_allclose(viz.ema([1.0, 2.0], 0.0), [1.0, 2.0])   # smoothing 0: identity
    noisy = np.random.default_rng(0).standard_normal(1000)
    assert viz.ema(noisy, 0.9)[100:].std() < 0.5 * noisy.std()


# --- images ---

def test_image_grid_array_layout_and_value_range():
    images = np.full((5, 1, 4, 3), -1.0)        # 5 grey 4x3 images, all black
    images[4, 0, 1, 2] = 1.0                    # one white pixel in image 4, at (1, 2)
    images[1, 0, 0, 0] = 0.0                    # mid grey: (0 - (-1)) / 2 * 255 = 127.5 -> 128
    grid = viz.image_grid_array(images, nrow=3, padding=1, pad_value=7)
    assert grid.dtype == np.uint8
    assert grid.shape == (1 + 2 * (4 + 1), 1 + 3 * (3 + 1))            # 2 rows of 3 cells
    # image 4 is at grid row 1, column 1: top-left at (1 + 1*5, 1 + 1*4) = (6, 5)
    assert grid[6 + 1, 5 + 2] == 255
    assert grid[1, 1 + 4] == 128                # image 1: row 0, column 1
    assert grid[1, 1] == 0                      # image 0 top-left: -1 maps to 0
    assert grid[0, 0] == 7                      # padding
    assert (grid[6:10, 9:12] == 7).all()        # the missing 6th cell is left as padding
    assert np.count_nonzero(grid == 255) == 1


def test_image_grid_array_rgb_clipping_and_auto_range():
    images = np.zeros((2, 3, 2, 2))
    images[0, 0] = 5.0                          # outside the range: clipped to 255
    images[1, 2] = -5.0                         # clipped to 0
    grid = viz.image_grid_array(images, nrow=2, padding=0)
    assert grid.shape == (2, 4, 3)
    assert tuple(grid[0, 0]) == (255, 128, 128)
    assert tuple(grid[0, 2]) == (128, 128, 0)
    auto = viz.image_grid_array(np.array([[[[2.0, 4.0]]]]), value_range=None, padding=0)
    assert auto.tolist() == [[0, 255]]          # None: the batch's own min..max


def test_image_grid_array_accepts_tensors_and_nhw():
    t = minigan.tensor(np.zeros((4, 5, 5)))
    assert viz.image_grid_array(t, nrow=2, padding=0).shape == (10, 10)


@pytest.mark.parametrize("channels", [1, 3])
def test_save_image_grid(tmp_path, channels):
    images = np.random.default_rng(0).uniform(-1, 1, (10, channels, 8, 8))
    path = viz.save_image_grid(images, tmp_path / "g.png", nrow=5, scale=2)
    image = assert_png(path)
    assert image.shape[:2] == (2 * (2 + 2 * 10), 2 * (2 + 5 * 10))     # exact pixels, zoomed x2


def test_save_grid_animation_batches_and_grids(tmp_path):
    rng = np.random.default_rng(0)
    batches = [rng.uniform(-1, 1, (6, 1, 8, 8)) for _ in range(3)]
    frames = batches + [viz.image_grid_array(batches[0], nrow=3)]       # a ready-made grid too
    path = viz.save_grid_animation(frames, tmp_path / "a.gif", fps=2, nrow=3,
                                   titles=[f"step {i}" for i in range(4)])
    assert_gif(path, 4)


def test_interpolate_latents_endpoints_and_norms():
    rng = np.random.default_rng(0)
    z0, z1 = rng.standard_normal(64), rng.standard_normal(64)
    for method in ("slerp", "linear"):
        z = viz.interpolate_latents(z0, z1, 9, method=method)
        assert z.shape == (9, 64)
        np.testing.assert_allclose(z[0], z0, atol=1e-12)
        np.testing.assert_allclose(z[-1], z1, atol=1e-12)
    # Same norm at both ends: slerp keeps it all the way, linear dips in the middle.
    z1 = z1 / np.linalg.norm(z1) * np.linalg.norm(z0)
    slerp = np.linalg.norm(viz.interpolate_latents(z0, z1, 9), axis=1)
    linear = np.linalg.norm(viz.interpolate_latents(z0, z1, 9, method="linear"), axis=1)
    np.testing.assert_allclose(slerp, np.linalg.norm(z0), rtol=1e-10)
    assert linear[4] < 0.85 * np.linalg.norm(z0)
    np.testing.assert_allclose(viz.interpolate_latents(z0, z1, 3, method="linear")[1], (z0 + z1) / 2)


def test_interpolate_latents_parallel_falls_back_and_keeps_shape():
    z0 = np.ones((4, 1, 1))
    z = viz.interpolate_latents(z0, 3 * z0, 5)
    assert z.shape == (5, 4, 1, 1)
    np.testing.assert_allclose(z[2], 2 * z0)
    with pytest.raises(ValueError, match="method"):
        viz.interpolate_latents(z0, z0, 5, method="cubic")


def test_plot_interpolation(tmp_path):
    rows = np.random.default_rng(0).uniform(-1, 1, (3, 6, 1, 8, 8))
    assert_png(viz.plot_interpolation(rows, tmp_path / "i.png", row_labels=["a", "b", "c"]))


# --- toy data ---

def toy_discriminator(points):
    return 1.0 / (1.0 + np.exp(-(points[:, 0] + points[:, 1])))      # (M, 2) -> (M,)


def toy_data(seed=0):
    rng = np.random.default_rng(seed)
    angles = rng.integers(0, 8, 256) * (2 * np.pi / 8)
    real = np.stack([2 * np.cos(angles), 2 * np.sin(angles)], 1) + 0.05 * rng.standard_normal((256, 2))
    fake = rng.standard_normal((256, 2))
    return real, fake


@pytest.mark.parametrize("discriminator", [None, toy_discriminator, lambda p: 3 * p[:, 0]])
def test_plot_toy_2d(tmp_path, discriminator):
    real, fake = toy_data()
    assert_png(viz.plot_toy_2d(real, fake, tmp_path / "t.png", discriminator=discriminator,
                               resolution=30))


def test_toy_2d_surface_evaluates_on_the_grid():
    xx, yy, zz = viz.toy_2d_surface(lambda p: p[:, 0] - 2 * p[:, 1], (-1, 1, -2, 2), resolution=5)
    assert xx.shape == yy.shape == zz.shape == (5, 5)
    np.testing.assert_allclose(zz, xx - 2 * yy)


def toy_snapshots(n=3):
    snaps = []
    for i in range(n):
        real, fake = toy_data(i)
        surface = viz.toy_2d_surface(toy_discriminator, (-3, 3, -3, 3), resolution=20)
        snaps.append({"step": 100 * i, "real": real, "fake": fake * (1 + i), "surface": surface})
    snaps.append({"real": real, "fake": fake})                         # no surface, no step
    return snaps


def test_plot_toy_2d_snapshots_and_animation(tmp_path):
    snaps = toy_snapshots()
    assert_png(viz.plot_toy_2d_snapshots(snaps, tmp_path / "s.png", ncols=2))
    assert_gif(viz.save_toy_2d_animation(snaps, tmp_path / "s.gif"), len(snaps))


@pytest.mark.parametrize("with_density", [False, True])
def test_plot_toy_1d(tmp_path, with_density):
    rng = np.random.default_rng(0)
    real, fake = rng.normal(2, 0.5, 500), rng.normal(0, 1, 500)
    density = (lambda x: np.exp(-0.5 * ((x - 2) / 0.5) ** 2) / (0.5 * np.sqrt(2 * np.pi))) \
        if with_density else None
    assert_png(viz.plot_toy_1d(real, fake, tmp_path / "t.png",
                               discriminator=lambda x: 1 / (1 + np.exp(-(x - 1))),
                               data_density=density))


def test_plot_toy_1d_snapshots(tmp_path):
    rng = np.random.default_rng(0)
    snaps = [{"step": s, "real": rng.normal(2, 0.5, 300), "fake": rng.normal(s / 100, 1, 300),
              "d_curve": viz.toy_1d_curve(lambda x: np.tanh(x - s / 100), (-3, 4))}
             for s in (0, 100, 200, 300)]
    assert_png(viz.plot_toy_1d_snapshots(snaps, tmp_path / "s.png"))


def test_gaussian_kde_is_a_density():
    xs = np.linspace(-6, 6, 2001)
    density = viz.gaussian_kde(np.random.default_rng(0).standard_normal(400), xs)
    assert density.min() >= 0
    assert abs(density.sum() * (xs[1] - xs[0]) - 1.0) < 1e-3
    assert abs(xs[density.argmax()]) < 0.5          # the mode of N(0, 1) is near 0


# --- games ---

def test_plot_vector_field_dirac_gan(tmp_path):
    def field(theta, psi):                          # Dirac-GAN: a pure rotation
        return psi, -theta
    # Simultaneous gradient steps spiral outwards; alternating ones stay on a closed orbit.
    sim, alt = [np.array([1.0, 0.0])], [np.array([1.0, 0.0])]
    for _ in range(100):
        t, p = sim[-1]
        sim.append(np.array([t + 0.1 * p, p - 0.1 * t]))
        t, p = alt[-1]
        t = t + 0.1 * p
        alt.append(np.array([t, p - 0.1 * t]))
    path = viz.plot_vector_field(field, tmp_path / "v.png", equilibrium=(0, 0),
                                 trajectories={"simultaneous": np.array(sim), "alternating": np.array(alt)})
    assert_png(path)


def test_plot_vector_field_constant_field_and_bad_trajectory(tmp_path):
    assert_png(viz.plot_vector_field(lambda t, p: (1.0, 0.0), tmp_path / "c.png"))
    with pytest.raises(ValueError, match=r"\(T, 2\)"):
        viz.plot_vector_field(lambda t, p: (p, -t), tmp_path / "x.png",
                              trajectories={"bad": np.zeros((5, 3))})


# --- numerics ---

def test_finite_difference_errors_float32_optimum_is_at_a_larger_step():
    steps = np.logspace(-12, 0, 49)
    errs32 = viz.finite_difference_errors(np.sin, np.cos, 1.0, steps, np.float32)
    errs64 = viz.finite_difference_errors(np.sin, np.cos, 1.0, steps, np.float64)
    best32, best64 = steps[errs32.argmin()], steps[errs64.argmin()]
    assert best32 > 100 * best64                     # ~eps^(1/3): 5e-3 vs 6e-6
    assert 1e-4 < best32 < 1e-1 and 1e-7 < best64 < 1e-4
    assert errs64.min() < 1e-9 < errs32.min()        # float64 is far more accurate at its best
    # Large steps: truncation error ~ |f'''| h^2 / 6, the same in both precisions.
    np.testing.assert_allclose(errs64[-1], np.cos(1.0) * (1 - np.sin(1.0)), rtol=1e-12)


def test_plot_fd_error(tmp_path):
    steps = np.logspace(-12, 0, 25)
    errors = {name: viz.finite_difference_errors(np.exp, np.exp, 0.5, steps, dt)
              for name, dt in [("float32", np.float32), ("float64", np.float64)]}
    errors["zeros"] = np.zeros_like(steps)           # nothing to draw on a log axis: no crash
    assert_png(viz.plot_fd_error(steps, errors, tmp_path / "fd.png"))


# --- autograd graph ---

def small_graph():
    """y = sum(a * b + a): `a` is used twice, by Mul and by Add."""
    a = minigan.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = minigan.tensor([4.0, 5.0, 6.0], requires_grad=True)
    prod = a * b
    y = (prod + a).sum()
    return y, a, b


def test_graph_text_small_graph():
    y, a, b = small_graph()
    text = viz.graph_text(y, params={"a": a, "b": b})
    lines = text.splitlines()
    assert lines[0].startswith("SumBackward #1")
    for name in ("AddBackward", "MulBackward", "leaf a", "leaf b", "shape=(3,)",
                 "requires_grad=True"):
        assert name in text
    # `a` is listed in full once, then referred to by its number.
    full = [line for line in lines if "leaf a" in line and "shown above" not in line]
    refs = [line for line in lines if "leaf a" in line and "shown above" in line]
    assert len(full) == 1 and len(refs) == 1
    assert "requires_grad" not in refs[0]
    assert len(lines) == 6                           # Sum, Add, Mul, a, b, a again


def test_graph_text_shared_function_node_listed_once():
    x = minigan.tensor([1.0, -2.0], requires_grad=True)
    h = minigan.tanh(x)
    y = (h * h).sum()                                # Tanh feeds Mul twice
    text = viz.graph_text(y)
    assert text.count("TanhBackward") == 2
    assert text.count("TanhBackward #3 (shown above)") == 1
    assert text.count("leaf") == 1


def test_graph_text_and_dot_are_iterative_on_a_long_chain():
    x = minigan.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(1500):                            # deeper than the recursion limit
        y = y * 1.0001
    text = viz.graph_text(y, max_depth=10)
    # depths 0..10: 11 Mul nodes and the constant 1.0001 of each of the first 10
    assert len(text.splitlines()) == 21 and text.count("max_depth reached") == 1
    assert len(viz.graph_text(y).splitlines()) == 1500 * 2 + 1    # each Mul: node + constant
    assert viz.graph_dot(y).count(" -> ") == 3000


def test_graph_dot_is_valid_looking():
    y, a, b = small_graph()
    dot = viz.graph_dot(y, params={"a": a, "b": b})
    lines = dot.strip().splitlines()
    assert lines[0] == "digraph autograd {" and lines[-1] == "}"
    assert dot.count("{") == dot.count("}") == 1
    node_lines = [line for line in lines if "[label=" in line]
    assert len(node_lines) == 5                      # Sum, Add, Mul, a, b: each once
    edges = [line for line in lines if " -> " in line]
    assert len(edges) == 5                           # Add->Sum, Mul->Add, a->Add, a->Mul, b->Mul
    assert all(line.strip().endswith(";") for line in node_lines + edges)
    assert dot.count('"') % 2 == 0
    assert 'label="a\\n(3,)"' in dot


def test_graph_of_gradient_penalty_double_backward(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    w = minigan.tensor(rng.standard_normal((2, 1)), requires_grad=True)
    x = minigan.tensor(rng.standard_normal((5, 2)), requires_grad=True)
    score = minigan.tanh(x @ w).sum()
    grad_x, = minigan.autograd.grad(score, x, create_graph=True)      # (5, 2), differentiable
    penalty = ((grad_x.norm(dim=1) - 1) ** 2).mean()
    text = viz.graph_text(penalty, params={"w": w, "x": x})
    # The penalty's graph holds the backward of the forward ops: tanh' = 1 - tanh^2 reuses
    # the TanhBackward node, and the weight enters through a transpose.
    assert text.splitlines()[0].endswith("-> shape=()")       # the scalar penalty's node
    for name in ("Norm", "TanhBackward", "MatMulBackward", "leaf w", "leaf x"):
        assert name in text
    assert sum("leaf w" in line and "shown above" not in line for line in text.splitlines()) == 1

    monkeypatch.setattr("shutil.which", lambda name: None)           # no Graphviz
    written = viz.save_graph(penalty, tmp_path / "gp.png", params={"w": w})
    assert written == [str(tmp_path / "gp.dot"), str(tmp_path / "gp.txt")]
    dot = (tmp_path / "gp.dot").read_text()
    assert dot.startswith("digraph") and dot.count("[label=") == len(text.splitlines()) - text.count("shown above")
    assert "TanhBackward" in (tmp_path / "gp.txt").read_text()

    penalty.backward()                               # viewing the graph left it usable
    assert w.grad is not None and np.isfinite(w.grad.numpy()).all()


def test_graph_text_of_a_leaf_and_after_backward():
    x = minigan.tensor([1.0], requires_grad=True)
    assert viz.graph_text(x, params={"x": x}).startswith("leaf x #1 shape=(1,)")
    y = (x * 2).sum()
    y.backward()                                     # frees the graph
    assert "freed" in viz.graph_text(y)


# --- run folder ---

def test_run_folder_plot_writes_the_expected_files(tmp_path):
    run = RunFolder.create(tmp_path / "run", {"model": "dcgan"})
    for row in make_history(30):
        run.append_history(row)
    rng = np.random.default_rng(0)
    for step in (0, 200, 1000):                      # 1000 sorts after 200 as a number
        images = np.full((4, 1, 6, 6), -1.0)
        images[:, :, : step // 200 + 1] = 1.0        # each frame distinct
        run.save_samples(images + 0 * rng.random(), step)
    (tmp_path / "run" / "samples" / "notes.txt").write_text("ignored")
    written = run.plot()
    run.close()
    plots = tmp_path / "run" / "plots"
    assert written == [str(plots / "history.png"), str(plots / "samples.gif"),
                       str(plots / "samples_last.png")]
    assert_png(written[0])
    assert_gif(written[1], 3)
    last = assert_png(written[2])
    # The last grid is step 1000's: its images are white in their top 6 rows (all of them).
    assert last.shape[:2] == (2 * (2 + 6 + 2), 2 * (2 + 4 * 8))


def test_run_folder_plot_of_an_empty_run_and_a_missing_folder(tmp_path):
    run = RunFolder.create(tmp_path / "run", {"model": "dcgan"})
    assert run.plot() == []
    run.close()
    with pytest.raises(RunFolderError, match="no such run folder"):
        RunFolder.open(tmp_path / "nope")


def test_plot_image_rows_paints_holes_red(tmp_path):
    images = np.full((3, 1, 8, 8), -1.0)             # black digits on black
    holes = np.zeros((3, 8, 8), bool)
    holes[:, 2:6, 2:6] = True
    path = viz.plot_image_rows([{"label": "masked", "images": images, "holes": holes},
                                {"label": "out", "images": images + 1, "captions": ["", "a", ""]}],
                               tmp_path / "rows.png", title="t", group_titles=["x", "y", "z"])
    picture = assert_png(path)
    red = (picture[..., 0] > 0.8) & (picture[..., 1] < 0.4) & (picture[..., 2] < 0.4)
    assert red.sum() > 50                            # the holes show, in red
    with pytest.raises(ValueError, match="row 'b' has 2 images, the first row has 3"):
        viz.plot_image_rows([{"label": "a", "images": images}, {"label": "b", "images": images[:2]}],
                            tmp_path / "bad.png")


def test_import_does_not_load_matplotlib():
    import subprocess
    import sys
    code = "import sys, minigan.viz; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
