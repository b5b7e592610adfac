"""GAN objectives, each with its sign contract.

Every loss here is something to MINIMISE: `d_loss` by the discriminator (or critic) and
`g_loss` by the generator. Inputs are D's raw outputs on a real batch and a fake batch:
logits for the probabilistic losses (D(x) = sigmoid(logit)), unbounded scores for the
critic losses. Working on logits keeps everything stable: log sigmoid(l) = -softplus(-l)
never takes the log of 0.

| loss          | D outputs | optimal D for fixed G                  | G minimises          |
|---------------|-----------|----------------------------------------|----------------------|
| minimax (JS)  | logit     | D*(x) = p(x) / (p(x) + q(x))           | E log(1 - D(G(z)))   |
| nonsaturating | logit     | same D*                                | -E log D(G(z))       |
| lsgan         | score     | D*(x) = p(x) / (p(x) + q(x)) (a=0,b=1) | E (D(G(z)) - 1)^2 / 2|
| wgan          | score     | a 1-Lipschitz f maximising E f(x) - E f(G(z)) | -E f(G(z))    |
| hinge         | score     | f in [-1, 1] where p, q don't overlap  | -E f(G(z))           |

Here p is the data density and q the generator's.
"""
from .. import autograd
from ..ops import logsigmoid, relu, softplus

__all__ = ["minimax", "nonsaturating", "lsgan", "wgan", "hinge", "LOSSES", "GANLoss",
           "gradient_penalty", "r1_penalty", "get_loss"]


class GANLoss:
    """A pair (d_loss, g_loss) and what D's output means ("logit" or "score")."""

    name = "base"
    output = "logit"

    def d_loss(self, real_out, fake_out):
        raise NotImplementedError

    def g_loss(self, fake_out):
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class Minimax(GANLoss):
    """Goodfellow et al.'s original game, V(D, G) = E log D(x) + E log(1 - D(G(z))).

    D maximises V, so it minimises -V = softplus(-l_real) + softplus(l_fake); G minimises
    V's second term. At the optimum D* = p/(p+q), and -V at G's optimum is log 4 - 2 JS(p||q).
    NOTE: G's loss saturates: when D confidently rejects fakes (D(G(z)) -> 0) the gradient
    of log(1 - D(G(z))) vanishes, which is why practice uses the non-saturating form.
    """
    name = "minimax"

    def d_loss(self, real_out, fake_out):
        return -logsigmoid(real_out).mean() + softplus(fake_out).mean()

    def g_loss(self, fake_out):
        return -softplus(fake_out).mean()            # = E log(1 - sigmoid(l_fake))


class NonSaturating(Minimax):
    """Same discriminator; G minimises -E log D(G(z)) (strong gradients when D wins)."""
    name = "nonsaturating"

    def g_loss(self, fake_out):
        return -logsigmoid(fake_out).mean()


class LSGAN(GANLoss):
    """Least squares (Mao et al.), targets a=0 (fake), b=1 (real), c=1 (G's target).

    D minimises E (D(x) - 1)^2 / 2 + E D(G(z))^2 / 2, optimum D* = p / (p + q).
    """
    name = "lsgan"
    output = "score"

    def d_loss(self, real_out, fake_out):
        return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out ** 2).mean()

    def g_loss(self, fake_out):
        return 0.5 * ((fake_out - 1) ** 2).mean()


class WGAN(GANLoss):
    """Wasserstein GAN (Arjovsky et al.): the critic f maximises E f(x) - E f(G(z)).

    That difference estimates the Wasserstein-1 distance only if f is 1-Lipschitz, which
    weight clipping (WGAN) or a gradient penalty (WGAN-GP) approximately enforces.
    The critic minimises E f(G(z)) - E f(x); G minimises -E f(G(z)).
    """
    name = "wgan"
    output = "score"

    def d_loss(self, real_out, fake_out):
        return fake_out.mean() - real_out.mean()

    def g_loss(self, fake_out):
        return -fake_out.mean()


class Hinge(GANLoss):
    """Hinge loss (SN-GAN, BigGAN): D minimises E relu(1 - f(x)) + E relu(1 + f(G(z)))."""
    name = "hinge"
    output = "score"

    def d_loss(self, real_out, fake_out):
        return relu(1 - real_out).mean() + relu(1 + fake_out).mean()

    def g_loss(self, fake_out):
        return -fake_out.mean()


minimax, nonsaturating, lsgan, wgan, hinge = Minimax(), NonSaturating(), LSGAN(), WGAN(), Hinge()
LOSSES = {loss.name: loss for loss in (minimax, nonsaturating, lsgan, wgan, hinge)}
LOSSES["wgan-gp"] = wgan          # the same objective; the penalty is added by the trainer


def get_loss(name):
    try:
        return LOSSES[name]
    except KeyError:
        raise ValueError(f"unknown GAN loss {name!r}; choose one of {sorted(LOSSES)}") from None


def _input_gradient_norm(D, x, *extra):
    """||dD(x)/dx|| per sample, differentiable (create_graph=True) so it can be penalised."""
    out = D(x, *extra)
    grad, = autograd.grad(out.sum(), x, create_graph=True)
    return grad.flatten(1).norm(dim=1)                     # (N,)


def gradient_penalty(D, real, fake, weight=10.0, labels=None):
    """WGAN-GP (Gulrajani et al.): weight * E (||grad f(x_hat)|| - 1)^2 on random
    interpolates x_hat = eps * real + (1 - eps) * fake, eps ~ U[0, 1] per sample.

    Differentiating this penalty w.r.t. D's weights is a second derivative: the gradient
    is taken with create_graph=True, so the backward pass runs through the backward pass.
    Returns (penalty, mean gradient norm).
    """
    from ..creation import rand
    eps = rand(real.shape[0], *([1] * (real.ndim - 1)), dtype=real.dtype, device=real.device)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_()
    extra = () if labels is None else (labels,)
    norms = _input_gradient_norm(D, x_hat, *extra)
    return weight * ((norms - 1) ** 2).mean(), norms.detach().mean()


def r1_penalty(D, real, weight=10.0, labels=None):
    """R1 (Mescheder et al.): weight / 2 * E ||grad D(x)||^2 on real data only.
    Returns (penalty, mean gradient norm)."""
    x = real.detach().requires_grad_()
    extra = () if labels is None else (labels,)
    grad, = autograd.grad(D(x, *extra).sum(), x, create_graph=True)
    # NOTE: the squared norm as a sum of squares, not norm() ** 2: norm's derivative at a zero
    # gradient is a 0/0 (taken as 0), which would drop R1's curvature exactly where D is flat.
    squared = (grad.flatten(1) ** 2).sum(dim=1)             # (N,)
    return 0.5 * weight * squared.mean(), squared.detach().sqrt().mean()
