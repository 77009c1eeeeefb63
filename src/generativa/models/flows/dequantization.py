"""From 8-bit images to a continuous density and back: dequantisation and the logit transform.

An image x has 256 levels per value, x_int = 255 x in {0, ..., 255}. A density p on the continuous
y = (x_int + u) / 256, u in [0, 1)^D, gives a lower bound of the probability of the discrete image
[Theis, van den Oord & Bethge 2016, arXiv:1511.01844, eq. 11; Ho et al. 2019, arXiv:1902.00275,
eq. 10 for the variational form]:

    log P(x_int) >= E_{u ~ q(u|x)} [ log p(y) - log q(u|x) ] - D log 256

* ``uniform``: q = U[0, 1)^D, log q = 0 [Theis et al. 2016].
* ``variational``: u = sigmoid(mu(x) + exp(log_sigma(x)) eps), eps ~ N(0, I), a learned q(u|x)
  (Flow++, Ho et al. 2019, section 3.1), whose log-density is log N(eps) - sum log_sigma -
  sum log(u (1 - u)); a tighter bound for the same flow.

Then the logit transform (Dinh et al. 2016, arXiv:1605.08803, section 4.1) takes y to the real line,
w = logit(a + (1 - 2a) y) with a = 0.05, log |det dw/dy| = sum log(1 - 2a) - log p - log(1 - p),
p = a + (1 - 2a) y; the flow models w. Back: y = (sigmoid(w) - a) / (1 - 2a), x = floor(256 y) / 255
in [0, 1] (a value outside the bins is clamped).

The noise comes from torch's global generator (the trainer saves it) or ``generator=``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from generativa.models.flows.base import full_precision
from generativa.models.flows.conditioners import conv_conditioner, mlp_conditioner

Dequantization = Literal["uniform", "variational"]
LOG_2PI = math.log(2 * math.pi)


class Dequantizer(nn.Module):
    """Images in [0, 1] (256 levels) <-> logit space w; the bound's terms."""

    def __init__(self, shape: tuple[int, ...], kind: Dequantization = "uniform", *, alpha: float = 0.05,
                 hidden: int = 32):
        super().__init__()
        if not 0 <= alpha < 0.5:
            raise ValueError(f"alpha must lie in [0, 0.5), got {alpha}")
        self.kind, self.alpha, self.shape = kind, alpha, tuple(shape)
        self.dims = math.prod(shape)
        if kind == "variational":
            self.net = (conv_conditioner(shape[0], 2 * shape[0], hidden) if len(shape) == 3
                        else mlp_conditioner(self.dims, 2 * self.dims, (hidden,)))

    def noise(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """u in (0, 1) and log q(u|x) per example, (B,)."""
        if self.kind == "uniform":
            u = torch.rand(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            return u, x.new_zeros(x.shape[0])
        h = full_precision(self.net(x - 0.5))
        mu, log_sigma = h[:, 0::2], 2.0 * torch.tanh(h[:, 1::2] / 2.0)  # bounded, as in the couplings
        eps = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        a = mu + log_sigma.exp() * eps
        u = torch.sigmoid(a)
        log_q = (-0.5 * (eps ** 2 + LOG_2PI) - log_sigma - torch.nn.functional.logsigmoid(a)
                 - torch.nn.functional.logsigmoid(-a)).flatten(1).sum(1)
        return u, log_q

    def to_logit(self, y: Tensor) -> tuple[Tensor, Tensor]:
        """y in [0, 1] -> w and log |det dw/dy| per example."""
        p = self.alpha + (1 - 2 * self.alpha) * y
        w = torch.log(p) - torch.log1p(-p)
        log_det = (math.log(1 - 2 * self.alpha) - torch.log(p) - torch.log1p(-p)).flatten(1).sum(1)
        return w, log_det

    def forward_bound(self, x: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor]:
        """x in [0, 1] -> (w, extra) with log P(x) >= log p_w(w) + extra (one draw of u)."""
        levels = torch.round(x * 255.0)
        u, log_q = self.noise(x, generator)
        w, log_det = self.to_logit((levels + u) / 256.0)
        return w, log_det - log_q - self.dims * math.log(256.0)

    def center(self, x: Tensor) -> Tensor:
        """The logit of the middle of each pixel's bin (a deterministic encoding)."""
        return self.to_logit((torch.round(x * 255.0) + 0.5) / 256.0)[0]

    def to_image(self, w: Tensor) -> Tensor:
        """w -> images in [0, 1] on the 256 levels."""
        y = (torch.sigmoid(w) - self.alpha) / (1 - 2 * self.alpha)
        return (torch.floor(y * 256.0).clamp(0, 255) / 255.0).to(w.dtype)
