"""The DCGAN-28 iteration of shared/bench/torch_dcgan_step.py, written once for both frameworks.

`plain_loop("torch")` and `plain_loop("minigan")` run the SAME lines: the framework is
imported under the name `torch`, exactly as `import minigan as torch` would. One D step
(BCE-with-logits on a real batch and a detached fake batch) and one G step (BCE-with-logits
of D(fake) against ones, so D's weight gradients are computed too, as PyTorch does),
Adam(2e-4, betas=(0.5, 0.999)), each framework's default initialisation, batch 64.

Adaptations of the reference script, and why (nothing inside step() changed):
  * the script's module-level code sits in a function, so a benchmark child can build it;
  * `import torch, torch.nn as nn` becomes `torch = import_module(framework)` and
    `nn = torch.nn` (what the import statement binds);
  * the final `print(... torch.get_num_threads() ...)` is left out: the benchmark reports
    every framework's thread pools itself (machine.py).

`train_step_loop()` runs minigan's own `gan.train_step` on the same models, data and
optimisers; it may skip work nobody reads (D's weight gradients in G's step: D is frozen
there), so the plain loop, not this, is the like-for-like comparison with PyTorch.
"""
from importlib import import_module

LATENT = 100


def plain_loop(framework="minigan", batch=64):
    """The reference iteration built with `framework` ("minigan" or "torch"): returns step()."""
    torch = import_module(framework)
    nn = torch.nn
    # --- from here on, the lines of torch_dcgan_step.py (B = batch) ---
    torch.manual_seed(0)
    B = batch
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
        oD.zero_grad(); lD.backward(); oD.step()  # noqa: E702
        lG = bce(D(fake), ones)
        oG.zero_grad(); lG.backward(); oG.step()  # noqa: E702
    step.parts = (G, D, oG, oD, real)           # for train_step_loop
    return step


def train_step_loop(batch=64):
    """The plain loop's models, data and optimisers through minigan's `gan.train_step`."""
    from minigan.gan import get_loss, train_step
    G, D, oG, oD, real = plain_loop("minigan", batch).parts
    G.latent_dim = LATENT
    loss = get_loss("nonsaturating")
    return lambda: train_step(G, D, oG, oD, real, loss)
