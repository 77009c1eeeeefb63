"""Data augmentation for training image models: random translation, horizontal flip and elastic
deformation (Simard, Steinkraus & Platt 2003, "Best practices for convolutional neural networks
applied to visual document analysis", ICDAR, sec. 2).

x: float (B, C, H, W) in [0, 1]. Every function takes ``generator=`` and returns a new tensor.

Elastic deformation [Simard et al. 2003, sec. 2]: a random displacement field, uniform in [-1, 1]
per pixel and axis, smoothed by a Gaussian of standard deviation ``sigma`` pixels and scaled by
``alpha`` pixels, moves every pixel; values are read back by bilinear interpolation. The same
function serves segmentation (pass the mask through ``elastic_deform`` with the same generator
state, or use ``elastic_field`` once and ``warp`` both).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor


def random_translate(x: Tensor, max_shift: int, *, generator: torch.Generator | None = None) -> Tensor:
    """Shift each image by an integer (dy, dx) in [-max_shift, max_shift], filling with zeros."""
    if max_shift <= 0:
        return x
    B, C, H, W = x.shape
    shifts = torch.randint(-max_shift, max_shift + 1, (B, 2), generator=generator)
    padded = F.pad(x, (max_shift, max_shift, max_shift, max_shift))
    out = torch.empty_like(x)
    for i in range(B):  # B small crops; cheaper than a grid_sample for integer shifts
        dy, dx = int(shifts[i, 0]), int(shifts[i, 1])
        out[i] = padded[i, :, max_shift - dy : max_shift - dy + H, max_shift - dx : max_shift - dx + W]
    return out


def random_flip(x: Tensor, p: float = 0.5, *, generator: torch.Generator | None = None) -> Tensor:
    """Mirror each image left-right with probability p. Only meaningful where the label does not
    change under a mirror (shapes, natural images) -- not for digits."""
    flip = torch.rand(x.shape[0], generator=generator) < p
    out = x.clone()
    out[flip] = x[flip].flip(-1)
    return out


def _gaussian_kernel(sigma: float, dtype: torch.dtype) -> Tensor:
    radius = max(1, int(math.ceil(3 * sigma)))
    t = torch.arange(-radius, radius + 1, dtype=dtype)
    k = torch.exp(-(t**2) / (2 * sigma**2))
    return k / k.sum()


def elastic_field(
    batch: int, height: int, width: int, alpha: float, sigma: float, *,
    generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Smoothed random displacement field in pixels, (B, 2, H, W) (dy, dx) [Simard et al. 2003]."""
    field = torch.rand(batch, 2, height, width, generator=generator, dtype=dtype) * 2 - 1
    k = _gaussian_kernel(sigma, dtype)
    r = k.numel() // 2
    # separable Gaussian smoothing, replicate-padded so the borders are not pulled to zero
    field = F.conv2d(F.pad(field, (r, r, 0, 0), mode="replicate"), k.view(1, 1, 1, -1).expand(2, 1, 1, -1), groups=2)
    field = F.conv2d(F.pad(field, (0, 0, r, r), mode="replicate"), k.view(1, 1, -1, 1).expand(2, 1, -1, 1), groups=2)
    # normalise to unit RMS so alpha is the typical displacement in pixels
    field = field / field.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-8)
    return alpha * field


def warp(x: Tensor, field: Tensor, mode: str = "bilinear") -> Tensor:
    """Read x at (y + dy, x + dx) for a pixel displacement field (B, 2, H, W); zeros outside."""
    B, _, H, W = x.shape
    ys = torch.arange(H, dtype=x.dtype, device=x.device).view(1, H, 1)
    xs = torch.arange(W, dtype=x.dtype, device=x.device).view(1, 1, W)
    sample_y = ys + field[:, 0].to(x)
    sample_x = xs + field[:, 1].to(x)
    # grid_sample wants (x, y) in [-1, 1] with align_corners=True mapping -1 and 1 to pixel centres
    grid = torch.stack((2 * sample_x / max(W - 1, 1) - 1, 2 * sample_y / max(H - 1, 1) - 1), dim=-1)
    return F.grid_sample(x, grid, mode=mode, padding_mode="zeros", align_corners=True)


def elastic_deform(
    x: Tensor, alpha: float, sigma: float, *, generator: torch.Generator | None = None
) -> Tensor:
    """Elastic deformation of every image: typical displacement ``alpha`` pixels, smoothness ``sigma``."""
    if alpha <= 0:
        return x
    field = elastic_field(x.shape[0], x.shape[2], x.shape[3], alpha, sigma, generator=generator)
    return warp(x, field).clamp(0.0, 1.0)
