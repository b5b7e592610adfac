"""PyTorch code, written as a learner writes it, runs unchanged on minigan (issue 16, part 4).

Each snippet below is PyTorch source: `import torch`, `import torch.nn as nn`,
`from torch.utils.data import DataLoader`. The test runs it with those modules resolving to
minigan's (the `torch_is_minigan` fixture), which is what `import minigan as torch` does for
every `torch.` attribute, then checks what it computed with NumPy. torch itself is never
imported here: it is not a dependency.
"""
import pathlib
import sys
import textwrap
import types

import numpy as np
import pytest

import minigan as mg

ROOT = pathlib.Path(__file__).resolve().parents[1]
SHARED_BENCH = ROOT.parent / "shared" / "bench" / "torch_dcgan_step.py"


@pytest.fixture
def torch_is_minigan(monkeypatch):
    """`import torch`, `import torch.nn as nn`, `from torch.utils.data import ...` give
    minigan's modules while the test runs (sys.modules is restored after it)."""
    modules = {"torch": mg, "torch.nn": mg.nn, "torch.nn.functional": mg.nn.functional,
               "torch.nn.init": mg.nn.init, "torch.nn.utils": mg.nn.utils,
               "torch.optim": mg.optim, "torch.optim.lr_scheduler": mg.optim.lr_scheduler,
               "torch.autograd": mg.autograd, "torch.utils": mg.utils,
               "torch.utils.data": mg.data, "torch.cuda": mg.cuda,
               "torch.backends": mg.backends, "torch.backends.cudnn": mg.backends.cudnn}
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)


def run(source, **names):
    """Execute PyTorch `source`; returns its variables (a namespace) for the checks."""
    scope = dict(names, __name__="snippet")
    exec(compile(textwrap.dedent(source), "<snippet>", "exec"), scope)
    return types.SimpleNamespace(**scope)


def arr(t):
    return np.asarray(t.detach())


# --- 1. an MLP GAN on a 2-D Gaussian mixture ---
MLP_GAN = """
import torch
import torch.nn as nn

torch.manual_seed(0)
latent_dim, batch_size = 8, 128
G = nn.Sequential(nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(),
                  nn.Linear(64, 2))
D = nn.Sequential(nn.Linear(2, 64), nn.LeakyReLU(0.2), nn.Linear(64, 64), nn.LeakyReLU(0.2),
                  nn.Linear(64, 1))
opt_G = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
opt_D = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
criterion = nn.BCEWithLogitsLoss()

def sample_real(n):
    angles = torch.randint(0, 8, (n,)).float() * (2 * 3.141592653589793 / 8)
    centers = torch.stack([torch.cos(angles), torch.sin(angles)], dim=1) * 2.0
    return centers + 0.05 * torch.randn(n, 2)

for step in range(300):
    real = sample_real(batch_size)
    z = torch.randn(batch_size, latent_dim)
    fake = G(z)
    d_loss = criterion(D(real), torch.ones(batch_size, 1)) + \\
             criterion(D(fake.detach()), torch.zeros(batch_size, 1))
    opt_D.zero_grad()
    d_loss.backward()
    opt_D.step()

    g_loss = criterion(D(fake), torch.ones(batch_size, 1))
    opt_G.zero_grad()
    g_loss.backward()
    opt_G.step()

with torch.no_grad():
    samples = G(torch.randn(1000, latent_dim)).numpy()
    d_real = torch.sigmoid(D(sample_real(1000))).mean().item()
"""


def test_mlp_gan(torch_is_minigan):
    ns = run(MLP_GAN)
    assert ns.samples.shape == (1000, 2) and np.isfinite(ns.samples).all()
    assert np.isfinite(ns.d_loss.item()) and np.isfinite(ns.g_loss.item())
    assert 0 < ns.d_real < 1
    # G has learnt the ring's scale: the data lie at radius 2; an untrained G near 0
    radius = np.linalg.norm(ns.samples, axis=1)
    assert 1.4 < np.median(radius) < 2.6, np.median(radius)
    # the trained D and its loss on the last real batch, recomputed in NumPy
    h = arr(ns.real)
    for layer in ns.D:
        if isinstance(layer, mg.nn.Linear):
            h = h @ arr(layer.weight).T + arr(layer.bias)
        else:
            h = np.where(h > 0, h, 0.2 * h)                   # LeakyReLU(0.2)
    got = ns.criterion(ns.D(ns.real), mg.ones(ns.batch_size, 1)).item()
    np.testing.assert_allclose(got, np.mean(np.logaddexp(0, -h)), rtol=1e-5)   # BCE with logits


