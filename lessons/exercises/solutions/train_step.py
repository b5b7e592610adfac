"""Exercise: one step of the adversarial loop (reference solution).

    D's step   fakes from fresh noise; D's loss on D(real) and D(fake.detach()); update D
    G's step   the article's step 6: new noise, fresh fakes; G's loss on D(fake) with D
               frozen; update G

Why each line is there:
  - fake.detach(): D's loss stops at D, so its backward leaves G alone;
  - D.requires_grad_(False) for G's backward: G's loss trains G only, and D's .grad stays
    clean; the finally: block makes sure D is trainable again, even after an error;
  - fresh fakes for G's step: the article draws new noise (reusing D's fakes saves a
    forward pass of G, and many implementations take that shortcut);
  - zero_grad() right before each backward: .grad adds up otherwise.

Check it with:  minigan exercise check train_step --file lessons/exercises/solutions/train_step.py
"""
import minigan as mg


def train_step(G, D, opt_g, opt_d, real, loss):
    """One update of D, then one of G with fresh fakes. Returns (loss_d, loss_g)."""
    n = real.shape[0]
    # --- D's step ---
    fake = G(mg.randn(n, G.latent_dim))                 # (N, ...) like real
    loss_d = loss.d_loss(D(real), D(fake.detach()))     # detached: D's loss must not reach G
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    # --- G's step (the article's step 6: new noise, fresh fakes) ---
    fake = G(mg.randn(n, G.latent_dim))
    D.requires_grad_(False)                             # frozen: G's loss must not train D
    try:
        loss_g = loss.g_loss(D(fake))
        opt_g.zero_grad()
        loss_g.backward()
    finally:
        D.requires_grad_(True)
    opt_g.step()
    return loss_d.item(), loss_g.item()
