"""Planar flow (Rezende & Mohamed 2015, arXiv:1505.05770, section 4.1 and appendix A.1).

    f(z) = z + u_hat * tanh(w^T z + b)                                        [eq. 10]
    log |det df/dz| = log |1 + u_hat^T psi(z)|,  psi(z) = tanh'(w^T z + b) w  [eq. 11-12]

z: (B, D). Invertibility needs w^T u >= -1 [appendix A.1]; it is enforced by using

    u_hat = u + (m(w^T u) - w^T u) w / ||w||^2,   m(a) = -1 + softplus(a)

in place of u, so that w^T u_hat = m(w^T u) > -1 for any parameters.

The inverse has no closed form; it is solved numerically (``inverse``): writing a = w^T z, the
equation w^T x = a + (w^T u_hat) tanh(a + b) is scalar and strictly increasing in a, so bisection
finds a to float precision, and then z = x - u_hat tanh(a + b). One Newton step on the bisection's
result, with gradients on, gives a the derivative of the implicit function a(x, theta) (the step
moves a by nothing at the root, but its derivative is -dg/dtheta / dg/da), so the planar flow can be
trained as a density model through its inverse.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.flows.base import FlowLayer


class PlanarFlow(FlowLayer):
    """One planar layer on (B, D) vectors."""

    def __init__(self, dim: int):
        super().__init__()
        if dim < 1:
            raise ValueError(f"PlanarFlow needs dim >= 1, got {dim}")
        self.dim = dim
        bound = math.sqrt(1.0 / dim)  # uniform(-1/sqrt(D), 1/sqrt(D)), as nn.Linear and normflows
        self.u = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        self.w = nn.Parameter(torch.empty(dim).uniform_(-bound, bound))
        self.b = nn.Parameter(torch.zeros(()))

    def u_hat(self) -> Tensor:
        """u constrained so that w^T u_hat > -1 [appendix A.1]."""
        wu = self.w @ self.u
        m = -1.0 + F.softplus(wu)
        return self.u + (m - wu) * self.w / (self.w @ self.w).clamp_min(1e-12)

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        u = self.u_hat()
        a = z @ self.w + self.b                            # w^T z + b, (B,)
        x = z + u * torch.tanh(a).unsqueeze(-1)            # eq. 10
        psi_u = (1.0 - torch.tanh(a) ** 2) * (self.w @ u)  # u_hat^T psi(z), eq. 11
        log_det = torch.log((1.0 + psi_u).abs().clamp_min(1e-12))  # eq. 12
        return x, log_det

    def inverse(self, x: Tensor, *, iterations: int = 60) -> tuple[Tensor, Tensor]:
        """Numerical inverse by bisection on the scalar a = w^T z (see the module docstring)."""
        u = self.u_hat()
        wu = self.w @ u                                     # > -1 by construction
        target = x @ self.w                                 # w^T x, (B,)
        # g(a) = a + wu tanh(a + b) - target is increasing; |wu tanh| <= |wu| brackets the root.
        lo = target - wu.abs() - 1.0
        hi = target + wu.abs() + 1.0
        with torch.no_grad():
            for _ in range(iterations):
                mid = 0.5 * (lo + hi)
                above = mid + wu * torch.tanh(mid + self.b) > target
                hi = torch.where(above, mid, hi)
                lo = torch.where(above, lo, mid)
        a0 = (0.5 * (lo + hi)).detach()
        t0 = torch.tanh(a0 + self.b)
        g = a0 + wu * t0 - target                           # ~0 at the root
        a = a0 - g / (1.0 + wu * (1.0 - t0 ** 2))           # Newton: the implicit function's gradient
        z = x - u * torch.tanh(a + self.b).unsqueeze(-1)
        _, log_det_forward = self.forward(z)
        return z, -log_det_forward