# --- 2. the PyTorch DCGAN tutorial's networks, weights_init and loop (small sizes) ---
DCGAN = """
import torch
import torch.nn as nn
import torch.optim as optim
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(999)
device = torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
nz, ngf, ndf, nc = 16, 8, 8, 1

def weights_init(m):
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        nn.init.normal_(m.weight.data, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        nn.init.normal_(m.weight.data, 1.0, 0.02)
        nn.init.constant_(m.bias.data, 0)

class Generator(nn.Module):
    def __init__(self):
        super(Generator, self).__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh()
        )

    def forward(self, input):
        return self.main(input)

class Discriminator(nn.Module):
    def __init__(self):
        super(Discriminator, self).__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        return self.main(input)

netG = Generator().to(device)
netG.apply(weights_init)
netD = Discriminator().to(device)
netD.apply(weights_init)

criterion = nn.BCELoss()
fixed_noise = torch.randn(16, nz, 1, 1, device=device)
real_label, fake_label = 1., 0.
optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))

images = torch.rand(64, nc, 32, 32) * 2 - 1
dataloader = DataLoader(TensorDataset(images), batch_size=16, shuffle=True, num_workers=2)
G_losses, D_losses = [], []
for epoch in range(1):
    for i, data in enumerate(dataloader, 0):
        netD.zero_grad()
        real_cpu = data[0].to(device)
        b_size = real_cpu.size(0)
        label = torch.full((b_size,), real_label, dtype=torch.float, device=device)
        output = netD(real_cpu).view(-1)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()

        noise = torch.randn(b_size, nz, 1, 1, device=device)
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach()).view(-1)
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()

        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake).view(-1)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        G_losses.append(errG.item())
        D_losses.append(errD.item())

with torch.no_grad():
    fake = netG(fixed_noise).detach().cpu()
"""


def test_dcgan_tutorial(torch_is_minigan):
    ns = run(DCGAN)
    assert ns.fake.shape == (16, 1, 32, 32)
    assert np.abs(arr(ns.fake)).max() <= 1
    assert len(ns.G_losses) == len(ns.D_losses) == 4
    assert np.isfinite(ns.G_losses).all() and np.isfinite(ns.D_losses).all()
    assert 0 < ns.D_x < 1 and 0 < ns.D_G_z1 < 1
    # weights_init ran on every conv (N(0, 0.02)) and BatchNorm (weight N(1, 0.02), bias 0)
    convs = [m for m in ns.netG.modules() if type(m).__name__.startswith("ConvTranspose")]
    weights = np.concatenate([arr(m.weight).ravel() for m in convs])
    assert abs(weights.std() - 0.02) < 0.004
    bns = [m for m in ns.netD.modules() if type(m).__name__ == "BatchNorm2d"]
    assert all(abs(arr(m.weight).mean() - 1) < 0.05 for m in bns)
    # BCELoss of the last D output, recomputed in NumPy
    p, t = arr(ns.output), np.full(16, 1.0)
    np.testing.assert_allclose(ns.errG.item(), np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p))),
                               rtol=1e-5)


# --- 3. a WGAN-GP gradient penalty, the way PyTorch-GAN writes it (with the legacy names) ---
WGAN_GP = """
import numpy as np
import torch
import torch.autograd as autograd
import torch.nn as nn
from torch.autograd import Variable

cuda = True if torch.cuda.is_available() else False
Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor

def compute_gradient_penalty(D, real_samples, fake_samples):
    alpha = Tensor(np.random.random((real_samples.size(0), 1, 1, 1)))
    interpolates = (alpha * real_samples + ((1 - alpha) * fake_samples)).requires_grad_(True)
    d_interpolates = D(interpolates)
    fake = Variable(Tensor(real_samples.shape[0], 1).fill_(1.0), requires_grad=False)
    gradients = autograd.grad(
        outputs=d_interpolates,
        inputs=interpolates,
        grad_outputs=fake,
        create_graph=True,
        retain_graph=True,
        only_inputs=True,
    )[0]
    gradients = gradients.view(gradients.size(0), -1)
    gradient_penalty = ((gradients.norm(2, dim=1) - 1) ** 2).mean()
    return gradient_penalty

D = nn.Sequential(nn.Flatten(), nn.Linear(1 * 4 * 4, 1))
real_imgs = Variable(torch.randn(6, 1, 4, 4).type(Tensor))
fake_imgs = torch.randn(6, 1, 4, 4)
gradient_penalty = compute_gradient_penalty(D, real_imgs.data, fake_imgs.data)
d_loss = -torch.mean(D(real_imgs)) + torch.mean(D(fake_imgs)) + 10 * gradient_penalty
d_loss.backward()
"""


