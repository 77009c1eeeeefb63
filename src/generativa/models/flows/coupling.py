"""Coupling layers: NICE's additive coupling (Dinh et al. 2014, arXiv:1410.8516) and the affine
coupling of RealNVP (Dinh et al. 2016, arXiv:1605.08803) and Glow (Kingma & Dhariwal 2018,
arXiv:1807.03039), with the masks RealNVP uses.

One part of the input passes unchanged and conditions an elementwise map of the other part:

    additive [NICE, eq. 5]:   x_b = z_b + t(z_a),                      log_det = 0
    affine   [RealNVP, eq. 4]: x_b = z_b * exp(s(z_a)) + t(z_a),      log_det = sum s(z_a)

The conditioner (s, t) is a plain network handed the passive part (``conditioners.py``); its last
layer starts at zero, so each coupling starts as the identity [Glow, section 3.3].

Departure, for samples that stay finite: the log-scale is bounded, s = bound * tanh(raw / bound)
(bound 2 by default, so each coupling scales by at most e^2 either way). RealNVP also squashes s
with a tanh and a learned scale; Glow's sigmoid(raw + 2) is bounded in the density direction only,
and its inverse (sampling) can overflow.

Masks: ``checkerboard`` (images: pixels with (i + j + parity) even pass), ``channel`` (images: the
first or second half of the channels pass), ``half`` (vectors: the even- or the odd-numbered
dimensions pass, as NICE partitions them; ``parity`` chooses which).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from generativa.models.flows.base import FlowLayer, full_precision

Mask = Literal["checkerboard", "channel", "half"]


def checkerboard(shape: tuple[int, int, int], parity: int) -> Tensor:
    """1 on the pixels that pass, (1, C, H, W) [RealNVP, Fig. 3 left]."""
    c, h, w = shape
    ij = torch.arange(h).view(-1, 1) + torch.arange(w).view(1, -1)
    return ((ij + parity) % 2 == 0).float().expand(c, h, w).unsqueeze(0).clone()


def part_sizes(shape: tuple[int, ...], mask: Mask, parity: int) -> tuple[int, int]:
    """(passive, active) sizes along dimension 1 (channels or vector dimensions)."""
    d = shape[0]
    if mask == "checkerboard":
        return d, d
    first, second = ((d + 1) // 2, d // 2) if mask == "half" else (d // 2, d - d // 2)
    return (first, second) if parity % 2 == 0 else (second, first)


def make_coupling(shape: tuple[int, ...], mask: Mask, parity: int, *, affine: bool = True, hidden: int = 64,
                  layers: int = 2, scale_bound: float = 2.0) -> Coupling:
    """A coupling with the conditioner its input needs: a CNN for images, an MLP of ``layers`` hidden
    layers for vectors."""
    from generativa.models.flows.conditioners import conv_conditioner, mlp_conditioner

    passive, active = part_sizes(shape, mask, parity)
    out = active * (2 if affine else 1)
    if len(shape) == 3:
        net = conv_conditioner(passive, out, hidden)
    else:
        net = mlp_conditioner(passive, out, (hidden,) * layers)
    return Coupling(shape, net, mask=mask, parity=parity, affine=affine, scale_bound=scale_bound)


class Coupling(FlowLayer):
    """An additive or affine coupling of vectors (B, D) or images (B, C, H, W).

    shape: one example's shape; mask: how the input is split; parity: which part passes;
    conditioner: a network mapping the passive part (masked input for checkerboard, the passive half
    otherwise) to 2 * (size of the active part) values for affine ((s, t) interleaved by channel) or
    1 * for additive; scale_bound: the bound of |s|.
    """

    def __init__(self, shape: tuple[int, ...], conditioner: nn.Module, *, mask: Mask, parity: int = 0,
                 affine: bool = True, scale_bound: float = 2.0):
        super().__init__()
        if mask in ("checkerboard", "channel") and len(shape) != 3:
            raise ValueError(f"mask={mask!r} is for images (C, H, W), got shape {shape}; use mask='half'")
        if mask == "half" and len(shape) != 1:
            raise ValueError(f"mask='half' is for vectors (D,), got shape {shape}")
        split_dim = shape[0]
        if mask in ("channel", "half") and split_dim < 2:
            raise ValueError(f"mask={mask!r} needs at least 2 {'channels' if mask == 'channel' else 'dimensions'}")
        if scale_bound <= 0:
            raise ValueError(f"scale_bound must be > 0, got {scale_bound}")
        self.shape, self.mask_kind, self.parity, self.affine = tuple(shape), mask, parity % 2, affine
        self.scale_bound = scale_bound
        self.net = conditioner
        if mask == "checkerboard":
            self.register_buffer("mask", checkerboard(tuple(shape), self.parity))
        else:
            first = split_dim // 2
            self.sizes = (first, split_dim - first)  # channel mask: first and second half

    # -- splitting --------------------------------------------------------------------------------
    def _split(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.mask_kind == "half":  # even and odd dimensions
            a, b = x[:, 0::2], x[:, 1::2]
        else:
            a, b = torch.split(x, self.sizes, dim=1)
        return (a, b) if self.parity == 0 else (b, a)  # (passive, active)

    def _join(self, passive: Tensor, active: Tensor) -> Tensor:
        a, b = (passive, active) if self.parity == 0 else (active, passive)
        if self.mask_kind == "half":
            out = a.new_empty(a.shape[0], a.shape[1] + b.shape[1])
            out[:, 0::2], out[:, 1::2] = a, b
            return out
        return torch.cat((a, b), dim=1)

    def _params(self, passive: Tensor) -> tuple[Tensor, Tensor]:
        """(s, t) for the active part from the conditioner's output; s bounded, 0 for additive."""
        h = full_precision(self.net(passive))
        if not self.affine:
            return torch.zeros_like(h), h
        raw, t = h[:, 0::2], h[:, 1::2]  # interleaved so that a zero last layer gives s = t = 0
        s = self.scale_bound * torch.tanh(raw / self.scale_bound)
        return s, t

    @staticmethod
    def _sum(s: Tensor) -> Tensor:
        return s.flatten(1).sum(1)

    # -- the two directions ------------------------------------------------------------------------
    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        if self.mask_kind == "checkerboard":
            b = self.mask
            s, t = self._params(z * b)
            s, t = s * (1 - b), t * (1 - b)
            return z * b + (1 - b) * (z * s.exp() + t), self._sum(s)
        passive, active = self._split(z)
        s, t = self._params(passive)
        return self._join(passive, active * s.exp() + t), self._sum(s)

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.mask_kind == "checkerboard":
            b = self.mask
            s, t = self._params(x * b)
            s, t = s * (1 - b), t * (1 - b)
            return x * b + (1 - b) * ((x - t) * (-s).exp()), -self._sum(s)
        passive, active = self._split(x)
        s, t = self._params(passive)
        return self._join(passive, (active - t) * (-s).exp()), -self._sum(s)
