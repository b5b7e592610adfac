"""Exercise: the GAN losses, from D's logits (reference solution).

    D(x) = sigmoid(l),   log D = log sigmoid(l) = -softplus(-l),
                         log(1 - D) = log sigmoid(-l) = -softplus(l)
    d_loss               = -V = -mean log D(x) - mean log(1 - D(G(z)))
    g_loss_minimax       = mean log(1 - D(G(z)))           (V's term that depends on G)
    g_loss_nonsaturating = -mean log D(G(z))

softplus never takes the log of 0, so the losses stay finite however sure D is. With
every logit 0 (D says 1/2 to all), d_loss = log 4 = 1.386: the number in every GAN log.

Check it with:  minigan exercise check gan_losses --file lessons/exercises/solutions/gan_losses.py
"""
import minigan as mg


def d_loss(real_logits, fake_logits):
    """D's loss, -V: real_logits = D's logits on a real batch (N, 1), fake_logits on fakes."""
    return mg.softplus(-real_logits).mean() + mg.softplus(fake_logits).mean()


def g_loss_minimax(fake_logits):
    """G's loss in the minimax game: the part of V that depends on G."""
    return -mg.softplus(fake_logits).mean()


def g_loss_nonsaturating(fake_logits):
    """G's non-saturating loss: minus the mean of log D(G(z))."""
    return mg.softplus(-fake_logits).mean()
