"""The adversarial losses of the course, written on the discriminator's raw output (logit or critic value).

f = D(x) is a real number per example. For the two losses of Goodfellow et al. 2014
(arXiv:1406.2661) D's probability is sigmoid(f), and log sigmoid(f) = -softplus(-f),
log(1 - sigmoid(f)) = -softplus(f), which are computed stably.

    minimax          D: max E log D(x) + E log(1 - D(G(z)))       [Goodfellow et al. 2014, eq. 1]
                     G: min E log(1 - D(G(z)))                      (saturates when D wins)
    non_saturating   G: max E log D(G(z))                           [Goodfellow et al. 2014, Sec. 3]
    hinge            D: E relu(1 - f(x)) + E relu(1 + f(G(z)))      [Lim & Ye 2017, arXiv:1705.02894;
                     G: -E f(G(z))                                   Miyato et al. 2018, eq. 16-17]
    wasserstein      D: E f(G(z)) - E f(x)                          [Arjovsky et al. 2017, Alg. 1,
                     G: -E f(G(z))                                   arXiv:1701.07875]

The Lipschitz constraint the Wasserstein loss needs comes from ``clip_parameters_`` (WGAN) or
``gradient_penalty`` (WGAN-GP, Gulrajani et al. 2017, arXiv:1704.00028).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

AdversarialLoss = Literal["minimax", "non_saturating", "hinge", "wasserstein"]


def discriminator_loss(kind: AdversarialLoss, f_real: Tensor, f_fake: Tensor) -> Tensor:
    """The discriminator's (critic's) loss to minimise, from its outputs on real and fake, each (B,)."""
    if kind in ("minimax", "non_saturating"):
        # -[log D(x) + log(1 - D(G(z)))], the binary cross-entropy with labels 1 / 0 [eq. 1]
        return F.softplus(-f_real).mean() + F.softplus(f_fake).mean()
    if kind == "hinge":
        return F.relu(1.0 - f_real).mean() + F.relu(1.0 + f_fake).mean()
    if kind == "wasserstein":
        # -(E f(x) - E f(G(z))): the critic maximises the Kantorovich-Rubinstein dual [Arjovsky et al. 2017, eq. 3]
        return f_fake.mean() - f_real.mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; expected minimax, non_saturating, hinge or wasserstein")


def generator_loss(kind: AdversarialLoss, f_fake: Tensor) -> Tensor:
    """The generator's loss to minimise, from the discriminator's outputs on fakes, (B,)."""
    if kind == "minimax":
        return -F.softplus(f_fake).mean()  # E log(1 - D(G(z))) = -E softplus(f)
    if kind == "non_saturating":
        return F.softplus(-f_fake).mean()  # -E log D(G(z))
    if kind in ("hinge", "wasserstein"):
        return -f_fake.mean()
    raise ValueError(f"unknown adversarial loss {kind!r}; expected minimax, non_saturating, hinge or wasserstein")


def gradient_penalty(
    critic: Callable[[Tensor], Tensor],
    real: Tensor,
    fake: Tensor,
    *,
    eps: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """E_{x_hat} (||grad_{x_hat} f(x_hat)||_2 - 1)^2 on random interpolates [Gulrajani et al. 2017, eq. 3].

    x_hat = eps * x + (1 - eps) * x_fake with eps ~ U[0, 1] per example [Alg. 1, lines 4-6]; pass
    ``eps`` (B,) to fix it, else it is drawn (from ``generator`` where given). The graph is kept
    (create_graph) so the penalty trains the critic's weights; it is computed even under
    ``torch.no_grad()`` (a test loss), since it is itself a gradient.
    """
    shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    if eps is None:
        eps = torch.rand(shape, generator=generator, device=real.device, dtype=real.dtype)
    eps = eps.reshape(shape).to(real.dtype)
    train = torch.is_grad_enabled()  # keep the double-backward graph only when training
    with torch.enable_grad():
        x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
        f = critic(x_hat)
        (grad,) = torch.autograd.grad(f.sum(), x_hat, create_graph=train)
        norm = grad.flatten(1).norm(2, dim=1)  # (B,)
        return ((norm - 1.0) ** 2).mean()


@torch.no_grad()
def clip_parameters_(parameters: Iterable[nn.Parameter], c: float) -> None:
    """Clamp every weight to [-c, c] after each critic step [Arjovsky et al. 2017, Alg. 1, line 7]."""
    for p in parameters:
        p.clamp_(-c, c)