def test_wgan_gp_penalty(torch_is_minigan):
    ns = run(WGAN_GP)
    # A linear critic's gradient with respect to its input is its weight w for every
    # sample, so the penalty is (|w| - 1)^2, and its gradient 2 (|w| - 1) w / |w|.
    w = arr(ns.D[1].weight).ravel()
    norm = np.linalg.norm(w)
    np.testing.assert_allclose(ns.gradient_penalty.item(), (norm - 1) ** 2, rtol=1e-5)
    real, fake = arr(ns.real_imgs).reshape(6, -1), arr(ns.fake_imgs).reshape(6, -1)
    expected = -real.mean(0) + fake.mean(0) + 10 * 2 * (norm - 1) * w / norm
    np.testing.assert_allclose(arr(ns.D[1].weight.grad).ravel(), expected, rtol=1e-4, atol=1e-6)


# --- 4. a DataLoader / eval / save loop ---
TRAIN_EVAL_SAVE = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
centers = torch.tensor([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.0]])
y = torch.randint(0, 3, (600,))
X = centers[y] + 0.3 * torch.randn(600, 2)
train_set = TensorDataset(X[:500], y[:500])
X_val, y_val = X[500:], y[500:]
loader = DataLoader(train_set, batch_size=32, shuffle=True, num_workers=2, pin_memory=True,
                    drop_last=True)

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 32)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(32, 3)

    def forward(self, x):
        return self.fc2(self.drop(F.relu(self.fc1(x))))

model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
criterion = nn.CrossEntropyLoss()
history = []
for epoch in range(4):
    model.train()
    running = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        running += loss.item() * xb.size(0)
    scheduler.step()
    model.eval()
    with torch.no_grad():
        logits = model(X_val)
        val_acc = (logits.argmax(dim=1) == y_val).float().mean().item()
    history.append((running / (len(loader) * 32), val_acc))

torch.save({"model": model.state_dict(), "epoch": epoch}, checkpoint_path)
checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
restored = Net()
restored.load_state_dict(checkpoint["model"])
restored.eval()
with torch.no_grad():
    same = torch.allclose(restored(X_val), model(X_val))
"""


def test_dataloader_eval_save_loop(torch_is_minigan, tmp_path):
    ns = run(TRAIN_EVAL_SAVE, checkpoint_path=str(tmp_path / "checkpoint.pth"))
    assert len(ns.history) == 4 and ns.checkpoint["epoch"] == 3
    assert ns.same
    logits, labels = arr(ns.logits), np.asarray(ns.y_val)
    assert ns.val_acc == pytest.approx((logits.argmax(1) == labels).mean())
    assert ns.val_acc > 0.95                         # three well-separated clusters
    assert ns.history[-1][0] < ns.history[0][0]
    assert ns.optimizer.param_groups[0]["lr"] == pytest.approx(0.025)   # halved twice


# --- 5. tensor manipulation ---
TENSORS = """
import torch
import torch.nn.functional as F

