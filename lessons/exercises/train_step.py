"""Exercise 8: one step of the adversarial loop.

The loop trains the two players in turn, on every batch:

    D's step   sample noise z and make fakes G(z); D's loss on D(real) and on D(fakes);
               update D, and only D
    G's step   the article's step 6: sample NEW noise and make fresh fakes; G's loss is
               D's verdict on them; update G, and only G

Three rules keep the players apart:
  - D's loss must not send gradients into G;
  - G's loss must not train D (D's weights collect no gradient from it, and stay put);
  - gradients add up in .grad, so each update starts from a clean slate.
And D must be trainable again when the step is over.

Your task: write `train_step`.
    G(z):   z of shape (N, G.latent_dim) -> fakes shaped like real      (mg.randn for z)
    D(x):   (N, ...) -> logits (N, 1)
    loss.d_loss(real_logits, fake_logits), loss.g_loss(fake_logits): scalars to minimise
Return (loss_d, loss_g) as numbers.

Check it with:  minigan exercise check train_step
"""
import minigan as mg


def train_step(G, D, opt_g, opt_d, real, loss):
    """One update of D, then one of G with fresh fakes. Returns (loss_d, loss_g)."""
    n = real.shape[0]
    # --- D's step ---
    # TODO
    # --- G's step (the article's step 6: new noise, fresh fakes) ---
    # TODO
    raise NotImplementedError("write train_step, then: minigan exercise check train_step")
