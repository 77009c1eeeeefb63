"""The multi-scale architecture of RealNVP (Dinh et al. 2016, arXiv:1605.08803, section 3.6) and Glow
(Kingma & Dhariwal 2018, arXiv:1807.03039, Fig. 2b), as one flow from a flat base z (B, D) to an
image (B, C, H, W).

In the density direction (image -> z) each level applies its ``pre`` steps at the level's
resolution, squeezes (2x2 pixels -> 4 channels), applies its ``post`` steps, then factors out half
of the channels, which go straight to z; the other half goes on to the next level. The last level
keeps everything. Factored-out variables cost no more computation, which is what lets the model be
deep where it matters [RealNVP, section 3.6].

``split_prior`` (Glow's learned prior of the factored-out half given the kept half, Glow section 3
and its code): the factored-out h is modelled as h = mu(kept) + exp(log_sigma(kept)) * eps, eps the
part of z; a conditional affine map, so the base stays N(0, I) and a temperature scales every
level's noise alike. Its log_sigma is bounded like the couplings' scales.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from generativa.models.flows.base import FlowLayer, FlowSequence, full_precision
from generativa.models.flows.conditioners import Squeeze, conv_conditioner


@dataclass
class LevelSpec:
    pre: list[FlowLayer]     # steps at the level's input resolution
    squeeze: bool
    post: list[FlowLayer]    # steps after the squeeze
    split: bool              # factor out half of the channels at the end of the level


def level_shapes(shape: tuple[int, int, int], specs: list[LevelSpec]) -> list[dict]:
    """Per level: its input shape, the shape after the squeeze, and what is kept and factored out."""
    out = []
    c, h, w = shape
    for spec in specs:
        entry = {"input": (c, h, w)}
        if spec.squeeze:
            if h % 2 or w % 2:
                raise ValueError(f"a squeeze needs even sizes, got {h}x{w} at a level; use fewer levels or "
                                 "resize the images (data.size=...)")
            c, h, w = 4 * c, h // 2, w // 2
        entry["squeezed"] = (c, h, w)
        if spec.split:
            if c < 2:
                raise ValueError("a split needs at least 2 channels")
            entry["out"] = (c - c // 2, h, w)
            c = c // 2
        entry["kept"] = (c, h, w)
        out.append(entry)
    return out


class MultiScale(FlowLayer):
    def __init__(self, shape: tuple[int, int, int], specs: list[LevelSpec], *, split_prior: bool = False,
                 prior_hidden: int = 64):
        super().__init__()
        self.shape = tuple(shape)
        self.shapes = level_shapes(self.shape, specs)
        self.pre = nn.ModuleList(FlowSequence(s.pre) for s in specs)
        self.post = nn.ModuleList(FlowSequence(s.post) for s in specs)
        self.squeezes = [s.squeeze for s in specs]
        self.squeeze = Squeeze()
        self.priors = nn.ModuleList(
            conv_conditioner(e["kept"][0], 2 * e["out"][0], prior_hidden) if split_prior and "out" in e else nn.Identity()
            for e in self.shapes)
        self.split_prior = split_prior
        sizes = [math.prod(e["out"]) for e in self.shapes if "out" in e] + [math.prod(self.shapes[-1]["kept"])]
        self.sizes = sizes  # the pieces of z, level by level

    def _prior(self, i: int, kept: Tensor) -> tuple[Tensor, Tensor]:
        h = full_precision(self.priors[i](kept))
        return h[:, 0::2], 2.0 * torch.tanh(h[:, 1::2] / 2.0)  # mu, bounded log_sigma

    def inverse(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Image -> flat z (B, D), log |det dz/dx|."""
        h = x
        log_det = x.new_zeros(x.shape[0])
        pieces = []
        for i, entry in enumerate(self.shapes):
            h, ld = self.pre[i].inverse(h)
            log_det = log_det + ld
            if self.squeezes[i]:
                h, _ = self.squeeze.inverse(h)
            h, ld = self.post[i].inverse(h)
            log_det = log_det + ld
            if "out" in entry:
                kept, out = h[:, :entry["kept"][0]], h[:, entry["kept"][0]:]
                if self.split_prior:
                    mu, log_sigma = self._prior(i, kept)
                    out = (out - mu) * (-log_sigma).exp()
                    log_det = log_det - log_sigma.flatten(1).sum(1)
                pieces.append(out.flatten(1))
                h = kept
        pieces.append(h.flatten(1))
        return torch.cat(pieces, dim=1), log_det

    def forward(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Flat z (B, D) -> image, log |det dx/dz|."""
        b = z.shape[0]
        pieces = list(torch.split(z, self.sizes, dim=1))
        h = pieces.pop().reshape(b, *self.shapes[-1]["kept"])
        log_det = z.new_zeros(b)
        for i in reversed(range(len(self.shapes))):
            entry = self.shapes[i]
            if "out" in entry:
                out = pieces.pop().reshape(b, *entry["out"])
                if self.split_prior:
                    mu, log_sigma = self._prior(i, h)
                    out = mu + log_sigma.exp() * out
                    log_det = log_det + log_sigma.flatten(1).sum(1)
                h = torch.cat([h, out], dim=1)
            h, ld = self.post[i](h)
            log_det = log_det + ld
            if self.squeezes[i]:
                h, _ = self.squeeze(h)
            h, ld = self.pre[i](h)
            log_det = log_det + ld
        return h, log_det
