"""Exercise 7: the GAN losses, from D's logits.

D outputs a logit l for each sample; D(x) = sigmoid(l) is its probability that x is real.
The minimax game (Goodfellow et al.) has the value

    V(D, G) = mean over the real batch of log D(x) + mean over the fakes of log(1 - D(G(z)))

D maximises V. The minimax G minimises V; the non-saturating G instead maximises
log D(G(z)), which keeps its gradient alive while D still wins easily.

Your task: write the three losses below, each a scalar to MINIMISE, averaged over the
batch, written with minigan operations on the logits (mg.sigmoid, mg.log, mg.softplus,
mg.logsigmoid, .mean(), ...) so that gradients reach D and G. They must stay finite for
the logits of a confident D, say +-120 in float32: there sigmoid(l) is exactly 0 or 1.

Check them with:  minigan exercise check gan_losses
"""
import minigan as mg


def d_loss(real_logits, fake_logits):
    """D's loss, -V: real_logits = D's logits on a real batch (N, 1), fake_logits on fakes."""
    raise NotImplementedError("write d_loss, then: minigan exercise check gan_losses")


def g_loss_minimax(fake_logits):
    """G's loss in the minimax game: the part of V that depends on G."""
    raise NotImplementedError("write g_loss_minimax, then: minigan exercise check gan_losses")


def g_loss_nonsaturating(fake_logits):
    """G's non-saturating loss: minus the mean of log D(G(z))."""
    raise NotImplementedError(
        "write g_loss_nonsaturating, then: minigan exercise check gan_losses")
