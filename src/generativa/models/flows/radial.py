"""Radial flow (Rezende & Mohamed 2015, arXiv:1505.05770, section 4.1 and appendix A.2).

    f(z) = z + beta h(alpha, r) (z - z0),   r = ||z - z0||,   h(alpha, r) = 1 / (alpha + r)   [eq. 14]
    log |det df/dz| = (D - 1) log(1 + beta h) + log(1 + beta h + beta h'(alpha, r) r)         [eq. 14]

z: (B, D). alpha > 0 and invertibility needs beta >= -alpha [appendix A.2]; both are enforced by
alpha = softplus(alpha'), beta = -alpha + softplus(beta').

The inverse is closed-form: f moves z along the ray from z0, and ||x - z0|| = r (alpha + beta + r) / (alpha + r)
is a quadratic in r with one positive root, after which z = z0 + (x - z0) r / ||x - z0||.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.flows.base import FlowLayer


class RadialFlow(FlowLayer):
    """One radial layer on (B, D) vectors."""

    def __init__(self, dim: int):
        super().__init__()
        if dim < 1:
            raise ValueError(f"RadialFlow needs dim >= 1, got {dim}")
        self.dim = dim
        bound = math.sqrt(1.0 / dim)
        self.z0 = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        self.alpha_raw = nn.Parameter(torch.empty(()).uniform_(-bound, bound))
        self.beta_raw = nn.Parameter(torch.empty(()).uniform_(-bound, bound))

    def alpha_beta(self) -> tuple[Tensor, Tensor]:
        """(alpha, beta) with alpha > 0 and beta >= -alpha [appendix A.2]."""
        alpha = F.softplus(self.alpha_raw)
        beta = -alpha + F.softplus(self.beta_raw)
        return alpha, beta

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        alpha, beta = self.alpha_beta()
        diff = z - self.z0                                   # (B, D)
        r = diff.norm(dim=-1)                                # (B,)
        h = 1.0 / (alpha + r)
        x = z + (beta * h).unsqueeze(-1) * diff              # eq. 14
        h_prime = -h * h                                     # dh/dr
        log_det = (self.dim - 1) * torch.log1p(beta * h) + torch.log1p(beta * h + beta * h_prime * r)
        return x, log_det

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        alpha, beta = self.alpha_beta()
        diff = x - self.z0
        r_x = diff.norm(dim=-1)                              # ||x - z0||, (B,)
        c = alpha + beta - r_x                               # r^2 + c r - alpha r_x = 0
        r = 0.5 * (-c + torch.sqrt(c * c + 4.0 * alpha * r_x))
        scale = torch.where(r_x > 0, r / r_x.clamp_min(1e-30), torch.ones_like(r_x))
        z = self.z0 + scale.unsqueeze(-1) * diff
        _, log_det_forward = self.forward(z)
        return z, -log_det_forward
