"""Elementwise and linear flows: an elementwise affine map, an invertible linear map of vectors and
an invertible 1x1 convolution of images, the last two in the LU parametrisation of Glow
(Kingma & Dhariwal 2018, arXiv:1807.03039, section 3.2).

Conventions of the flow contract (``base.py``): ``forward(z) -> (x, log |det dx/dz|)`` maps the base
side to the data side, ``inverse(x) -> (z, log |det dz/dx|)``.

* ``ElementwiseAffine``: x = z * exp(log_scale) + shift, per dimension (per channel for images);
  log_det = sum(log_scale) (times H * W for images). With only the scale it is NICE's diagonal
  scaling layer (Dinh et al. 2014, arXiv:1410.8516, section 3.3).
* ``InvertibleLinear``: x = W z + b with W = P L (U + diag(sign(s) exp(log|s|))) [Glow, eq. 10]:
  P a fixed permutation, L unit lower triangular, U strictly upper triangular; log |det W| =
  sum(log|s|), O(D) instead of O(D^3), and W stays invertible as long as the scales are finite.
* ``InvertibleConv1x1``: the same W (C x C) applied at every pixel [Glow, section 3.2];
  log_det = H * W * sum(log|s|).

The weight is initialised as a random rotation (its LU factors), as Glow does.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from generativa.models.flows.base import FlowLayer, full_precision


def _pixels(x: Tensor) -> int:
    return int(x[0, 0].numel()) if x.dim() > 2 else 1


class ElementwiseAffine(FlowLayer):
    """x = z * exp(log_scale) + shift per dimension (vectors) or per channel (images)."""

    def __init__(self, dim: int, *, shift: bool = True):
        super().__init__()
        if dim < 1:
            raise ValueError(f"ElementwiseAffine needs dim >= 1, got {dim}")
        self.log_scale = nn.Parameter(torch.zeros(dim))
        self.shift = nn.Parameter(torch.zeros(dim)) if shift else None

    def _view(self, t: Tensor, like: Tensor) -> Tensor:
        return t.view(1, -1, *([1] * (like.dim() - 2)))

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = z * self._view(self.log_scale.exp(), z)
        if self.shift is not None:
            x = x + self._view(self.shift, z)
        return x, (_pixels(z) * self.log_scale.sum()).expand(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.shift is not None:
            x = x - self._view(self.shift, x)
        z = x * self._view((-self.log_scale).exp(), x)
        return z, (-_pixels(x) * self.log_scale.sum()).expand(x.shape[0])


class _LU(nn.Module):
    """W = P L (U + diag(sign(s) exp(log|s|))), initialised from a random rotation."""

    def __init__(self, dim: int, seed: int = 0):
        super().__init__()
        if dim < 1:
            raise ValueError(f"an invertible linear map needs dim >= 1, got {dim}")
        g = torch.Generator().manual_seed(seed)
        q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
        p, lower, upper = torch.linalg.lu(q)
        s = torch.diagonal(upper)
        dtype = torch.get_default_dtype()
        self.register_buffer("permutation", p.to(dtype))
        self.register_buffer("sign_s", torch.sign(s).to(dtype))
        self.register_buffer("lower_mask", torch.tril(torch.ones(dim, dim), -1))
        self.register_buffer("eye", torch.eye(dim))
        self.lower = nn.Parameter(lower.to(dtype))
        self.upper = nn.Parameter(torch.triu(upper, 1).to(dtype))
        self.log_s = nn.Parameter(torch.log(torch.abs(s)).to(dtype))

    def weight(self) -> Tensor:
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.permutation @ lower @ upper

    def inverse_weight(self) -> Tensor:
        """W^{-1} by two triangular solves and the permutation's transpose (no general inverse)."""
        lower = self.lower * self.lower_mask + self.eye
        upper = self.upper * self.lower_mask.T + torch.diag(self.sign_s * self.log_s.exp())
        eye = self.eye
        u_inv = torch.linalg.solve_triangular(upper, eye, upper=True)
        l_inv = torch.linalg.solve_triangular(lower, eye, upper=False, unitriangular=True)
        return u_inv @ l_inv @ self.permutation.T


class InvertibleLinear(FlowLayer):
    """x = W z + b for vectors (B, D), W in the LU parametrisation [Glow, eq. 10]."""

    def __init__(self, dim: int, *, bias: bool = True, seed: int = 0):
        super().__init__()
        self.lu = _LU(dim, seed)
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        x = z @ self.lu.weight().T
        if self.bias is not None:
            x = x + self.bias
        return x, self.lu.log_s.sum().expand(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.bias is not None:
            x = x - self.bias
        return x @ self.lu.inverse_weight().T, (-self.lu.log_s.sum()).expand(x.shape[0])


class InvertibleConv1x1(FlowLayer):
    """The same invertible C x C map at every pixel of (B, C, H, W) [Glow, section 3.2]."""

    def __init__(self, channels: int, *, seed: int = 0):
        super().__init__()
        self.lu = _LU(channels, seed)

    def _mix(self, w: Tensor, h: Tensor) -> Tensor:
        """W at every pixel, in full precision even under bf16 autocast: the map must stay invertible."""
        with torch.autocast(device_type=h.device.type, enabled=False):
            return F.conv2d(full_precision(h), w.view(*w.shape, 1, 1).to(full_precision(h).dtype))

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        return self._mix(self.lu.weight(), z), (_pixels(z) * self.lu.log_s.sum()).expand(z.shape[0])

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return self._mix(self.lu.inverse_weight(), x), (-_pixels(x) * self.lu.log_s.sum()).expand(x.shape[0])