x = torch.arange(24).reshape(2, 3, 4)
flat = x.permute(2, 0, 1).contiguous().view(4, -1)
catted = torch.cat([x, x * 10], dim=1)
stacked = torch.stack([x[0], x[1]], dim=-1)
squeezed = x[:, :1].squeeze(1).unsqueeze(0)
swapped = x.transpose(1, 2).flatten(1)
picked = torch.where(x % 2 == 0, x, -x)
masked = x.float().masked_fill(x > 20, float("-inf"))
probs = F.softmax(masked, dim=-1)
clamped = x.clamp(3, 9)
values, indices = x.float().max(dim=2)
top = torch.topk(x.float(), k=2, dim=1)
sorted_desc, order = torch.sort(x.float(), dim=2, descending=True)
chunks = torch.chunk(x, 2, dim=2)
parts = x.split([1, 2], dim=1)
gathered = x.gather(2, torch.tensor([[[0], [1], [2]], [[3], [2], [1]]]))
expanded = x[:, :, :1].expand(-1, -1, 3)
repeated = x[0].repeat(2, 1)
hot = F.one_hot(torch.tensor([0, 2, 1]), num_classes=3)
means = x.float().mean(dim=(0, 2), keepdim=True)
stds = x.float().std(dim=0, unbiased=False)
outer = torch.einsum("i,j->ij", torch.arange(3.0), torch.arange(4.0))
batched = torch.bmm(x.float(), x.float().transpose(1, 2))
bool_idx = x[x > 20]
nonzero = torch.nonzero(x[0] % 5 == 0)
as_list = x[1, 2].tolist()
as_numpy = x.numpy()
item = x.sum().item()
"""


def test_tensor_manipulation(torch_is_minigan):
    ns = run(TENSORS)
    a = np.arange(24).reshape(2, 3, 4)
    checks = {
        "flat": a.transpose(2, 0, 1).reshape(4, -1),
        "catted": np.concatenate([a, a * 10], 1),
        "stacked": np.stack([a[0], a[1]], -1),
        "squeezed": a[:, 0][None],
        "swapped": a.transpose(0, 2, 1).reshape(2, -1),
        "picked": np.where(a % 2 == 0, a, -a),
        "clamped": np.clip(a, 3, 9),
        "values": a.max(2), "indices": a.argmax(2),
        "sorted_desc": -np.sort(-a, 2),
        "gathered": np.take_along_axis(a, np.array([[[0], [1], [2]], [[3], [2], [1]]]), 2),
        "expanded": np.repeat(a[:, :, :1], 3, 2),
        "repeated": np.tile(a[0], (2, 1)),
        "hot": np.eye(3, dtype=np.int64)[[0, 2, 1]],
        "means": a.mean((0, 2), keepdims=True),
        "stds": a.std(0),
        "outer": np.outer(np.arange(3), np.arange(4)),
        "batched": a @ a.transpose(0, 2, 1),
        "bool_idx": a[a > 20],
        "nonzero": np.argwhere(a[0] % 5 == 0),
    }
    for name, expected in checks.items():
        np.testing.assert_allclose(arr(getattr(ns, name)), expected, rtol=1e-6, err_msg=name)
    assert ns.flat.dtype == mg.int64 and ns.hot.dtype == mg.int64
    masked = np.where(a > 20, -np.inf, a.astype(np.float32))
    e = np.exp(masked - masked.max(-1, keepdims=True))
    np.testing.assert_allclose(arr(ns.probs), e / e.sum(-1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(arr(ns.top.values), -np.sort(-a, 1)[:, :2])
    np.testing.assert_array_equal(arr(ns.chunks[1]), a[:, :, 2:])
    np.testing.assert_array_equal(arr(ns.parts[1]), a[:, 1:])
    assert ns.as_list == [20, 21, 22, 23] and ns.item == a.sum()
    np.testing.assert_array_equal(ns.as_numpy, a)


# --- the benchmark's reference iteration, shared/bench/torch_dcgan_step.py, verbatim ---
TORCH_DCGAN_STEP = '''\
"""Reference: one DCGAN training iteration (D step + G step) on 28x28 images in PyTorch CPU.
Prints median ms per iteration. minigan runs the same iteration (same layers, sizes, optimiser and loss) and must not be slower in the same run.
Run: pip install torch==2.13.0 (CPU build), then python torch_dcgan_step.py [batch] [iterations]."""
import sys, time, statistics
import torch, torch.nn as nn
torch.manual_seed(0)
B = int(sys.argv[1]) if len(sys.argv) > 1 else 64
iters = int(sys.argv[2]) if len(sys.argv) > 2 else 20
G = nn.Sequential(nn.Linear(100, 128*7*7), nn.Unflatten(1, (128, 7, 7)), nn.BatchNorm2d(128), nn.ReLU(),
                  nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(),
                  nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
D = nn.Sequential(nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
                  nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(0.2),
                  nn.Flatten(), nn.Linear(128*7*7, 1))
oG = torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999))
oD = torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()
real = torch.rand(B, 1, 28, 28) * 2 - 1
ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
def step():
    z = torch.randn(B, 100)
    fake = G(z)
    lD = bce(D(real), ones) + bce(D(fake.detach()), zeros)
    oD.zero_grad(); lD.backward(); oD.step()
    lG = bce(D(fake), ones)
    oG.zero_grad(); lG.backward(); oG.step()
for _ in range(3): step()
ts = []
for _ in range(iters):
    t = time.perf_counter(); step(); ts.append(time.perf_counter() - t)
print(f"torch {torch.__version__} threads={torch.get_num_threads()} B={B} median_ms={statistics.median(ts)*1e3:.2f}")
'''


def test_the_benchmark_script_runs_unchanged(torch_is_minigan, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["torch_dcgan_step.py", "8", "2"])    # batch 8, 2 iterations
    ns = run(TORCH_DCGAN_STEP)
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"torch {mg.__version__} threads={mg.get_num_threads()} B=8 median_ms=")
    assert float(line.rsplit("=", 1)[1]) > 0
    assert ns.real.shape == (8, 1, 28, 28) and -1 <= arr(ns.real).min() and arr(ns.real).max() <= 1
    # one more step moves every network's weights, and they stay finite
    before = [arr(p).copy() for p in [*ns.G.parameters(), *ns.D.parameters()]]
    ns.step()
    after = [arr(p) for p in [*ns.G.parameters(), *ns.D.parameters()]]
    assert all(np.isfinite(a).all() for a in after)
    assert all((a != b).any() for a, b in zip(after, before))
    assert np.isfinite(ns.bce(ns.D(ns.real), ns.ones).item())


def test_the_copy_above_is_the_shared_script():
    if not SHARED_BENCH.exists():
        pytest.skip(f"{SHARED_BENCH} is not beside this checkout")
    assert SHARED_BENCH.read_text() == TORCH_DCGAN_STEP


# --- everyday idioms: each a few lines of PyTorch, checked with NumPy ---
HEADER = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n"
A = np.arange(12, dtype=np.float32).reshape(3, 4) / 4 - 1      # the `a` the idioms start from

IDIOMS = [
    ("pick a device", "device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')",
     lambda ns: ns.device in ("cpu", "cuda")),
    ("random tensor on a device", "x = torch.randn(4, 3, device='cpu')",
     lambda ns: ns.x.shape == (4, 3) and ns.x.dtype == mg.float32),
    ("back to NumPy", "out = torch.tensor(a, requires_grad=True).detach().cpu().numpy()",
     lambda ns: np.array_equal(ns.out, A)),
    ("from NumPy", "t = torch.from_numpy(a.astype('float64')).float()",
     lambda ns: ns.t.dtype == mg.float32 and np.array_equal(arr(ns.t), A)),
    ("integer labels", "y = torch.tensor([0, 2, 1], dtype=torch.long)",
     lambda ns: ns.y.dtype == mg.int64 and ns.y.tolist() == [0, 2, 1]),
    ("flatten a batch", "x = torch.tensor(a).reshape(3, 2, 2)\nflat = x.view(x.size(0), -1)",
     lambda ns: np.array_equal(arr(ns.flat), A)),
    ("cat and stack", "t = torch.tensor(a)\nc = torch.cat([t, t], dim=1)\ns = torch.stack([t, t])",
     lambda ns: ns.c.shape == (3, 8) and ns.s.shape == (2, 3, 4)
     and np.array_equal(arr(ns.c), np.concatenate([A, A], 1))),
    ("labels for a GAN", "real = torch.full((5,), 1.0)\nfake = torch.zeros_like(real)\n"
     "smooth = torch.full_like(real, 0.9)",
     lambda ns: arr(ns.real).tolist() == [1.0] * 5 and arr(ns.fake).sum() == 0
     and np.allclose(arr(ns.smooth), 0.9)),
    ("a loss as a number", "loss = F.mse_loss(torch.tensor(a), torch.zeros(3, 4))\nv = loss.item()",
     lambda ns: isinstance(ns.v, float) and np.isclose(ns.v, (A ** 2).mean())),
    ("accuracy", "logits = torch.tensor(a)\ny = torch.tensor([3, 0, 3])\n"
     "acc = (logits.argmax(dim=1) == y).float().mean().item()",
     lambda ns: np.isclose(ns.acc, (A.argmax(1) == [3, 0, 3]).mean())),
    ("reproducible draws", "torch.manual_seed(0)\nu = torch.rand(3)\ntorch.manual_seed(0)\nv = torch.rand(3)",
     lambda ns: np.array_equal(arr(ns.u), arr(ns.v)) and (0 <= arr(ns.u)).all() and (arr(ns.u) < 1).all()),
    ("no_grad", "w = torch.ones(2, requires_grad=True)\nwith torch.no_grad():\n    y = w * 2",
     lambda ns: not ns.y.requires_grad and arr(ns.y).tolist() == [2.0, 2.0]),
    ("train and eval modes", "m = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))\nm.eval()\n"
     "evaluating = not m.training and not m[1].training\nm.train()",
     lambda ns: ns.evaluating and ns.m.training and ns.m[1].training),
    ("count parameters", "m = nn.Linear(10, 5)\nn = sum(p.numel() for p in m.parameters() if p.requires_grad)",
     lambda ns: ns.n == 55),
    ("a training step", "m = nn.Linear(4, 1)\nopt = torch.optim.SGD(m.parameters(), lr=0.1)\n"
     "w0 = m.weight.detach().clone()\nopt.zero_grad(set_to_none=True)\n"
     "loss = m(torch.tensor(a)).pow(2).mean()\nloss.backward()\nopt.step()",
     lambda ns: np.allclose(arr(ns.m.weight), arr(ns.w0) - 0.1 * arr(ns.m.weight.grad))),
    ("clip gradients", "m = nn.Linear(4, 3)\nm(torch.tensor(a) * 100).sum().backward()\n"
     "total = torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm=1.0)\n"
     "after = torch.sqrt(sum((p.grad ** 2).sum() for p in m.parameters()))",
     lambda ns: ns.total.item() > 1 and np.isclose(ns.after.item(), 1.0, rtol=1e-4)),
    ("custom init", "m = nn.Linear(200, 300)\nnn.init.xavier_uniform_(m.weight)\nnn.init.zeros_(m.bias)",
     lambda ns: np.abs(arr(ns.m.weight)).max() <= np.sqrt(6 / 500) and arr(ns.m.bias).sum() == 0),
    ("clamp", "c = torch.tensor(a).clamp(-0.5, 0.5)\nr = torch.clamp(torch.tensor(a), min=0)",
     lambda ns: np.array_equal(arr(ns.c), np.clip(A, -0.5, 0.5)) and np.array_equal(arr(ns.r), np.maximum(A, 0))),
    ("where", "t = torch.tensor(a)\nw = torch.where(t > 0, t, torch.zeros_like(t))",
     lambda ns: np.array_equal(arr(ns.w), np.where(A > 0, A, 0))),
    ("masked softmax", "t = torch.tensor(a)\nmask = torch.tensor([True, False, False, True])\n"
     "p = F.softmax(t.masked_fill(mask, float('-inf')), dim=-1)",
     lambda ns: np.allclose(arr(ns.p)[:, [0, 3]], 0) and np.allclose(arr(ns.p).sum(1), 1)),
    ("one-hot labels", "y = torch.tensor([1, 0, 3])\nhot = F.one_hot(y, num_classes=4).float()",
     lambda ns: ns.hot.dtype == mg.float32 and np.array_equal(arr(ns.hot), np.eye(4)[[1, 0, 3]])),
    ("max with indices", "values, indices = torch.tensor(a).max(dim=1)\nsecond = torch.tensor(a).max(1)[1]",
     lambda ns: np.array_equal(arr(ns.values), A.max(1)) and arr(ns.indices).tolist() == [3, 3, 3]
     and np.array_equal(arr(ns.second), arr(ns.indices))),
    ("top-k", "vals, idx = torch.topk(torch.tensor(a), k=2)",
     lambda ns: np.array_equal(arr(ns.vals), A[:, ::-1][:, :2]) and arr(ns.idx).tolist() == [[3, 2]] * 3),
    ("statistics", "t = torch.tensor(a)\nm, s = t.mean(dim=0), t.std(dim=0)\nv = t.var(unbiased=False)",
     lambda ns: np.allclose(arr(ns.m), A.mean(0)) and np.allclose(arr(ns.s), A.std(0, ddof=1))
     and np.isclose(ns.v.item(), A.var())),
    ("ranges", "r = torch.arange(0, 10, 2)\nl = torch.linspace(0, 1, 5)",
     lambda ns: arr(ns.r).tolist() == [0, 2, 4, 6, 8] and np.allclose(arr(ns.l), np.linspace(0, 1, 5))),
    ("a random subset", "torch.manual_seed(0)\nidx = torch.randperm(10)[:4]\nlabels = torch.randint(0, 10, (6,))",
     lambda ns: len(set(arr(ns.idx).tolist())) == 4 and ((0 <= arr(ns.labels)) & (arr(ns.labels) < 10)).all()),
    ("expand and repeat", "t = torch.tensor(a)[:1]\ne = t.expand(3, -1)\nr = t.repeat(2, 1)",
     lambda ns: np.array_equal(arr(ns.e), np.repeat(A[:1], 3, 0)) and np.array_equal(arr(ns.r), np.tile(A[:1], (2, 1)))),
    ("chunk and split", "t = torch.tensor(a)\nleft, right = t.chunk(2, dim=1)\nfirst, rest = torch.split(t, [1, 2])",
     lambda ns: np.array_equal(arr(ns.right), A[:, 2:]) and np.array_equal(arr(ns.rest), A[1:])),
    ("gather the target's score", "t = torch.tensor(a)\ny = torch.tensor([0, 3, 1])\n"
     "picked = t.gather(1, y.unsqueeze(1)).squeeze(1)",
     lambda ns: np.array_equal(arr(ns.picked), A[[0, 1, 2], [0, 3, 1]])),
    ("softmax sums to one", "p = F.softmax(torch.tensor(a) * 5, dim=-1)\nlp = F.log_softmax(torch.tensor(a), dim=1)",
     lambda ns: np.allclose(arr(ns.p).sum(-1), 1) and np.allclose(np.exp(arr(ns.lp)).sum(1), 1)),
    ("cross-entropy", "loss = F.cross_entropy(torch.tensor(a), torch.tensor([0, 3, 1]))",
     lambda ns: np.isclose(ns.loss.item(), np.mean(np.log(np.exp(A).sum(1)) - A[[0, 1, 2], [0, 3, 1]]), rtol=1e-5)),
    ("losses with reduction", "l1 = F.l1_loss(torch.tensor(a), torch.zeros(3, 4), reduction='sum')\n"
     "bce = nn.BCEWithLogitsLoss()(torch.tensor(a), torch.ones(3, 4))",
     lambda ns: np.isclose(ns.l1.item(), np.abs(A).sum())
     and np.isclose(ns.bce.item(), np.mean(np.logaddexp(0, -A)), rtol=1e-5)),
    ("save and load", "torch.save({'w': torch.tensor(a), 'step': 3}, path)\n"
     "ckpt = torch.load(path, map_location='cpu')",
     lambda ns: ns.ckpt["step"] == 3 and np.array_equal(arr(ns.ckpt["w"]), A)),
    ("state_dict keys", "m = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))\nkeys = list(m.state_dict().keys())",
     lambda ns: ns.keys == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean",
                            "1.running_var", "1.num_batches_tracked"]),
    ("partial load", "m = nn.Linear(2, 3)\nresult = m.load_state_dict({'weight': torch.zeros(3, 2)}, strict=False)",
     lambda ns: ns.result.missing_keys == ["bias"] and arr(ns.m.weight).sum() == 0),
    ("backward on a leaf", "x = torch.tensor(a, requires_grad=True)\n(x ** 2).sum().backward()",
     lambda ns: np.allclose(arr(ns.x.grad), 2 * A)),
    ("higher-order gradient", "x = torch.tensor(a, requires_grad=True)\ny = (x ** 3).sum()\n"
     "g, = torch.autograd.grad(y, x, create_graph=True)\ng2, = torch.autograd.grad(g.sum(), x)",
     lambda ns: np.allclose(arr(ns.g), 3 * A ** 2) and np.allclose(arr(ns.g2), 6 * A, atol=1e-6)),
    ("dtype conversions", "t = torch.tensor(a)\nd, l = t.double(), (t * 4).long()\n"
     "f = l.to(torch.float32)\nname = t.type()",
     lambda ns: ns.d.dtype == mg.float64 and arr(ns.l).tolist() == (A * 4).astype(np.int64).tolist()
     and ns.f.dtype == mg.float32 and ns.name.endswith("FloatTensor")),
    ("moving average of weights", "model, ema = nn.Linear(2, 2), nn.Linear(2, 2)\n"
     "ema.load_state_dict(model.state_dict())\nw0 = ema.weight.detach().clone()\n"
     "with torch.no_grad():\n    model.weight.add_(1.0)\n"
     "    for p_ema, p in zip(ema.parameters(), model.parameters()):\n"
     "        p_ema.mul_(0.9).add_(p, alpha=0.1)",
     lambda ns: np.allclose(arr(ns.ema.weight), arr(ns.w0) + 0.1)),
    ("learning-rate schedule", "m = nn.Linear(2, 2)\nopt = torch.optim.Adam(m.parameters(), lr=1e-3)\n"
     "sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)\nopt.step()\nsched.step()\n"
     "lr = opt.param_groups[0]['lr']",
     lambda ns: np.isclose(ns.lr, 5e-4)),
    ("upsample", "x = torch.tensor(a).view(1, 1, 3, 4)\nn = F.interpolate(x, scale_factor=2)\n"
     "b = nn.Upsample(scale_factor=2, mode='bilinear', align_corners=True)(x)",
     lambda ns: np.array_equal(arr(ns.n)[0, 0], A.repeat(2, 0).repeat(2, 1))
     and ns.b.shape == (1, 1, 6, 8) and np.isclose(arr(ns.b)[0, 0, -1, -1], A[-1, -1])),
    ("einsum", "t = torch.tensor(a)\ngram = torch.einsum('ij,kj->ik', t, t)",
     lambda ns: np.allclose(arr(ns.gram), A @ A.T)),
    ("new tensors like another", "t = torch.tensor(a).double()\nz = t.new_zeros(2, 2)\n"
     "o = torch.ones(2).type_as(t)",
     lambda ns: ns.z.dtype == mg.float64 and ns.o.dtype == mg.float64 and arr(ns.z).sum() == 0),
    ("a NaN check", "loss = torch.tensor([0.5, float('nan')]).mean()\n"
     "bad = torch.isnan(loss) or not torch.isfinite(loss)",
     lambda ns: ns.bad),
    ("inference mode", "m = nn.Linear(4, 2)\nwith torch.inference_mode():\n    out = m(torch.tensor(a))",
     lambda ns: not ns.out.requires_grad and ns.out.shape == (3, 2)),
    ("apply an init function", "def init(m):\n    if isinstance(m, nn.Linear):\n"
     "        nn.init.constant_(m.weight, 0.5)\nmodel = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))\n"
     "model.apply(init)",
     lambda ns: all((arr(m.weight) == 0.5).all() for m in ns.model if isinstance(m, mg.nn.Linear))),
    ("threshold a probability", "pred = (torch.sigmoid(torch.tensor(a)) > 0.5).long()",
     lambda ns: np.array_equal(arr(ns.pred), (A > 0).astype(np.int64))),
    ("sizes", "t = torch.tensor(a)\nsizes = (t.numel(), t.dim(), t.size(1), t.shape[0], tuple(t.size()))",
     lambda ns: ns.sizes == (12, 2, 4, 3, (3, 4))),
    ("conditional embedding", "torch.manual_seed(0)\nemb = nn.Embedding(10, 4)\n"
     "e = emb(torch.tensor([3, 3, 7]))\nz = torch.cat([torch.randn(3, 2), e], dim=1)",
     lambda ns: ns.z.shape == (3, 6) and np.array_equal(arr(ns.e)[0], arr(ns.emb.weight)[3])),
]


def test_there_are_49_idioms():
    assert len(IDIOMS) == 49 and len({name for name, _, _ in IDIOMS}) == 49


@pytest.mark.parametrize("name, source, check", IDIOMS, ids=[i[0] for i in IDIOMS])
def test_everyday_idiom(torch_is_minigan, tmp_path, name, source, check):
    ns = run(HEADER + source, a=A.copy(), path=str(tmp_path / "checkpoint.pt"))
    assert check(ns)
