"""`minigan export RUN -o FILE.safetensors` (issue 16, part 3): the file holds each network's
state_dict under PyTorch's keys, reads back with safetensors alone, and loads into the same
layers written in PyTorch, which then compute what minigan computes."""
import subprocess
import sys

import numpy as np
import pytest

import minigan as mg
from minigan.cli import main
from minigan.gan import load_run
from minigan.nn.utils import eval_mode


def train(cwd, *args):
    out = subprocess.run([sys.executable, "-m", "minigan", "train", *args, "--quiet"],
                         capture_output=True, text=True, cwd=cwd, timeout=600)
    assert out.returncode == 0, out.stderr


@pytest.fixture(scope="module")
def dcgan_run(tmp_path_factory):
    """A 2-step DCGAN run on the procedural shapes, with a moving average of G."""
    cwd = tmp_path_factory.mktemp("export")
    train(cwd, "dcgan", "--data", "shapes", "--steps", "2", "--batch-size", "8", "--ema", "0.9",
          "--out", "run")
    return cwd / "run"


def export(run, path, *extra):
    assert main(["export", str(run), "-o", str(path), *extra]) == 0
    return path


def test_the_file_reads_back_with_safetensors_alone(dcgan_run, tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    from safetensors import safe_open
    path = export(dcgan_run, tmp_path / "dcgan.safetensors")
    arrays = safetensors_numpy.load_file(str(path))
    gan, _, cfg = load_run(dcgan_run)
    expected = {f"{name}.{key}": t.numpy() for name in ("G", "D")
                for key, t in getattr(gan, name).state_dict().items()}
    assert sorted(arrays) == sorted(expected)
    for key, want in expected.items():
        assert arrays[key].dtype == want.dtype and arrays[key].shape == want.shape, key
        np.testing.assert_array_equal(arrays[key], want, err_msg=key)
    assert arrays["G.net.2.num_batches_tracked"].shape == ()       # 0-d, as in PyTorch
    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    assert meta["format"] == "pt" and meta["model"] == "dcgan" and meta["networks"] == "G,D"


def test_ema_writes_the_averaged_generator(dcgan_run, tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    arrays = safetensors_numpy.load_file(str(export(dcgan_run, tmp_path / "g.safetensors",
                                                    "--ema")))
    gan, _, _ = load_run(dcgan_run)
    averaged = gan.generator().state_dict()
    assert not np.array_equal(averaged["net.0.weight"].numpy(), gan.G.state_dict()["net.0.weight"].numpy())
    for key, t in averaged.items():
        np.testing.assert_array_equal(arrays[f"G.{key}"], t.numpy(), err_msg=key)


def torch_dcgan(torch):
    """minigan's DCGAN-28 G and D (gan/models.py), written as a learner writes them in PyTorch."""
    nn = torch.nn

    class Generator(nn.Module):
        def __init__(self, latent_dim=100):
            super().__init__()
            self.net = nn.Sequential(
                nn.Linear(latent_dim, 128 * 7 * 7), nn.Unflatten(1, (128, 7, 7)),
                nn.BatchNorm2d(128), nn.ReLU(),
                nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())

        def forward(self, z):
            return self.net(z)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2), nn.Flatten())
            self.head = nn.Linear(128 * 7 * 7, 1)

        def forward(self, x):
            return self.head(self.features(x))
    return Generator(), Discriminator()


def test_pytorch_loads_the_file_and_computes_what_minigan_computes(dcgan_run, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("safetensors")
    from safetensors.torch import load_file
    path = export(dcgan_run, tmp_path / "dcgan.safetensors")

    # --- the lines of README's "Moving on to PyTorch" ---
    G, D = torch_dcgan(torch)
    gan_torch = torch.nn.ModuleDict({"G": G, "D": D})
    result = gan_torch.load_state_dict(load_file(str(path)))        # strict: every key matches
    assert not result.missing_keys and not result.unexpected_keys

    gan, _, _ = load_run(dcgan_run)
    z = np.random.default_rng(0).standard_normal((5, 100)).astype(np.float32)
    G.eval(), D.eval()
    with torch.no_grad(), eval_mode(gan.G, gan.D), mg.no_grad():
        images_torch = G(torch.tensor(z))
        images = gan.G(mg.tensor(z))
        np.testing.assert_allclose(images_torch.numpy(), images.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(D(images_torch).numpy(), gan.D(images).numpy(), rtol=1e-4,
                                   atol=1e-4)
    # and training goes on in PyTorch: one Adam step on D moves its weights
    opt = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
    D.train()
    before = D.head.weight.detach().clone()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(
        D(images_torch), torch.ones(5, 1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    assert not torch.equal(before, D.head.weight)


def test_an_image_app_exports_every_network(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    pytest.importorskip("mlxtend")
    train(tmp_path, "pix2pix", "--steps", "2", "--out", "p2p")
    arrays = safetensors_numpy.load_file(str(export(tmp_path / "p2p",
                                                    tmp_path / "p2p.safetensors")))
    assert {key.split(".")[0] for key in arrays} == {"G", "D", "G_l1"}


def test_without_safetensors_the_error_names_the_extra(dcgan_run, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "safetensors", None)          # import fails
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)
    assert main(["export", str(dcgan_run), "-o", str(tmp_path / "x.safetensors")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["minigan: error: minigan export needs the safetensors package: "
                   "pip install 'minigan[export]'"]
    assert not (tmp_path / "x.safetensors").exists()


@pytest.mark.parametrize("output, message", [
    ("x.npz", "expected a file name ending in .safetensors"),
    ("folder.safetensors", "is a folder; give a file name"),
])
def test_user_errors_are_one_line(dcgan_run, tmp_path, capsys, output, message):
    (tmp_path / "folder.safetensors").mkdir()
    assert main(["export", str(dcgan_run), "-o", str(tmp_path / output)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]


def test_ema_of_a_run_without_one_is_a_clear_error(tmp_path, capsys):
    train(tmp_path, "gan", "--steps", "2", "--out", "toy")
    assert main(["export", str(tmp_path / "toy"), "-o", str(tmp_path / "t.safetensors"),
                 "--ema"]) == 2
    assert "trained without --ema" in capsys.readouterr().err
