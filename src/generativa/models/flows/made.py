"""MADE (Germain, Gregor, Murray & Larochelle 2015, arXiv:1502.03509) and the two autoregressive flows
built on it: MAF (Papamakarios, Pavlakou & Murray 2017, arXiv:1705.07057) and IAF (Kingma,
Salimans, Jozefowicz, Chen, Sutskever & Welling 2016, arXiv:1606.04934).

MADE masks the weights of an MLP so that output i depends only on the inputs before i in a chosen
order [Germain et al. 2015, section 4]: each unit k of hidden layer l gets a degree m^l(k) in
[min degree of the layer below, D - 1]; a weight from a unit of degree d to one of degree d' is
kept when d' >= d (hidden layers) or d' > d (the output). Here it outputs, for every dimension i,
a shift mu_i and a log-scale alpha_i of the dimensions before i.

Both flows apply x_i = z_i exp(alpha_i) + mu_i [MAF, eq. 2; IAF, eq. 10] with the conditioning on
different sides:

* MAF: mu, alpha are functions of x_<i (the data side). The density direction z = (x - mu(x)) *
  exp(-alpha(x)) is one pass; sampling (``forward``) is D sequential passes.
* IAF: mu, alpha are functions of z_<i (the base side). Sampling is one pass; the density
  direction (``inverse``) is D sequential passes.

log |det dx/dz| = sum_i alpha_i in both. Departure, as in the coupling layers: alpha is bounded,
alpha = bound * tanh(raw / bound), so no step can overflow.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from generativa.models.flows.base import FlowLayer, full_precision


class MaskedLinear(nn.Linear):
    def __init__(self, in_features: int, out_features: int, mask: Tensor):
        super().__init__(in_features, out_features)
        self.register_buffer("mask", mask)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)


def made_masks(order: Tensor, hidden: tuple[int, ...], outputs_per_dim: int,
               generator: torch.Generator) -> list[Tensor]:
    """The masks of MADE for an input order (a permutation of 0..D-1; order[i] is the position of
    dimension i), hidden widths, and outputs_per_dim outputs per input dimension [section 4]."""
    d = order.numel()
    degrees = [order]  # input degrees: position in the order, 0..D-1
    for width in hidden:
        low = int(degrees[-1].min()) if d > 1 else 0
        degrees.append(torch.randint(low, max(d - 1, low + 1), (width,), generator=generator, device="cpu"))
    masks = [(deg_out[:, None] >= deg_in[None, :]).float() for deg_in, deg_out in zip(degrees[:-1], degrees[1:])]
    out_degrees = order.repeat(outputs_per_dim)  # output j * D + i belongs to dimension i
    masks.append((out_degrees[:, None] > degrees[-1][None, :]).float())
    return masks


class MADE(nn.Module):
    """x (B, D) -> (B, outputs_per_dim, D), output [:, :, i] a function of x[:, order < order[i]] only."""

    def __init__(self, dim: int, hidden: tuple[int, ...], *, order: Tensor | None = None, outputs_per_dim: int = 2,
                 seed: int = 0):
        super().__init__()
        if dim < 1 or not hidden:
            raise ValueError(f"MADE needs dim >= 1 and at least one hidden layer, got dim={dim}, hidden={hidden}")
        g = torch.Generator().manual_seed(seed)
        # the masks are structure, built on the CPU whatever the default device (a meta-device build too)
        order = torch.arange(dim, device="cpu") if order is None else order.long().cpu()
        if sorted(order.tolist()) != list(range(dim)):
            raise ValueError(f"order must be a permutation of 0..{dim - 1}, got {order.tolist()}")
        self.register_buffer("order", order)
        self.dim, self.k = dim, outputs_per_dim
        masks = made_masks(order, tuple(hidden), outputs_per_dim, g)
        widths = [dim, *hidden, dim * outputs_per_dim]
        self.layers = nn.ModuleList(MaskedLinear(a, b, m) for a, b, m in zip(widths[:-1], widths[1:], masks))
        nn.init.zeros_(self.layers[-1].weight)  # the flow starts as the identity
        nn.init.zeros_(self.layers[-1].bias)

    def forward(self, x: Tensor) -> Tensor:
        h = x
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = F.relu(h)
        return h.view(x.shape[0], self.k, self.dim)


class _Autoregressive(FlowLayer):
    def __init__(self, dim: int, hidden: tuple[int, ...], *, reverse: bool = False, seed: int = 0,
                 scale_bound: float = 3.0):
        super().__init__()
        order = torch.arange(dim, device="cpu")
        order = order.flip(0) if reverse else order
        self.made = MADE(dim, hidden, order=order, seed=seed)
        self.scale_bound = scale_bound
        self.register_buffer("steps", torch.argsort(order))  # dimension conditioned on at step k

    def _params(self, h: Tensor) -> tuple[Tensor, Tensor]:
        out = full_precision(self.made(h))
        mu, raw = out[:, 0], out[:, 1]
        return mu, self.scale_bound * torch.tanh(raw / self.scale_bound)

    def _one_pass(self, cond: Tensor, y: Tensor, sign: float) -> tuple[Tensor, Tensor]:
        """x = y * exp(alpha) + mu (sign +1) or z = (y - mu) * exp(-alpha) (sign -1), params of ``cond``."""
        mu, alpha = self._params(cond)
        if sign > 0:
            return y * alpha.exp() + mu, alpha.sum(1)
        return (y - mu) * (-alpha).exp(), -alpha.sum(1)

    def _sequential(self, y: Tensor, sign: float) -> tuple[Tensor, Tensor]:
        """Solve for the side the parameters depend on, one dimension at a time (D passes)."""
        out = torch.zeros_like(y)
        for i in self.steps.tolist():
            mu, alpha = self._params(out)
            value = y[:, i] * alpha[:, i].exp() + mu[:, i] if sign > 0 else (y[:, i] - mu[:, i]) * (-alpha[:, i]).exp()
            out = out.clone()
            out[:, i] = value
        _, alpha = self._params(out)  # the parameters of the solved side give the log-determinant
        return out, (alpha.sum(1) if sign > 0 else -alpha.sum(1))


class MAFLayer(_Autoregressive):
    """Masked autoregressive flow layer: density in one pass, sampling in D [Papamakarios et al. 2017]."""

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._one_pass(x, x, -1.0)  # mu, alpha of x_<i

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self._sequential(z, +1.0)


class IAFLayer(_Autoregressive):
    """Inverse autoregressive flow layer: sampling in one pass, density in D [Kingma et al. 2016]."""

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self._one_pass(z, z, +1.0)  # mu, alpha of z_<i

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._sequential(x, -1.0)
